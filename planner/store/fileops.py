"""The store file's own care around a write (store/core.py copies it, writes the copy, renames it over the file).

The file that replaces the store keeps the old file's mode and, where this process may set them, its owner and
group (so does the lock file beside it): a private 0600 store owned by the app's user stays so after an admin
writes it as root. A store without write permission is refused rather than replaced. Before an upgrade the
previous file is kept beside the store. A damaged file is told apart from one another program has locked.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import stat
import uuid
from contextlib import suppress
from pathlib import Path

from planner.errors import StoreBusy, StoreError

RESTORE_HELP = 'restore your last backup of it (README, "Backup and restore")'


def damaged(exc: BaseException) -> bool:
    """Whether a DuckDB error says the file's bytes are damaged (a block whose checksum does not match)."""
    text = str(exc).lower()
    return "corrupt database file" in text or ("checksum" in text and "does not match" in text)


def damaged_error(path: Path, exc: BaseException) -> StoreError:
    """One line naming the damaged store and the way back: no retry can mend it."""
    detail = re.sub(r"^[A-Za-z ]*Error: ", "", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return StoreError(f"the store {path} is damaged and cannot be read ({detail}); {RESTORE_HELP}")


def open_error(path: Path, exc: Exception) -> StoreError:
    """One line for a store file DuckDB would not open: damaged, held by a foreign writer, or no store at all."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if damaged(exc):
        return damaged_error(path, exc)
    if re.search(r"\block\b", text, re.IGNORECASE):  # the word, not the "lock" inside "block"
        return StoreBusy(
            f"store {path} is locked by another program that opened it for writing; close it, or wait and retry"
        )
    return StoreError(
        f"{path} is not a readable Territory Planner store ({text}); pass --db with a store, "
        "or move the file away to build a fresh demo store"
    )


def clean_stale_temporaries(path: Path) -> None:
    """Remove the temporary files of writers that were killed (the caller holds the write lock: none is in use)."""
    for stale in path.parent.glob(glob.escape(path.name) + ".tmp-*"):
        stale.unlink(missing_ok=True)


def temporary_beside(path: Path) -> Path:
    """A new temporary file name beside the store, which clean_stale_temporaries removes should its writer die."""
    return path.with_name(f"{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def refuse_read_only(path: Path) -> None:
    """Refuse to replace a store file whose permission bits deny this user writing it, or carry no write bit at
    all (`chmod 444`, which root could otherwise overwrite): renaming a copy over it would undo that choice.
    Other refusals (an immutable file, a read-only file system) fail in the write itself, which names them."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if _mode_lets_write(st):
        return
    raise StoreError(
        f"cannot write the store: {path} is read-only for this user (mode {stat.S_IMODE(st.st_mode):04o}, owner "
        f"uid {st.st_uid}); make it writable (`chmod u+w`) or run as its owner; the store is unchanged"
    )


def _mode_lets_write(st: os.stat_result) -> bool:
    if os.geteuid() == 0:
        return bool(st.st_mode & 0o222)
    if st.st_uid == os.geteuid():
        return bool(st.st_mode & stat.S_IWUSR)
    if st.st_gid == os.getegid() or st.st_gid in os.getgroups():
        return bool(st.st_mode & stat.S_IWGRP)
    return bool(st.st_mode & stat.S_IWOTH)


def keep_attributes(model: Path, target: Path) -> None:
    """Give `target` the mode of `model` and, where this process may, its owner and group (root may; another
    user may at least keep a group it belongs to). A missing model, or a target this process may not change
    (someone else's lock file), is left as it is."""
    try:
        st = model.stat()
        now = target.stat()
    except FileNotFoundError:
        return
    if (now.st_uid, now.st_gid) != (st.st_uid, st.st_gid):
        for uid, gid in ((st.st_uid, st.st_gid), (-1, st.st_gid)):
            try:
                os.chown(target, uid, gid)
                break
            except PermissionError:
                continue
    if stat.S_IMODE(now.st_mode) != stat.S_IMODE(st.st_mode):
        with suppress(PermissionError):
            os.chmod(target, stat.S_IMODE(st.st_mode))


def keep_previous(path: Path, version: int) -> Path:
    """Keep the store file as it is before an upgrade from schema `version`, beside it (one file per version;
    a later upgrade from the same version replaces it) with the store's mode and owner. Returns where."""
    kept = path.with_name(f"{path.name}.schema{version}.bak")
    part = temporary_beside(path)
    try:
        shutil.copyfile(path, part)
        keep_attributes(path, part)
        fd = os.open(part, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(part, kept)
    finally:
        part.unlink(missing_ok=True)
    return kept
