"""A store holding money in several currencies, second round: no ratio of quota to potential or expected value
(coverage of quota, potential per quota, share of the company quota) where they are not in one currency; the
money caveat's command reads as code in Markdown and as plain text in Excel and HTML."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from planner import cli, plan, propensity, store, text
from planner.plan import exports
from planner.propensity import registry
from planner.scope import OPERATOR
from planner.store import scores, world
from tests.helpers import AVA, app_as, errors, page, page_text

USERS = (
    "Full Name,Email,City,Country,Quota\n"
    'Oliver Bennett,oliver@example.co.uk,London,United Kingdom,"£1,200,000"\n'
    'Marie Dubois,marie@example.fr,Paris,France,"€900,000"\n'
)
ACCOUNTS = (
    "Account Name,Billing City,Billing Country,Industry,Employees,Account Owner\n"
    "Acme Ltd,London,United Kingdom,Technology,500,Oliver Bennett\n"
    "Brit Co,Manchester,United Kingdom,Retail,1200,Oliver Bennett\n"
    "Paris SA,Paris,France,Technology,800,Marie Dubois\n"
)
DEALS = (
    '"Opportunity Owner","Account Name","Billing City","Billing Country","Opportunity Name","Stage","Amount",'
    '"Close Date","Created Date"\n'
    + "".join(
        f'"{owner}","{name}","{city}","{country}","Deal {i}","{stage}","{sign}{i + 1}0,000","{10 + i}/05/2026",'
        '"01/02/2026"\n'
        for i, ((owner, name, city, country, sign), stage) in enumerate(
            zip(
                [("Oliver Bennett", "Acme Ltd", "London", "United Kingdom", "£"),
                 ("Oliver Bennett", "Brit Co", "Manchester", "United Kingdom", "£"),
                 ("Marie Dubois", "Paris SA", "Paris", "France", "€")] * 3,
                ["Closed Won", "Closed Lost", "Prospecting"] * 3,
                strict=True,
            )
        )
    )
)  # fmt: skip
COMMAND = "`planner settings --currency CODE`"


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def mixed_store(empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """Quotas in pounds and euros, deals in both: the store has no currency of its own (XXX)."""
    for name, body in (("users.csv", USERS), ("accounts.csv", ACCOUNTS), ("deals.csv", DEALS)):
        (tmp_path / name).write_text(body, encoding="utf-8")
        code, out = _cli(["--db", str(empty_store), "import", str(tmp_path / name)], capsys)
        assert code == 0, out
    with store.read(empty_store) as con:
        assert world.currency(con) == world.NO_CURRENCY and world.mixed_currencies(con) == "EUR, GBP"
    return empty_store


def _compose(db: Path, rep: str = "Oliver Bennett") -> plan.Plan:
    with store.read(db) as con:
        rep_id = plan.resolve_rep(con, rep, scope=OPERATOR)
        return plan.compose(con, scope=OPERATOR, rep_id=rep_id, start=date(2026, 6, 1), today=date(2026, 5, 25))


def test_a_plan_of_a_mixed_store_measures_no_coverage_of_quota(
    mixed_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seen: 'expected value 76.8k = 6% of quota 1.2M' and '... covers 6% of quota 1.2M (target 100%): 1.1M short'
    beside the caveat that the amounts are in pounds and euros added as written."""
    p = _compose(mixed_store)
    k = p.kpis
    assert k["quota"] == 1_200_000 and k["expected_value"] > 0
    assert k["coverage"] is None and k["gap"] == 0.0 and k["reaches_quota"] and k["share_of_team_quota"] is None
    assert "several currencies (EUR, GBP)" in k["quota_caveat"]
    assert not len(p.gap)  # no accounts "to close a gap" that cannot be measured
    assert any(w.startswith("Coverage of quota is not comparable: quotas and amounts") for w in k["warnings"])
    assert not [w for w in k["warnings"] if "% of quota" in w or "short" in w]
    code, out = _cli(["--db", str(mixed_store), "plan", "--rep", "Oliver Bennett", "--out",
                      str(tmp_path / "plan.md")], capsys)  # fmt: skip
    assert code == 0, out
    assert "against quota 1.2M: not comparable" in out and "% of quota" not in out and "short" not in out
    md = (tmp_path / "plan.md").read_text(encoding="utf-8")
    assert "coverage not comparable (several currencies)" in md and "% of quota" not in md
    assert "Quota and expected value are not comparable (several currencies), so there is no gap" in md
    rows = {r[0]: r[1] for r in openpyxl.load_workbook(io.BytesIO(exports.render(p, ".xlsx")))["Summary"].iter_rows(
        values_only=True)}  # fmt: skip
    assert rows["Pipeline coverage (expected value / quota)"] == "not comparable"
    assert rows["Gap to the coverage target"] == "not comparable"


