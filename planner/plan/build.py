"""Composing a plan from the rep's decisions: the targets with their offers, the dated steps and
asks, the weekly load, the KPIs and plan vs actual, all derived from the specs and the rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from planner.coverage.workload import load_workload
from planner.errors import BadInput
from planner.geo import us_state_at
from planner.geo_world import country_at, country_code, country_timezone, regions_at, timezone_at
from planner.plan.asks import NEED_COLS, Touch, lead_days, partner_records, suggest_needs
from planner.plan.book import ranked_book
from planner.plan.calendar import WorkCalendar, subdivision_code, subdivisions, work_calendar
from planner.plan.edits import draft_specs
from planner.plan.kpis import (
    close_gap,
    gap_note,
    inactive_note,
    kpi_alignment,
    no_activities_note,
    plan_vs_actual,
)
from planner.plan.offers import catalogue, catalogue_notes, offer_records, partner_table, suggest_offer, valid_offers
from planner.plan.reps import rep_for
from planner.plan.rules import rules_with_defaults
from planner.plan.sequence import Lane, cadence, mix_for, schedule, weekly_capacity, weekly_load
from planner.plan.spec import STEP_FRAME_COLS, TARGET_FRAME_COLS, Plan, TargetSpec, missing
from planner.plan.tables import cell_text
from planner.scope import Scope
from planner.store import plans as q
from planner.store import world as world_q
from planner.text import currency_code, mixed_caveat


@dataclass(frozen=True)
class _Catalogue:
    """The offers and partners in force, with lookups by offer id."""

    offers: pd.DataFrame
    partners: pd.DataFrame
    names: dict[str, str]
    kinds: dict[str, str]
    first_event: str | None
    valid: list[dict[str, Any]]  # offers valid on the plan's start, for suggestions
    partner_rows: list[tuple[str, list[str], list[str]]]

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, start: date) -> _Catalogue:
        offers = catalogue(con)
        events = valid_offers(offers, start)
        events = events[events["kind"] == "event"]["name"]
        partners = partner_table(con)
        return cls(
            offers,
            partners,
            dict(zip(offers["offer_id"], offers["name"], strict=True)),
            dict(zip(offers["offer_id"], offers["kind"], strict=True)),
            str(events.iloc[0]) if len(events) else None,
            offer_records(offers, start),
            partner_records(partners),
        )


@dataclass(frozen=True)
class _Frame:
    """What every target of one plan shares: rules, calendar, catalogue, period and today's floor."""

    rules: dict[str, Any]
    calendar: WorkCalendar
    cat: _Catalogue
    start: date
    weeks: int
    floor: date | None  # asks are never due before this day (today, for a plan that lies ahead)


def rep_calendar(
    con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str, rules: dict[str, Any], start: date
) -> WorkCalendar:
    """The rep's working days and public holidays: the country and state in the rules, else where the rep
    lives (the country at their home: a London rep whose book is mostly American keeps English holidays), else
    their accounts' most common country. The state or province is their home's (see `_home_region`); only a rep
    with no home of their own (none, or one inferred from their accounts) gets their accounts' most common one."""
    place = q.rep_place(con, scope=scope, rep_id=rep_id)
    accounts_country = (
        place["country"]
        or (country_code(place["country_name"]) if place["country_name"] else None)
        or ("US" if place["home_state"] or place["accounts_state"] else "")
    )
    lat, lon = place["home_lat"], place["home_lon"]
    own_country = country_at(lat, lon) or accounts_country
    country = rules["holiday_country"] or own_country
    subdiv = rules["holiday_subdiv"]
    own_home = not place["home_inferred"] and bool(place["home_state"] or (lat is not None and lon is not None))
    if not subdiv and country == own_country and own_home:
        subdiv = _home_region(con, scope=scope, rep_id=rep_id, place=place, country=country)
    elif not subdiv and country == own_country:
        subdiv = (place["accounts_state"] if own_country == accounts_country else "") or ""
    cal = work_calendar(rules["working_days"], country, subdiv, start.year - 1, start.year + 2)
    if own_home and not subdiv and country and subdivisions(country):
        note = (
            f"The state or province of the rep's home in {country} is not known, so only the national holidays "
            f"of {country} are skipped; give the home's state, or the holidays' state in the plan's rules."
        )
        cal = replace(cal, note=" ".join(filter(None, (cal.note, note))))
    return _with_time_zone(cal, rules["time_zone"], place, own_country)


