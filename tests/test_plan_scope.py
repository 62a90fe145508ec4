"""A rep's plan holds only the rep's accounts today, in the page's data and every download; saving
across reps is refused with the store unchanged; a rep sees no company-wide figures (issue #17)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from planner import plan, store
from planner.errors import Forbidden
from planner.plan import exports, tables
from planner.plan.spec import Plan, TargetSpec
from planner.scope import OPERATOR, Scope
from tests.lake import store_state

REP = Scope(role="rep", rep_id="R001", user="ava")


def _sha(path: Path) -> str:
    return store_state(path)  # a lake's snapshot id under PLANNER_TEST_STORE=lake


def _foreign(path: Path, rep_id: str = "R001") -> tuple[set[str], set[str]]:
    """IDs and names of accounts another rep owns (names the rep's own accounts also carry excepted)."""
    with store.read(path) as con:
        rows = con.execute("SELECT account_id, name, owner_rep_id FROM accounts").fetchall()
    mine = [n for _, n, o in rows if o == rep_id]
    names = {n for _, n, o in rows if o != rep_id and not any(n in m for m in mine)}
    return {a for a, _, o in rows if o != rep_id}, names


def _everything(p: Plan) -> str:
    """Every value a page or a download of the plan can show, as one text."""
    frames = [p.targets, p.steps, p.needs, p.gap, p.book, p.actual, p.load]
    parts = [f.to_csv() for f in frames] + p.notes + [str(p.kpis)]
    parts += [exports.to_markdown(p), exports.to_html(p), exports.to_engagement_csv(p).decode("utf-8-sig")]
    parts.append(exports.to_ics(p).decode("utf-8").replace("\r\n ", ""))  # unfold long ics lines
    wb = openpyxl.load_workbook(io.BytesIO(exports.to_excel(p)))
    parts += [str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]
    return "\n".join(parts)


def _assert_no_leak(p: Plan, ids: set[str], names: set[str]) -> None:
    text = _everything(p)
    assert sorted(ids & set(re.findall(r"[\w-]+", text))) == []
    assert sorted(n for n in names if n in text) == []


def test_compose_as_a_rep_drops_another_reps_account(small_store: Path) -> None:
    ids, names = _foreign(small_store)
    with store.read(small_store) as con:
        other = con.execute("SELECT account_id FROM accounts WHERE owner_rep_id = 'R002' LIMIT 1").fetchone()[0]
        own = con.execute("SELECT account_id FROM accounts WHERE owner_rep_id = 'R001' LIMIT 1").fetchone()[0]
        p = plan.compose(
            con, scope=REP, rep_id="R001", start=plan.default_start(con, scope=REP, rep_id="R001"),
            specs=(TargetSpec(other), TargetSpec(own)),
        )  # fmt: skip
    assert list(p.targets["account_id"]) == [own]
    assert set(p.steps["account_id"]) == {own}
    assert p.notes == [
        "1 saved target(s) are no longer in this territory (moved to another owner or removed) and are left out "
        "of the plan"
    ]
    _assert_no_leak(p, ids, names)


def test_plan_after_a_rebalance_shows_only_what_the_rep_still_owns(small_store: Path) -> None:
    with store.read(small_store) as con:
        draft = plan.load(con, scope=REP, rep_id="R001")
    plan_id = plan.save(small_store, scope=REP, plan=draft)
    moved = list(draft.targets["account_id"].iloc[[0, 3]])
    with store.write(small_store) as con:  # what committing a rebalance does to these two accounts
        con.execute("UPDATE accounts SET owner_rep_id = 'R002' WHERE list_contains(?, account_id)", [moved])
    ids, names = _foreign(small_store)
    assert set(moved) <= ids
    with store.read(small_store) as con:
        p = plan.load(con, scope=REP, rep_id="R001")
        as_leader = plan.load(con, scope=Scope(role="leader", user="lee"), rep_id="R001")
    assert p.plan_id == plan_id
    assert len(p.targets) == 18 and not set(moved) & set(p.targets["account_id"])
    assert any(n.startswith("2 saved target(s) are no longer in this territory") for n in p.notes)
    _assert_no_leak(p, ids, names)
    # A leader is told which accounts went; the plan itself still holds only the rep's own.
    assert list(as_leader.targets["account_id"]) == list(p.targets["account_id"])
    assert any(", ".join(moved) in n for n in as_leader.notes)


def test_save_refuses_another_reps_plan_id_and_leaves_the_store_alone(small_store: Path) -> None:
    with store.read(small_store) as con:
        theirs = plan.load(con, scope=OPERATOR, rep_id="R002")
    their_id = plan.save(small_store, scope=OPERATOR, plan=theirs)
    with store.read(small_store) as con:
        mine = plan.load(con, scope=REP, rep_id="R001", start=theirs.start)
    before = _sha(small_store)
    mine.plan_id = their_id
    with pytest.raises(Forbidden, match=f"plan #{their_id} is not a plan of R001"):
        plan.save(small_store, scope=REP, plan=mine)
    assert _sha(small_store) == before
    with store.read(small_store) as con:
        again = plan.load(con, scope=OPERATOR, rep_id="R002", start=theirs.start)
    assert list(again.targets["account_id"]) == list(theirs.targets["account_id"])


def test_save_refuses_a_plan_that_names_another_rep_or_their_accounts(small_store: Path) -> None:
    with store.read(small_store) as con:
        mine = plan.load(con, scope=REP, rep_id="R001")
        other = con.execute("SELECT account_id FROM accounts WHERE owner_rep_id = 'R002' LIMIT 1").fetchone()[0]
    before = _sha(small_store)
    crafted = Plan(**{**mine.__dict__, "targets": mine.targets.copy()})
    crafted.targets.loc[0, "account_id"] = other
    with pytest.raises(Forbidden, match="1 target\\(s\\) of this plan are not in the territory of R001"):
        plan.save(small_store, scope=REP, plan=crafted)
    as_other = Plan(**{**mine.__dict__, "rep": {**mine.rep, "rep_id": "R002"}})
    with pytest.raises(Forbidden, match="only view your own territory"):
        plan.save(small_store, scope=REP, plan=as_other)
    assert _sha(small_store) == before


def test_a_rep_sees_no_company_quota(small_store: Path) -> None:
    with store.read(small_store) as con:
        as_rep = plan.load(con, scope=REP, rep_id="R001")
        as_admin = plan.load(con, scope=OPERATOR, rep_id="R001")
        total = con.execute("SELECT sum(quota) FROM reps WHERE active").fetchone()[0]
    assert as_rep.kpis["team_quota"] is None and as_rep.kpis["share_of_team_quota"] is None
    assert as_admin.kpis["team_quota"] == pytest.approx(total)
    for p, shown in ((as_rep, False), (as_admin, True)):
        measures = {label for label, _, _ in tables.summary_rows(p)}
        assert ("Company quota (all reps)" in measures) is shown
    assert "Company quota" not in _everything(as_rep)
    assert pd.notna(as_admin.kpis["share_of_team_quota"])