def test_a_store_of_one_currency_still_measures_coverage(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same book all in pounds: quota and expected value are comparable, coverage is measured."""
    for name, body in (("users.csv", USERS.replace('"€900,000"', '"£900,000"')), ("accounts.csv", ACCOUNTS),
                       ("deals.csv", DEALS.replace("€", "£"))):  # fmt: skip
        (tmp_path / name).write_text(body, encoding="utf-8")
        assert _cli(["--db", str(empty_store), "import", str(tmp_path / name)], capsys)[0] == 0
    k = _compose(empty_store).kpis
    assert k["quota_caveat"] == "" and k["coverage"] == pytest.approx(k["expected_value"] / 1_200_000)
    code, out = _cli(["--db", str(empty_store), "metrics", "--json"], capsys)
    assert "potential_per_quota_caveat" not in json.loads(out)
    assert all(t["potential_per_quota"] is not None for t in json.loads(out)["territories"])


def test_metrics_of_a_mixed_store_show_no_potential_per_quota(
    mixed_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _cli(["--db", str(mixed_store), "metrics"], capsys)
    assert code == 0
    assert "Pot/quota: not comparable: quotas and amounts are in several currencies (EUR, GBP)" in out
    code, out = _cli(["--db", str(mixed_store), "metrics", "--json"], capsys)
    doc = json.loads(out)
    assert [t["potential_per_quota"] for t in doc["territories"] if t["name"]] == [None, None]
    assert doc["potential_per_quota_caveat"].startswith("not comparable: quotas and amounts")
    assert doc["imbalance"]["potential_per_quota"]["max_mean"] is None


def _make_mixed(path: Path) -> None:
    with store.write(path) as con:
        world.note_mixed_store(con, "GBP, JPY", scope=OPERATOR)


def test_coverage_page_of_a_mixed_store_draws_no_quota_ratio(app_store: Path) -> None:
    """Seen: 'Potential / quota' per territory and a 'Potential against quota' chart with its average ratio, of
    quotas in pounds and yen."""
    _make_mixed(app_store)
    at = page("coverage")
    assert errors(at) == []
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert not [t for t in titles if "against quota" in t] and any(
        t.startswith("Potential by territory") for t in titles
    )
    shown = page_text(at)
    assert "Potential against quota is not drawn: quotas and amounts are in several currencies (GBP, JPY)" in shown
    assert "No potential / quota column" in shown
    assert "Potential / quota" not in at.dataframe[0].value.columns
    assert "potential_per_quota" not in at.selectbox(key="cov_metric").options
    rep = app_as(AVA, page="coverage")
    assert errors(rep) == []
    ratio = next(m for m in rep.metric if m.label == "Potential / quota")
    assert ratio.value == "not comparable" and "several currencies (GBP, JPY)" in str(ratio.proto.help)


def test_plan_page_of_a_mixed_store_says_not_comparable_and_shows_the_command_as_code(app_store: Path) -> None:
    """Seen: the caveat read '(admins; \\`planner settings --currency CODE\\`)', backticks and all, on the plan page."""
    _make_mixed(app_store)
    at = page("plan", query={"rep": "R001"})
    assert errors(at) == []
    coverage = next(m for m in at.metric if m.label == "Pipeline coverage")
    assert coverage.value == "not comparable" and "several currencies (GBP, JPY)" in str(coverage.proto.help)
    bodies = [str(w.value) for w in at.warning]
    caveat = next(b for b in bodies if b.startswith("Amounts are in several currencies"))
    assert COMMAND in caveat and "\\`" not in caveat  # Markdown: a code span, not escaped backticks
    assert any(b.startswith("Coverage of quota is not comparable") for b in bodies)


def test_plan_files_write_the_command_as_code_in_markdown_and_plain_elsewhere(mixed_store: Path) -> None:
    p = _compose(mixed_store)
    md = exports.to_markdown(p)
    line = next(x for x in md.splitlines() if "Amounts are in several currencies" in x)
    assert COMMAND in line and "\\`" not in line
    sheet = openpyxl.load_workbook(io.BytesIO(exports.to_excel(p)))["Summary"]
    warnings = [str(r[1]) for r in sheet.iter_rows(values_only=True) if r[0] == "Warning"]
    caveat = next(w for w in warnings if w.startswith("Amounts are in several currencies"))
    assert "(admins; planner settings --currency CODE)" in caveat and "`" not in "".join(warnings)
    html = exports.to_html(p)
    assert "(admins; planner settings --currency CODE)" in html and "`" not in html


def test_only_our_commands_read_as_code_a_backtick_in_a_name_stays_a_character() -> None:
    sentence = "No accounts are assigned to Bob `x` O'Neil; run `planner train` (or `python -m planner score`)."
    md = exports.md_note(sentence)
    assert md == ("No accounts are assigned to Bob \\`x\\` O'Neil; run `planner train` (or `python -m planner "
                  "score`).")  # fmt: skip
    assert text.without_code_marks(sentence) == (
        "No accounts are assigned to Bob `x` O'Neil; run planner train (or python -m planner score)."
    )
    assert exports.md_note("`planner train` <b>x</b>") == "`planner train` \\<b>x\\</b>"


def _scores(path: Path) -> dict[str, tuple[float, str]]:
    with store.read(path) as con:
        version = scores.active_version(con)
        rows = con.execute("SELECT account_id, propensity, reasons FROM scores WHERE model_version = ?", [version])
        return {a: (p, str(r)) for a, p, r in rows.fetchall()}


def test_a_model_that_learned_revenue_scores_a_mixed_store_without_it_and_asks_for_a_retrain(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seen: after a users file of pound and euro quotas made the store mixed, the model trained on one currency
    kept scoring with revenue ('▼ despite annual revenue unknown' once rescored) until someone retrained it.
    Now its scores hold every account at the typical revenue it learned from, and `planner model` says to retrain."""
    with store.write(small_store) as con:  # the company's own data: an import adds to it (it replaces a demo)
        store.set_meta(con, "is_demo", "0")
    before = _scores(small_store)
    assert [r for _, r in before.values() if "revenue" in r.lower()]  # the demo's model reads revenue
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    code, out = _cli(["--db", str(small_store), "import", str(tmp_path / "users.csv")], capsys)
    assert code == 0 and "several currencies, so annual revenue moves no score" in out, out
    after = _scores(small_store)
    assert after.keys() == before.keys() and not [r for _, r in after.values() if "revenue" in r.lower()]
    # Revenue moves no score: the same scores whatever the accounts' revenues read.
    with store.read(small_store) as con:
        version = scores.active_version(con)
        bundle = registry._loads(scores.model_blob(con, version, scope=OPERATOR))
        inputs = propensity.load_inputs(con, scope=OPERATOR)
        potential = scores.account_potential(con, scope=OPERATOR)
    assert inputs.revenue_left_out and "annual_revenue" in bundle.spec.columns
    first = propensity.score_frame(bundle, inputs, potential).set_index("account_id")
    inputs.accounts = inputs.accounts.assign(
        annual_revenue=[(i * 7919 % 1000) * 1e6 for i in range(len(inputs.accounts))]
    )
    second = propensity.score_frame(bundle, inputs, potential).set_index("account_id")
    assert first["propensity"].equals(second["propensity"].loc[first.index])
    assert first["propensity"].to_dict() == pytest.approx({a: p for a, (p, _) in after.items()})
    code, out = _cli(["--db", str(small_store), "model", "--json"], capsys)
    status = json.loads(out)
    assert status["retrain_suggested"] and "retrain (`python -m planner train`)" in status["revenue_left_out"]
    assert "several currencies (EUR, GBP, USD)" in status["note"]  # the demo's dollars, then pounds and euros
    assert _cli(["--db", str(small_store), "train"], capsys)[0] == 0
    code, out = _cli(["--db", str(small_store), "model", "--json"], capsys)
    assert "revenue_left_out" not in json.loads(out)  # the new version learned without it


DAY_FIRST = "day-first (DD/MM/YYYY), the date order where the amounts' currency is used"
US_ORDER = "month-first (MM/DD/YYYY), the US order, as no country in the file says otherwise"
APRIL_3, MARCH_4 = date(2026, 4, 3), date(2026, 3, 4)  # what 03/04/2026 becomes


@pytest.mark.parametrize(
    ("sign", "read_as", "evidence"),
    [
        ("£", APRIL_3, f"{DAY_FIRST} (GBP: United Kingdom)"),
        ("€", APRIL_3, f"{DAY_FIRST} (EUR: most of the countries that use it)"),
        ("₹", APRIL_3, f"{DAY_FIRST} (INR: India)"),
        ("¥", MARCH_4, f"{US_ORDER}, and where the amounts' currency is used (JPY: Japan) dates start with the year"),
        ("", MARCH_4, f"{US_ORDER};"),
    ],
)  # fmt: skip
def test_a_file_without_countries_reads_its_dates_in_the_order_of_its_amounts_currency(
    empty_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], sign: str, read_as: date, evidence: str
) -> None:
    """Seen: a deals file with amounts in £ and no country column read 03/04/2026 as 4 March (the US order)."""
    (tmp_path / "deals.csv").write_text(
        "Opportunity Owner,Account Name,Opportunity Name,Stage,Amount,Close Date\n"
        f'Ann Lee,Acme,Deal 1,Closed Won,"{sign}1,000",03/04/2026\n'
        f'Ann Lee,Beta,Deal 2,Closed Lost,"{sign}2,000",05/06/2026\n',
        encoding="utf-8",
    )
    code, out = _cli(["--db", str(empty_store), "import", str(tmp_path / "deals.csv"), "--json"], capsys)
    assert code == 0, out
    warnings = json.loads(out)["files"][0]["warnings"]
    assert any(f"could be read day-first or month-first (no day above 12): read {evidence}" in w for w in warnings)
    with store.read(empty_store) as con:
        first = con.execute("SELECT min(close_date) FROM deals").fetchone()
    assert first is not None and first[0] == read_as