def _with_time_zone(cal: WorkCalendar, rule: str, place: dict[str, Any], country: str | None) -> WorkCalendar:
    """The calendar with the rep's time zone: the rules', else their country's when it has one zone, else their
    home's (GeoNames' zone of the nearest city; a home inferred from their accounts says so). Not known: the
    calendar file's times stay floating (09:00 on the clock of whoever opens it, the rep's own when they do) and a
    note says how to set it; no zone is guessed, since a wrong one would move every call."""
    own = country_timezone(country) if country else None
    at_home = timezone_at(place["home_lat"], place["home_lon"])
    zone = rule or own or at_home
    note = ""
    if not zone:
        note = (
            "The rep's time zone is not known (no home, and their country has several zones or none), so the "
            "calendar file's times are floating: 09:00 wherever it is opened. Give the rep a home, or set the "
            "time zone in the plan's rules (e.g. America/Chicago)."
        )
    elif not rule and not own and place["home_inferred"]:
        note = (
            f"The calendar file's times are in {zone}, the zone of the rep's home as inferred from their accounts; "
            "set the time zone in the plan's rules if they live elsewhere."
        )
    return replace(cal, time_zone=zone or "", note=" ".join(filter(None, (cal.note, note))))


def _home_region(
    con: duckdb.DuckDBPyConnection, *, scope: Scope, rep_id: str, place: dict[str, Any], country: str
) -> str:
    """The state or province of the rep's own home, '' when it cannot be told: the one written with it
    ('Bayern', 'MH'), else for a US home its nearest ZIP's state, else the one that the rep's accounts in the
    same first-level region as the home (GeoNames' admin1 of the nearest city: München and Augsburg share
    Bavaria's) are written with, when at least 4 in 5 of them agree, else the home's city when it is a region
    itself (Berlin, Hamburg)."""
    if place["home_state"]:
        return str(place["home_state"])
    lat, lon = place["home_lat"], place["home_lon"]
    if country == "US":
        return us_state_at(lat, lon) or ""
    home = regions_at(lat, lon)[0]
    if home is not None and home.startswith(f"{country}."):
        states = q.account_states(con, scope=scope, rep_id=rep_id, country=country)
        code_of = {s: subdivision_code(country, s) for s in states["state"].unique()}
        codes = states["state"].map(code_of)
        same = pd.Series([r == home for r in regions_at(states["lat"], states["lon"])], index=states.index)
        votes = states.loc[same & codes.notna(), "n"].groupby(codes[same & codes.notna()]).sum()
        if len(votes) and votes.max() >= 0.8 * votes.sum():
            return str(votes.idxmax())
    return str(subdivision_code(country, place.get("home_city")) or "")


