"""Pages' long work as background jobs (ui/jobs.py): a Data page import and a Rebalance optimizer run keep going
when the user goes to another page; back on the page, its progress (bar with words, elapsed time, Cancel) and then
its outcome show as if they had stayed.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path
from typing import Any

import streamlit as st

from planner import ingest, optimize, propensity, scenarios, store
from planner.scope import Scope
from ui import data, jobs

IMPORT, OPTIMIZE = "import", "optimize"
POLL_S = 0.25
LEAVE_NOTE = "You can go to another page: this goes on, and its result shows here when you come back."


def follow(kind: str, scope: Scope) -> jobs.Job | None:
    """This user's job of this kind: while it runs, its bar (words and elapsed time) and Cancel, redrawn until it
    ends; then the finished job, taken from the registry (its outcome is the caller's to show), or None.

    The page's run waits here. When the user goes to another page Streamlit stops this run at the bar's next
    redraw, and the job goes on; back on the page, this follows it again."""
    job = jobs.current(kind, scope)
    if job is None:
        return None
    if job.running:
        box = st.empty()
        with box.container():
            bar = st.empty()
            can_cancel = job.cancellable and not job.cancel_requested
            if can_cancel and st.button("Cancel", key=f"job_cancel_{kind}", icon=":material/cancel:"):
                jobs.cancel(kind, scope)
            note = st.empty()
            st.caption(LEAVE_NOTE)
        while job.running:
            bar.progress(job.fraction, text=f"{job.label} · {job.message} · {jobs.elapsed_text(job.seconds())}")
            if job.cancel_requested:
                note.caption("Cancelling: it stops at the end of its current step.")
            elif not job.cancellable:
                note.caption("The rows are saved; the new accounts are being scored, then the report shows here.")
            time.sleep(POLL_S)
        box.empty()  # no bar frozen above the outcome
    return jobs.take(kind, scope)


def free(kind: str, scope: Scope) -> bool:
    """Whether a job of this kind may start now for this user; else the page says which one runs."""
    job = jobs.current(kind, scope)
    if job is None or not job.running:
        return True
    st.warning(f"{job.label} is still running ({jobs.elapsed_text(job.seconds())}): wait for it, or cancel it.",
               icon=":material/hourglass_top:")  # fmt: skip
    return False


# --- Data page: an import ---------------------------------------------------------------------------------------
def start_import(files: list[tuple[Path, str]], workdir: str | None, scope: Scope, **options: Any) -> None:
    """Import the uploaded files as this user's job (one transaction, retried on conflict, as ingest does); the
    job owns the uploads' scratch folder and removes it when it ends."""
    names = ", ".join(name for _, name in files)
    label = f"Import of {names[:120] + '…' if len(names) > 120 else names}"
    path = data.db_path()

    def work(job: jobs.Job) -> ingest.ImportReport:
        def after(*args: Any, **kwargs: Any) -> list[str]:  # the import's write has committed: scoring is left
            job.point_of_no_return()
            return propensity.score_new_accounts(*args, **kwargs)

        try:
            return ingest.import_files(path, files, progress=job.progress, scope=scope, after=after, **options)
        finally:
            if workdir:
                shutil.rmtree(workdir, ignore_errors=True)

    try:
        jobs.start(IMPORT, scope, label, work, meta={"files": [name for _, name in files]})
    except jobs.JobRunning as exc:
        data.show_error(exc)


# --- Rebalance page: an optimizer run --------------------------------------------------------------------------
def _run_key(options: optimize.Options, matrix: tuple[str, bytes] | None) -> tuple[Any, ...]:
    """What an optimizer result depends on: the store's version, the options and the travel matrix's bytes."""
    digest = hashlib.sha256(matrix[1]).hexdigest() if matrix else None
    return (store.fingerprint(data.db_path()), options, matrix[0] if matrix else None, digest)


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
