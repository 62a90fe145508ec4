"""A book in several currencies (explore-K): quotas are money and take part in the currency detection, and a store
whose imports found several currencies shows its money with no sign and one caveat on every page that adds it up
(never a "$" over yen and rupees), and the model leaves annual revenue out while it is so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner import cli, store, text
from planner.ingest import currency
from planner.scope import OPERATOR
from planner.store import scores, world
from tests.helpers import page, page_text

USERS = (
    "Full Name,Email,City,Country,Quota\n"
    'Oliver Bennett,oliver@example.co.uk,London,United Kingdom,"GBP 1,200,000"\n'
    'Haruto Sato,haruto@example.jp,Tokyo,Japan,"JPY 150,000,000"\n'
    'Priya Sharma,priya@example.in,Mumbai,India,"INR 8,00,00,000"\n'
)
DEALS = (
    '"Opportunity Owner","Account Name","Billing City","Billing Country","Opportunity Name","Stage","Amount",'
    '"Close Date","Created Date"\n'
    + "".join(
        f'"Haruto Sato","Fuji {i} KK","Tokyo","Japan","Renewal {i}","{stage}","¥{i},200,000","{day}/05/2026",'
        f'"01/02/2026"\n'
        for i, (stage, day) in enumerate([("Closed Won", 14), ("Closed Lost", 15), ("Prospecting", 16)] * 4)
    )
)
CAVEAT = "amounts are in several currencies (GBP, INR, JPY) and are added as written"


def _cli(args: list[str], capsys: pytest.CaptureFixture[str], err: bool = False) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(args)
    captured = capsys.readouterr()
    return code, captured.err if err else captured.out


def _import(db: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code, out = _cli(["--db", str(db), "import", str(path), "--json"], capsys)
    assert code == 0, out
    return dict(json.loads(out)["files"][0])


def _settings(db: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code, out = _cli(["--db", str(db), "settings", "--json"], capsys)
    assert code == 0
    return dict(json.loads(out))


def test_quotas_in_several_currencies_are_warned_and_make_the_store_mixed(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """explore-K: a users file with GBP, JPY and INR quotas imported silently and the store stayed in dollars."""
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    f = _import(empty_store, tmp_path / "users.csv", capsys)
    assert f["inserted"] == 3
    assert any("amounts are in several currencies (GBP, INR, JPY)" in w for w in f["warnings"]), f["warnings"]  # type: ignore[attr-defined]
    shown = _settings(empty_store, capsys)
    assert shown["currency"] == "XXX" and CAVEAT in str(shown["currency_caveat"])
    with store.read(empty_store) as con:  # the lakh-grouped rupees and the yen read as written, never converted
        quotas = dict(con.execute("SELECT name, quota FROM reps").fetchall())
    assert quotas == {"Oliver Bennett": 1_200_000, "Haruto Sato": 150_000_000, "Priya Sharma": 80_000_000}


def test_a_users_file_of_pound_quotas_sets_the_store_to_pounds(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = 'Full Name,Email,City,Country,Quota\nOliver Bennett,o@example.co.uk,London,United Kingdom,"£1,200,000"\n'
    (tmp_path / "uk_users.csv").write_text(body, encoding="utf-8")
    f = _import(empty_store, tmp_path / "uk_users.csv", capsys)
    assert "amounts are in GBP: the store now shows money in GBP" in f["notes"], f  # type: ignore[operator]
    assert _settings(empty_store, capsys)["currency"] == "GBP"


def test_quotas_in_another_currency_than_an_import_set_make_the_store_mixed_but_not_a_persons_choice(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first file's pounds set the store's currency; yen quotas after them are not pounds: the store now holds
    several currencies. A currency a person chose stays, with a warning."""
    (tmp_path / "uk.csv").write_text('Full Name,Email,Quota\nAnn Lee,ann@example.co.uk,"£900,000"\n', encoding="utf-8")
    (tmp_path / "jp.csv").write_text('Full Name,Email,Quota\nRen Ito,ren@example.jp,"¥90,000,000"\n', encoding="utf-8")
    _import(empty_store, tmp_path / "uk.csv", capsys)
    f = _import(empty_store, tmp_path / "jp.csv", capsys)
    assert any("the store now holds several currencies (GBP, JPY)" in w for w in f["warnings"]), f  # type: ignore[attr-defined]
    assert _settings(empty_store, capsys)["currency"] == "XXX"
    currency.set_currency(empty_store, "GBP", scope=OPERATOR)
    f = _import(empty_store, tmp_path / "jp.csv", capsys)
    assert any("this file's amounts are in JPY and the store's in GBP" in w for w in f["warnings"]), f  # type: ignore[attr-defined]
    assert _settings(empty_store, capsys)["currency"] == "GBP"  # a person's choice is never overruled by a file
    with pytest.raises(Exception, match="is not a currency"):
        currency.set_currency(empty_store, "XXX", scope=OPERATOR)


