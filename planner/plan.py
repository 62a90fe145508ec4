"""A rep's territory plan: targets with rationale, offers, collaboration needs, a dated sequence,
weekly load against capacity, KPI alignment with quota, and plan vs actual.

The plan starts from the rep's ranked accounts (the active propensity model's scores, or a
transparent heuristic when no model has scored them yet), keeps the rep's edits (add, remove,
reorder, offer, start week, rationale) as `TargetSpec`s, and derives everything else from the
specs and editable rules, so an edit or a rule change shows its effect at once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd

from planner import balance, store
from planner.errors import BadInput, NotFound, PlannerError
from planner.scope import EVERYONE, Scope
from planner.store import plans as q
from planner.text import money

CHANNELS = ("email", "phone", "social", "event")
TEAMS = ("Marketing", "Partners", "BDR/SDR")
OFFER_KINDS = ("event", "case_study", "trial", "discount")
MAX_WEEKS = 26

DEFAULT_RULES: dict[str, Any] = {
    "n_targets": 20,  # accounts a fresh plan starts with
    "tier1_share": 0.10,  # top 10% of the rep's book by expected value is tier 1
    "tier2_share": 0.30,  # the next 30% tier 2, the rest tier 3
    "abm_tiers": [1],  # tiers that get an ABM campaign with marketing
    "abm_lead_days": 14,  # the campaign runs this long before the first touch
    "partner_intro": True,  # ask a partner covering the industry or state for an introduction
    "partner_intro_day": 7,  # ... this many days after the first touch
    "sdr_warmup": "cold",  # BDR/SDR warm-up before the first touch: cold | all | never
    "sdr_cold_days": 90,  # cold = no activity in this many days before the first touch
    "sdr_lead_days": 7,  # the warm-up starts this many days before the first touch
    "trial_min_intent": 60,  # a free trial for accounts at least this interested (or growing fast)
    "trial_min_growth": 0.15,
    "discount_with_open_deal": True,  # a time-limited discount where a deal is already open
    "nurture_week": None,  # decision: no reply by this week -> automated nurture (None: half the cadence)
    "plan_share": 0.5,  # share of the rep's weekly selling hours the plan's touches may take
    "working_weeks": 46,  # selling weeks per year (capacity_hours is yearly)
    "max_stagger_weeks": 4,  # how far the planner may push a sequence's start to keep weeks under capacity
    "hours": {"email": 0.25, "phone": 0.5, "social": 0.15, "event": 0.5, "decision": 0.1},
    "meeting_rate": 0.35,  # share of targets expected to take a meeting within the cadence
    "meetings_per_week_target": 1.0,  # company target: first meetings a week from the plan
    "coverage_target": 1.0,  # company target: plan expected value / quota
}

# The 6-week cadence: (week 1-based, weekday 0=Monday, channel, action). Other lengths scale the weeks.
CADENCE: list[tuple[int, int, str, str]] = [
    (1, 0, "email", "Intro email with {offer}"),
    (1, 1, "social", "Connect on LinkedIn and engage with a recent post"),
    (1, 2, "phone", "Call: opener and qualification"),
    (2, 0, "email", "Follow-up email: {offer}"),
    (2, 2, "phone", "Call #2, voicemail if no answer"),
    (2, 4, "social", "LinkedIn message referring to the follow-up"),
    (3, 1, "event", "Invite to {event}"),
    (4, 0, "phone", "Call #3: ask for a meeting"),
    (4, 3, "email", "Value email: {story}"),
    (5, 0, "social", "Comment on or message about a recent post"),
    (5, 2, "phone", "Call #4"),
    (6, 0, "email", "Break-up email: last ask for a meeting"),
]
REPLY_KINDS = {"meeting", "call"}
REPLY_OUTCOMES = {"replied", "reply", "connected", "held", "interested", "meeting booked"}


class TargetSpec(NamedTuple):
    """What the rep decided about one target; None means 'let the planner suggest'."""

    account_id: str
    offer_id: str | None = None
    start_week: int | None = None
    rationale: str | None = None
    status: str = "planned"


@dataclass
class Plan:
    """A composed plan: what the page shows and every export writes."""

    plan_id: int | None
    rep: dict[str, Any]
    start: date
    weeks: int
    end: date
    as_of: date
    rules: dict[str, Any]
    source: str
    targets: pd.DataFrame
    steps: pd.DataFrame
    needs: pd.DataFrame
    load: pd.DataFrame
    kpis: dict[str, Any]
    gap: pd.DataFrame
    actual: pd.DataFrame
    offers: pd.DataFrame
    book: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    partners: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def saved(self) -> bool:
        return self.plan_id is not None

    def specs(self) -> tuple[TargetSpec, ...]:
        """The rep's decisions, in order (what save() stores)."""
        return tuple(
            TargetSpec(
                str(r.account_id),
                None if _missing(r.offer_choice) else str(r.offer_choice),
                None if _missing(r.start_week_choice) else int(r.start_week_choice),
                None if _missing(r.rationale_choice) else str(r.rationale_choice),
                str(r.status),
            )
            for r in self.targets.itertuples(index=False)
        )


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# ---- rules --------------------------------------------------------------------------------------


def rules_with_defaults(rules: dict[str, Any] | str | None) -> dict[str, Any]:
    """Rules merged over the defaults, validated; accepts a dict or its JSON text."""
    if isinstance(rules, str):
        try:
            rules = json.loads(rules) if rules.strip() else {}
        except json.JSONDecodeError as exc:
            raise BadInput(f"plan rules are not valid JSON ({exc.msg}); fix or clear them") from None
    out = json.loads(json.dumps(DEFAULT_RULES))
    for key, value in (rules or {}).items():
        if key not in DEFAULT_RULES:
            continue  # a rule from another version: ignore rather than fail
        if key == "hours":
            out["hours"].update({k: float(v) for k, v in dict(value).items() if k in out["hours"]})
        else:
            out[key] = value
    if not 0 <= float(out["tier1_share"]) <= 1 or not 0 <= float(out["tier2_share"]) <= 1:
        raise BadInput("tier shares must be between 0 and 1, e.g. tier1_share 0.1 and tier2_share 0.3")
    if out["sdr_warmup"] not in ("cold", "all", "never"):
        raise BadInput(f"sdr_warmup {out['sdr_warmup']!r} is not one of cold, all, never")
    if int(out["n_targets"]) < 0:
        raise BadInput(f"n_targets {out['n_targets']} must be 0 or more")
    if float(out["plan_share"]) <= 0:
        raise BadInput(f"plan_share {out['plan_share']} must be above 0 (share of weekly selling hours)")
    return out


