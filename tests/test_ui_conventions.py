"""Conventions every page keeps: charts that read with many long (and hostile) rep names, titles clear of plotly's
tools, one unit for a tolerance, a download for every table, no all-empty columns, nothing clipped at 1,280 x 720,
and a browser Back that goes back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.helpers import page, reads_right, wait_rendered

LONG = "Maximilian Alexander von und zu Hohenzollern-Sigmaringen-Hechingen der Ältere, Vertrieb DACH"
BOLD = "<b>Bold</b> Rep <img src=x>"


def test_territory_bars_grow_with_the_reps_and_show_names_as_written() -> None:
    """40 reps, one name 94 characters long, one with markup: horizontal bars a row each (the chart grows), names
    shortened with an ellipsis on the axis and whole in the hover, markup escaped (plotly drew '<b>' as bold)."""
    from ui import charts

    names = [LONG, BOLD, *[f"Rep {i:02d}" for i in range(38)]]
    fig = charts.band_bars(names, range(40, 0, -1), tolerance=0.05, title="Potential by territory",
                           yaxis_title="Potential", kind="money")  # fmt: skip
    assert {t.orientation for t in fig.data} == {"h"}
    assert fig.layout.height >= 40 * 20 and fig.layout.yaxis.dtick == 1
    ticks = [y for t in fig.data for y in t.y]
    hovers = [c for t in fig.data for c in t.customdata]
    assert all(len(y) <= charts.LABEL_CHARS for y in ticks if "&" not in y)
    assert any(y.startswith("Maximilian") and y.endswith("…") for y in ticks)
    assert LONG in hovers and "&lt;b&gt;Bold&lt;/b&gt; Rep &lt;img src=x&gt;" in hovers
    assert not [s for s in [*ticks, *hovers] if "<b>" in s or "<img" in s]
    assert charts.band_bars(names[:3], [1, 2, 3], tolerance=0.05, title="t", yaxis_title="p").layout.height < (
        fig.layout.height
    )


def test_names_are_escaped_in_every_chart_that_shows_them() -> None:
    """The bubble labels and hovers of Potential against quota, the rebalance before/after bars and the scenario
    comparison show a name's markup as text."""
    from ui import charts

    reps = pd.DataFrame({"territory": [BOLD, "Ann", "Bob"], "rep_id": ["R1", "R2", "R3"], "quota": [1.0, 2.0, 3.0],
                         "potential": [3.0, 2.0, 1.0], "accounts": [3, 2, 1],
                         "potential_per_quota": [3.0, 1.0, 0.33]})  # fmt: skip
    scatter = charts.quota_scatter(reps, {}, labelled=1)
    shown = [*scatter.data[0].text, *[row[0] for row in scatter.data[0].customdata]]
    assert "&lt;b&gt;Bold&lt;/b&gt; Rep &lt;img src=x&gt;" in shown and not [s for s in shown if "<b>" in s]
    ba = charts.before_after_bars([BOLD, LONG], [1.2, 0.8], [1.0, 1.0], tolerance=0.05, title="t")
    assert not [y for t in ba.data for y in [*t.y, *t.customdata] if "<b>" in y]
    per_rep = pd.DataFrame({"scenario": ["A", "A"], "owner_name": [BOLD, LONG], "potential": [1.0, 2.0]})
    cmp = charts.compare_bars(per_rep, ["potential"])
    assert not [x for x in [*cmp.data[0].x, *cmp.data[0].customdata] if "<b>" in x]


def test_chart_titles_sit_below_the_plotly_tools() -> None:
    """On a phone plotly's tool icons (top right) covered the titles: every shared chart puts its title below
    them (a top padding in the figure's own coordinates) with room in the top margin."""
    from ui import charts

    status = pd.DataFrame({"status": ["covered"], "label": ["Covered"], "potential": [1.0], "accounts": [1]})
    reps = pd.DataFrame({"territory": ["A"], "rep_id": ["R1"], "quota": [1.0], "potential": [1.0], "accounts": [1],
                         "potential_per_quota": [1.0]})  # fmt: skip
    figs = [
        charts.band_bars(["A", "B"], [1, 2], tolerance=0.05, title="Potential by territory", yaxis_title="p"),
        charts.lorenz_chart([0, 1], [0, 1], "Lorenz curve", total=1.0),
        charts.quota_scatter(reps, {}),
        charts.status_bars(status),
        charts.before_after_bars(["A"], [1.0], [1.0], tolerance=0.05, title="t"),
    ]
    for fig in figs:
        title = fig.layout.title
        assert title.yref == "container" and title.yanchor == "top" and title.pad.t >= 30, title
        assert fig.layout.margin.t >= title.pad.t + 30


def test_tolerance_is_in_percent_on_both_pages_and_old_links_still_work(app_store: Path) -> None:
    """Coverage said 'Tolerance ± %' = 5.00, Rebalance 'Tolerance (± share of the mean)' = 0.05: both percent now;
    an old Rebalance link's share (tol=0.05, tol_accounts=0.1) opens as 5 % and 10 %."""
    cov = page("coverage")
    reb = page("rebalance")
    assert cov.number_input(key="cov_tol").label == reb.number_input(key="rb_tol").label == "Tolerance ± %"
    assert cov.number_input(key="cov_tol").value == reb.number_input(key="rb_tol").value == 5.0
    old = page("rebalance", query={"tol": "0.08", "metric": "potential,accounts", "tol_accounts": "0.1"})
    assert old.number_input(key="rb_tol").value == pytest.approx(8.0)
    assert old.number_input(key="rb_tol_accounts").value == pytest.approx(10.0)
    new = page("rebalance", query={"tol": "12"})
    assert new.number_input(key="rb_tol").value == pytest.approx(12.0) and not new.error


