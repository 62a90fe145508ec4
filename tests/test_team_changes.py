"""Team changes through a year (explore-O): a hire who shares a rep's name, an archived HubSpot owner, a rename
met by an older export, the sidebar's rep count and the plan of a rep who left."""

from __future__ import annotations

import contextlib
import io
from datetime import date
from pathlib import Path

import pytest

from planner import cli, ingest, plan, roles, store
from planner.scope import OPERATOR
from planner.store import world
from tests.helpers import kpis, page, sidebar_text, table

USERS = """FirstName,LastName,Email,IsActive,City,Country,Quota__c
Anna,Klein,anna.klein@vertrieb.example,true,Stuttgart,Deutschland,900000
Lena,Schulz,lena.schulz@vertrieb.example,true,Berlin,Deutschland,1100000
Felix,Wagner,felix.wagner@vertrieb.example,true,Kiel,Deutschland,800000
"""
ACCOUNTS = """Account Name,Billing City,Billing Country,Account Owner
Bau KG,Stuttgart,Deutschland,Anna Klein
Medien GmbH,Berlin,Deutschland,Lena Schulz
Werft AG,Kiel,Deutschland,Felix Wagner
Hafen SE,Kiel,Deutschland,Lena Schulz
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def team(empty_store: Path, tmp_path: Path) -> Path:
    """Three reps from a users file, and four accounts whose owners name them."""
    ingest.import_files(empty_store, [_write(tmp_path / "users.csv", USERS)], scope=OPERATOR)
    ingest.import_files(empty_store, [_write(tmp_path / "accounts.csv", ACCOUNTS)], scope=OPERATOR)
    return empty_store


def _reps(path: Path) -> list[tuple[str, str, str, bool]]:
    return table(path, "SELECT rep_id, name, email, active FROM reps ORDER BY rep_id")


def _signs_in_as(path: Path, email: str) -> str | None:
    """The rep an address signs in as (None: refused), as the app's sign-in resolves it."""
    with store.read(path) as con:
        who = roles.resolve(con, email)
    return who.rep_id if who is not None else None


def test_a_new_email_with_a_reps_name_is_a_new_rep_and_the_name_is_flagged(team: Path, tmp_path: Path) -> None:
    before = _reps(team)
    linz = USERS + "Anna,Klein,anna.klein.at@vertrieb.example,true,Linz,Österreich,700000\n"
    report = ingest.import_files(team, [_write(tmp_path / "users2.csv", linz)], scope=OPERATOR)
    (f,) = report.files
    assert (f.inserted, f.updated, f.rejected) == (1, 3, 0)
    # The Stuttgart Anna keeps her identity, home, quota and book; the Linz Anna is someone else.
    assert _reps(team)[:3] == before
    assert table(team, "SELECT home_city, quota FROM reps WHERE email = 'anna.klein@vertrieb.example'") == [
        ("Stuttgart", 900000.0)
    ]
    assert table(team, "SELECT rep_id, home_city FROM reps WHERE email = 'anna.klein.at@vertrieb.example'") == [
        ("R004", "Linz")
    ]
    assert table(team, "SELECT owner_rep_id FROM accounts WHERE name = 'Bau KG'") == [("R001",)]
    assert _signs_in_as(team, "anna.klein@vertrieb.example") == "R001"
    assert _signs_in_as(team, "anna.klein.at@vertrieb.example") == "R004"
    assert any("'Anna Klein' (anna.klein@vertrieb.example, anna.klein.at@vertrieb.example)" in w for w in f.warnings)


def test_a_row_without_email_still_finds_its_rep_by_name(team: Path, tmp_path: Path) -> None:
    report = ingest.import_files(team, [_write(tmp_path / "q.csv", "Name,Quota\nLena Schulz,1200000\n")],
                                 scope=OPERATOR)  # fmt: skip
    assert (report.files[0].inserted, report.files[0].updated) == (0, 1)
    assert table(team, "SELECT quota FROM reps WHERE rep_id = 'R002'") == [(1200000.0,)]


def test_a_users_file_gives_emails_to_reps_created_from_owner_names(empty_store: Path, tmp_path: Path) -> None:
    ingest.import_files(empty_store, [_write(tmp_path / "accounts.csv", ACCOUNTS)], scope=OPERATOR)
    assert table(empty_store, "SELECT count(*) FROM reps WHERE email IS NULL") == [(3,)]
    report = ingest.import_files(empty_store, [_write(tmp_path / "users.csv", USERS)], scope=OPERATOR)
    assert (report.files[0].inserted, report.files[0].updated) == (0, 3)
    assert table(empty_store, "SELECT count(*) FROM reps WHERE email IS NULL") == [(0,)]


