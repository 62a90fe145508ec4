"""AppTest of the Rebalance page on the small demo store: run, result vs bounds, save, commit, restore."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from planner import optimize, scenarios, store
from planner.scope import OPERATOR
from tests.helpers import app_as, errors, page, shown


def frame_with(at: object, column: str) -> object:
    """The first st.dataframe showing `column` (read-only frames carry no key in AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)  # type: ignore[attr-defined]


def metrics(at: object) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}  # type: ignore[attr-defined]


def record(monkeypatch: pytest.MonkeyPatch, name: str) -> list[tuple[optimize.Options, Any]]:
    """Record the page's own calls of planner.scenarios.<name> as (options, result): the test compares the page
    with what the optimizer returned for the options it was given, instead of solving again (AppTest runs the
    page in this process)."""
    calls: list[tuple[optimize.Options, Any]] = []
    real = getattr(scenarios, name)

    @functools.wraps(real)
    def recording(con: Any, opts: optimize.Options, *args: Any, **kw: Any) -> Any:
        result = real(con, opts, *args, **kw)
        calls.append((opts, result))
        return result

    monkeypatch.setattr(scenarios, name, recording)
    return calls


def test_page_runs_the_optimizer_and_shows_the_bounds(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = record(monkeypatch, "run")
    at = page("rebalance")
    assert errors(at) == []
    assert any("run the optimizer" in str(i.value) for i in at.info)
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    # The page ran the optimizer once, with what `planner balance` asks for by default.
    assert [opts for opts, _ in calls] == [optimize.Options()]
    result = calls[0][1]
    expected = result.summary
    got = metrics(at)
    assert got["Max / mean"] == f"{expected['max_mean_after']:.2f}"
    assert got["Lower bound"] == f"{expected['lower_bound']:.2f}"
    assert got["Accounts moved"] == f"{expected['moved_accounts']:,}"
    assert got["Mean travel"] == f"{expected['travel_km_after']:,.1f} km"
    # On the small store balance needs more travel than today's: the page says so with both figures.
    warnings = [shown(str(w.value)) for w in at.warning]
    assert any(f"{expected['travel_km_today']:,.1f} km today" in w for w in warnings), warnings
    assert any(c.value.startswith("Capacity is") for c in at.caption)
    assert len(at.get("deck_gl_json_chart")) == 2  # before and after maps
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [t["name"] for t in spec["data"]] == ["Before", "After"]
    moves = frame_with(at, "reason")
    assert len(moves) == expected["moved_accounts"] + expected["assigned_unowned"]
    # Moved and newly assigned are counted apart, and the counts agree with the table.
    assert (moves["change"] == "moved").sum() == expected["moved_accounts"]
    assert (moves["change"] == "newly assigned").sum() == expected["assigned_unowned"]
    story = [str(c.value) for c in at.caption if str(c.value).startswith("Owner changes:")]
    assert story == [
        f"Owner changes: {scenarios.describe_changes(_owner_changes(result))} "
        f"({len(moves):,} rows in the moves table and the CRM update files)."
    ]


def _picker(widgets: Any, label: str) -> Any:
    """The scenario pickers are keyed by their labels (so the browser redraws them): find them by label."""
    return next(w for w in widgets if w.label == label)


def _owner_changes(result: optimize.Result) -> dict[str, int]:
    return scenarios.owner_changes(result.assignments["previous_owner"], result.assignments["owner"])


def test_owner_changes_are_counted_apart() -> None:
    prev = pd.Series(["R1", None, "R2", "R3", None, "R4"])
    new = pd.Series(["R2", "R1", "R2", None, None, "R1"])
    assert scenarios.owner_change(prev, new).tolist() == [
        "moved", "newly assigned", "", "unassigned", "", "moved"
    ]  # fmt: skip
    counts = scenarios.owner_changes(prev, new)
    assert counts == {"moved": 2, "newly_assigned": 1, "unassigned": 1, "changed": 4, "owner_leaves": 0}
    assert scenarios.describe_changes(counts) == (
        "2 accounts move to another rep, 1 unowned account gets an owner, 1 account loses its owner"
    )


def test_commit_counts_agree_with_the_files_and_name_missing_owner_ids(
    odd_store_factory: Callable[[str], Path],
) -> None:
    path = odd_store_factory("demo_plus_unowned")
    with store.write(path) as con:
        con.execute("UPDATE reps SET crm_id = '005000000000001' WHERE rep_id = 'R001'")
    with store.read(path) as con:
        res = scenarios.run(con, optimize.Options(), scope=OPERATOR)
    sid = scenarios.save(path, "with the unowned one", res, "lead@example.com", scope=OPERATOR)
    with store.read(path) as con:
        report = scenarios.moves_report(con, sid, scope=OPERATOR)
        sf = scenarios.crm_file(con, sid, "salesforce", scope=OPERATOR)
    kinds = report["change"].value_counts()
    planned = scenarios.owner_changes(res.assignments["previous_owner"], res.assignments["owner"])
    assert kinds.get("newly assigned", 0) == planned["newly_assigned"] == res.summary["assigned_unowned"] >= 1
    assert kinds.get("moved", 0) == planned["moved"] == res.summary["moved_accounts"]
    assert len(sf.table) == len(report) == planned["changed"]
    # Rows without an OwnerId are said, with the owners' names and how to supply the ids.
    blank = sf.table["OwnerId"] == ""
    assert blank.any() and (sf.table.loc[~blank, "OwnerId"] == "005000000000001").all()
    assert len(sf.notes) == 1 and f"{int(blank.sum()):,} of {len(sf.table):,}" in sf.notes[0]
    assert "import your CRM's user list" in sf.notes[0]
    detail = scenarios.commit(path, sid, "lead@example.com", scope=OPERATOR)
    assert (detail["moved"], detail["newly_assigned"], detail["unassigned"]) == (
        planned["moved"], planned["newly_assigned"], planned["unassigned"]
    )  # fmt: skip
    assert detail["accounts_changed"] == planned["changed"]


def test_page_saves_commits_and_restores(app_store: Path) -> None:
    at = page("rebalance")
    at.multiselect(key="rb_metric").set_value(["accounts"]).run()
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    assert at.query_params["metric"] in ("accounts", ["accounts"])
    at.text_input(key="rb_name").input("Even accounts")
    at.button(key="FormSubmitter:rb_save_form-Save scenario").click().run()
    assert errors(at) == []
    with store.read(app_store) as con:
        saved = scenarios.list_scenarios(con, scope=OPERATOR)
        before = store.query_df(con, "SELECT account_id, owner_rep_id FROM accounts ORDER BY 1")
    assert list(saved["name"]) == ["Even accounts"]
    # The demo's reps have no Salesforce user id: the page says so next to the CRM files, and how to supply them.
    notes = [str(w.value) for w in at.warning if "Salesforce user id is unknown" in str(w.value)]
    assert notes and "kind reps" in notes[0]  # shown escaped as Markdown
    # Every format the CLI writes is offered, and each file's unknown owner ids are said on the page.
    labels = [str(b.proto.label) for b in at.get("download_button")]
    for label in ("Salesforce Data Loader (CSV)", "HubSpot import (CSV)", "Dynamics 365 import (CSV)",
                  "Pipedrive import (CSV)", "Owner list (CSV)", "Moves report (Excel)"):  # fmt: skip
        assert labels.count(label) == 1, labels
    assert any("Dynamics 365 user id is unknown" in str(w.value) for w in at.warning)
    assert _picker(at.multiselect, "Compare").options == ["#1 Even accounts (draft)"]
    at.button(key="rb_commit").click().run()
    assert errors(at) == []
    done = [str(s.value) for s in at.success if "Committed scenario" in str(s.value)]
    # The commit message counts moved and newly assigned accounts apart, as the result and the files do.
    with store.read(app_store) as con:
        kinds = scenarios.moves_report(con, 1, scope=OPERATOR)["change"].value_counts()
    assert done and f"{kinds.get('moved', 0):,} accounts move to another rep" in done[0], done
    assert f"{kinds.get('newly assigned', 0):,} unowned account" in done[0] and "none lose" in done[0]
    # Labels follow state: the pickers say committed, not draft.
    assert _picker(at.multiselect, "Compare").options == ["#1 Even accounts (committed)"]
    assert _picker(at.selectbox, "Scenario to export or commit").options == ["#1 Even accounts (committed)"]
    with store.read(app_store) as con:
        after = store.query_df(con, "SELECT account_id, owner_rep_id FROM accounts ORDER BY 1")
        assert scenarios.list_scenarios(con, scope=OPERATOR)["status"].item() == "committed"
    assert not before.equals(after)
    at.button(key="rb_restore").click().run()
    assert errors(at) == []
    with store.read(app_store) as con:
        restored = store.query_df(con, "SELECT account_id, owner_rep_id FROM accounts ORDER BY 1")
    assert restored.equals(before)


def test_page_what_if_remove_a_rep(app_store: Path) -> None:
    at = page("rebalance")
    at.multiselect(key="rb_remove").set_value(["R001"]).run()
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    table = frame_with(at, "moved_in")
    assert table["label"].str.contains("(leaves)", regex=False).sum() == 1
    assert any("owner leaves the team" in r for r in frame_with(at, "reason")["reason"])


def test_page_capacity_curve(app_store: Path) -> None:
    at = page("rebalance")
    at.slider(key="rb_team_sizes").set_value((5, 7)).run()
    at.button(key="rb_curve_btn").click().run()
    assert errors(at) == []
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    curve = [c for c in charts if len(c["data"]) == 3]
    assert curve and list(curve[0]["data"][0]["x"]) == [5, 6, 7]


def test_the_capacity_curve_draws_each_metric(app_store: Path) -> None:
    """Several metrics: the capacity curve's imbalance plot has a line per metric, not only the worst."""
    at = page("rebalance", timeout=300)
    at.multiselect(key="rb_metric").set_value(["potential", "accounts"]).run()
    at.slider(key="rb_team_sizes").set_value((5, 6)).run()
    at.button(key="rb_curve_btn").click().run()
    assert errors(at) == []
    chart = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "Coverage of potential" in c.proto.spec)
    names = [t["name"] for t in chart["data"]]
    assert names[:2] == ["potential", "accounts"] and chart["layout"]["showlegend"]
    assert list(chart["data"][0]["x"]) == [5, 6]
    _panels_stacked(chart, 3)