@pytest.mark.parametrize("name", ["admin", "model", "data"])
def test_every_table_has_a_download(app_store: Path, name: str) -> None:
    """The README promises every table can be downloaded (through the page's formula-safe export): Admin had 2
    tables and no download, Model 6 and 4, Data 3 and 2."""
    at = page(name)
    tables = list(at.dataframe)
    downloads = list(at.get("download_button"))
    assert tables and len(downloads) >= len(tables), (len(tables), [d.proto.label for d in downloads])


def test_white_space_download_says_it_holds_every_matching_account(app_store: Path) -> None:
    """'Showing the top 500 of 651' and a CSV of the 500: the download now names all of them."""
    at = page("coverage", query={"hp": "50"})
    labels = [str(b.proto.label) for b in at.get("download_button")]
    text = " ".join(c.value for c in at.caption)
    assert "the downloads below hold all of them" in text
    assert any(label.startswith("White space, all ") for label in labels), labels


def test_all_empty_columns_are_dropped_from_displayed_tables() -> None:
    """A European book without IDs or states showed an empty Account ID and '–' State on every row."""
    from ui import tables

    df = pd.DataFrame({"name": ["A", "B"], "account_id": ["", ""], "state": [None, "–"], "rank": [None, None],
                       "potential": [1.0, float("nan")]})  # fmt: skip
    assert list(tables.drop_empty(df, keep=("rank",)).columns) == ["name", "rank", "potential"]
    assert list(tables.drop_empty(df.head(0)).columns) == list(df.columns)


# ---- in a browser -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(small_app: str) -> str:
    return small_app


def _open(browser: Any, url: str, size: dict[str, int]) -> Any:
    page_ = browser.new_page(viewport=size)
    page_.goto(url, wait_until="domcontentloaded")
    wait_rendered(page_)
    return page_


def test_back_after_a_filter_change_restores_the_previous_filters(browser: Any, server: str) -> None:
    """Each filter change on Targets added a history entry, but Back left the address and the table as they were
    (a back-button trap): Back now restores the previous filters, then the page before."""
    tab = _open(browser, f"{server}/coverage", {"width": 1280, "height": 720})
    tab.goto(f"{server}/targets", wait_until="domcontentloaded")
    wait_rendered(tab)
    start = tab.url
    first = tab.locator('[data-testid="stMultiSelect"]').first
    for industry in ("Software", "Retail"):
        first.click()
        tab.keyboard.type(industry)
        tab.keyboard.press("Enter")
        tab.keyboard.press("Escape")
        wait_rendered(tab)
    assert "ind=Software" in tab.url and "ind=Retail" in tab.url
    tab.go_back()
    wait_rendered(tab)
    assert "ind=Software" in tab.url and "ind=Retail" not in tab.url
    chips = tab.locator('[data-testid="stMultiSelect"]').first.inner_text()
    assert "Software" in chips and "Retail" not in chips
    tab.go_back()
    wait_rendered(tab)
    assert "ind=" not in tab.url and tab.url.split("?")[0] == start.split("?")[0]
    tab.close()


SIZES = ({"width": 1280, "height": 720}, {"width": 390, "height": 844})  # a laptop, a phone


def _reads_right_at_each_size(tab: Any, where: str) -> None:
    """The page as it is, read at a laptop's size, then at a phone's (the same render: one optimizer run)."""
    for size in SIZES:
        tab.set_viewport_size(size)
        tab.wait_for_timeout(400)  # the layout (and plotly's resize listener) follows the new width
        if size["width"] < 600:  # a phone's sidebar is collapsed off-screen (its inputs a few px wide): not read
            tab.evaluate("document.querySelector('[data-testid=\"stSidebar\"]').style.display = 'none'")
        reads_right(tab, f"{where} at {size['width']}")
    tab.evaluate("document.querySelector('[data-testid=\"stSidebar\"]').style.display = ''")
    tab.set_viewport_size(SIZES[0])


def test_plan_and_rebalance_read_whole_at_laptop_and_phone_sizes(browser: Any, server: str) -> None:
    """'Pipeline cover…', 'Peak hours / w…', 'Salesloft / Outreac…', 'Moved 770 accou…', 'With one of their 3
    nearest …' were cut at 1,280 x 720."""
    tab = _open(browser, f"{server}/plan?rep=R001", SIZES[0])
    _reads_right_at_each_size(tab, "plan")
    tab.goto(f"{server}/rebalance", wait_until="domcontentloaded")
    wait_rendered(tab)
    tab.get_by_role("button", name="Run optimizer").click()
    wait_rendered(tab)
    tab.get_by_text("Result, measured against what is possible").wait_for(timeout=90_000)
    _reads_right_at_each_size(tab, "rebalance result")
    tab.close()
