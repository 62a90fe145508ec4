"""The offer catalogue and partner list: defaults, validation, storing edits, and the offer a
target gets (a customer story from its industry, a discount where a deal is open, a trial for
high intent or growth, else an event).

The demo store starts with an invented catalogue (customer stories of made-up firms, made-up partners); a store
holding a company's own imports never shows it: it starts with generic offer types that name no one, and no
partners, and the plan says where to add the company's own."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from planner import store
from planner.errors import BadInput
from planner.plan.spec import Plan, missing
from planner.scope import Scope, require_leader
from planner.store import plans as q
from planner.store import world

OFFER_KINDS = ("event", "case_study", "trial", "discount")


def quarter_end(day: date) -> date:
    """The last day of the calendar quarter holding `day`."""
    month = ((day.month - 1) // 3 + 1) * 3
    first_next = date(day.year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def default_offers(as_of_day: date) -> pd.DataFrame:
    """The demo store's catalogue: events, invented industry customer stories, a trial, a discount."""
    rows = [
        ("OF-WEBINAR", "Live product webinar: planning in 30 minutes", "event", None,
         "Monthly live webinar with Q&A; invite with a personal note.", None),
        ("OF-ROUNDTABLE", "Regional customer roundtable", "event", None,
         "Half-day peer roundtable hosted with customers in the region.", None),
        ("OF-TRIAL", "30-day free trial with onboarding call", "trial", None,
         "Full product for 30 days, up to 25 users, guided setup.", None),
        ("OF-DISCOUNT", "15% first-year discount, signed this quarter", "discount", None,
         "Time-limited: valid for contracts signed by the end of the quarter.", quarter_end(as_of_day)),
        ("CS-SOFTWARE", "Customer story: Northwind Analytics (Software)", "case_study", "Software",
         "Cut territory planning from 3 weeks to 2 days across 40 reps.", None),
        ("CS-FINSERV", "Customer story: Harborview Credit Union (Financial Services)", "case_study",
         "Financial Services", "Grew pipeline coverage from 2.1x to 3.4x in two quarters.", None),
        ("CS-HEALTH", "Customer story: Cedar Medical Group (Healthcare)", "case_study", "Healthcare",
         "Balanced 12 territories and lifted meetings per rep by 30%.", None),
        ("CS-MANUFACTURING", "Customer story: Granite Components (Manufacturing)", "case_study",
         "Manufacturing", "Focused reps on the top 15% of plants by expected value.", None),
        ("CS-PROSERV", "Customer story: Keystone Advisory (Professional Services)", "case_study",
         "Professional Services", "Won 18 new firms from a ranked target list in one year.", None),
    ]  # fmt: skip
    df = pd.DataFrame(rows, columns=["offer_id", "name", "kind", "industry", "description", "valid_until"])
    df["active"] = True
    return df


def default_partners() -> pd.DataFrame:
    """The demo store's invented partners, covering industries or US states (JSON lists as text)."""
    rows = [
        ("P-CLOUDLINE", "Cloudline Consulting", ["Software", "Media", "Telecommunications"], []),
        ("P-HEALTHBRIDGE", "HealthBridge Partners", ["Healthcare"], []),
        ("P-LEDGER", "Ledger & Co Advisory", ["Financial Services", "Professional Services"], []),
        ("P-GREATLAKES", "Great Lakes Integrators", [], ["IL", "IN", "MI", "MN", "OH", "WI"]),
        ("P-SUNBELT", "Sunbelt Systems", [], ["AZ", "FL", "GA", "NM", "TX"]),
        ("P-PACIFIC", "Pacific Crest Solutions", ["Manufacturing", "Logistics"], ["CA", "OR", "WA"]),
    ]
    return pd.DataFrame(
        [(pid, name, json.dumps(ind), json.dumps(states)) for pid, name, ind, states in rows],
        columns=["partner_id", "name", "industries", "states"],
    )


def generic_offers() -> pd.DataFrame:
    """The catalogue a store of real imports starts with: kinds of offer that name no customer, partner or price,
    for the company to replace with its own (an invented customer story would be sent to a real prospect)."""
    rows = [
        ("OF-BRIEFING", "Executive briefing", "event", None,
         "A short briefing for the account's leaders; replace with your company's events.", None),
        ("OF-TRIAL", "Free trial", "trial", None, "Set the length and terms of your company's trial.", None),
        ("OF-CASE-STUDY", "Case study from your industry (add one)", "case_study", None,
         "Add your own customer stories, one per industry, so a target gets one from its industry.", None),
    ]  # fmt: skip
    df = pd.DataFrame(rows, columns=["offer_id", "name", "kind", "industry", "description", "valid_until"])
    df["active"] = True
    return df


