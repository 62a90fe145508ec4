"""A file store whose file or folder cannot be written: one plain line (exit 2 in the CLI, st.error on the Data
page), never a traceback or 'unexpected ... report it' (README: read-only and disk-full errors)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from planner import roles, store
from planner.cli import main
from planner.errors import StoreError
from planner.scope import OPERATOR
from tests.helpers import page
from tests.test_cli import one_error_line, sha

pytestmark = pytest.mark.file_store("the file store's copy-and-swap meeting a file or folder it cannot write")

ACCOUNTS = "Account ID,Account Name,Billing City\nX1,Acme Immutable,Boston\n"


@contextmanager
def immutable(target: Path) -> Iterator[None]:
    """`chattr +i` on target for the block (root writes through file modes, not through this); skip where the
    file system or the process cannot set it."""
    if shutil.which("chattr") is None:
        pytest.skip("no chattr on this machine")
    done = subprocess.run(["chattr", "+i", str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i not possible here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=True)


def test_a_refused_swap_is_one_line_naming_the_store(small_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.replace over an immutable store file fails with EPERM naming the working copy: the line names the
    store, and the Data page (which shows PlannerErrors) gets a StoreError, not a raw PermissionError."""

    def refuse(src: Any, dst: Any) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted", str(src), None, str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    before = sha(small_store)
    with pytest.raises(StoreError) as caught:
        roles.set_role(small_store, "x@example.com", "leader", scope=OPERATOR)
    assert str(caught.value) == (
        f"cannot write the store: operation not permitted on {small_store}; check its permissions, or run as a "
        "user who may use it; the store is unchanged"
    )
    assert sha(small_store) == before
    assert [p.name for p in small_store.parent.iterdir() if ".tmp-" in p.name] == []


def test_a_working_copy_the_folder_refuses_names_the_folder(small_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_copy = shutil.copyfile

    def refuse(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
        if ".tmp-" in str(dst):
            raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        return real_copy(src, dst, *args, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", refuse)
    with pytest.raises(StoreError, match=rf"^cannot write the store: permission denied on the folder "
                       rf"{small_store.parent} \(which holds the store {small_store.name}\); check"):  # fmt: skip
        roles.set_role(small_store, "x@example.com", "leader", scope=OPERATOR)


def test_other_errors_inside_a_write_pass_unchanged(small_store: Path) -> None:
    with pytest.raises(ValueError, match="boom"), store.write(small_store):
        raise ValueError("boom")


def test_an_immutable_store_file_or_folder_is_exit_2(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The explorer's repro (chattr +i): import and `roles set` each print one line and exit 2."""
    accounts = tmp_path / "in" / "accounts.csv"
    accounts.parent.mkdir()
    accounts.write_text(ACCOUNTS)
    before = sha(small_store)
    for target, fragment in (
        (small_store, f"operation not permitted on {small_store};"),
        (small_store.parent, f"operation not permitted on the folder {small_store.parent} "),
    ):
        with immutable(target):
            assert main(["--db", str(small_store), "import", str(accounts)]) == 2
            one_error_line(capsys, "cannot write the store: ", fragment, "the store is unchanged")
            assert main(["--db", str(small_store), "roles", "set", "x@example.com", "leader"]) == 2
            one_error_line(capsys, "cannot write the store: ", fragment)
        assert sha(small_store) == before


def test_data_page_import_into_an_immutable_store_is_one_error(app_store: Path) -> None:
    at = page("data")
    at.get("file_uploader")[0].set_value([("accounts.csv", ACCOUNTS.encode(), "text/csv")])
    at.run()
    assert [str(e.value) for e in at.error] == []
    with immutable(app_store):
        at.button(key="data_import").click().run()
    assert len(at.exception) == 0
    assert [str(e.value) for e in at.error] == [  # no path on the server in a page (ui/data.error_text)
        "cannot write the store: operation not permitted on the store; check its permissions, or run as a "
        "user who may use it; the store is unchanged"
    ]