def test_an_archived_hubspot_owner_is_an_inactive_rep_with_their_team(team: Path, tmp_path: Path) -> None:
    owners = (
        "First Name,Last Name,Email,Archived,Teams,Primary Team\n"
        "Anna,Klein,anna.klein@vertrieb.example,false,AE Süd,AE Süd\n"
        "Lena,Schulz,lena.schulz@vertrieb.example,false,AE Nord,AE Nord\n"
        "Felix,Wagner,felix.wagner@vertrieb.example,true,AE Nord,AE Nord\n"
    )
    report = ingest.import_files(team, [_write(tmp_path / "hubspot_owners.csv", owners)], scope=OPERATOR)
    (f,) = report.files
    assert (f.updated, f.rejected) == (3, 0)
    assert table(team, "SELECT name, active, region FROM reps ORDER BY rep_id") == [
        ("Anna Klein", True, "AE Süd"), ("Lena Schulz", True, "AE Nord"), ("Felix Wagner", False, "AE Nord"),
    ]  # fmt: skip
    assert _signs_in_as(team, "felix.wagner@vertrieb.example") is None
    assert any("Felix Wagner (1 account) is inactive" in w for w in f.warnings)
    assert not any("not in this users file" in w for w in f.warnings)
    assert any("columns not used: 'Teams'" in n for n in f.notes)  # said, not dropped silently


def test_an_export_with_a_renamed_reps_former_name_keeps_the_book_with_the_rep(team: Path, tmp_path: Path) -> None:
    renamed = USERS.replace("Lena,Schulz,", "Lena,Berger,")
    ingest.import_files(team, [_write(tmp_path / "users_rename.csv", renamed)], scope=OPERATOR)
    assert table(team, "SELECT name, former_names FROM reps WHERE rep_id = 'R002'") == [
        ("Lena Berger", ["Lena Schulz"])
    ]
    report = ingest.import_files(team, [_write(tmp_path / "accounts_old.csv", ACCOUNTS)], scope=OPERATOR)
    (f,) = report.files
    assert f.reps_created == 0 and table(team, "SELECT count(*) FROM reps") == [(3,)]
    assert table(team, "SELECT count(*) FROM accounts WHERE owner_rep_id = 'R002'") == [(2,)]
    assert _signs_in_as(team, "lena.schulz@vertrieb.example") == "R002"
    assert any("1 owner(s) matched by a former name ('Lena Schulz' is Lena Berger)" in n for n in f.notes)
    # Renamed back: the current name is no former name.
    ingest.import_files(team, [_write(tmp_path / "users_back.csv", USERS)], scope=OPERATOR)
    assert table(team, "SELECT name, former_names FROM reps WHERE rep_id = 'R002'") == [
        ("Lena Schulz", ["Lena Berger"])
    ]


def test_a_current_name_wins_over_a_former_one(team: Path, tmp_path: Path) -> None:
    renamed = USERS.replace("Lena,Schulz,", "Lena,Berger,") + "Lena,Schulz,lena.s@vertrieb.example,true,Köln,,1\n"
    ingest.import_files(team, [_write(tmp_path / "users2.csv", renamed)], scope=OPERATOR)
    report = ingest.import_files(team, [_write(tmp_path / "accounts_old.csv", ACCOUNTS)], scope=OPERATOR)
    assert not any("former name" in n for n in report.files[0].notes)
    assert table(team, "SELECT DISTINCT owner_rep_id FROM accounts WHERE name IN ('Medien GmbH', 'Hafen SE')") == [
        ("R004",)
    ]


def _deactivate(path: Path, rep_id: str) -> None:
    with store.write(path) as con:
        con.execute("UPDATE reps SET active = false WHERE rep_id = ?", [rep_id])


def test_the_sidebar_counts_active_reps_as_overview_does(app_store: Path) -> None:
    _deactivate(app_store, "R002")
    with store.read(app_store) as con:
        counts = world.counts(con, scope=OPERATOR)
    assert (counts["reps"], counts["active_reps"]) == (6, 5) == (6, kpis(app_store, OPERATOR)["reps"])
    at = page("overview")
    assert "5 active reps (+1 inactive)" in sidebar_text(at)


def test_the_plan_of_an_inactive_rep_says_they_left(small_store: Path, tmp_path: Path) -> None:
    start = date(2026, 3, 2)
    with store.read(small_store) as con:
        active = plan.load(con, scope=OPERATOR, rep_id="R001", start=start)
    assert not any("is inactive" in line for line in plan.summary_lines(active))
    _deactivate(small_store, "R001")
    out, err = tmp_path / "plan.md", io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(["--db", str(small_store), "plan", "--rep", "R001", "--start", "2026-03-02", "--out", str(out)])
    assert code == 0
    lines = err.getvalue().splitlines()
    name = active.rep["name"]
    assert lines[1].startswith(f"{name} is inactive (left the team")  # right under the plan's first line
    assert sum("is inactive" in line for line in lines) == 1
    assert "INACTIVE REP (left the team)" in out.read_text().splitlines()[2]