def compose(
    con: duckdb.DuckDBPyConnection,
    *,
    scope: Scope,
    rep_id: str,
    start: date,
    weeks: int = q.DEFAULT_WEEKS,
    specs: Sequence[TargetSpec] | None = None,
    rules: str | None = None,
    plan_id: int | None = None,
    today: date | None = None,
) -> Plan:
    """Build the whole plan from the rep's decisions (specs; None = a draft of the top n_targets).
    `today` (default: the clock) keeps asks from falling in the past; a start outside start_window is refused."""
    rep = rep_for(con, scope=scope, rep_id=rep_id)
    r = rules_with_defaults(rules)
    today = today or date.today()
    if why := start_problem(start, start_window(con, today=today)):
        raise BadInput(f"start {start.isoformat()} is {why}")
    currency = currency_code(world_q.currency(con)) or "USD"
    book, source = ranked_book(con, scope=scope, rep_id=rep_id, rules=r, currency=currency, start=start)
    as_of = q.as_of(con)
    notes: list[str] = [] if rep.get("active", True) else [inactive_note(rep["name"])]
    notes += [stale] if (stale := stale_data_warning(as_of, start)) else []
    if caveat := mixed_caveat(world_q.mixed_currencies(con), currency):  # quota and potential may differ in currency
        notes.append(f"{caveat[0].upper()}{caveat[1:]}.")
    if not len(book):
        notes.append(f"No accounts are assigned to {rep['name']} in the store, so the plan has no targets yet.")
    chosen = _in_territory(book, _unique(draft_specs(book, int(r["n_targets"])) if specs is None else specs), scope,
                           notes)  # fmt: skip
    cal = rep_calendar(con, scope=scope, rep_id=rep_id, rules=r, start=start)
    notes += [cal.note] if cal.note else []
    frame = _Frame(r, cal, _Catalogue.read(con, start), start, int(weeks), today if start > today else None)
    notes += catalogue_notes(frame.cat.offers, frame.cat.partners)
    capacity = weekly_capacity(rep, r, load_workload(con).default_capacity_hours)
    targets, steps, needs = _lay_out(con, scope, chosen, book.set_index("account_id"), frame, capacity, notes)
    logged = _activities_on_record(con, scope, list(book["account_id"]))
    if not logged and len(book):
        notes.append(no_activities_note())
        cold_rule = needs["rule"].astype(str).str.startswith("no activity in")
        needs.loc[cold_rule, "rule"] = "no activity on record (none imported)"
    total_weeks = max(int(weeks), int(steps["week"].max()) if len(steps) else 0)
    end = start + timedelta(weeks=total_weeks) - timedelta(days=1)
    load_df = weekly_load(steps, start, total_weeks, capacity)
    # A rep sees their own numbers only: the company quota is for leaders and admins.
    team = None if scope.is_rep else q.team_quota(con, scope=scope)
    kpis = kpi_alignment(targets, load_df, rep, r, int(weeks), team, currency, world_q.mixed_currencies(con))
    spare = book[~book["account_id"].isin(set(targets["account_id"]))]
    gap = close_gap(book, targets, kpis)
    kpis["warnings"] += [short] if (short := gap_note(book, targets, gap, kpis, currency)) else []
    return Plan(
        plan_id=plan_id, rep=rep, start=start, weeks=int(weeks), end=end, as_of=as_of, rules=r, source=source,
        targets=targets, steps=steps, needs=needs, load=load_df, kpis=kpis, gap=gap,
        actual=plan_vs_actual(con, scope=scope, targets=targets, steps=steps, start=start, end=end,
                              as_of_day=as_of, activities_known=logged),
        offers=frame.cat.offers,
        book=spare[_SPARE_COLS].reset_index(drop=True), notes=notes, partners=frame.cat.partners, made_on=today,
        calendar=cal, currency=currency,
    )  # fmt: skip


START_YEARS = 5  # a plan starts at most this many years before the data's as-of date, or after today


def start_window(con: duckdb.DuckDBPyConnection, *, today: date | None = None) -> tuple[date, date]:
    """The plan starts accepted: from START_YEARS before the data's as-of date (a past period, to compare with
    what happened) to START_YEARS after today. Outside it a date is a slip (1900, 2207), not a period to plan."""
    return _years_later(q.as_of(con), -START_YEARS), _years_later(today or date.today(), START_YEARS)


def start_problem(start: date, window: tuple[date, date]) -> str:
    """Why `start` lies outside `window` (start_window), with the dates it may take; '' when it is inside."""
    low, high = window
    span = f"pick a start from {low.isoformat()} to {high.isoformat()}"
    if start < low:
        return f"more than {START_YEARS} years before the data's as-of date; {span}"
    if start > high:
        return f"more than {START_YEARS} years after today; {span}"
    return ""


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _activities_on_record(con: duckdb.DuckDBPyConnection, scope: Scope, account_ids: list[str]) -> bool:
    """Any activity logged on the territory's accounts, ever: without one (a store whose imports brought none)
    'no touch' and 'no reply' mean 'not known', not 'did not happen'."""
    if not account_ids:
        return False
    return bool(len(q.last_activity(con, scope=scope, account_ids=account_ids, before=date(9999, 12, 31))))


def data_is_stale(as_of: date, day: date) -> bool:
    """The data's as-of date lies more than a year before `day` (a plan's start, today)."""
    return (day - as_of).days > 365