def _no_partners() -> pd.DataFrame:
    return pd.DataFrame(columns=["partner_id", "name", "industries", "states"])


def _without_demo_rows(table: pd.DataFrame, demo: pd.DataFrame, key: str) -> pd.DataFrame:
    """A real store's table less the demo's invented rows (same id and name) that a demo store left behind."""
    invented = set(zip(demo[key], demo["name"], strict=True))
    keep = [(k, n) not in invented for k, n in zip(table[key], table["name"], strict=True)]
    return table[keep].reset_index(drop=True)


def seed_catalogue(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Fill empty offers and partners tables (write connection): the demo's catalogue in the demo store, the
    generic offers and no partners in a store of real imports.

    Safe to call on every write: tables that already hold rows are left alone.
    """
    added = {"offers": 0, "partners": 0}
    demo = world.is_demo(con)
    if q.count_rows(con, "offers") == 0:
        table = default_offers(q.as_of(con)) if demo else generic_offers()
        q.replace_offers(con, table)
        added["offers"] = len(table)
    if demo and q.count_rows(con, "partners") == 0:
        table = default_partners()
        q.replace_partners(con, table)
        added["partners"] = len(table)
    return added


def catalogue(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The offer catalogue in force: the store's (a real store's without the demo's invented rows), else the
    demo's in the demo store and the generic offers in a real one."""
    demo = world.is_demo(con)
    df = q.offers(con)
    if not demo and len(df):
        df = _without_demo_rows(df, default_offers(q.as_of(con)), "offer_id")
    if len(df):
        return df
    return default_offers(q.as_of(con)) if demo else generic_offers()


def partner_table(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Partners in force: the store's (a real store's without the demo's invented ones), else the demo's in the
    demo store and none in a real one."""
    demo = world.is_demo(con)
    df = q.partners(con)
    if not demo and len(df):
        df = _without_demo_rows(df, default_partners(), "partner_id")
    if len(df):
        return df
    return default_partners() if demo else _no_partners()


def catalogue_notes(offers: pd.DataFrame, partners: pd.DataFrame) -> list[str]:
    """Where to add the company's own offers and partners, when the plan runs on the generic offers or none."""
    notes = []
    generic = set(generic_offers()["offer_id"])
    if len(offers) and set(offers["offer_id"]) <= generic:
        notes.append("Offers are generic placeholders (a briefing, a trial, a case study to add): add your company's "
                     "own offers and customer stories in the plan's Offer catalogue (Territory plan page), so each "
                     "target gets one from its industry.")  # fmt: skip
    if not len(partners):
        notes.append(
            "No partners are set, so the plan asks no partner for introductions: add your company's partners, "
            "the industries and regions they cover, under Partners on the Territory plan page."
        )
    return notes


def json_list(text: Any) -> list[str]:
    if missing(text) or text == "":
        return []
    if isinstance(text, list | tuple):
        return [str(x) for x in text]
    try:
        value = json.loads(str(text))
    except json.JSONDecodeError:
        value = [x.strip() for x in str(text).split(",")]
    return [str(x).strip() for x in value if str(x).strip()]


def clean_offers(table: pd.DataFrame) -> pd.DataFrame:
    """Validate an edited offer catalogue (ids unique and present, known kinds, dates)."""
    df = table.copy()
    for col in ("offer_id", "name", "kind", "industry", "description", "valid_until", "active"):
        if col not in df.columns:
            df[col] = None
    df = df[~(df["offer_id"].isna() & df["name"].isna())]
    df["offer_id"] = df["offer_id"].astype("string").str.strip()
    if df["offer_id"].isna().any() or (df["offer_id"] == "").any():
        raise BadInput("every offer needs an offer_id; fill it in or delete the row")
    dup = df["offer_id"][df["offer_id"].duplicated()]
    if len(dup):
        raise BadInput(f"offer_id {dup.iloc[0]!r} appears twice; give each offer its own id")
    bad = df.loc[~df["kind"].isin(OFFER_KINDS), "kind"]
    if len(bad):
        raise BadInput(f"offer kind {bad.iloc[0]!r} is not one of {', '.join(OFFER_KINDS)}")
    df["industry"] = df["industry"].where(df["industry"].notna() & (df["industry"].astype(str).str.strip() != ""))
    try:
        df["valid_until"] = pd.to_datetime(df["valid_until"]).dt.date
    except (ValueError, TypeError):
        raise BadInput("valid_until must be a date (YYYY-MM-DD) or empty") from None
    df["active"] = df["active"].fillna(True).astype(bool)
    df["valid_until"] = df["valid_until"].astype(object).where(df["valid_until"].notna(), None)
    return df[["offer_id", "name", "kind", "industry", "description", "valid_until", "active"]].reset_index(drop=True)


def clean_partners(table: pd.DataFrame) -> pd.DataFrame:
    """Validate an edited partner list; industries and states may be JSON lists or comma text."""
    df = table.copy()
    df = df[df["partner_id"].notna() | df["name"].notna()]
    if df["partner_id"].isna().any():
        raise BadInput("every partner needs a partner_id; fill it in or delete the row")
    if df["partner_id"].duplicated().any():
        raise BadInput(f"partner_id {df['partner_id'][df['partner_id'].duplicated()].iloc[0]!r} appears twice")
    df["industries"] = df["industries"].map(lambda v: json.dumps(json_list(v)))
    df["states"] = df["states"].map(lambda v: json.dumps([s.upper() for s in json_list(v)]))
    return df[["partner_id", "name", "industries", "states"]].reset_index(drop=True)


@store.retry_conflicts
def save_catalogue(
    path: Path, *, scope: Scope, offers: pd.DataFrame | None = None, partners: pd.DataFrame | None = None
) -> dict[str, int]:
    """Store an edited offer catalogue and/or partner list (leaders and admins only); returns the
    number of rows stored per table."""
    require_leader(scope)
    o = clean_offers(offers) if offers is not None else None
    p = clean_partners(partners) if partners is not None else None
    stored: dict[str, int] = {}
    with store.write(path) as con:
        if o is not None:
            q.replace_offers(con, o)
            stored["offers"] = len(o)
        if p is not None:
            q.replace_partners(con, p)
            stored["partners"] = len(p)
    return stored


def partners_for_editing(plan: Plan) -> pd.DataFrame:
    """The plan's partners with industries and states as comma-separated text (for an editor)."""
    df = plan.partners.copy()
    for col in ("industries", "states"):
        if col in df.columns:
            df[col] = df[col].map(lambda v: ", ".join(json_list(v)))
    return df


def valid_offers(offers: pd.DataFrame, on: date) -> pd.DataFrame:
    """Active offers still valid on a date."""
    until = pd.to_datetime(offers["valid_until"], errors="coerce")
    valid = until.isna() | (until >= pd.Timestamp(on))
    return offers[offers["active"].fillna(True).astype(bool) & valid]


def suggest_offer(
    account: dict[str, Any], offers: pd.DataFrame | list[dict[str, Any]], rules: dict[str, Any], on: date | None = None
) -> tuple[str | None, str]:
    """The best offer for one account and why, by these rules in order:
    a customer story from the same industry; a time-limited discount where a deal is open; a free
    trial for high intent or fast growth; else an event or webinar invitation. `offers` is the
    catalogue (filtered to what is valid `on`) or, already filtered, `offer_records(...)`."""
    ok = offer_records(offers, on) if isinstance(offers, pd.DataFrame) else offers
    industry = account.get("industry")
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for o in ok:
        by_kind.setdefault(str(o["kind"]), []).append(o)
    story = [o for o in by_kind.get("case_study", []) if o["industry"] == industry]
    if story:
        return str(story[0]["offer_id"]), f"a customer story from the same industry ({industry})"
    discount = by_kind.get("discount", [])
    if rules["discount_with_open_deal"] and _number(account.get("open_deals")) > 0 and discount:
        return str(discount[0]["offer_id"]), "a deal is already open: a time-limited discount can close it"
    trial = by_kind.get("trial", [])
    intent, growth = _number(account.get("intent_score")), _number(account.get("employee_growth"))
    if trial and (intent >= float(rules["trial_min_intent"]) or growth >= float(rules["trial_min_growth"])):
        high = intent >= float(rules["trial_min_intent"])
        why = f"high intent ({intent:.0f}/100)" if high else f"fast growth (+{growth:.0%})"
        return str(trial[0]["offer_id"]), f"{why}: let them try it"
    events = by_kind.get("event", [])
    pick = [o for o in events if o["industry"] == industry] or [o for o in events if missing(o["industry"])] or events
    if pick:
        return str(pick[0]["offer_id"]), "an event or webinar invitation opens a first conversation"
    if ok:
        return str(ok[0]["offer_id"]), "the only offer in the catalogue"
    return None, "no active offer in the catalogue"


def offer_records(offers: pd.DataFrame, on: date | None) -> list[dict[str, Any]]:
    """The catalogue's active offers valid on a date, as plain records in catalogue order."""
    table = valid_offers(offers, on) if on is not None else offers
    return [
        {"offer_id": r.offer_id, "kind": r.kind, "industry": None if missing(r.industry) else r.industry}
        for r in table.itertuples(index=False)
    ]


def _number(value: Any) -> float:
    try:
        return 0.0 if missing(value) else float(value)
    except (TypeError, ValueError):
        return 0.0