def _panels_stacked(chart: dict[str, Any], n: int) -> None:
    """A chart of n panels reads on a phone: the panels stacked (side by side, their titles ran into each other
    at 390 px), the first title below plotly's tool icons, the legend under the plots, not over a title."""
    layout = chart["layout"]
    titles = [a for a in layout["annotations"] if a.get("text") and a.get("yref") == "paper"]
    assert len({a["x"] for a in titles}) == 1 and len({round(a["y"], 3) for a in titles}) == n
    assert layout["margin"]["t"] >= 60 and layout["legend"]["y"] < 0 and layout["legend"]["orientation"] == "h"


def test_page_shows_the_disruption_trade_off(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = record(monkeypatch, "disruption_curve")
    at = page("rebalance", timeout=300)
    at.button(key="rb_disrupt_btn").click().run()
    assert errors(at) == []
    assert [opts for opts, _ in calls] == [optimize.Options()]  # once, with the default options
    curve, default = calls[0][1]
    captions = " ".join(str(c.value) for c in at.caption)
    assert "customers and open deals stay with their owner" in captions
    assert f"{default['extra_travel_km']:+,.1f} km of mean travel" in captions
    shown = frame_with(at, "point")
    assert shown["point"].tolist() == curve["point"].tolist()
    assert shown["point"].iloc[-1] == "free"
    # The leader picks a point: its cap and free moves go to the fields, and the next run asks for them.
    point = curve.iloc[2]
    at.selectbox(key="rb_disrupt_pick").set_value(point["point"]).run()
    at.button(key="rb_disrupt_use").click().run()
    mm = round(float(point["moved_cap"]), 2)
    assert at.number_input(key="rb_mm").value == pytest.approx(mm)
    assert at.checkbox(key="rb_cust").value and at.checkbox(key="rb_open").value
    runs = record(monkeypatch, "run")
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    opts = runs[-1][0]
    assert (opts.max_moved, opts.allow_customers, opts.allow_open_deals) == (pytest.approx(mm), True, True)


def test_the_disruption_trade_off_draws_each_metric(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With several metrics the imbalance plot has a line per metric (not only the worst) and the table a
    column per metric, from the same curve the optimizer returned."""
    calls = record(monkeypatch, "disruption_curve")
    at = page("rebalance", timeout=300)
    at.multiselect(key="rb_metric").set_value(["potential", "accounts"]).run()
    at.button(key="rb_disrupt_btn").click().run()
    assert errors(at) == []
    curve, _ = calls[0][1]
    chart = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "Mean travel" in c.proto.spec)
    lines = {t["name"]: t["y"] for t in chart["data"] if t["mode"] == "lines+markers"}
    assert set(lines) == {"travel", "potential", "accounts"}
    _panels_stacked(chart, 2)
    by_moved = curve.sort_values("moved_share", kind="stable")  # plotted against what moved
    for m in ("potential", "accounts"):
        assert lines[m] == pytest.approx(by_moved[f"max_mean_{m}"].tolist())
    shown = frame_with(at, "point")
    assert {"max_mean_potential", "max_mean_accounts", "assignment_of"} <= set(shown.columns)


def test_page_offers_contiguous_areas(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """'One connected region per territory' is offered for area units only and reaches the optimizer as
    `balance --contiguous` does; the page says whether every territory is one region. The page's own call of
    the optimizer is recorded (a contiguous run costs 7-9 CPU-s: it is not run a second time to compare)."""
    calls = record(monkeypatch, "run")
    at = page("rebalance")
    assert at.checkbox(key="rb_contig").disabled
    at.selectbox(key="rb_unit").set_value("zip3").run()
    assert not at.checkbox(key="rb_contig").disabled
    at.checkbox(key="rb_contig").check().run()
    at.checkbox(key="rb_cust").check().run()
    # The link to this view carries the ticks (a copied link opens with them: test_a_link_ticks_the_boxes).
    assert (at.query_params["contiguous"], at.query_params["customers"]) in ((["1"], ["1"]), ("1", "1"))
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    # The page asked for exactly what `balance --unit zip3 --contiguous --allow-customers` asks for.
    assert [opts for opts, _ in calls] == [optimize.Options(unit="zip3", contiguous=True, allow_customers=True)]
    expected = calls[0][1]
    assert expected.summary["contiguous"] is True
    assert metrics(at)["Max / mean"] == f"{expected.summary['max_mean_after']:.2f}"
    said = [str(c.value) for c in at.caption if str(c.value).startswith("One connected region per territory")]
    assert said and "every territory's zip3 areas form one connected region" in said[0], said


def test_page_takes_an_adjacency_file_for_contiguous_areas(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With 'One connected region per territory' ticked, an adjacency CSV (from,to) may be uploaded: a bad one is
    one st.error, a good one reaches the optimizer as `balance --contiguous --adjacency FILE` does, and the page
    says the regions are judged under the file (states: a small solve)."""
    calls = record(monkeypatch, "run")
    at = page("rebalance")
    assert not at.get("file_uploader") or all(u.proto.id.find("rb_adjacency") < 0 for u in at.get("file_uploader"))
    at.selectbox(key="rb_unit").set_value("state").run()
    at.checkbox(key="rb_contig").check().run()
    uploader = next(u for u in at.get("file_uploader") if "rb_adjacency" in u.proto.id)
    uploader.set_value(("adj.csv", b"start,end\nCA,NV\n", "text/csv")).run()
    assert errors(at) == ["adjacency file adj.csv has no from or to column (it has start, end); give a CSV with "
                          "a header from,to and one row per pair of neighbouring areas"]  # fmt: skip
    uploader = next(u for u in at.get("file_uploader") if "rb_adjacency" in u.proto.id)
    uploader.set_value(("adj.csv", b"from,to\nCA,NV\nCA,OR\nNY,NJ\nNJ,PA\n", "text/csv")).run()
    assert errors(at) == []
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    pairs = (("CA", "NV"), ("CA", "OR"), ("NJ", "NY"), ("NJ", "PA"))
    assert [opts for opts, _ in calls] == [optimize.Options(unit="state", contiguous=True, adjacency=pairs)]
    s = calls[0][1].summary
    assert (s["adjacency"], s["adjacency_edges"]) == ("file", 4)
    said = [str(c.value) for c in at.caption if str(c.value).startswith("One connected region per territory")]
    assert said and "neighbours as the adjacency file pairs them, 4 pairs" in said[0], said


def test_a_link_ticks_the_boxes_and_says_what_it_ignored(app_store: Path) -> None:
    query = {"unit": "zip3", "contiguous": "1", "customers": "1", "open_deals": "yes"}
    at = app_as("boss@example.com", page="rebalance", query=query)
    assert errors(at) == []
    assert at.checkbox(key="rb_contig").value and at.checkbox(key="rb_cust").value
    assert not at.checkbox(key="rb_open").value
    notes = [str(i.value).replace("\\", "") for i in at.info if "Ignored from this link" in str(i.value)]
    assert len(notes) == 1 and "open_deals=yes (use 1 (ticked) or 0)" in notes[0], notes


def test_several_metrics_take_one_tolerance_each(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several metrics picked: one tolerance each, from the link (?tol_accounts=0.1) or the field; a field follows
    the common tolerance until changed; the optimizer gets them, and the page names every band."""
    calls = record(monkeypatch, "run")
    query = {"metric": "potential,accounts", "tol_accounts": "10", "customers": "1", "open_deals": "1"}
    at = app_as("boss@example.com", page="rebalance", query=query)
    assert errors(at) == []
    assert at.number_input(key="rb_tol_accounts").value == pytest.approx(10)
    assert at.number_input(key="rb_tol_potential").value == pytest.approx(5)
    # The common tolerance moves the fields that follow it, not the one set on its own.
    at.number_input(key="rb_tol").set_value(8.0).run()
    assert at.number_input(key="rb_tol_potential").value == pytest.approx(8)
    assert at.number_input(key="rb_tol_accounts").value == pytest.approx(10)
    assert at.query_params.get("tol_accounts") == "10.0" and "tol_potential" not in at.query_params
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    opts, result = calls[-1]
    assert (opts.tolerance, opts.tolerances) == (0.08, (("accounts", 0.1),))
    s = result.summary
    assert s["tolerances"] == {"potential": 0.08, "accounts": 0.1}
    table = next(d.value for d in at.dataframe if "Tolerance" in d.value.columns)
    assert table["Tolerance"].tolist() == ["8%", "10%"]
    assert s["tolerance_met"], s["metrics"]
    assert any("its band on every metric (potential ±8%, accounts ±10%)" in str(x.value) for x in at.success)
    # Back to one metric: the per-metric field and its link parameter go.
    at.multiselect(key="rb_metric").set_value(["potential"]).run()
    assert not [w for w in at.number_input if w.key == "rb_tol_accounts"]
    assert "tol_accounts" not in at.query_params


def test_a_link_that_repeats_the_metric_picks_each(app_store: Path) -> None:
    """`?metric=potential&metric=accounts` (the usual way to list values in a link) picks both, not the last."""
    at = page("rebalance", query={"metric": ["potential", "accounts"]})  # type: ignore[dict-item]
    assert errors(at) == []
    assert at.multiselect(key="rb_metric").value == ["potential", "accounts"]
    assert at.query_params["metric"] == ["potential", "accounts"]  # written back the same way, one per value


def test_page_moves_whole_h3_hexagons_from_a_link(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """'Move whole: H3 hexagons' (areas in any country) from a link, with one region per territory: the optimizer
    gets `balance --unit h3 --contiguous`, the page names the resolution and offers no adjacency file."""
    calls = record(monkeypatch, "run")
    at = app_as("boss@example.com", page="rebalance", query={"unit": "h3", "contiguous": "1", "customers": "1"})
    assert errors(at) == [] and at.selectbox(key="rb_unit").value == "h3"
    assert not [u for u in at.get("file_uploader") if "rb_adjacency" in u.proto.id]  # found so with zip3 (above)
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    opts, result = calls[-1]
    assert (opts.unit, opts.contiguous) == ("h3", True)
    s = result.summary
    assert s["contiguous"] is True and s["h3_resolution"] in range(1, 8)
    said = [str(c.value) for c in at.caption if str(c.value).startswith("One connected region per territory")]
    assert said and f"H3 hexagons (resolution {s['h3_resolution']}) form one connected region" in said[0], said


def test_solver_time_from_a_link_reaches_the_solver_behind_a_progress_bar(
    app_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leader gives a large problem more time on the page (?tl=900, as `balance --time-limit 900`); the solve
    reports its steps on a progress bar that is gone when the result shows; a time limit out of range is ignored."""
    steps: list[str] = []
    real = scenarios.run

    def run(con: Any, opts: optimize.Options, progress: optimize.Progress = optimize.noop, **kw: Any) -> Any:
        def tap(fraction: float, message: str) -> None:
            steps.append(message)
            progress(fraction, message)

        return real(con, opts, tap, **kw)

    monkeypatch.setattr(scenarios, "run", run)
    calls = record(monkeypatch, "run")
    at = app_as("boss@example.com", page="rebalance", query={"tl": "900"})
    assert errors(at) == [] and at.number_input(key="rb_tl").value == 900
    at.button(key="rb_run").click().run()
    assert errors(at) == []
    assert calls[-1][0].time_limit_s == 900
    assert steps and steps[0] == "Preparing accounts and reps", steps
    assert at.get("progress") == []  # the bar went when the result came
    assert at.query_params.get("tl") == "900"
    at = app_as("boss@example.com", page="rebalance", query={"tl": "5"})
    assert at.number_input(key="rb_tl").value == 120
    notes = [str(i.value).replace("\\", "") for i in at.info if "Ignored from this link" in str(i.value)]
    assert len(notes) == 1 and "tl=5" in notes[0], notes


def test_several_metrics_over_a_large_team_say_the_run_may_need_more_time(
    app_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the run: several metrics over a large team (here "large" is 5 reps, the small store has 6) under
    the 'Solver time' such runs need: the page says it may take longer and where to raise it; one metric, or
    enough time, says nothing."""
    monkeypatch.setattr(optimize.options, "LARGE_TEAM", 5)

    def said(query: dict[str, str]) -> list[str]:
        at = app_as("boss@example.com", page="rebalance", query=query)
        assert errors(at) == []
        return [str(c.value) for c in at.caption if "Large problem" in str(c.value)]

    warned = said({"metric": "potential,accounts,workload"})
    assert len(warned) == 1 and "3 metrics over 6 reps" in warned[0] and "'Solver time'" in warned[0], warned
    assert said({"metric": "potential"}) == []
    assert said({"metric": "potential,accounts", "tl": "900"}) == []


def test_pairs_to_route_are_counted_and_a_huge_file_points_to_the_cli(
    app_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'Pairs to route' says how many pairs it holds; above ui.travel.PAGE_MAX_PAIRS (a 1M-account book: 200 reps x
    30,000 ZIPs) the page does not build the file in the app but names the CLI that writes it."""
    from ui import travel

    with store.read(app_store) as con:
        n, _ = scenarios.route_pair_count(con, scope=OPERATOR)
    at = page("rebalance")
    assert errors(at) == []
    captions = [str(c.value) for c in at.caption]
    assert f"{n:,} rep x destination pairs to price." in captions
    assert [b for b in at.get("download_button") if "Pairs to route" in str(b.proto.label)]
    monkeypatch.setattr(travel, "PAGE_MAX_PAIRS", n - 1)
    at = page("rebalance")
    assert errors(at) == []
    assert any(f"{n:,} rep x destination pairs, too many to download here" in str(c.value) for c in at.caption)
    assert any("--travel-template" in str(c.value) for c in at.caption)
    assert not [b for b in at.get("download_button") if "Pairs to route" in str(b.proto.label)]


def test_the_page_shows_who_changed_the_territories(app_store: Path) -> None:
    """The owner history (scenarios saved, committed and restored; imports that changed owners) was only in
    planner.scenarios.history: the page shows it, newest first, with a download; a store with none shows nothing."""
    fresh = page("rebalance")
    assert not [e for e in fresh.expander if str(e.label).startswith("Owner history")]
    with store.read(app_store) as con:
        res = scenarios.run(con, optimize.Options(), scope=OPERATOR)
    sid = scenarios.save(app_store, "Spring <b>plan</b>", res, "lead@example.com", scope=OPERATOR)
    scenarios.commit(app_store, sid, "boss@example.com", scope=OPERATOR)
    at = page("rebalance")
    assert errors(at) == []
    assert [str(e.label) for e in at.expander if str(e.label).startswith("Owner history")] == [
        "Owner history (2 changes)"
    ]
    log = frame_with(at, "summary")
    assert list(log["actor"]) == ["boss@example.com", "lead@example.com"]
    assert log["summary"].iloc[0].startswith(f"committed scenario #{sid} Spring <b>plan</b>: ")
    assert "rb_history_dl" in [b.key for b in at.get("download_button")]


def test_the_capacity_table_shows_names_not_rep_ids(app_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The what-if capacity table showed a 'rep_id' column of R-numbers (the store's keys) beside the names: it
    shows the reps by name, and the capacities still reach the optimizer for each rep."""
    calls = record(monkeypatch, "run")
    at = page("rebalance")
    caps = next(d for d in at.dataframe if "capacity_hours" in d.proto.columns)
    config = json.loads(caps.proto.columns)
    assert config["rep_id"]["hidden"] is True and config["name"]["label"] == "Rep", config
    at.button(key="rb_run").click().run()
    assert errors(at) == [] and calls
    with store.read(app_store) as con:
        reps = set(store.query_df(con, "SELECT rep_id FROM reps WHERE active")["rep_id"])
    assert {r for r, _ in calls[0][0].capacities} <= reps