def test_a_jpy_quota_plan_in_a_mixed_store_carries_the_caveat_and_no_dollar(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """explore-K: "The plan's expected value $683.9k covers 0% of quota $150.0M": yen quota against "$" figures."""
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    _import(empty_store, tmp_path / "users.csv", capsys)
    _import(empty_store, tmp_path / "deals.csv", capsys)
    out_md = tmp_path / "plan.md"
    code, out = _cli(["--db", str(empty_store), "plan", "--rep", "Haruto Sato", "--out", str(out_md)], capsys, True)
    assert code == 0, out
    assert "quota 150.0M" in out and "$" not in out
    assert CAVEAT[0].upper() + CAVEAT[1:] in out
    md = out_md.read_text(encoding="utf-8")
    assert CAVEAT[0].upper() + CAVEAT[1:] in md and "$" not in md
    code, out = _cli(["--db", str(empty_store), "metrics"], capsys)
    assert code == 0 and f"Money: {CAVEAT}" in out and "$" not in out
    code, out = _cli(["--db", str(empty_store), "metrics", "--json"], capsys)
    assert CAVEAT in json.loads(out)["currency_caveat"]


def _mixed(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Make the store one of several currencies, as imports do, and retrain as a leader would; its training
    report."""
    with store.write(path) as con:
        world.note_mixed_store(con, "GBP, INR, JPY", scope=OPERATOR)
    code, out = _cli(["--db", str(path), "train"], capsys)
    assert code == 0, out
    return out


@pytest.mark.parametrize("name", ["overview", "coverage", "targets", "plan", "rebalance"])
def test_every_page_of_a_mixed_store_says_so_and_shows_no_dollar(
    app_store: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """explore-K: Overview read "Open pipeline $30.1M" for a book mostly in yen and rupees."""
    _mixed(app_store, capsys)
    shown = page_text(page(name, query={"rep": "R001"} if name == "plan" else None))
    assert CAVEAT in shown.replace("Amounts are", "amounts are"), name
    assert "$" not in shown.replace("`planner settings --currency CODE`", ""), name


def test_money_of_a_mixed_store_is_written_with_no_sign() -> None:
    text.use_currency("XXX", "GBP, JPY")
    try:
        assert text.money(30_100_000) == "30.1M" and text.currency_prefix() == ""
        assert "(GBP, JPY)" in text.mixed_caveat()
    finally:
        text.use_currency("USD")
    assert text.mixed_caveat() == "" and text.money(5) == "$5"


def test_the_model_leaves_revenue_out_of_a_mixed_store(small_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """explore-K: "▼ Annual revenue $76.7B, top 1% lowers it" for a company whose revenue is ¥76.7B."""
    out = _mixed(small_store, capsys)
    assert "not used: Annual revenue (amounts are in several currencies (GBP, INR, JPY), not converted" in out
    with store.read(small_store) as con:
        active = scores.active_version(con)
        reasons = [r[0] for r in con.execute("SELECT reasons FROM scores WHERE model_version = ?", [active]).fetchall()]
    assert reasons and not [r for r in reasons if "revenue" in str(r).lower()]


def test_settings_page_of_a_mixed_store_says_so_and_lets_an_admin_choose_one(
    app_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with store.write(app_store) as con:
        world.note_mixed_store(con, "GBP, INR, JPY", scope=OPERATOR)
    at = page("settings")
    assert "Money is shown with no currency sign: " + CAVEAT in page_text(at)
    at.selectbox(key="set_currency").select("JPY")
    at.button(key="set_currency_save").click().run()
    assert not at.exception and _settings(app_store, capsys)["currency"] == "JPY"
    assert "currency_caveat" not in _settings(app_store, capsys)
