"""A CRM export uploaded on the Data page of a real browser (the path every new user takes first; AppTest cannot
upload): a HubSpot-shaped file without IDs whose names are in other scripts and carry a formula, imported over the
small demo store while a demo territory is chosen. Afterwards every widget shows the new store: Streamlit kept a
selectbox's old label for a value whose label changed (the sidebar said the demo's 'Ava Garcia' for R001, now the
file's Anna Schmidt), and the Data page kept the demo's as-of date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import assert_no_exception, full_shot, wait_rendered

EXPORT = (
    "Company name,Company owner,City,Country/Region,Number of Employees,Create Date\n"
    "深圳科技有限公司,anna.schmidt@example.com,深圳,中国,300,2026-11-02\n"
    "ООО «Ромашка»,anna.schmidt@example.com,Москва,Россия,120,2026-11-03\n"
    '"=HYPERLINK(""http://x"",""Epsilon"")",bob@example.com,Paris,France,-5,2026-11-04\n'
)


@pytest.fixture(scope="module")
def server(small_app: str) -> str:
    return small_app


def _shown(page: Any, where: str) -> str:
    """The text a selectbox shows for its value (its input's value)."""
    return page.locator(f"{where} [data-testid='stSelectbox'] input").first.input_value()


def test_an_upload_replaces_the_demo_and_every_widget_shows_the_new_store(
    server: str, browser: Any, tmp_path: Path
) -> None:
    export = tmp_path / "hubspot-companies.csv"
    export.write_text(EXPORT, encoding="utf-8")
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{server}/data?rep=R001", wait_until="domcontentloaded")
    wait_rendered(page)
    demo_name = _shown(page, "[data-testid='stSidebar']")
    assert demo_name and demo_name != "All territories"
    page.locator("input[type=file]").first.set_input_files(str(export))
    page.get_by_role("button", name="Import 1 table").wait_for(timeout=60_000)
    wait_rendered(page)
    page.get_by_role("button", name="Import 1 table").click()
    page.get_by_text("Imported 3 new and 0 matched rows").wait_for(timeout=120_000)
    wait_rendered(page)
    full_shot(page, "upload-imported")
    assert_no_exception(page, "data after an upload")
    body = page.inner_text("body")
    assert "Number of Employees: 1 value(s) could not be read as a head count" in body
    # R001 is now the file's first owner: the sidebar and the Data page's rep picker say so, not the demo's name.
    assert _shown(page, "[data-testid='stSidebar']") == "Anna Schmidt" != demo_name
    homes = page.locator("[data-testid='stMain'] [data-testid='stSelectbox'] input")
    assert "Anna Schmidt (R001)" in [homes.nth(i).input_value() for i in range(homes.count())]
    # The as-of date follows the new data (the demo's was 2026-11-01); the picker shows the date the text names.
    dates = page.locator("[data-testid='stDateInput'] input")
    assert dates.count() == 1 and dates.first.input_value().replace("/", "-") in body