def test_the_countries_rows_name_outweigh_the_currency_and_dollars_point_to_the_us() -> None:
    from planner.ingest import dates

    assert dates.currency_order(["USD"]) == ("month", "USD: United States")  # Ecuador's day-first is outweighed
    assert dates.currency_order(["GBP", "USD"]) is None  # the UK and the US disagree: no evidence
    assert dates.currency_order(["XXX"]) is None
    report = type("R", (), {"notes": [], "warnings": []})()
    evidence = {"first": 0, "second": 0, "dotted": 0, "either": 2, "countries": [("US", 2)]}
    asked: list[bool] = []
    assert dates.day_first(evidence, ["Close Date"], report, lambda: asked.append(True) or ["GBP"]) is False
    assert not asked and "the country most of its rows name (United States)" in report.notes[0]


def test_a_rep_reads_why_a_retrain_is_due_when_revenue_was_left_out(app_store: Path, tmp_path: Path) -> None:
    """A rep's Model page said 'Much data was added' when the retrain was due because the store turned mixed (the
    model learned from revenue): the rep reads the real reason too."""
    with store.write(app_store) as con:
        store.set_meta(con, "is_demo", "0")
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    assert cli.main(["--db", str(app_store), "import", str(tmp_path / "users.csv")]) == 0
    at = app_as(AVA, page="model")
    assert errors(at) == []
    warned = " ".join(str(w.value) for w in at.warning)
    assert "several currencies, so annual revenue no longer counts" in warned and "Much data" not in warned
