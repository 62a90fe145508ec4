"""Pages' long work as background jobs (ui/jobs.py): a Data page import, a Rebalance optimizer run and a Model page
training keep going when the user goes to another page; back on the page, its progress (bar with words, elapsed
time, Cancel) and then its outcome show as if they had stayed. On any other page the sidebar follows the user's import
or training and says, in one line linking to its page, how it ended.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import duckdb
import streamlit as st

from planner import ingest, optimize, propensity, scenarios, store
from planner.errors import StoreBusy, StoreUnavailable
from planner.scope import Scope
from planner.store import interrupts
from ui import data, jobs
from ui.auth import md_text

IMPORT, OPTIMIZE, TRAIN = "import", "optimize", "train"
POLL_S = 0.25
WATCH_S = 2.0  # how often the sidebar looks at a job running while the user is on another page
LEAVE_NOTE = "You can go to another page: this goes on, and its result shows here when you come back."
SEEN = "job_outcomes_seen"  # the jobs whose outcome this session's page showed: the sidebar does not repeat it
TOASTED = "job_outcomes_toasted"
PAGES = {IMPORT: "pages/data.py", TRAIN: "pages/model.py"}  # where the outcome the sidebar announces is shown


_local = threading.local()  # this run's place for the sidebar's notices (each session's runs share one thread)


def reserve_sidebar(container: Any) -> None:
    """The sidebar's place for notices() this run (filled after the page ran). follow() blanks it while the page
    draws the job's own bar: the line an earlier run left there would read its old figures beside the bar ("2% · 0 s"
    under a bar at 97%), since the sidebar's watcher cannot rerun while the page's run waits in follow()."""
    _local.sidebar = container


def follow(kind: str, scope: Scope, *, slot: str | None = None) -> jobs.Job | None:
    """This user's job of this kind (or, with a slot, anyone's running there): while it runs, its bar (words and
    elapsed time) and Cancel (the user's own only), redrawn until it ends; then this user's finished job, taken from
    the registry (its outcome is the caller's to show), or None. A failure that may be retried stays in the
    registry with what it kept, until the user retries or discards it.

    The page's run waits here. When the user goes to another page Streamlit stops this run at the bar's next
    redraw, and the job goes on; back on the page, this follows it again."""
    job = jobs.current(kind, scope, slot=slot) or (jobs.running(kind, scope, slot=slot) if slot else None)
    if job is None:
        return None
    mine = job.scope == scope
    if job.running:
        if (sidebar := getattr(_local, "sidebar", None)) is not None:
            sidebar.empty()  # this page shows the job: no stale line of it in the sidebar
        box = st.empty()
        with box.container():
            bar = st.empty()
            can_cancel = mine and job.cancellable and not job.cancel_requested
            if can_cancel and st.button("Cancel", key=f"job_cancel_{kind}", icon=":material/cancel:"):
                jobs.cancel(kind, scope, slot=slot)
            note = st.empty()
            st.caption(LEAVE_NOTE if mine else f"Started by {md_text(job.scope.user, 120)}: what it makes shows "
                       "here when it ends, and a second run would only repeat it.")  # fmt: skip
        while job.running:
            bar.progress(job.fraction, text=f"{job.label} · {job.message} · {jobs.elapsed_text(job.seconds())}")
            if job.cancel_requested:
                note.caption("Cancelling: it stops at the end of its current step.")
            elif not job.cancellable:
                note.caption(job.meta.get("no_return", "It can no longer be cancelled: its result shows here next."))
            time.sleep(POLL_S)
        box.empty()  # no bar frozen above the outcome
    if not mine:
        return None
    if job.state == jobs.FAILED and job.retryable:
        return job
    return jobs.take(kind, scope, slot=slot)


def free(kind: str, scope: Scope) -> bool:
    """Whether a job of this kind may start now for this user; else the page says which one runs."""
    job = jobs.current(kind, scope)
    if job is None or not job.running:
        return True
    st.warning(f"{job.label} is still running ({jobs.elapsed_text(job.seconds())}): wait for it, or cancel it.",
               icon=":material/hourglass_top:")  # fmt: skip
    return False


# --- Data page: an import ---------------------------------------------------------------------------------------
NOT_THE_FILES = (StoreBusy, StoreUnavailable, duckdb.InterruptException)  # a retry with the same files may work


def start_import(files: list[tuple[Path, str]], workdir: str | None, scope: Scope, **options: Any) -> None:
    """Import the uploaded files as this user's job (one transaction, retried on conflict, as ingest does); the
    job owns the uploads' scratch folder and removes it when it ends, unless it failed through no fault of the
    files (another writer held the store, an interruption): then it keeps them for Retry, for this user only."""
    try:
        _start_import(files, workdir, scope, options)
    except jobs.JobRunning as exc:
        data.show_error(exc)


def _start_import(files: list[tuple[Path, str]], workdir: str | None, scope: Scope, options: dict[str, Any]) -> None:
    names = ", ".join(name for _, name in files)
    label = f"Import of {names[:120] + '…' if len(names) > 120 else names}"
    path = data.db_path()

    def work(job: jobs.Job) -> ingest.ImportReport:
        def after(*args: Any, **kwargs: Any) -> list[str]:  # the import's write has committed: scoring is left
            job.point_of_no_return()
            return propensity.score_new_accounts(*args, **kwargs)

        try:
            with interrupts.owned_by(job):  # Cancel interrupts the running statement, not only the next step
                return ingest.import_files(path, files, progress=job.progress, scope=scope, after=after, **options)
        except NOT_THE_FILES:
            job.retryable = job.cancellable and not job.cancel_requested  # not once its rows landed
            raise
        finally:
            if workdir and not job.retryable:
                shutil.rmtree(workdir, ignore_errors=True)

    meta = {
        "files": [name for _, name in files],
        "retry": (files, workdir, options),
        "no_return": "The rows are saved; the new accounts are being scored, then the report shows here.",
    }
    drop = (lambda: shutil.rmtree(workdir, ignore_errors=True)) if workdir else None
    jobs.start(IMPORT, scope, label, work, meta=meta, on_drop=drop)


def retry_import(scope: Scope) -> None:
    """Run this user's failed import again with the files it kept (they pass to the new job)."""
    old = jobs.current(IMPORT, scope)
    if old is None or not old.retryable or jobs.take(IMPORT, scope) is not old:
        return  # discarded or retried in another tab meanwhile: the page shows what is there now
    files, workdir, options = old.meta["retry"]
    try:
        _start_import(files, workdir, scope, options)
    except jobs.JobRunning as exc:  # another tab of this user started an import in between
        if old.on_drop is not None:
            old.on_drop()
        data.show_error(exc)


def offer_retry(job: jobs.Job, scope: Scope) -> None:
    """Under the error of an import that failed through no fault of its files: Retry with the same files, or
    discard them."""
    seen(job)
    left, right, _ = st.columns([1, 1, 3])
    if left.button("Retry", key="job_retry_import", type="primary", icon=":material/refresh:"):
        retry_import(scope)
        st.rerun()
    if right.button("Discard the files", key="job_discard_import", icon=":material/delete:"):
        jobs.discard(IMPORT, scope)
        st.rerun()
    st.caption("The files were not at fault. They are kept, for you only, to try again: until you retry or discard "
               f"them, start another import, or for {jobs.KEEP_S / 3600:.0f} hour.")  # fmt: skip


# --- Rebalance page: an optimizer run --------------------------------------------------------------------------
def _run_key(options: optimize.Options, matrix: tuple[str, bytes] | None) -> tuple[Any, ...]:
    """What an optimizer result depends on: the store's data version (accounts, deals, owners, reps, settings; not a
    sign-out nor a scenario save: store/versions.py), the options and the travel matrix's bytes."""
    digest = hashlib.sha256(matrix[1]).hexdigest() if matrix else None
    return (data.versions(data.db_path())["data_version"], options, matrix[0] if matrix else None, digest)


def optimizer_result(options: optimize.Options, matrix: tuple[str, bytes] | None, scope: Scope) -> optimize.Result:
    """The optimizer's result for these options on today's store, computed as this user's job and followed with
    its progress; kept in the session for the store's version and the options (as the page's cache did). A failure
    is one line; a cancelled run shows the page as not run, with a note."""
    key = _run_key(options, matrix)
    for attempt in range(2):
        _keep_outcome(follow(OPTIMIZE, scope))
        kept = st.session_state.get("rb_result")
        if kept is not None and kept[0] == key:
            return kept[1]  # type: ignore[no-any-return]
        failed = st.session_state.get("rb_failed")
        if failed is not None and failed[0] == key:
            st.error(f"The optimizer run failed: {failed[1]}", icon=":material/error:")
            st.stop()
        if attempt == 0:
            _start_optimizer(key, options, matrix, scope)
    st.rerun()  # the run that ended was of other settings (or the store changed meanwhile): follow this one


def _keep_outcome(job: jobs.Job | None) -> None:
    if job is None:
        return
    if job.state == jobs.DONE:
        st.session_state["rb_result"] = (job.meta["key"], job.result)
    elif job.state == jobs.FAILED:
        st.session_state["rb_failed"] = (job.meta["key"], job.error)
    else:
        st.session_state.pop("rb_options", None)
        st.session_state["rb_cancelled"] = True
        st.rerun()


def _start_optimizer(key: tuple[Any, ...], options: optimize.Options, matrix: tuple[str, bytes] | None,
                     scope: Scope) -> None:  # fmt: skip
    path = data.db_path()

    def work(job: jobs.Job) -> optimize.Result:
        with store.read(path) as con:
            job.progress(0.0, "Reading the accounts")
            if matrix is None:
                return scenarios.run(job.own(con), options, job.progress, scope=scope)
            return scenarios.run(job.own(con), options, job.progress, scope=scope, travel_matrix=matrix[1],
                                 matrix_name=matrix[0])  # fmt: skip

    try:
        jobs.start(OPTIMIZE, scope, "Optimizer run", work, meta={"key": key, "options": options, "matrix": matrix})
    except jobs.JobRunning as exc:
        data.show_error(exc)


def resume_optimizer(scope: Scope) -> None:
    """Back on the page in a session that lost its settings: this user's run, still running or finished, shows
    (its options become the page's last run); a run cancelled says so once."""
    job = jobs.current(OPTIMIZE, scope)
    if job is not None and "rb_options" not in st.session_state:
        st.session_state["rb_options"] = job.meta["options"]
        st.session_state["rb_matrix_run"] = job.meta["matrix"]
    if st.session_state.pop("rb_cancelled", False):
        st.info("The optimizer run was cancelled: nothing changed.", icon=":material/cancel:")


# --- Model page: a training ------------------------------------------------------------------------------------
def _store_slot() -> str:
    return str(data.db_path())  # one training at a time per store


def start_training(scope: Scope) -> None:
    """Train, score and activate a new model version as this user's job; while anyone's training of this store
    runs, none starts (the page follows the running one)."""
    path = data.db_path()

    def work(job: jobs.Job) -> dict[str, Any]:
        job.progress(0.0, "Reading the closed deals")
        return propensity.train(path, scope=scope, created_by=scope.user, progress=job.progress)

    with suppress(jobs.JobRunning):  # the page's next run follows the one running
        jobs.start(TRAIN, scope, "Model training", work, slot=_store_slot())


def follow_training(scope: Scope) -> jobs.Job | None:
    """The store's running training (anyone's), then this user's finished one (see follow)."""
    return follow(TRAIN, scope, slot=_store_slot())


# --- Any page: how the user's job that ran while they were elsewhere ended ---------------------------------------
def seen(job: jobs.Job) -> None:
    """The page showed this job's outcome: the sidebar does not announce it."""
    st.session_state.setdefault(SEEN, set()).add(job.id)


def notices(scope: Scope) -> None:
    """A line for this user's import or training: while it runs (followed every WATCH_S), how far it is; once it
    ended, how, linking to the page that shows its outcome (with a toast, once). Gone when that page showed it."""
    for kind, slot in ((IMPORT, None), (TRAIN, _store_slot())):
        job = jobs.current(kind, scope, slot=slot)
        if job is None or job.id in st.session_state.get(SEEN, ()):
            continue
        (_watch if job.running else _notice)(kind, scope, slot)


def _notice(kind: str, scope: Scope, slot: str | None) -> None:
    job = jobs.current(kind, scope, slot=slot)
    if job is None or job.id in st.session_state.get(SEEN, ()):
        return
    if job.running:
        st.caption(f"{md_text(job.label, 60)} · {job.fraction:.0%} · {jobs.elapsed_text(job.seconds())}")
        return
    short, line, icon = _outcome(job)
    st.page_link(PAGES[kind], label=short, icon=icon, help=line)  # short: a sidebar cuts a link to one line
    toasted = st.session_state.setdefault(TOASTED, set())
    if job.id not in toasted:
        toasted.add(job.id)
        st.toast(line, icon=icon)


_watch = st.fragment(run_every=WATCH_S)(_notice)


def _outcome(job: jobs.Job) -> tuple[str, str, str]:
    """How a job ended: a few words for the sidebar's link, one line naming the job and where to see more, an
    icon."""
    what = md_text(job.label, 80)
    noun = "Import" if job.kind == IMPORT else "Training"
    page = "Data" if job.kind == IMPORT else "Model"
    if job.state == jobs.CANCELLED:
        return f"{noun} cancelled", f"{what} was cancelled: nothing changed", ":material/cancel:"
    if job.state == jobs.FAILED:
        where = "retry it" if job.retryable else "see why"
        return f"{noun} failed: {where}", f"{what} failed: {where} on the {page} page", ":material/error:"
    if job.kind == TRAIN:
        done = f"version {job.result['model_version']}"
        return f"Model trained: {done}", f"{what} finished ({done}): see it on the Model page", ":material/check:"
    if not job.result.landed:
        return (
            "Import: no row imported",
            f"{what}: no row could be imported; see the report on the Data page",
            ":material/warning:",
        )
    return "Import done: see the report", f"{what} finished: see the report on the Data page", ":material/check_circle:"
