"""Money in the store's currency (data from other countries): the first import whose amounts name a currency
sets it, every figure is written in it (CLI, plan, pages), a file in another currency or in several is warned
about and never converted, and an admin can set it by hand."""

from __future__ import annotations

import io
import json
import threading
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from planner import cli, ingest, plan, roles, store, text
from planner.errors import BadInput, Forbidden
from planner.ingest import currency
from planner.plan import exports
from planner.scope import OPERATOR, Scope
from tests.helpers import AUTH, ROOT, app_as, page, page_text
from ui import fmt

EUR_REPORT = (
    '"Opportunity Owner","Account Name","Opportunity Name","Stage","Amount","Close Date","Created Date"\n'
    '"Jürgen Müller","Müller & Söhne GmbH","Erweiterung","Closed Won","EUR 12.500,00","15.02.2026","01.01.2026"\n'
    '"Jürgen Müller","Rossi S.p.A.","Rinnovo","Negotiation/Review","EUR 1.000,50","30.06.2026","20.05.2026"\n'
)


def _write(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def _currency(path: Path) -> str:
    with store.read(path) as con:
        return currency.store_currency(con)


def test_first_import_in_euros_sets_the_store_and_every_figure_shows_it(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = ingest.import_files(empty_store, [_write(tmp_path / "eur.csv", EUR_REPORT)], scope=OPERATOR).files[0]
    assert "amounts are in EUR: the store now shows money in EUR" in f.notes and not f.warnings
    assert _currency(empty_store) == "EUR"
    out = tmp_path / "plan.md"
    assert cli.main(["--db", str(empty_store), "plan", "--rep", "Jürgen Müller", "--out", str(out)]) == 0
    plan_md = out.read_text()
    assert "Expected value €" in plan_md and "$" not in plan_md
    assert cli.main(["--db", str(empty_store), "settings", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["currency"] == "EUR"


@pytest.mark.parametrize(
    ("amounts", "warning"),
    [
        (["USD 1,000", "USD 2,000"], "this file's amounts are in USD and the store's in EUR"),
        (["€1.000", "£2.000"], "amounts are in several currencies (EUR, GBP)"),
    ],
)
def test_a_file_in_another_currency_or_several_is_warned_and_kept_as_written(
    empty_store: Path, tmp_path: Path, amounts: list[str], warning: str
) -> None:
    ingest.import_files(empty_store, [_write(tmp_path / "eur.csv", EUR_REPORT)], scope=OPERATOR)
    rows = "".join(f'"Ann Lee","Co {i}","Deal {i}","Prospecting","{a}","01/06/2026"\n' for i, a in enumerate(amounts))
    second = _write(tmp_path / "other.csv", '"Opportunity Owner","Account Name","Opportunity Name","Stage","Amount",'
                                            '"Close Date"\n' + rows)  # fmt: skip
    f = ingest.import_files(empty_store, [second], scope=OPERATOR).files[0]
    assert f.inserted == 2 and any(warning in w for w in f.warnings), f.warnings
    # never converted; the euros an import named are no longer the only currency: no sign (test_currency_mixed)
    assert _currency(empty_store) == "XXX"


def test_a_file_in_one_currency_after_a_mixed_one_does_not_relabel_it(empty_store: Path, tmp_path: Path) -> None:
    """A first file in euros and pounds set no currency; a second file all in euros then set the store's to EUR,
    and the pounds of the first read as euros everywhere. While the store holds mixed amounts its currency stays
    unset until a person sets it."""
    head = '"Opportunity Owner","Account Name","Opportunity Name","Stage","Amount","Close Date"\n'
    rows = '"Ann Lee","Co 1","D1","Prospecting","€1.000","01/06/2026"\n"Ann Lee","Co 2","D2","Prospecting","£2.000",'
    mixed = _write(tmp_path / "mixed.csv", head + rows + '"01/06/2026"\n')
    ingest.import_files(empty_store, [mixed], scope=OPERATOR)
    euros = _write(tmp_path / "eur.csv", head + '"Ann Lee","Co 3","D3","Prospecting","€3.000","01/06/2026"\n')
    f = ingest.import_files(empty_store, [euros], scope=OPERATOR).files[0]
    assert f.inserted == 1 and not any("the store now shows money" in n for n in f.notes), f.notes
    assert any("already holds amounts in several currencies (EUR, GBP), so its currency stays unset" in w
               for w in f.warnings), f.warnings  # fmt: skip
    assert _currency(empty_store) == "XXX"  # unset: no currency sign, and a caveat where money is shown
    currency.set_currency(empty_store, "EUR", scope=OPERATOR)
    assert _currency(empty_store) == "EUR"


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("₹12,00,000", "INR"),
        ("Rs. 5,00,000", "INR"),
        ("R$ 1.200,00", "BRL"),
        ("CHF 1'200", "CHF"),
        ("1 200 zł", "PLN"),
        ("₩1,200,000", "KRW"),
        ("SAR 450,000", "SAR"),
        ("450,000 ر.س", "SAR"),
        ("AED 90,000", "AED"),
        ("MYR 5,000", "MYR"),  # any ISO code, not only those with a marker of their own
        ("¥1,200,000", "JPY"),
        ("￥1,200,000", "JPY"),
        ("CN¥12,000", "CNY"),
    ],
)
def test_amounts_of_other_countries_are_read_and_name_their_currency(
    empty_store: Path, tmp_path: Path, amount: str, code: str
) -> None:
    """An Indian, Brazilian, Swiss, Polish or Korean export's amounts were left empty (only $ € £ ¥ and five codes
    were stripped; lakh grouping was no number) and the store kept showing dollars."""
    body = (
        f'"Opportunity Owner","Account Name","Opportunity Name","Stage","Amount","Close Date"\n'
        f'"Ann Lee","Acme","Deal","Prospecting","{amount}","01/06/2026"\n'
    )
    f = ingest.import_files(empty_store, [_write(tmp_path / "deals.csv", body)], scope=OPERATOR).files[0]
    assert f.inserted == 1 and not [w for w in f.warnings if "could not be read" in w], f.warnings
    with store.read(empty_store) as con:
        assert con.execute("SELECT amount FROM deals").fetchone()[0] > 0
    assert _currency(empty_store) == code


def test_a_currency_column_names_it_by_code_or_english_name(empty_store: Path, tmp_path: Path) -> None:
    body = "Deal ID,Account Name,Stage,Amount,Currency\n1,Acme,Prospecting,100,Pound Sterling\n2,Beta,Won,50,gbp\n"
    f = ingest.import_files(empty_store, [_write(tmp_path / "gbp.csv", body)], "deals", scope=OPERATOR).files[0]
    assert "amounts are in GBP: the store now shows money in GBP" in f.notes
    text.use_currency(_currency(empty_store))
    assert text.money(1_260_000) == "£1.3M"


def test_set_by_hand_admins_only_codes_only(small_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _currency(small_store) == "USD"  # the demo world is in US dollars
    assert cli.main(["--db", str(small_store), "settings", "--currency", "chf"]) == 0
    assert "currency: CHF" in capsys.readouterr().out and _currency(small_store) == "CHF"
    assert cli.main(["--db", str(small_store), "settings", "--currency", "Dollars"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: currency 'Dollars' is not a currency; give its ISO code, e.g. EUR, GBP, USD"]
    with pytest.raises(BadInput):
        currency.set_currency(small_store, "XYZ", scope=OPERATOR)
    with pytest.raises(Forbidden):
        currency.set_currency(small_store, "EUR", scope=Scope(role="rep", rep_id="R001", user="rep@example.com"))
    text.use_currency("CHF")
    assert text.money(1500) == "CHF 1.5k"  # a code, not a sign: a space before the figure


def test_pages_show_the_store_currency(app_store: Path) -> None:
    currency.set_currency(app_store, "GBP", scope=OPERATOR)
    text_of = page_text(page("overview"))
    assert "£" in text_of and "$" not in text_of
    settings = page_text(page("settings"))
    assert "Money is shown in **GBP** on every page" in settings


def test_money_columns_take_the_store_currency_not_dollars(app_store: Path) -> None:
    """A euro store's tables read EUR 1,234.00, a pound store's "Potential (£)": never "$" (Streamlit's "dollar"
    column format was hard-wired on Targets, Rebalance, Territory plan and Model)."""
    for code, label, kind in (("EUR", "Potential", "euro"), ("GBP", "Potential (£)", "accounting"),
                              ("USD", "Potential", "dollar"), ("JPY", "Potential", "yen")):  # fmt: skip
        text.use_currency(code)
        assert fmt.money_format("Potential") == (label, kind)
    currency.set_currency(app_store, "GBP", scope=OPERATOR)
    at = page("targets")
    columns = [c for d in at.dataframe for c in json.loads(d.proto.columns).values()]
    assert {"label": "Potential (£)", "type_config": {"type": "number", "format": "accounting"}} in columns
    assert not [c for c in columns if c.get("type_config", {}).get("format") == "dollar"]
    sources = [p for d in ("pages", "ui") for p in (ROOT / d).glob("*.py")]
    assert not [p.name for p in sources if 'format="dollar"' in p.read_text()]


def test_a_real_import_replacing_the_demo_takes_its_own_currency(small_store: Path, tmp_path: Path) -> None:
    """The demo is in US dollars; a real import replaces the demo world, and its euros become the store's."""
    f = ingest.import_files(small_store, [_write(tmp_path / "eur.csv", EUR_REPORT)], scope=OPERATOR).files[0]
    assert not f.warnings and _currency(small_store) == "EUR"


def test_settings_page_sets_the_currency_for_admins_only(app_store: Path) -> None:
    at = page("settings")
    at.selectbox(key="set_currency").select("GBP")
    at.button(key="set_currency_save").click().run()
    assert not at.exception and _currency(app_store) == "GBP"
    assert "Money is now shown in GBP; amounts are not converted." in page_text(at)
    roles.set_role(app_store, "rep.gbp@example.com", "rep", "R001", scope=OPERATOR)
    as_rep = app_as("rep.gbp@example.com", secrets=AUTH, page="settings")
    shown = page_text(as_rep)
    assert "Money is shown in **GBP** on every page" in shown
    assert "set_currency" not in [box.key for box in as_rep.selectbox]  # no form for a rep


def test_plan_files_built_on_a_download_thread_are_in_the_store_currency(small_store: Path) -> None:
    """explore-G: Territory plan's Markdown and printable HTML read "potential $10.7M" and "$0" in a euro store.
    A download button's callable runs on a thread of its own, out of the page run that set the currency: the plan
    carries the store's currency and every file writes it, whatever the thread's ambient currency (US dollars)."""
    currency.set_currency(small_store, "EUR", scope=OPERATOR)
    with store.write(small_store) as con:  # the model's reasons as a scoring run in this euro store wrote them
        con.execute("UPDATE scores SET reasons = replace(reasons, '$', '€')")
    with store.read(small_store) as con:
        p = plan.load(con, scope=OPERATOR, rep_id="R001", today=date(2026, 11, 20))
    assert p.currency == "EUR" and "€" in p.targets["rationale"].iloc[0]
    files: dict[str, str] = {}

    def build() -> None:  # as the page's download buttons build them: on another thread, at click time
        files["md"] = exports.to_markdown(p)
        files["html"] = exports.to_html(p)
        ws = openpyxl.load_workbook(io.BytesIO(exports.to_excel(p)))
        files["xlsx"] = " ".join(str(c.number_format) + str(c.value) for s in ws for row in s.iter_rows() for c in row)

    worker = threading.Thread(target=build)
    worker.start()
    worker.join()
    for kind, body in files.items():
        assert "€" in body and "$" not in body, kind
    assert "€0" in files["html"]  # plan vs actual's opportunity amounts (the "$0" the explorer saw)
    assert "$" not in " ".join(plan.summary_lines(p))


def test_listing_names_the_first_items_and_counts_the_rest() -> None:
    """One phrasing for 'a, b and N more' wherever names are listed (import notes, owner conflicts, reps)."""
    assert text.listing(["a", "b"], 3) == "a, b"
    assert text.listing(["a", "b", "c"], 3) == "a, b, c"
    assert text.listing([str(i) for i in range(1_205)], 3, "; ") == "0; 1; 2 and 1,202 more"
