"""The Data page's uploads and store resets: one name per uploaded file and identical files found, the uploader's
size limit taken from the importer's setting, the importer's advice worded for the page, a table's missing fields
flagged before Import, and a counted confirmation before the store is rebuilt as the demo or emptied.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit import config

from planner import demo, ingest, settings
from planner.errors import BadInput, ImportFileError, PlannerError
from planner.ingest import explain, limits
from planner.scope import Scope
from ui import data

# Every type the importer reads or explains itself: the uploader refuses other types with only a red '!' on the
# file's chip (the reason in a hover tooltip), so .xls and .zip are taken, and read or told apart by the reader.
TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls", "zip"]


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its name in this batch (unique), and the earlier upload it repeats byte for byte."""

    file: Any  # streamlit's UploadedFile
    name: str  # 'Account.csv', or 'Account (2).csv' for a second file of that name
    sha256: str
    same_as: str | None = None


def name_uploads(files: list[Any], digests: dict[str, str] | None = None) -> list[Upload]:
    """The batch's files, each with a name no other file of the batch has (two exports both name their file
    Account.csv: each keeps its own mapping) and, for a file whose bytes an earlier one has, that file's name.
    `digests` keeps each file's SHA-256 by its file_id across reruns (a 200 MB file takes a second to hash)."""
    digests = {} if digests is None else digests
    out: list[Upload] = []
    seen: dict[str, str] = {}  # sha256 -> name
    taken: set[str] = set()
    for f in files:
        raw = Path(str(getattr(f, "name", "upload.csv"))).name or "upload.csv"
        key = str(getattr(f, "file_id", id(f)))
        digest = digests.get(key) or digests.setdefault(key, hashlib.sha256(f.getvalue()).hexdigest())
        if digest in seen:
            out.append(Upload(f, raw, digest, same_as=seen[digest]))
            continue
        name, n = raw, 1
        while name.lower() in taken:
            n += 1
            stem, suffix = Path(raw).stem, Path(raw).suffix
            name = f"{stem} ({n}){suffix}"
        taken.add(name.lower())
        seen[digest] = name
        out.append(Upload(f, name, digest))
    return out


def duplicate_note(upload: Upload) -> str:
    same = "the same file as" if upload.name == upload.same_as else "identical to"
    return (
        f"{upload.name} is {same} {upload.same_as} (same content, SHA-256 {upload.sha256[:12]}…): it is imported "
        "once. Remove it, or upload the other export you meant."
    )


def renamed_note(upload: Upload) -> str | None:
    raw = Path(str(getattr(upload.file, "name", ""))).name
    if raw and raw != upload.name:
        return f"another file in this upload is also named {raw}: this one is shown and imported as {upload.name}"
    return None


def upload_limit_mb() -> int:
    """The importer's per-file limit (PLANNER_MAX_UPLOAD_MB); its default when the setting is misconfigured (the
    page says so through limits_text)."""
    try:
        return limits.upload_limits().upload_mb
    except BadInput:
        return int(settings.SETTINGS["max_upload_mb"].default)


def apply_upload_limit() -> int:
    """Make Streamlit enforce the importer's limit: its server refuses an upload over server.maxUploadSize, which
    it reads at each upload; .streamlit/config.toml's value is replaced by PLANNER_MAX_UPLOAD_MB's here, at every
    run of the app (ui/shell.py, for every uploader and role), so the limit shown, the uploader's and the server's
    are one setting."""
    mb = upload_limit_mb()
    if config.get_option("server.maxUploadSize") != mb:
        config.set_option("server.maxUploadSize", mb, "PLANNER_MAX_UPLOAD_MB")
    return mb


def refused_text(mb: int) -> str:
    """What a red '!' on a file's chip means (the uploader shows only that for a file over the limit)."""
    return (
        f"A file over {mb:,} MB is refused by the uploader (a red '!' on its name): split the export, or ask an "
        "administrator to raise PLANNER_MAX_UPLOAD_MB (and the proxy's body size, docs/DEPLOY.md)."
    )


# The importer's advice names the command line's flags beside the page; on the page, the page's own controls.
_HOW_TO_MAP = re.compile(re.escape(explain.HOW_TO_MAP).replace(re.escape("{field}"), r"[^`]*"))
_PASS_KIND = re.compile(r"pass --kind (\w+) \(or --kind auto\)")


def page_wording(text: str) -> str:
    """The importer's message as the Data page says it: its 'Maps to' column and 'This table holds' box."""
    text = _HOW_TO_MAP.sub("in the table's 'Maps to' column above", text)
    return _PASS_KIND.sub(lambda m: f"pick '{m.group(1)}' in 'This table holds' above", text)


def show_import_error(exc: PlannerError) -> None:
    """An import's error in the page's words, then stop (data.show_error)."""
    data.show_error(type(exc)(page_wording(str(exc))) if isinstance(exc, ImportFileError) else exc)


def missing_before_import(plan: ingest.Plan, choice: dict[str, Any]) -> str | None:
    """Why this table cannot be imported with the kind and mapping chosen on the page (a German export with no
    column mapped to the account name), in the page's words; None when it can."""
    if choice["kind"] == "skip":
        return None
    chosen = dataclasses.replace(plan, kind=choice["kind"], mapping=choice["mapping"])
    try:
        ingest.check_plan(chosen, "auto" if choice["kind"] == plan.kind else choice["kind"])
    except ImportFileError as exc:
        return page_wording(str(exc))
    return None


def reset_section(who: Scope) -> None:
    """Rebuild the demo or empty the store: what is deleted, counted, and a confirmation first (admins only)."""
    if not who.is_admin:
        return
    with st.expander("Start again: the demo world, or an empty store", icon=":material/restart_alt:"):
        try:
            held = demo.store_contents(data.db_path(), scope=who)
        except PlannerError as exc:
            data.show_error(exc)
        parts = [f"{held[k]:,} {k if held[k] != 1 else k.rstrip('s')}" for k in held if held[k]]
        lost = ", ".join(parts) if parts else "nothing yet"
        st.write(
            f"Both delete everything the store holds now: **{lost}**, with every score and rep home. Sign-in "
            "users and roles, the audit log and the column mappings you confirmed are kept. The audit log records "
            "who did it and what was deleted. There is no undo: download what you need first."
        )
        st.caption(
            "**Rebuild the demo world**: a synthetic US world to explore. **Empty the store**: no account, deal or "
            "rep, to import your exports from a clean start (after an import that went wrong)."
        )
        sure = st.checkbox(f"I understand that this deletes {lost}", key="data_reset_confirm")
        cols = st.columns(2)
        rebuild = cols[0].button("Rebuild the demo world", key="data_rebuild_demo", disabled=not sure)
        empty = cols[1].button("Empty the store", key="data_empty_store", disabled=not sure, type="primary")
        if not (rebuild or empty):
            return
        actor = who.user or "local"
        try:
            if rebuild:
                progress = data.progress_bar()
                demo.build_store(
                    data.db_path(), int(settings.get("demo_accounts")), int(settings.get("demo_reps")),
                    int(settings.get("demo_seed")), force=True, progress=progress, scope=who, actor=actor,
                )  # fmt: skip
            else:
                demo.empty_store(data.db_path(), scope=who, actor=actor)
        except PlannerError as exc:
            data.show_error(exc)
        st.session_state.pop("data_last_report", None)
        st.session_state.pop("data_reset_confirm", None)
        what = "The demo world is back" if rebuild else "The store is empty: import your exports above"
        st.session_state["data_flash"] = f"{what} ({lost} deleted)."
        st.rerun()
