"""Downloads as people read them (explore-G): the page's headers, money to the cent with its currency named, no
internal keys or rep ids; built when clicked, and a click never reruns the page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from planner import crm_files, export
from tests.helpers import errors, page


def test_readable_names_columns_rounds_money_and_names_the_currency() -> None:
    df = pd.DataFrame(
        {"rank": [1], "name": ["=x"], "potential": [13099200.004], "propensity": [0.123456], "moved": [False],
         "internal_key": ["name:acme|boston"]}
    )  # fmt: skip
    labels = {"rank": "Rank", "name": "Account", "potential": "Potential", "propensity": "Propensity", "moved": "Moves"}
    out = export.readable(df, labels, currency="EUR", money=("potential",), digits={"propensity": 4})
    assert list(out.columns) == ["Rank", "Account", "Potential (EUR)", "Propensity", "Moves"]
    assert out.iloc[0].tolist() == [1, "=x", 13099200.0, 0.1235, "no"]
    assert [export.rows_label(n) for n in (0, 1, 1200)] == ["0 rows", "1 row", "1,200 rows"]


def test_owner_changes_name_people_not_rep_ids_and_keep_no_float_noise() -> None:
    """The moves report had previous_rep_id / rep_id (R007) and km_before 37932.219999999994."""
    mv = pd.DataFrame(
        {"account_id": ["name:acme|boston", "001A"], "account_name": ["Acme", "Beta"], "city": ["Boston", "Bonn"],
         "state": ["MA", ""], "potential": [3723.2999999999997, 10.0], "change": ["moved", "moved"],
         "previous_rep_id": ["R007", "R001"], "previous_owner": ["Zoë Müller", "José Álvarez"],
         "rep_id": ["R010", "R007"],
         "new_owner": ["José Álvarez", "Zoë Müller"], "reason": ["closer", "balance"],
         "km_before": [37932.219999999994, 1.0], "km_after": [165.65971064612677, 2.0]}
    )  # fmt: skip
    out = crm_files.moves_for_people(mv, "EUR")
    assert list(out.columns) == ["Account", "Account ID", "City", "State", "Potential (EUR)", "Change",
                                 "Previous owner", "New owner", "km before", "km after", "Reason"]  # fmt: skip
    assert out["Account ID"].tolist() == ["", "001A"]  # an import's name key is no CRM id
    assert out["Potential (EUR)"].tolist() == [3723.3, 10.0] and out["km before"].tolist() == [37932.2, 1.0]
    text = export.to_csv_text(out)
    assert "R007" not in text and "R010" not in text and "999999" not in text
    plain = pd.DataFrame(
        {"account_id": ["001A"], "account_name": ["Beta"], "previous_owner": ["José"], "previous_owner_email": ["j@x"],
         "owner": ["Zoë"], "owner_email": ["z@x"], "moved": [True], "expected_value": [3723.2999999999997]}
    )  # fmt: skip
    people = crm_files.plain_for_people(plain, "EUR")
    assert list(people.columns) == ["Account ID", "Account", "Previous owner", "Previous owner email", "New owner",
                                    "New owner email", "Moves", "Expected value (EUR)"]  # fmt: skip
    assert people.iloc[0].tolist()[-2:] == ["yes", 3723.3]


def _buttons(at: object) -> list:
    return list(at.get("download_button"))  # type: ignore[attr-defined]


def test_targets_files_are_built_when_clicked(app_store: Path) -> None:
    """Targets built its CSV and Excel on every rerun (0.44 s at top 1,000; each row selection is a rerun)."""
    at = page("targets", query={"top": "100"})
    assert errors(at) == []
    buttons = {str(b.proto.label): b.proto for b in _buttons(at)}
    assert set(buttons) == {"Download 100 rows (CSV)", "Download 100 rows (Excel)"}
    for proto in buttons.values():
        assert proto.deferred_file_id and not proto.url and proto.ignore_rerun


@pytest.mark.parametrize("name", ["data", "model"])
def test_a_download_click_on_data_or_model_does_not_rerun_the_page(app_store: Path, name: str) -> None:
    """A click reran the whole Data page (about 11 s): four downloads in a row cancelled the last."""
    at = page(name)
    assert errors(at) == []
    buttons = _buttons(at)
    assert buttons and all(b.proto.ignore_rerun and b.proto.deferred_file_id for b in buttons)
    assert not [str(b.proto.label) for b in buttons if str(b.proto.label).startswith("Download 1 rows")]
