"""The CLI: commands, exports, one-line errors with exit status 2 (bad input and operating-system problems)."""

from __future__ import annotations

import argparse
import builtins
import csv
import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest

from planner.cli import main
from planner.errors import os_problem
from tests.conftest import ROOT
from tests.helpers import table
from tests.lake import store_state


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """planner.cli.main(ARGS) in this process (argparse's refusals exit through SystemExit): exit status, stdout,
    stderr. A process of its own cost 1-4 CPU-s of imports each time."""
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_then_export_accounts_and_reps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cli.duckdb"
    # In this process: `python -m planner` as a process of its own is run by test_faults, test_scenarios and
    # test_lake_processes (it cost 3 CPU-s of imports here).
    code, out, err = run_main(capsys, "--db", str(db), "demo", "--accounts", "400", "--reps", "5", "--seed", "2")
    assert code == 0, err
    assert "400 accounts" in out
    assert main(["--db", str(db), "export", "accounts", "--out", str(tmp_path / "a.csv")]) == 0
    with open(tmp_path / "a.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 400
    for col in ["account_id", "name", "industry", "employees", "city", "state", "postal_code", "lat", "lon", "owner"]:
        assert col in rows[0]
    assert len(rows[0]["postal_code"]) == 5
    assert main(["--db", str(db), "export", "reps", "--out", str(tmp_path / "r.csv")]) == 0
    with open(tmp_path / "r.csv", encoding="utf-8-sig") as fh:
        reps = list(csv.DictReader(fh))
    assert len(reps) == 5
    for col in ["name", "email", "quota", "home_lat", "home_lon"]:
        assert col in reps[0]
    owners = {r["owner"] for r in rows} - {""}
    assert owners <= {r["name"] for r in reps}


def test_export_deals(small_store: Path, tmp_path: Path) -> None:
    assert main(["--db", str(small_store), "export", "deals", "--out", str(tmp_path / "d.xlsx")]) == 0
    assert (tmp_path / "d.xlsx").stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--accounts", "x"], "invalid int value"),
        (["demo", "--accounts", "3"], "out of range"),
        (["export", "nothing", "--out", "x.csv"], "invalid choice"),
        (["export", "accounts"], "required"),
        (["nosuchcommand"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(capsys, "--db", str(tmp_path / "x.duckdb"), *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert "Traceback" not in err


def test_a_typo_lists_every_command_and_imports_none() -> None:
    """`python -m planner nosuchcommand` answers at once: argparse's one line names every command, and no
    command module (scikit-learn, the LP solver...) was imported to say so (7.7 s before, for a typo)."""
    code = (
        "import sys\nfrom planner.cli import main\ntry:\n    main(['nosuchcommand'])\nexcept SystemExit as e:\n"
        "    print(e.code, sorted(m for m in sys.modules if m.startswith('planner.commands.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2 []", out.stdout
    err = out.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: argument COMMAND: invalid choice: 'nosuchcommand'"), err
    for name in ("as-of", "balance", "import", "rep-home", "store", "train"):
        assert f"'{name}'" in err[0]


def test_missing_and_corrupt_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(tmp_path / "none.duckdb"), "export", "accounts", "--out", str(tmp_path / "a.csv")]) == 2
    assert capsys.readouterr().err.startswith("error: no store at")
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"%PDF-1.4 not a store")
    assert main(["--db", str(bad), "export", "accounts", "--out", str(tmp_path / "a.csv")]) == 2
    assert "not a readable Territory Planner store" in capsys.readouterr().err


def test_export_refuses_unknown_suffix(small_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(small_store), "export", "accounts", "--out", "x.pdf"]) == 2
    assert "use a .csv or .xlsx" in capsys.readouterr().err


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`planner COMMAND [SUBCOMMAND] --help` of every command and subcommand, in this process: main() loads only
    the command named, as a fresh `python -m planner COMMAND --help` does (the entry point itself runs in the
    subprocess tests above)."""
    from planner.cli import build_parser

    def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        return next((dict(a.choices) for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {})

    top = subcommands(build_parser())
    commands = [[name] for name in top] + [[name, sub] for name, parser in top.items() for sub in subcommands(parser)]
    assert len(top) >= 14 and len(commands) > len(top), commands
    for argv in commands:
        with pytest.raises(SystemExit) as exit_:
            main([*argv, "--help"])
        out, err = capsys.readouterr()
        assert exit_.value.code == 0 and out.startswith("usage: python -m planner " + " ".join(argv)), argv
        assert err == "", argv


def test_env_var_selects_store(
    small_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PLANNER_DB", str(small_store))
    code, _, err = run_main(capsys, "export", "reps", "--out", str(tmp_path / "r.csv"))
    assert code == 0, err
    assert (tmp_path / "r.csv").read_text(encoding="utf-8-sig").count("\n") == 7


# ---------------------------------------------------------------------------------------------
# Operating-system problems: exit 2 with one plain line, the store unchanged


@contextmanager
def tmpfs(where: Path, size: str, *options: str) -> Iterator[bool]:
    """Mount a small tmpfs at `where` when this process may (root in a container); yields whether it did."""
    where.mkdir(parents=True, exist_ok=True)
    opts = ",".join([f"size={size}", *options])
    mounted = (
        shutil.which("mount") is not None
        and subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def one_error_line(capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert "unexpected" not in err[0] and "Traceback" not in err[0], err
    for fragment in fragments:
        assert fragment in err[0], err
    return err[0]


def sha(path: Path) -> str:
    return store_state(path)  # a lake's snapshot id under PLANNER_TEST_STORE=lake


def test_importing_a_folder_or_a_missing_file_is_exit_2(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sha(small_store)
    assert main(["--db", str(small_store), "import", str(tmp_path)]) == 2
    one_error_line(capsys, f"{tmp_path} is a folder, not a file")
    assert main(["--db", str(small_store), "import", str(tmp_path / "none.csv")]) == 2
    one_error_line(capsys, "none.csv: no such file")
    assert sha(small_store) == before


def test_an_unreadable_file_is_exit_2(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "accounts.csv"
    secret.write_text("Account ID,Account Name\n1,Acme\n")
    secret.chmod(0)
    if os.geteuid() == 0:  # root reads any file: make this one refuse as it would for anyone else
        real_open = builtins.open

        def refusing_open(file: Any, *args: Any, **kwargs: Any) -> Any:
            if str(file) == str(secret):
                raise PermissionError(errno.EACCES, "Permission denied", str(secret))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", refusing_open)
    before = sha(small_store)
    assert main(["--db", str(small_store), "import", str(secret)]) == 2
    one_error_line(capsys, f"permission denied on {secret}")
    assert sha(small_store) == before


def refuse_writes_in(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make os.open and open() fail with EROFS for any file in `folder` opened for writing."""
    real_open = os.open
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def read_only_open(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & writing and Path(file).parent == folder:
            raise OSError(errno.EROFS, "Read-only file system", str(file))
        return real_open(file, flags, *args, **kwargs)

    real_builtin_open = builtins.open

    def read_only_builtin_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if set(mode) & set("wax+") and Path(str(file)).parent == folder:
            raise OSError(errno.EROFS, "Read-only file system", str(file))
        return real_builtin_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only_open)
    monkeypatch.setattr(builtins, "open", read_only_builtin_open)


@pytest.mark.file_store("a read-only folder holding the store file and its working copy")
def test_a_read_only_store_folder_is_exit_2(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ro"
    with tmpfs(folder, "64m") as mounted:
        store_path = folder / "store.duckdb"
        shutil.copyfile(small_store, store_path)
        if mounted:
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
            fragment = "is on a read-only file system"
        elif os.geteuid() == 0:  # root writes into a mode-555 folder: refuse writes there in-process instead
            refuse_writes_in(folder, monkeypatch)
            fragment = "is on a read-only file system"
        else:
            folder.chmod(0o555)
            fragment = "permission denied on"
        before = sha(store_path)
        assert main(["--db", str(store_path), "roles", "set", "x@example.com", "leader"]) == 2
        one_error_line(capsys, fragment, "the store is unchanged")
        assert main(["--db", str(store_path), "export", "reps", "--out", str(folder / "r.csv")]) == 2
        one_error_line(capsys, fragment)
        assert sha(store_path) == before
        assert main(["--db", str(store_path), "export", "reps", "--out", str(tmp_path / "r.csv")]) == 0  # reads work
        if not mounted:
            folder.chmod(0o755)


@pytest.mark.file_store("the copy-and-swap's working copy does not fit on the store file's device")
def test_a_full_disk_is_exit_2_and_leaves_the_store_as_it_was(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store fits on the device, its working copy does not: a real ENOSPC where a tmpfs can be mounted,
    otherwise the copy is made to fail with ENOSPC in-process."""
    size_mb = small_store.stat().st_size // (1024 * 1024) + 2
    folder = tmp_path / "full"
    with tmpfs(folder, f"{size_mb}m") as mounted:
        store_path = folder / "store.duckdb"
        shutil.copyfile(small_store, store_path)
        if not mounted:
            real_copy = shutil.copyfile

            def full_disk(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
                if str(dst).startswith(str(store_path) + ".tmp-"):
                    raise OSError(errno.ENOSPC, "No space left on device", str(dst))
                return real_copy(src, dst, *args, **kwargs)

            monkeypatch.setattr(shutil, "copyfile", full_disk)
        before = sha(store_path)
        assert main(["--db", str(store_path), "roles", "set", "x@example.com", "leader"]) == 2
        one_error_line(capsys, "no space left on the device holding", "the store is unchanged")
        assert sha(store_path) == before
        assert [p.name for p in folder.iterdir() if ".tmp-" in p.name] == []  # no half-written copy left
        assert main(["--db", str(store_path), "export", "accounts", "--out", str(folder / "a.xlsx")]) in (0, 2)
        capsys.readouterr()
        assert [p.name for p in folder.iterdir() if p.suffix == ".part"] == []


def test_os_problem_lines() -> None:
    assert os_problem(OSError(errno.ENOSPC, "No space left on device", "/x/s.duckdb")) == (
        "no space left on the device holding /x/s.duckdb; free some space and retry"
    )
    assert os_problem(duckdb.IOException('Could not write file "/x/s.wal": No space left on device')) == (
        "no space left on the device holding /x/s.wal; free some space and retry"
    )
    assert os_problem(OSError(errno.ENAMETOOLONG, "File name too long", "/x")) == "file name too long: /x"
    assert os_problem(ValueError("boom")) is None


def test_import_says_how_many_accounts_it_could_not_place(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The import line counted only rows with a valid US ZIP ('geocoded 1 of 1'), never the accounts it could
    not place or placed only at their country's centre, which the Data page then lists."""
    path = tmp_path / "a.csv"
    rows = ["Account Name,Billing Zip,Billing City,Billing Country", "Acme,10001,New York,USA",
            "Müller GmbH,10115,Berlin,Germany", "Nowhere Inc,,,", "France SA,,,France"]  # fmt: skip
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, err = run_main(capsys, "--db", str(empty_store), "import", str(path))
    assert code == 0, err
    assert ("placed 3 of 4 accounts on the map (1 of 1 in the US with a valid ZIP); 1 only at their country's "
            "centre; 1 not placed") in out  # fmt: skip
    first = tmp_path / "ids.csv"
    first.write_text("Account ID,Account Name,Billing Zip\nA1,Acme,10001\n", encoding="utf-8")
    update = tmp_path / "owners.csv"  # an owner-only update file says nothing of places (the stored ones stay)
    update.write_text("Account ID,Account Owner\nA1,Ann Lee\n", encoding="utf-8")
    for path in (first, update):
        code, out, err = run_main(capsys, "--db", str(empty_store), "import", str(path))
    assert code == 0 and "1 updated" in out and "placed" not in out, (out, err)


def test_import_maps_columns_given_on_the_command_line(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Polish export no header of ours names (German, French and Spanish ones map themselves): `--map
    COLUMN=FIELD` reads it from the CLI, as the Data page's mapping does; a typo (column, field, a field of
    another kind, no '=') is one error line and writes nothing."""
    path = tmp_path / "firmy.csv"
    path.write_text(
        "Nazwa firmy;Pracownicy;Przychód;Kod;Miasto;Kraj\nMüller GmbH;1.200;12.500.000,50;80331;München;Deutschland\n"
        "Bäckerei Schmidt;12;;20095;Hamburg;Germany\n",
        encoding="utf-8",
    )
    before = store_state(empty_store)
    for args, words in [
        ([], "cannot tell whether it holds accounts"),
        (["--map", "Firma=name"], "no file has a column 'Firma'"),
        (["--map", "Nazwa firmy=nme"], "'nme' is not a field"),
        (["--kind", "deals", "--map", "Pracownicy=employees"], "holds deals, which have no field 'employees'"),
        (["--map", "Nazwa firmy"], "write COLUMN=FIELD"),
    ]:
        code, out, err = run_main(capsys, "--db", str(empty_store), "import", str(path), *args)
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], (args, err)
        assert store_state(empty_store) == before
    mapped = ["--map", "Nazwa firmy=name", "--map", "Pracownicy=employees", "--map", "Przychód=annual_revenue",
              "--map", "Kod=postal_code", "--map", "Miasto=city", "--map", "Kraj=country"]  # fmt: skip
    code, out, err = run_main(capsys, "--db", str(empty_store), "import", str(path), "--kind", "accounts", *mapped)
    assert code == 0 and "2 rows read, 2 inserted, 0 updated, 0 rejected" in out, err
    assert "valid US ZIP" not in out  # 80331 and 20095 are German PLZ here, not US ZIPs
    # Mapped to account-only fields, the kind needs no --kind.
    code, out, err = run_main(capsys, "--db", str(empty_store), "import", str(path), *mapped)
    assert code == 0 and "2 rows read, 0 inserted, 2 updated, of which 2 unchanged, 0 rejected" in out, err
    rows = table(empty_store, "SELECT name, employees, annual_revenue, city FROM accounts ORDER BY name")
    assert rows == [("Bäckerei Schmidt", 12, None, "Hamburg"), ("Müller GmbH", 1200, 12500000.5, "München")]
