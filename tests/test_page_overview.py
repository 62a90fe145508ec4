"""AppTest of the Overview page on a small known store."""

from __future__ import annotations

import ast
from pathlib import Path

from planner import store
from planner.coverage import report
from planner.scope import OPERATOR
from tests.helpers import errors, page


def test_overview_shows_store_figures(app_store: Path) -> None:
    at = page("overview")
    assert errors(at) == []
    metrics = {m.label: m.value for m in at.metric}
    with store.read(app_store) as con:
        ov = report.overview(con, scope=OPERATOR)
    assert metrics["Accounts"] == f"{ov['kpis']['accounts']:,}" == "600"
    assert metrics["Reps"] == "6"
    assert metrics["Customers"] == f"{ov['kpis']['customers']:,}"
    assert metrics["Potential max / mean"] == f"{ov['imbalance']['potential']['max_mean']:.2f}"
    assert any("demo data" in str(i.value).lower() for i in at.info)


def test_overview_footer_counts_deals_without_a_created_date(app_store: Path) -> None:
    """A store of 130 deals, none with a created date, read 'no deals' under Overview."""
    with store.write(app_store) as con:
        n = con.execute("SELECT count(*) FROM deals").fetchone()[0]
        con.execute("UPDATE deals SET created_date = NULL")
    at = page("overview")
    footer = " ".join(str(c.value) for c in at.caption)
    assert f"{n:,} deals, none with a created date" in footer and "no deals" not in footer


def test_overview_scopes_kpis_to_sidebar_territory(app_store: Path) -> None:
    at = page("overview")
    at.sidebar.selectbox(key="sb_rep").set_value("R001").run()
    assert errors(at) == []
    with store.read(app_store) as con:
        ov = report.overview(con, scope=OPERATOR, rep_id="R001")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Accounts"] == f"{ov['kpis']['accounts']:,}"
    assert ov["kpis"]["accounts"] < 600
    assert at.query_params["rep"] in ("R001", ["R001"])


def test_every_table_shows_a_dash_for_a_missing_value() -> None:
    """A grid draws a missing cell as 'None' unless told otherwise (#16 point 1); the browser cannot read a
    canvas, so every st.dataframe and st.data_editor of the app is checked to pass a placeholder."""
    root = Path(__file__).resolve().parents[1]
    missing = []
    for path in sorted([*root.glob("pages/*.py"), *root.glob("ui/*.py"), root / "app.py"]):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("dataframe", "data_editor")
                and not any(k.arg == "placeholder" for k in node.keywords)
            ):
                missing.append(f"{path.relative_to(root)}:{node.lineno}")
    assert missing == [], f"tables without placeholder='–': {missing}"
