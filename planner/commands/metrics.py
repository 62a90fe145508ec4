"""`metrics [--json]`: per-territory metrics, imbalance indices, coverage and white space."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from typing import Any

import pandas as pd

from planner import plan, store
from planner.coverage import markets, report
from planner.coverage.facts import SEGMENTS, Filters
from planner.coverage.imbalance import METRICS
from planner.coverage.workload import load_workload
from planner.errors import BadInput
from planner.scope import OPERATOR
from planner.text import crm_record_id, json_safe, mixed_caveat, one_line, quota_caveat

TEXT_COLUMNS = {
    "territory": "Territory",
    "accounts": "Accounts",
    "customers": "Cust.",
    "prospects": "Prosp.",
    "potential": "Potential",
    "expected_value": "Exp. value",
    "open_pipeline": "Pipeline",
    "won_12m": "Won 12m",
    "quota": "Quota",
    "potential_per_quota": "Pot/quota",
    "workload_hours": "Work h",
    "utilisation": "Work/cap",
    "coverage": "Coverage",
    "mean_km": "Mean km",
    "max_km": "Max km",
}
JSON_COLUMNS = [
    "rep_id", "name", "accounts", "customers", "prospects", "potential", "expected_value", "open_pipeline",
    "open_deals", "won_12m", "quota", "potential_per_quota", "workload_hours", "book_hours", "capacity_hours",
    "utilisation", "coverage", "covered_potential", "mean_km", "max_km", "out_of_reach", "over_capacity", "unlocated",
]  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "metrics", help="print per-territory metrics, imbalance indices and coverage", description=__doc__
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--segment", action="append", default=[], metavar="NAME",
                   help=f"only this size segment ({', '.join(SEGMENTS)}); repeatable")  # fmt: skip
    p.add_argument("--industry", action="append", default=[], metavar="NAME", help="only this industry; repeatable")
    p.add_argument("--state", action="append", default=[], metavar="XX", help="only this state; repeatable")
    p.add_argument("--rep", metavar="REP", help="coverage and white space of one territory (id, email or name)")
    p.add_argument("--reachable-km", type=float, metavar="KM", help="farthest distance a rep covers")
    p.add_argument("--capacity-hours", type=float, metavar="H", help="capacity of reps without their own")
    p.add_argument("--white-space", type=int, default=20, metavar="N", help="largest white-space accounts to list")
    p.set_defaults(func=run)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [json_safe(r) for r in df.astype(object).where(df.notna(), None).to_dict(orient="records")]


def _fmt(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if kind == "money":
        return f"{value:,.0f}"
    if kind == "pct":
        return f"{value:.0%}"
    if kind == "ratio":
        return f"{value:.2f}"
    return f"{value:,.0f}"


def _kind(col: str) -> str:
    if col in ("potential", "expected_value", "open_pipeline", "won_12m", "quota"):
        return "money"
    if col in ("utilisation", "coverage"):
        return "pct"
    if col == "potential_per_quota":
        return "ratio"
    return "count"


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.white_space <= 10_000:
        raise BadInput(f"--white-space {args.white_space} is out of range; use 0 to 10000")
    with store.read(args.db_path) as con:
        rep_id = plan.resolve_rep(con, args.rep, scope=OPERATOR) if args.rep else None  # the one rep lookup
        filters = Filters(tuple(args.segment), tuple(args.industry), tuple(args.state), rep_id)
        workload = load_workload(con, reachable_km=args.reachable_km, default_capacity_hours=args.capacity_hours)
        figures = report.coverage_report(
            con, scope=OPERATOR, filters=filters, workload=workload, white_space_limit=max(1, args.white_space)
        )
    if args.json:
        print(json.dumps(json_safe(_json(figures, filters, args.white_space)), indent=2, default=str))
    else:
        _print_text(figures, filters, args.white_space)
    return 0


def _json(figures: dict[str, Any], filters: Filters, white_space: int) -> dict[str, Any]:
    """The --json document (a contract: keys are kept, added to freely)."""
    table = figures["territories"]
    white = figures["white_space"].head(white_space)
    cov = figures["coverage"]
    return {
        "as_of": str(figures["as_of"]),
        "filters": asdict(filters),
        **({"currency_caveat": caveat} if (caveat := mixed_caveat()) else {}),
        **({"potential_per_quota_caveat": f"not comparable: {why}"} if (why := quota_caveat()) else {}),
        "expected_value": {
            "source": figures["basis"].source,
            "model_version": figures["basis"].model_version,
            "win_rate_12m": figures["basis"].win_rate,
            "note": figures["basis"].note,
        },
        # touches_per_year (earlier versions' one figure) stays: the segments' figure when they agree, else null
        "settings": {
            **figures["workload"].as_dict(),
            "touches_per_year": figures["workload"].touches_per_year,
            "high_potential_share": figures["high_potential_share"],
        },
        "territories": _records(table[JSON_COLUMNS]),
        "imbalance": {
            r["metric"]: {k: r[k] for k in ("mean", "max_mean", "min_mean", "cv", "gini")}
            for r in _records(figures["imbalance"])
        },
        # Each country's territories against its own mean where Rebalance balances the book within countries
        # (as Overview and Coverage show it); {} for a book of one country.
        "imbalance_by_country": _by_country(figures["market_imbalance"]),
        "coverage": {k: v for k, v in cov.items() if k != "by_status"} | {"by_status": _records(cov["by_status"])},
        "travel": figures["travel"],
        "white_space": _records(
            white[
                [
                    "account_id",
                    "name",
                    "state",
                    "owner_name",
                    "status",
                    "potential",
                    "expected_value",
                    "nearest_rep",
                    "nearest_rep_km",
                ]
            ]  # fmt: skip
        ),
    }


def _by_country(by_market: pd.DataFrame) -> dict[str, Any]:
    """{country code: {name, reps, imbalance: {metric: {max_mean, min_mean, cv, gini}}}} from market_imbalance."""
    out: dict[str, Any] = {}
    for r in _records(by_market):
        row = out.setdefault(r["market"], {"name": r["name"], "reps": r["reps"], "imbalance": {}})
        row["imbalance"][r["metric"]] = {k: r[k] for k in ("max_mean", "min_mean", "cv", "gini")}
    return out


def _print_text(figures: dict[str, Any], filters: Filters, white_space: int) -> None:
    """The human-readable report: territories, imbalance, coverage, largest white space."""
    table = figures["territories"].copy()
    white = figures["white_space"].head(white_space)
    cov = figures["coverage"]
    table["territory"] = table["name"].fillna("(no active owner)")
    shown = pd.DataFrame({label: [_fmt(v, _kind(col)) for v in table[col]] if col != "territory" else table[col]
                          for col, label in TEXT_COLUMNS.items()})  # fmt: skip
    print(f"Territories as of {figures['as_of']} ({filters.describe()})")
    if caveat := mixed_caveat():  # the money columns below add several currencies as written
        print(f"Money: {caveat}.")
    print(shown.to_string(index=False))
    if why := quota_caveat():  # the Pot/quota column is empty
        print(f"Pot/quota: not comparable: {why}.")
    print()
    imb = figures["imbalance"]
    by_market = figures["market_imbalance"]
    whole = " (whole book: every territory against the mean of all)" if len(by_market) else ""
    print(f"Imbalance across territories{whole} (1.00 / 0.00 = perfectly even)")
    print(
        pd.DataFrame(
            {
                "Metric": imb["label"],
                "Max/mean": imb["max_mean"].map(lambda v: _fmt(v, "ratio")),
                "Min/mean": imb["min_mean"].map(lambda v: _fmt(v, "ratio")),
                "CV": imb["cv"].map(lambda v: _fmt(v, "ratio")),
                "Gini": imb["gini"].map(lambda v: _fmt(v, "ratio")),
            }
        ).to_string(index=False)
    )
    if len(by_market):
        per = markets.market_table(by_market, {k: METRICS[k] for k in ("potential", "accounts", "workload_hours")})
        print()
        print(f"Max/mean within each country ({per['market'].nunique()} countries; Rebalance balances each on its "
              "own: a territory against its own country's mean)")  # fmt: skip
        print(per.rename(columns={"market": "Country", "reps": "Reps"}).to_string(
            index=False, formatters={c: (lambda v: _fmt(v, "ratio")) for c in per.columns[2:]}))  # fmt: skip
    print()
    print(
        f"Coverage: {_fmt(cov['share'], 'pct')} of potential ({_fmt(cov['covered_potential'], 'money')} of "
        f"{_fmt(cov['potential'], 'money')}); white space: {cov['white_space_accounts']:,} high-potential accounts "
        f"(potential >= {_fmt(cov['high_potential_threshold'], 'money')}) worth "
        f"{_fmt(cov['white_space_potential'], 'money')} not covered."
    )
    print(figures["basis"].note)
    if figures["travel"]["note"]:
        print(figures["travel"]["note"])
    if len(white):
        print()
        print(f"Largest white space ({len(white)}):")
        print(
            pd.DataFrame(
                {
                    "Account": white["account_id"].map(crm_record_id).replace("", "-"),  # no 'name:...' keys
                    "Name": white["name"].fillna("-").map(one_line),
                    "State": white["state"].fillna("-"),
                    "Why": white["status_label"].fillna("-"),
                    "Owner": white["owner_name"].fillna("-"),
                    "Potential": white["potential"].map(lambda v: _fmt(v, "money")),
                    "Nearest rep": white["nearest_rep"].fillna("-"),
                    "km": white["nearest_rep_km"].map(lambda v: _fmt(v, "count")),
                }
            ).to_string(index=False)
        )