def rules_json(rules: dict[str, Any]) -> str:
    """Canonical JSON of rules (hashable, for caching and storing)."""
    return json.dumps(rules, sort_keys=True)


# ---- offers and partners ------------------------------------------------------------------------


def quarter_end(day: date) -> date:
    """The last day of the calendar quarter holding `day`."""
    month = ((day.month - 1) // 3 + 1) * 3
    first_next = date(day.year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def default_offers(as_of_day: date) -> pd.DataFrame:
    """The catalogue a store starts with: events, industry customer stories, a trial, a discount."""
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
    """Partners a store starts with, covering industries or regions (JSON lists as text)."""
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


def seed_catalogue(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Fill empty offers and partners tables with the default catalogue (write connection).

    Safe to call on every write: tables that already hold rows are left alone.
    """
    added = {"offers": 0, "partners": 0}
    if q.count_rows(con, "offers") == 0:
        catalogue = default_offers(q.as_of(con))
        q.replace_offers(con, catalogue)
        added["offers"] = len(catalogue)
    if q.count_rows(con, "partners") == 0:
        table = default_partners()
        q.replace_partners(con, table)
        added["partners"] = len(table)
    return added


def catalogue(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The offer catalogue in force (the defaults while the store holds none)."""
    df = q.offers(con)
    return df if len(df) else default_offers(q.as_of(con))


def partner_table(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Partners in force (the defaults while the store holds none)."""
    df = q.partners(con)
    return df if len(df) else default_partners()


def _json_list(text: Any) -> list[str]:
    if _missing(text) or text == "":
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
    df["industries"] = df["industries"].map(lambda v: json.dumps(_json_list(v)))
    df["states"] = df["states"].map(lambda v: json.dumps([s.upper() for s in _json_list(v)]))
    return df[["partner_id", "name", "industries", "states"]].reset_index(drop=True)


def save_catalogue(path: Path, scope: Scope, offers: pd.DataFrame | None, partners: pd.DataFrame | None) -> None:
    """Store an edited offer catalogue and/or partner list (leaders and admins only)."""
    from planner.errors import Forbidden

    if scope.is_rep:
        raise Forbidden("only a leader or an admin may change the offer catalogue and partners")
    o = clean_offers(offers) if offers is not None else None
    p = clean_partners(partners) if partners is not None else None
    with store.write(path) as con:
        if o is not None:
            q.replace_offers(con, o)
        if p is not None:
            q.replace_partners(con, p)


def partners_for_editing(plan: Plan) -> pd.DataFrame:
    """The plan's partners with industries and states as comma-separated text (for an editor)."""
    df = plan.partners.copy()
    for col in ("industries", "states"):
        if col in df.columns:
            df[col] = df[col].map(lambda v: ", ".join(_json_list(v)))
    return df


def valid_offers(offers: pd.DataFrame, on: date) -> pd.DataFrame:
    """Active offers still valid on a date."""
    until = pd.to_datetime(offers["valid_until"], errors="coerce")
    valid = until.isna() | (until >= pd.Timestamp(on))
    return offers[offers["active"].fillna(True).astype(bool) & valid]


def suggest_offer(
    account: dict[str, Any], offers: pd.DataFrame, rules: dict[str, Any], on: date
) -> tuple[str | None, str]:
    """The best offer for one account and why, by these rules in order:
    a customer story from the same industry; a time-limited discount where a deal is open; a free
    trial for high intent or fast growth; else an event or webinar invitation."""
    ok = valid_offers(offers, on)
    industry = account.get("industry")
    story = ok[(ok["kind"] == "case_study") & (ok["industry"] == industry)]
    if len(story):
        return str(story["offer_id"].iloc[0]), f"a customer story from the same industry ({industry})"
    discount = ok[ok["kind"] == "discount"]
    if rules["discount_with_open_deal"] and int(account.get("open_deals") or 0) > 0 and len(discount):
        return str(discount["offer_id"].iloc[0]), "a deal is already open: a time-limited discount can close it"
    trial = ok[ok["kind"] == "trial"]
    intent = float(account.get("intent_score") or 0)
    growth = float(account.get("employee_growth") or 0)
    if len(trial) and (intent >= float(rules["trial_min_intent"]) or growth >= float(rules["trial_min_growth"])):
        why = (
            f"high intent ({intent:.0f}/100)"
            if intent >= float(rules["trial_min_intent"])
            else f"fast growth (+{growth:.0%})"
        )
        return str(trial["offer_id"].iloc[0]), f"{why}: let them try it"
    events = ok[ok["kind"] == "event"]
    matched = events[events["industry"] == industry]
    pick = matched if len(matched) else events[events["industry"].isna()] if len(events) else events
    if len(pick) == 0:
        pick = events
    if len(pick):
        return str(pick["offer_id"].iloc[0]), "an event or webinar invitation opens a first conversation"
    if len(ok):
        return str(ok["offer_id"].iloc[0]), "the only offer in the catalogue"
    return None, "no active offer in the catalogue"


# ---- ranking ------------------------------------------------------------------------------------


_BOOK_COLS = [
    "account_id", "name", "industry", "employees", "state", "city", "owner_rep_id", "propensity", "potential",
    "est_users", "price_per_user", "expected_value", "rank", "reasons", "open_deals", "intent_score",
    "new_executive", "similar_won", "employee_growth",
]  # fmt: skip


def _reason_text(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    text = str(value).strip()
    if text.startswith("["):
        try:
            return "; ".join(str(v) for v in json.loads(text))
        except json.JSONDecodeError:
            pass
    return text


def _heuristic_reasons(r: pd.Series) -> str:
    out = []
    if float(r["intent_score"]) >= 60:
        out.append(f"high buying intent ({float(r['intent_score']):.0f}/100)")
    if bool(r["new_executive"]):
        out.append("a new executive in the last 90 days")
    if float(r["employee_growth"]) >= 0.10:
        out.append(f"headcount +{float(r['employee_growth']):.0%} in 12 months")
    if int(r["similar_won"]) > 0:
        out.append(f"{int(r['similar_won'])} similar {r['industry']} accounts in {r['state']} won in 2 years")
    if int(r["open_deals"]) > 0:
        out.append(f"{int(r['open_deals'])} open deal(s)")
    if not out:
        out.append(f"large potential for its size ({int(r['employees'] or 0):,} employees)")
    return "; ".join(out)


def ranked_book(
    con: duckdb.DuckDBPyConnection, scope: Scope, rep_id: str, rules: dict[str, Any]
) -> tuple[pd.DataFrame, str]:
    """The rep's accounts, best first, with tier and rationale; and where the ranking came from."""
    df: pd.DataFrame | None = None
    source = "propensity model (active version)"
    try:
        from planner.store import scores as scores_q

        df = scores_q.active_scores(con, scope, rep_id=rep_id)
    except (ImportError, AttributeError, PlannerError, duckdb.Error):
        df = None
    as_of_day = q.as_of(con)
    heur = q.heuristic_ranking(con, rep_id, as_of_day)
    if df is None or len(df) == 0:
        source = "transparent heuristic (no active propensity model yet): intent, new executive, growth, similar wins"
        df = heur.copy()
        df["expected_value"] = df["propensity"] * df["potential"]
        df["reasons"] = [_heuristic_reasons(r) for _, r in df.iterrows()]
        df = df.sort_values(["expected_value", "account_id"], ascending=[False, True])
        df["rank"] = np.arange(1, len(df) + 1)
    else:
        df = df.copy()
        extra = heur.set_index("account_id")
        for col in _BOOK_COLS:
            if col not in df.columns:
                df[col] = df["account_id"].map(extra[col]) if col in extra.columns else np.nan
        if df["expected_value"].isna().all():
            df["expected_value"] = df["propensity"] * df["potential"]
        df = df.sort_values(["rank", "account_id"])
    df = df[_BOOK_COLS].reset_index(drop=True)
    for col in ("open_deals", "similar_won"):
        df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype(int)
    df["new_executive"] = df["new_executive"].fillna(False).astype(bool)
    df["intent_score"] = pd.to_numeric(df["intent_score"], errors="coerce").fillna(0.0)
    df["employee_growth"] = pd.to_numeric(df["employee_growth"], errors="coerce").fillna(0.0)
    n = len(df)
    df["book_rank"] = np.arange(1, n + 1)
    t1 = math.ceil(n * float(rules["tier1_share"]))
    t2 = t1 + math.ceil(n * float(rules["tier2_share"]))
    df["tier"] = np.where(df["book_rank"] <= t1, 1, np.where(df["book_rank"] <= t2, 2, 3))
    df["reasons"] = df["reasons"].map(_reason_text)
    df["rationale"] = [
        f"#{r.book_rank} of {n} in the territory (tier {r.tier}): {r.propensity:.0%} propensity x "
        f"{money(r.potential)} potential ({int(r.est_users or 0):,} users x ${float(r.price_per_user or 0):,.0f}) "
        f"= {money(r.expected_value)} expected value. Why: {r.reasons or 'ranked by expected value'}."
        for r in df.itertuples(index=False)
    ]
    return df, source


# ---- the sequence -------------------------------------------------------------------------------


def cadence(weeks: int, rules: dict[str, Any]) -> list[tuple[int, str, str, bool]]:
    """The sequence template for `weeks` weeks: (day offset from the start Monday, channel, action,
    is_decision). The 6-week template's weeks scale to other lengths; decision points close it."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise BadInput(f"weeks {weeks} is out of range; use 1 to {MAX_WEEKS} (default 6)")
    steps: list[tuple[int, str, str, bool]] = []
    for week, weekday, channel, action in CADENCE:
        w = min(weeks, max(1, round(week * weeks / 6)))
        steps.append(((w - 1) * 7 + weekday, channel, action, False))
    nurture = int(rules["nurture_week"] or max(1, math.ceil(weeks / 2)))
    nurture = min(max(1, nurture), weeks)
    steps.append(
        ((nurture - 1) * 7 + 4, "decision", f"Decision: no reply by week {nurture} -> move to automated nurture", True)
    )
    steps.append(((weeks - 1) * 7 + 4, "decision", f"Decision: no meeting by week {weeks} -> drop from targets", True))
    steps.sort(key=lambda s: (s[0], s[3]))
    return steps


def _weekly_hours(template: list[tuple[int, str, str, bool]], weeks: int, hours: dict[str, float]) -> np.ndarray:
    h = np.zeros(weeks)
    for day, channel, _, _ in template:
        h[day // 7] += float(hours.get(channel, 0.0))
    return h


def weekly_capacity(rep: dict[str, Any], rules: dict[str, Any]) -> float:
    """Hours a week the plan's touches may take: yearly selling hours / working weeks x plan share."""
    from planner import settings

    value = rep.get("capacity_hours")
    yearly = float(settings.get("capacity_hours")) if value is None or _missing(value) else float(value)
    return yearly / float(rules["working_weeks"]) * float(rules["plan_share"])


def stagger(fixed: Sequence[int | None], per_week: np.ndarray, capacity: float, max_stagger: int) -> list[int]:
    """Start weeks (0-based) for each target: given ones stay; the others take the earliest week that
    keeps every week under capacity, else the week with the lowest peak."""
    weeks = len(per_week)
    horizon = weeks + max(max_stagger, max((f or 0) for f in fixed) if fixed else 0) + 1
    load = np.zeros(horizon)
    out: list[int] = [0] * len(fixed)
    for i, s in enumerate(fixed):
        if s is not None:
            out[i] = int(s)
            load[s : s + weeks] += per_week
    for i, s in enumerate(fixed):
        if s is not None:
            continue
        best, best_peak = 0, math.inf
        for cand in range(max_stagger + 1):
            peak = float((load[cand : cand + weeks] + per_week).max())
            if peak <= capacity + 1e-9:
                best = cand
                break
            if peak < best_peak - 1e-9:
                best, best_peak = cand, peak
        out[i] = best
        load[best : best + weeks] += per_week
    return out


# ---- composing a plan ---------------------------------------------------------------------------


def default_start(con: duckdb.DuckDBPyConnection, rep_id: str) -> date:
    """The start of the rep's current plan, else the Monday on or after the as-of date."""
    plan_id = q.current_plan_id(con, rep_id, create=False)
    if plan_id is not None:
        row = q.plan_row(con, plan_id)
        if row is not None:
            return row["period_start"]  # type: ignore[no-any-return]
    return q.next_monday(q.as_of(con))


def _rep(con: duckdb.DuckDBPyConnection, scope: Scope, rep_id: str) -> dict[str, Any]:
    balance.narrow(scope, rep_id)  # Forbidden for another rep's plan
    rep = q.rep_row(con, rep_id)
    if rep is None:
        raise NotFound(
            f"no rep {rep_id!r}; pick one of the reps listed in the sidebar or `python -m planner export reps`"
        )
    return rep


def load(
    con: duckdb.DuckDBPyConnection,
    scope: Scope,
    rep_id: str,
    start: date | None = None,
    weeks: int | None = None,
    rules: str | None = None,
) -> Plan:
    """The rep's saved plan for the period starting on `start`, or a fresh draft from the ranking."""
    _rep(con, scope, rep_id)
    start = start or default_start(con, rep_id)
    plan_id = q.plan_id_for(con, rep_id, start)
    row = q.plan_row(con, plan_id) if plan_id is not None else None
    stored_rules = (row or {}).get("settings", {}).get("rules", {})
    merged = rules_with_defaults(rules if rules is not None else stored_rules)
    weeks = int(weeks or (row or {}).get("weeks") or q.DEFAULT_WEEKS)
    specs: tuple[TargetSpec, ...] | None = None
    if plan_id is not None:
        saved = q.plan_targets(con, plan_id)
        specs = tuple(
            TargetSpec(
                str(r.account_id),
                None if _missing(r.offer_id) else str(r.offer_id),
                None if _missing(r.start_week) else int(r.start_week),
                None if _missing(r.rationale) else str(r.rationale),
                str(r.status) if not _missing(r.status) else "planned",
            )
            for r in saved.itertuples(index=False)
        )
    return compose(con, scope, rep_id, start, weeks, specs, rules_json(merged), plan_id=plan_id)


def draft_specs(book: pd.DataFrame, n: int) -> tuple[TargetSpec, ...]:
    """The top n accounts of a ranked book, every choice left to the planner."""
    return tuple(TargetSpec(str(a)) for a in book["account_id"].head(n))


def compose(
    con: duckdb.DuckDBPyConnection,
    scope: Scope,
    rep_id: str,
    start: date,
    weeks: int = q.DEFAULT_WEEKS,
    specs: Sequence[TargetSpec] | None = None,
    rules: str | None = None,
    plan_id: int | None = None,
) -> Plan:
    """Build the whole plan from the rep's decisions (specs; None = a draft of the top n_targets)."""
    rep = _rep(con, scope, rep_id)
    r = rules_with_defaults(rules)
    template = cadence(int(weeks), r)
    narrowed = balance.narrow(scope, rep_id)
    book, source = ranked_book(con, narrowed, rep_id, r)
    if specs is None:
        specs = draft_specs(book, int(r["n_targets"]))
    specs = [TargetSpec(*s) for s in specs]
    seen: set[str] = set()
    unique = []
    for s in specs:
        if s.account_id not in seen:
            seen.add(s.account_id)
            unique.append(s)
    specs = unique
    notes: list[str] = []
    as_of_day = q.as_of(con)

    by_id = book.set_index("account_id")
    outside = [s.account_id for s in specs if s.account_id not in by_id.index]
    if outside:
        extra = q.account_rows(con, outside)
        extra = extra[extra["owner_rep_id"].isna() | (~narrowed.is_rep) | (extra["owner_rep_id"] == rep_id)]
        known = set(extra["account_id"])
        missing = [a for a in outside if a not in known]
        if missing:
            notes.append(
                f"{len(missing)} saved target(s) no longer exist or are out of your scope: {', '.join(missing[:5])}"
            )
        specs = [s for s in specs if s.account_id not in missing]
        if len(extra):
            notes.append(
                f"{len(extra)} target(s) are not in this rep's territory today: {', '.join(extra['account_id'][:5])}"
            )
            extra = extra.assign(propensity=0.0, expected_value=0.0, rank=np.nan, reasons="not in this territory",
                                 open_deals=0, similar_won=0, book_rank=0, tier=3,
                                 rationale="Added by hand; not in this rep's territory today.")  # fmt: skip
            by_id = pd.concat([book, extra[[c for c in book.columns if c in extra.columns]]]).set_index("account_id")

    offers = catalogue(con)
    partners = partner_table(con)
    offer_names = dict(zip(offers["offer_id"], offers["name"], strict=True))
    offer_kinds = dict(zip(offers["offer_id"], offers["kind"], strict=True))
    per_week = _weekly_hours(template, int(weeks), r["hours"])
    capacity = weekly_capacity(rep, r)
    starts = stagger([s.start_week for s in specs], per_week, capacity, int(r["max_stagger_weeks"]))
    ids = [s.account_id for s in specs]
    last = q.last_activity(con, ids, start + timedelta(weeks=max(starts, default=0) + 1)) if ids else pd.DataFrame()
    last_by = dict(zip(last.get("account_id", []), last.get("last_activity", []), strict=True))
    valid = valid_offers(offers, start)
    first_event = valid[valid["kind"] == "event"]["name"]

    target_rows: list[dict[str, Any]] = []
    step_rows: list[dict[str, Any]] = []
    need_rows: list[dict[str, Any]] = []
    for pos, (spec, s_week) in enumerate(zip(specs, starts, strict=True), start=1):
        acc = by_id.loc[spec.account_id].to_dict()
        acc["account_id"] = spec.account_id
        suggested, why = suggest_offer(acc, offers, r, start)
        chosen = spec.offer_id if spec.offer_id in offer_names else None
        if spec.offer_id and chosen is None:
            notes.append(f"offer {spec.offer_id!r} of {acc['name']} is no longer in the catalogue; suggesting one")
        offer_id = chosen or suggested
        account_start = start + timedelta(weeks=s_week)
        first_touch = account_start + timedelta(days=template[0][0])
        offer_name = offer_names.get(offer_id, "") if offer_id else ""
        kind = offer_kinds.get(offer_id) if offer_id else None
        fill = {
            "offer": offer_name or "a short note on why now",
            "event": offer_name
            if kind == "event"
            else (first_event.iloc[0] if len(first_event) else "our next webinar"),
            "story": offer_name if kind == "case_study" else "a short ROI summary for their industry",
        }
        for no, (day, channel, action, decision) in enumerate(template, start=1):
            when = account_start + timedelta(days=day)
            step_rows.append(
                {
                    "account_id": spec.account_id, "account_name": acc["name"], "position": pos, "step_no": no,
                    "step_date": when, "week": (when - start).days // 7 + 1, "channel": channel,
                    "action": action.format(**fill), "is_decision": decision,
                    "hours": float(r["hours"].get(channel, 0.0)),
                }
            )  # fmt: skip
        last_touch = last_by.get(spec.account_id)
        cold = (
            last_touch is None
            or _missing(last_touch)
            or (first_touch - pd.Timestamp(last_touch).date()).days > int(r["sdr_cold_days"])
        )
        needs = suggest_needs(acc, int(acc.get("tier", 3)), partners, r, first_touch, cold)
        for need in needs:
            need_rows.append({"account_id": spec.account_id, "account_name": acc["name"], **need})
        target_rows.append(
            {
                "position": pos, "account_id": spec.account_id, "name": acc["name"], "industry": acc["industry"],
                "state": acc["state"], "city": acc["city"], "employees": acc["employees"], "tier": int(acc["tier"]),
                "book_rank": int(acc["book_rank"]), "est_users": float(acc["est_users"] or 0),
                "price_per_user": float(acc["price_per_user"] or 0), "potential": float(acc["potential"] or 0),
                "propensity": float(acc["propensity"] or 0), "expected_value": float(acc["expected_value"] or 0),
                "offer_id": offer_id, "offer": offer_name, "suggested_offer_id": suggested,
                "offer_reason": why if chosen in (None, suggested) else "chosen by the rep",
                "start_week": s_week + 1, "first_touch": first_touch,
                "rationale": spec.rationale or acc["rationale"],
                "needs": "; ".join(f"{n['team']}: {n['ask']}" for n in needs),
                "status": spec.status, "offer_choice": chosen, "start_week_choice": spec.start_week,
                "rationale_choice": spec.rationale,
            }
        )  # fmt: skip

    targets = pd.DataFrame(target_rows, columns=_TARGET_FRAME_COLS)
    steps = pd.DataFrame(step_rows, columns=_STEP_FRAME_COLS)
    needs_df = pd.DataFrame(need_rows, columns=["team", "account_id", "account_name", "ask", "due", "rule"])
    needs_df = needs_df.sort_values(["team", "due", "account_name"]).reset_index(drop=True)
    total_weeks = int(weeks) + max(starts, default=0)
    end = start + timedelta(weeks=total_weeks) - timedelta(days=1)
    load_df = weekly_load(steps, start, total_weeks, capacity)
    kpis = kpi_alignment(targets, load_df, rep, r, int(weeks), q.team_quota(con))
    gap = close_gap(book, targets, kpis)
    actual = plan_vs_actual(con, targets, steps, start, end, as_of_day)
    in_plan = set(targets["account_id"])
    spare = book[~book["account_id"].isin(in_plan)][
        ["account_id", "name", "industry", "state", "tier", "propensity", "expected_value", "book_rank"]
    ]
    return Plan(
        plan_id=plan_id, rep=rep, start=start, weeks=int(weeks), end=end, as_of=as_of_day, rules=r, source=source,
        targets=targets, steps=steps, needs=needs_df, load=load_df, kpis=kpis, gap=gap, actual=actual,
        offers=offers, book=spare.reset_index(drop=True), notes=notes,
        partners=partners,
    )  # fmt: skip


_TARGET_FRAME_COLS = [
    "position", "account_id", "name", "industry", "state", "city", "employees", "tier", "book_rank", "est_users",
    "price_per_user", "potential", "propensity", "expected_value", "offer_id", "offer", "suggested_offer_id",
    "offer_reason", "start_week", "first_touch", "rationale", "needs", "status", "offer_choice",
    "start_week_choice", "rationale_choice",
]  # fmt: skip
_STEP_FRAME_COLS = [
    "account_id", "account_name", "position", "step_no", "step_date", "week", "channel", "action", "is_decision",
    "hours",
]  # fmt: skip


def suggest_needs(
    account: dict[str, Any],
    tier: int,
    partners: pd.DataFrame,
    rules: dict[str, Any],
    first_touch: date,
    cold: bool,
) -> list[dict[str, Any]]:
    """What the plan asks of marketing, partners and BDR/SDR for one account, with due dates."""
    out: list[dict[str, Any]] = []
    if tier in [int(t) for t in rules["abm_tiers"]]:
        out.append(
            {
                "team": "Marketing",
                "ask": f"ABM campaign for {account['name']} ({account['industry']}): targeted ads and content "
                f"live {int(rules['abm_lead_days'])} days before the first touch",
                "due": first_touch - timedelta(days=int(rules["abm_lead_days"])),
                "rule": f"tier {tier} account",
            }
        )
    if rules["partner_intro"]:
        for p in partners.itertuples(index=False):
            industries = _json_list(p.industries)
            states = [s.upper() for s in _json_list(p.states)]
            by_industry = account.get("industry") in industries
            by_state = str(account.get("state") or "").upper() in states
            if by_industry or by_state:
                covers = account["industry"] if by_industry else account["state"]
                out.append(
                    {
                        "team": "Partners",
                        "ask": f"Introduction to {account['name']} via {p.name} (covers {covers})",
                        "due": first_touch + timedelta(days=int(rules["partner_intro_day"])),
                        "rule": f"partner covers the {'industry' if by_industry else 'region'}",
                    }
                )
                break
    mode = rules["sdr_warmup"]
    if mode == "all" or (mode == "cold" and cold):
        out.append(
            {
                "team": "BDR/SDR",
                "ask": f"Warm-up of {account['name']}: map contacts and make two touches before the rep's first",
                "due": first_touch - timedelta(days=int(rules["sdr_lead_days"])),
                "rule": "every target" if mode == "all" else f"no activity in {int(rules['sdr_cold_days'])} days",
            }
        )
    return out


def weekly_load(steps: pd.DataFrame, start: date, total_weeks: int, capacity: float) -> pd.DataFrame:
    """Hours and touches per plan week against the weekly capacity; overloaded weeks flagged."""
    weeks = np.arange(1, total_weeks + 1)
    touches = steps[~steps["is_decision"].astype(bool)] if len(steps) else steps
    hours = steps.groupby("week")["hours"].sum() if len(steps) else pd.Series(dtype=float)
    count = touches.groupby("week").size() if len(touches) else pd.Series(dtype=int)
    df = pd.DataFrame({"week": weeks})
    df["week_start"] = [start + timedelta(weeks=int(w) - 1) for w in weeks]
    df["touches"] = df["week"].map(count).fillna(0).astype(int)
    df["hours"] = df["week"].map(hours).fillna(0.0).round(2)
    df["capacity"] = round(capacity, 2)
    df["overloaded"] = df["hours"] > df["capacity"] + 1e-9
    return df


def kpi_alignment(
    targets: pd.DataFrame, load_df: pd.DataFrame, rep: dict[str, Any], rules: dict[str, Any], weeks: int,
    team_quota: float,
) -> dict[str, Any]:  # fmt: skip
    """Plan totals against quota and company targets: coverage, meetings per week, tiers, a verdict."""
    quota = float(rep.get("quota") or 0.0)
    ev = float(targets["expected_value"].sum())
    needed = quota * float(rules["coverage_target"])
    meetings = len(targets) * float(rules["meeting_rate"])
    tiers = {f"tier {t}": int((targets["tier"] == t).sum()) for t in (1, 2, 3)}
    over = load_df[load_df["overloaded"]]
    out: dict[str, Any] = {
        "targets": len(targets),
        "est_users": float(targets["est_users"].sum()),
        "potential": float(targets["potential"].sum()),
        "expected_value": ev,
        "quota": quota,
        "coverage": ev / quota if quota > 0 else float("nan"),
        "coverage_target": float(rules["coverage_target"]),
        "gap": max(0.0, needed - ev),
        "reaches_quota": quota <= 0 or ev >= needed,
        "team_quota": team_quota,
        "share_of_team_quota": ev / team_quota if team_quota > 0 else float("nan"),
        "expected_meetings": meetings,
        "meetings_per_week": meetings / weeks if weeks else 0.0,
        "meetings_per_week_target": float(rules["meetings_per_week_target"]),
        "tiers": tiers,
        "capacity_per_week": float(load_df["capacity"].iloc[0]) if len(load_df) else 0.0,
        "peak_hours": float(load_df["hours"].max()) if len(load_df) else 0.0,
        "overloaded_weeks": [int(w) for w in over["week"]],
    }
    warnings = []
    if not out["reaches_quota"]:
        warnings.append(
            f"The plan's expected value {money(ev)} covers {out['coverage']:.0%} of quota {money(quota)} "
            f"(target {out['coverage_target']:.0%}): {money(out['gap'])} short."
        )
    if out["meetings_per_week"] + 1e-9 < out["meetings_per_week_target"]:
        warnings.append(
            f"{out['meetings_per_week']:.1f} expected meetings a week, below the target of "
            f"{out['meetings_per_week_target']:.1f}."
        )
    if out["overloaded_weeks"]:
        warnings.append(
            f"Weeks {', '.join(map(str, out['overloaded_weeks']))} need more than the "
            f"{out['capacity_per_week']:.1f} hours a week available for the plan."
        )
    out["warnings"] = warnings
    return out


def close_gap(book: pd.DataFrame, targets: pd.DataFrame, kpis: dict[str, Any], limit: int = 25) -> pd.DataFrame:
    """The best accounts not in the plan whose expected value closes the quota gap (fewest first)."""
    cols = [
        "account_id",
        "name",
        "industry",
        "state",
        "tier",
        "propensity",
        "expected_value",
        "cumulative",
        "rationale",
    ]
    gap = float(kpis["gap"])
    if gap <= 0:
        return pd.DataFrame(columns=cols)
    spare = book[~book["account_id"].isin(set(targets["account_id"]))]
    spare = spare.sort_values(["expected_value", "account_id"], ascending=[False, True]).copy()
    spare["cumulative"] = spare["expected_value"].cumsum()
    reach = spare["cumulative"] >= gap
    n = int(reach.to_numpy().argmax()) + 1 if reach.any() else len(spare)
    return spare.head(min(n, limit))[cols].reset_index(drop=True)


def plan_vs_actual(
    con: duckdb.DuckDBPyConnection, targets: pd.DataFrame, steps: pd.DataFrame, start: date, end: date, as_of_day: date
) -> pd.DataFrame:
    """Per target: touched, met, opportunity created since the plan started, and what each decision
    point says on the as-of date (a reply = a call or meeting, or an outcome like replied/connected)."""
    cols = [
        "position", "account_id", "name", "touches", "last_touch", "touched", "met", "opportunity",
        "opportunity_amount", "steps_due", "nurture_decision", "drop_decision", "status",
    ]  # fmt: skip
    if not len(targets):
        return pd.DataFrame(columns=cols)
    ids = list(targets["account_id"])
    until = min(as_of_day, end)
    acts = (
        q.activities_between(con, ids, start, until)
        if until >= start
        else pd.DataFrame(columns=["account_id", "kind", "activity_date", "outcome"])
    )
    deals = (
        q.deals_created_between(con, ids, start, until)
        if until >= start
        else pd.DataFrame(columns=["account_id", "amount", "created_date"])
    )
    if len(acts):
        acts["activity_date"] = pd.to_datetime(acts["activity_date"]).dt.date
        acts["reply"] = acts["kind"].isin(REPLY_KINDS) | acts["outcome"].fillna("").str.lower().isin(REPLY_OUTCOMES)
    rows = []
    for t in targets.itertuples(index=False):
        a = acts[acts["account_id"] == t.account_id] if len(acts) else acts
        d = deals[deals["account_id"] == t.account_id] if len(deals) else deals
        mine = steps[(steps["account_id"] == t.account_id)]
        decisions = mine[mine["is_decision"].astype(bool)].sort_values("step_date")
        met = bool(len(a) and (a["kind"] == "meeting").any())
        verdicts = []
        for k, dec in enumerate(decisions.itertuples(index=False)):
            when = dec.step_date
            is_final = k == len(decisions) - 1
            if when > as_of_day:
                verdicts.append(f"pending until {when.isoformat()}")
                continue
            upto = a[a["activity_date"] <= when] if len(a) else a
            if is_final:
                ok = bool(len(upto) and (upto["kind"] == "meeting").any())
                verdicts.append("keep: a meeting was held" if ok else "drop from targets: no meeting")
            else:
                ok = bool(len(upto) and upto["reply"].any())
                verdicts.append("continue: they replied" if ok else "move to automated nurture: no reply")
        nurture = verdicts[0] if verdicts else ""
        drop = verdicts[-1] if len(verdicts) > 1 else ""
        opp = bool(len(d))
        if opp:
            status = "opportunity created"
        elif drop.startswith("drop"):
            status = "drop"
        elif nurture.startswith("move"):
            status = "nurture"
        elif met:
            status = "met"
        elif len(a):
            status = "touched"
        elif start > as_of_day:
            status = "not started"
        else:
            status = "not touched yet"
        rows.append(
            {
                "position": t.position, "account_id": t.account_id, "name": t.name, "touches": len(a),
                "last_touch": a["activity_date"].max() if len(a) else None, "touched": bool(len(a)), "met": met,
                "opportunity": opp, "opportunity_amount": float(d["amount"].sum()) if opp else 0.0,
                "steps_due": int(((mine["step_date"] <= as_of_day) & ~mine["is_decision"].astype(bool)).sum()),
                "nurture_decision": nurture, "drop_decision": drop, "status": status,
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def offer_usage(plan: Plan) -> pd.DataFrame:
    """How many targets get each offer (the chosen or suggested one)."""
    t = plan.targets
    if not len(t):
        return pd.DataFrame(columns=["offer", "targets", "chosen_by_rep"])
    chosen = t["offer_choice"].notna()
    out = (
        t.assign(chosen_by_rep=chosen)
        .groupby("offer", dropna=False)
        .agg(targets=("account_id", "size"), chosen_by_rep=("chosen_by_rep", "sum"))
        .reset_index()
        .sort_values(["targets", "offer"], ascending=[False, True])
    )
    return out.reset_index(drop=True)


def needs_per_team(plan: Plan) -> dict[str, int]:
    """Number of asks per team, teams in a fixed order."""
    counts = plan.needs["team"].value_counts()
    return {team: int(counts[team]) for team in TEAMS if team in counts.index}


def actual_summary(plan: Plan) -> dict[str, Any]:
    """Totals of plan vs actual: touched, met, opportunities, and what the decision points say."""
    a = plan.actual
    return {
        "targets": len(a),
        "touched": int(a["touched"].sum()),
        "met": int(a["met"].sum()),
        "opportunities": int(a["opportunity"].sum()),
        "opportunity_amount": float(a["opportunity_amount"].sum()),
        "nurture": int(a["nurture_decision"].str.startswith("move").sum()),
        "drop": int(a["drop_decision"].str.startswith("drop").sum()),
    }


# ---- edits --------------------------------------------------------------------------------------


def add_target(specs: Sequence[TargetSpec], account_id: str, position: int | None = None) -> tuple[TargetSpec, ...]:
    """Add an account (at a 1-based position, default last); adding one already there is an error."""
    if any(s.account_id == account_id for s in specs):
        raise BadInput(f"{account_id} is already a target of this plan")
    out = list(specs)
    at = len(out) if position is None else min(max(1, position), len(out) + 1) - 1
    out.insert(at, TargetSpec(account_id))
    return tuple(out)


def remove_target(specs: Sequence[TargetSpec], account_id: str) -> tuple[TargetSpec, ...]:
    """Remove an account from the plan."""
    if not any(s.account_id == account_id for s in specs):
        raise BadInput(f"{account_id} is not a target of this plan")
    return tuple(s for s in specs if s.account_id != account_id)


def move_target(specs: Sequence[TargetSpec], account_id: str, position: int) -> tuple[TargetSpec, ...]:
    """Move an account to a 1-based position."""
    spec = next((s for s in specs if s.account_id == account_id), None)
    if spec is None:
        raise BadInput(f"{account_id} is not a target of this plan")
    rest = [s for s in specs if s.account_id != account_id]
    rest.insert(min(max(1, position), len(rest) + 1) - 1, spec)
    return tuple(rest)


def editor_table(plan: Plan) -> pd.DataFrame:
    """The targets as the page's editable table: keep, position, offer (by name), start week and
    rationale are editable; the hidden columns let `specs_from_table` tell edits from suggestions."""
    t = plan.targets
    return pd.DataFrame(
        {
            "keep": True,
            "position": t["position"].astype(int),
            "name": t["name"],
            "industry": t["industry"],
            "tier": t["tier"],
            "est_users": t["est_users"],
            "price_per_user": t["price_per_user"],
            "propensity": t["propensity"],
            "expected_value": t["expected_value"].round(0),
            "offer": t["offer"],
            "start_week": t["start_week"].astype(int),
            "rationale": t["rationale"],
            "status": t["status"],
            "account_id": t["account_id"],
            "suggested_offer_id": t["suggested_offer_id"],
            "start_week_choice": t["start_week_choice"],
            "_auto_start_week": [
                None if not _missing(c) else int(w)
                for c, w in zip(t["start_week_choice"], t["start_week"], strict=True)
            ],
            "_auto_rationale": [
                r if _missing(c) else None for c, r in zip(t["rationale_choice"], t["rationale"], strict=True)
            ],
        }
    )


def specs_from_table(table: pd.DataFrame, offers: pd.DataFrame | None = None) -> tuple[TargetSpec, ...]:
    """The rep's decisions from an edited targets table: rows with keep=False go; 'position' orders;
    an offer (id or name) equal to the suggestion, an empty start week or rationale mean 'suggest'."""
    if not len(table):
        return ()
    df = table.copy().reset_index(drop=True)
    df["_row"] = np.arange(len(df))
    if "keep" in df.columns:
        df = df[df["keep"].fillna(True).astype(bool)]
    df["position"] = pd.to_numeric(df.get("position", df["_row"] + 1), errors="coerce").fillna(df["_row"] + 1)
    df = df.sort_values(["position", "_row"])
    by_name = dict(zip(offers["name"], offers["offer_id"], strict=True)) if offers is not None else {}
    out = []
    for r in df.to_dict("records"):
        offer = r.get("offer")
        offer_id = by_name.get(offer, offer) if not _missing(offer) and offer != "" else None
        if offer_id is not None and offer_id == r.get("suggested_offer_id"):
            offer_id = None
        week = r.get("start_week")
        week_choice = r.get("start_week_choice")
        auto_week = r.get("_auto_start_week")
        if _missing(week):
            start_week = None
        elif not _missing(week_choice) and int(week) == int(week_choice) + 1:
            start_week = int(week_choice)
        elif not _missing(auto_week) and int(week) == int(auto_week):
            start_week = None
        else:
            if int(week) < 1:
                raise BadInput(f"start week {week} of {r.get('name')} must be 1 or later")
            start_week = int(week) - 1
        rationale = r.get("rationale")
        auto_rationale = r.get("_auto_rationale")
        if _missing(rationale) or rationale == "" or rationale == auto_rationale:
            rationale = None
        status = r.get("status")
        out.append(
            TargetSpec(
                str(r["account_id"]), offer_id, start_week, rationale, "planned" if _missing(status) else str(status)
            )
        )
    return tuple(out)


# ---- saving -------------------------------------------------------------------------------------


def save(path: Path, scope: Scope, plan: Plan) -> int:
    """Store the plan (targets with the rep's choices, needs, dated steps, rules); returns plan_id."""
    rep_id = str(plan.rep["rep_id"])
    with store.write(path) as con:
        _rep(con, scope, rep_id)
        seed_catalogue(con)
        plan_id = plan.plan_id if plan.plan_id is not None and q.plan_row(con, plan.plan_id) else None
        plan_id = plan_id or q.plan_id_for(con, rep_id, plan.start)
        settings = {"rules": plan.rules, "source": plan.source}
        if plan_id is None:
            plan_id = q.create_plan(con, rep_id, plan.start, plan.weeks, settings, plan.end)
        else:
            q.update_plan(con, plan_id, plan.end, plan.weeks, settings)
        t = plan.targets
        needs_json = [
            json.dumps(
                [
                    {"team": n.team, "ask": n.ask, "due": n.due.isoformat(), "rule": n.rule}
                    for n in plan.needs[plan.needs["account_id"] == a].itertuples(index=False)
                ]
            )
            for a in t["account_id"]
        ]
        stored = pd.DataFrame(
            {
                "account_id": t["account_id"].astype(str),
                "position": t["position"].astype(int),
                "rationale": [c if not _missing(c) else None for c in t["rationale_choice"]],
                "offer_id": [c if not _missing(c) else None for c in t["offer_choice"]],
                "needs": needs_json,
                "status": t["status"].astype(str),
                "start_week": pd.array(
                    [None if _missing(c) else int(c) for c in t["start_week_choice"]], dtype="Int64"
                ),
            }
        )
        # The rationale shown is kept in words even when it was generated, so the plan remembers why.
        stored["rationale"] = [
            c if c is not None else g for c, g in zip(stored["rationale"], t["rationale"], strict=True)
        ]
        q.replace_targets(con, plan_id, stored)
        q.replace_steps(con, plan_id, plan.steps)
    return plan_id


def delete(path: Path, scope: Scope, rep_id: str, plan_id: int) -> None:
    """Delete one of the rep's saved plans."""
    with store.write(path) as con:
        _rep(con, scope, rep_id)
        row = q.plan_row(con, plan_id)
        if row is None or row["rep_id"] != rep_id:
            raise NotFound(f"no plan {plan_id} for rep {rep_id}")
        q.delete_plan(con, plan_id)


def saved_plans(con: duckdb.DuckDBPyConnection, scope: Scope, rep_id: str) -> pd.DataFrame:
    """The rep's saved plans (newest period first)."""
    _rep(con, scope, rep_id)
    return q.rep_plans(con, rep_id)


def resolve_rep(con: duckdb.DuckDBPyConnection, name_or_email: str, scope: Scope = EVERYONE) -> str:
    """A rep_id from an id, email or name; unknown or ambiguous is one clear error."""
    from planner.store import world

    found = world.find_rep(con, name_or_email)
    if len(found) == 0:
        raise NotFound(f"no rep named {name_or_email!r}; use a rep's id, email or full name (see `export reps`)")
    if len(found) > 1:
        raise BadInput(f"{name_or_email!r} matches {len(found)} reps; use the email or rep id instead")
    rep_id = str(found["rep_id"].iloc[0])
    balance.narrow(scope, rep_id)
    return rep_id


def parse_start(text: str | None) -> date | None:
    """A YYYY-MM-DD start date (None passes through)."""
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise BadInput(f"start {text!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-02") from None


def summary_lines(plan: Plan) -> Iterable[str]:
    """A few lines that sum the plan up (CLI and headers)."""
    k = plan.kpis
    yield f"{plan.rep['name']}: {k['targets']} targets, {plan.start} to {plan.end} ({plan.weeks}-week cadence)"
    yield f"expected value {money(k['expected_value'])} = {k['coverage']:.0%} of quota {money(k['quota'])}"
    yield from k["warnings"]