def stale_data_warning(as_of: date, start: date) -> str:
    """One line when the data's as-of date is more than a year before the plan's start (win rates, customers and
    rankings then describe another time), naming both dates and what to do; '' otherwise."""
    if not data_is_stale(as_of, start):
        return ""
    days = (start - as_of).days
    years = int(days // 365.25)
    age = "a year" if years < 2 else f"{years} years"
    return (
        f"The data is over {age} old: it is as of {cell_text(as_of, 'date')} and this plan starts on "
        f"{cell_text(start, 'date')}, so its win rates, customers and rankings describe {as_of.year}, not today. "
        "Import a recent export from your CRM (on the Data page, or with python -m planner import) before relying "
        "on it."
    )


_SPARE_COLS = ["account_id", "name", "industry", "state", "tier", "propensity", "expected_value", "book_rank"]


def _unique(specs: Sequence[TargetSpec]) -> list[TargetSpec]:
    """The specs in order, each account once (the first decision wins)."""
    seen: set[str] = set()
    out = []
    for s in (TargetSpec(*s) for s in specs):
        if s.account_id not in seen:
            seen.add(s.account_id)
            out.append(s)
    return out


def _in_territory(book: pd.DataFrame, specs: list[TargetSpec], scope: Scope, notes: list[str]) -> list[TargetSpec]:
    """The specs whose accounts the rep owns today; the others (moved by a rebalance, deleted, or
    never theirs) are left out with a note that names them only to an asker who may see them."""
    owned = set(book["account_id"])
    gone = [s.account_id for s in specs if s.account_id not in owned]
    if gone:
        which = "" if scope.is_rep else f": {', '.join(gone[:5])}{' ...' if len(gone) > 5 else ''}"
        notes.append(
            f"{len(gone)} saved target(s) are no longer in this territory (moved to another owner or removed) "
            f"and are left out of the plan{which}"
        )
    return [s for s in specs if s.account_id in owned]


def _lay_out(
    con: duckdb.DuckDBPyConnection,
    scope: Scope,
    specs: list[TargetSpec],
    by_id: pd.DataFrame,
    frame: _Frame,
    capacity: float,
    notes: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Targets, dated steps and asks of other teams: cadences by tier, scheduled together."""
    r, start = frame.rules, frame.start
    ids = [s.account_id for s in specs]
    last = (
        q.last_activity(con, scope=scope, account_ids=ids, before=start)
        if ids
        else pd.DataFrame(columns=["account_id", "last_activity"])
    )
    last_by = dict(zip(last["account_id"], last["last_activity"], strict=True))
    accounts = [{**by_id.loc[s.account_id].to_dict(), "account_id": s.account_id} for s in specs]
    # A customer is never cold for BDR/SDR: they prospect new logos, and the rep's expansion play starts warm.
    colds = [_is_cold(last_by.get(s.account_id), start, int(r["sdr_cold_days"])) and not acc.get("is_customer")
             for s, acc in zip(specs, accounts, strict=True)]  # fmt: skip
    lanes = [_lane(spec, acc, cold, frame) for spec, acc, cold in zip(specs, accounts, colds, strict=True)]
    dates = schedule(lanes, frame.calendar, start, r["hours"], capacity, int(r["max_stagger_weeks"]))
    target_rows: list[dict[str, Any]] = []
    step_rows: list[dict[str, Any]] = []
    need_rows: list[dict[str, Any]] = []
    for pos, (spec, acc, cold, lane, when) in enumerate(zip(specs, accounts, colds, lanes, dates, strict=True), 1):
        target = _target(pos, spec, acc, frame, when[0], notes)
        steps = _steps(pos, spec, acc, target, lane, when, frame)
        touches = [Touch(s["step_no"], s["step_date"], s["channel"], s["action"]) for s in steps
                   if not s["is_decision"]]  # fmt: skip
        needs = suggest_needs(
            acc, target["tier"], frame.cat.partner_rows, r, touches, cold, frame.calendar, frame.floor
        )
        need_rows += [{"account_id": spec.account_id, "account_name": acc["name"], **n} for n in needs]
        target["needs"] = "; ".join(f"{n['team']}: {n['ask']} (due {n['due'].isoformat()})" for n in needs)
        target_rows.append(target)
        step_rows += steps
    targets = pd.DataFrame(target_rows, columns=TARGET_FRAME_COLS)
    steps_df = pd.DataFrame(step_rows, columns=STEP_FRAME_COLS)
    needs_df = pd.DataFrame(need_rows, columns=NEED_COLS)
    return targets, steps_df, needs_df.sort_values(["due", "team", "account_name"]).reset_index(drop=True)


def _is_cold(last_touch: Any, start: date, cold_days: int) -> bool:
    """No activity within `cold_days` before the plan starts."""
    return last_touch is None or missing(last_touch) or (start - pd.Timestamp(last_touch).date()).days > cold_days


def _lane(spec: TargetSpec, acc: dict[str, Any], cold: bool, frame: _Frame) -> Lane:
    """The account's cadence (its tier's channel mix) and the first day it may start: after the lead
    time of its asks when the plan lies ahead, so that no ask falls in the past."""
    tier = int(acc.get("tier") or 3)
    mix = mix_for(frame.rules, tier, bool(acc.get("is_customer")), bool(acc.get("lapsed")))
    template = cadence(frame.weeks, frame.rules, mix, len(frame.calendar.working_days))
    earliest = frame.start
    if frame.floor is not None:
        earliest = max(earliest, frame.floor + timedelta(days=lead_days(tier, cold, frame.rules) + 1))
    return Lane(template, spec.start_week, earliest)


def _target(
    pos: int, spec: TargetSpec, acc: dict[str, Any], frame: _Frame, first: date, notes: list[str]
) -> dict[str, Any]:
    """One target row: the account, its offer (chosen or suggested) and its first touch."""
    cat = frame.cat
    suggested, why = suggest_offer(acc, cat.valid, frame.rules)
    chosen = spec.offer_id if spec.offer_id in cat.names else None
    if spec.offer_id and chosen is None:
        notes.append(f"offer {spec.offer_id!r} of {acc['name']} is no longer in the catalogue; suggesting one")
    offer_id = chosen or suggested
    tier = int(acc.get("tier") or 3)
    return {
        "position": pos, "account_id": spec.account_id, "name": acc["name"], "industry": acc["industry"],
        "state": acc["state"], "city": acc["city"], "employees": acc["employees"], "tier": tier,
        "book_rank": int(acc["book_rank"]), "est_users": _number(acc["est_users"]),
        "price_per_user": _number(acc["price_per_user"]), "potential": _number(acc["potential"]),
        "propensity": _maybe(acc["propensity"]), "expected_value": _maybe(acc["expected_value"]),
        "offer_id": offer_id, "offer": cat.names.get(offer_id, "") if offer_id else "",
        "suggested_offer_id": suggested, "offer_reason": why if chosen in (None, suggested) else "chosen by the rep",
        "mix": mix_for(frame.rules, tier, bool(acc.get("is_customer")), bool(acc.get("lapsed"))),
        "start_week": (first - frame.start).days // 7 + 1, "first_touch": first,
        "rationale": spec.rationale or acc["rationale"], "needs": "", "status": spec.status, "offer_choice": chosen,
        "start_week_choice": spec.start_week, "rationale_choice": spec.rationale,
    }  # fmt: skip


def _number(value: Any) -> float:
    return 0.0 if missing(value) else float(value)


def _maybe(value: Any) -> float:
    """A number, NaN when not available (expected value without a model or closed deals)."""
    return float("nan") if missing(value) else float(value)


def _steps(
    pos: int, spec: TargetSpec, acc: dict[str, Any], target: dict[str, Any], lane: Lane, when: list[date], frame: _Frame
) -> list[dict[str, Any]]:
    """The account's dated steps, numbered 1..n in date order, the offer in the wording."""
    offer_id, offer_name = target["offer_id"], target["offer"]
    kind = frame.cat.kinds.get(offer_id) if offer_id else None
    fill = {
        "offer": offer_name or "a short note on why now",
        "event": offer_name if kind == "event" else (frame.cat.first_event or "our next webinar"),
        "story": offer_name if kind == "case_study" else "a short ROI summary for their industry",
    }
    return [
        {
            "account_id": spec.account_id, "account_name": acc["name"], "position": pos, "step_no": no,
            "step_date": day, "week": (day - frame.start).days // 7 + 1, "channel": step.channel,
            "action": step.action.format(**fill), "is_decision": step.is_decision,
            "hours": float(frame.rules["hours"].get(step.channel, 0.0)),
        }
        for no, (step, day) in enumerate(zip(lane.template, when, strict=True), start=1)
    ]  # fmt: skip
