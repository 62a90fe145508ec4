"""Balancing within markets: an account goes only to a rep whose home is in its country, and each country's market
is balanced on its own (Options.within = "country", the default; "none" balances the book as one).

A book whose located accounts span several countries, and whose reps live in several, is split into markets: one per
country where a scenario rep lives. Each is solved as a problem of its own (planner.optimize.solve) and the
assignments are merged, so a rep's fair share is their market's total over its reps, weighted by capacity as the
optimizer weighs every target. The report measures the merged assignment: travel and compactness over the whole
book, balance within each market (a band is met where every market meets it; max/mean is the worst market's), and a
line per market. A book in one country is one market: the solve is exactly the one without markets.

Which market an account joins:
- its country's (its country code or name, else the country its place lies in) when a rep lives there (a book whose
  rows name no country at all is one market);
- an account that must stay with its owner (locked, a customer, an open deal) stays, so it is in its owner's market;
- an account with no known country, or in a country where no rep lives, joins its owner's market: the owner serves it
  today, so nothing sends it across a border; without an owner in the scenario (unowned, or its owner leaves), the
  market of its nearest rep; with no place at all either, spread over the markets by their reps' capacity (`_spread`).
  The report names these accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from planner.errors import BadInput
from planner.geo_world import countries, countries_at, country_code
from planner.optimize.geometry import _nearest
from planner.optimize.options import Options, Result
from planner.optimize.problem import _dist, _prepare, _Problem, _scenario_reps, _with_distance, placed_mask
from planner.optimize.quality import MEAN_KEYS
from planner.optimize.report import _report, unit_label
from planner.text import account_label, listing

# A rep's home is in the country of the city nearest to it, however far (a home at sea still has a nearest country).
ANY_KM = 20_000.0
# Travel and bound figures are means over placed accounts (quality.MEAN_KEYS, merged by placed account count); shares
# of the metric are merged by each market's share of the blend the moved share counts.
SHARE_KEYS = ("lp_min_moved_share", "lp_moved_share", "travel_needs_moved_share", "moved_share", "min_moved_share",
              "forced_moved_share")  # fmt: skip

# A market's note that its reps set apart (optimize/overfull.py) starts so; the merged result keeps it.
OVERFULL_NOTE = "Overfull territories: "
BAND_KEYS = ("metric", "tolerance", "max_mean_before", "max_mean_after", "lower_bound", "met")  # a market's bands


@dataclass
class Markets:
    """The book split into markets: `p` is the whole book's problem (without a travel matrix)."""

    p: _Problem
    codes: list[str]  # the markets: the countries where a scenario rep lives, sorted
    of_account: np.ndarray  # each account's market (positional over p.acc)
    of_rep: np.ndarray  # each scenario rep's market (positional over p.reps)
    country: np.ndarray  # each account's known country (None when unknown)
    how: np.ndarray  # why it is in its market: "country", "stays" (with its owner), "no country", "no rep", "no place"


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    return dict(zip(countries()["code"], countries()["name"], strict=True))


def market_name(code: str) -> str:
    """'JP' -> 'Japan (JP)'."""
    name = _names().get(code)
    return f"{name} ({code})" if name else code


def account_countries(acc: pd.DataFrame) -> np.ndarray:
    """Each account's ISO country: its country column read as a code or name, else the country of the place it has
    coordinates for (an account placed at a centroid has none of its own); None when neither says."""
    out = np.full(len(acc), None, dtype=object)
    if "country" in acc:
        raw = acc["country"].astype("string").str.strip()
        lookup = {v: country_code(v) for v in raw.dropna().unique()}
        out = np.array([None if pd.isna(v) else lookup.get(v) for v in raw], dtype=object)
    lat = pd.to_numeric(acc["lat"], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(acc["lon"], errors="coerce").to_numpy(float)
    ask = np.flatnonzero(pd.isna(out) & np.isfinite(lat) & np.isfinite(lon))
    if len(ask):
        out[ask] = countries_at(lat[ask], lon[ask])
    return out


def _names_a_country(acc: pd.DataFrame) -> bool:
    """Whether some account's row names a country it is in: a book whose rows name none (a US export, a made-up
    world on the equator) is one market, wherever the nearest cities to its places lie."""
    if "country" not in acc:
        return False
    return any(country_code(v) for v in acc["country"].astype("string").str.strip().dropna().unique())


def split(accounts: pd.DataFrame, reps: pd.DataFrame, opts: Options) -> Markets | None:
    """The markets of the book, or None when it is one (within none, or accounts or reps in a single country): then
    the book is solved as one problem, exactly as without markets. Bad options are left to that solve to name."""
    if opts.within == "none" or accounts.empty:
        return None
    try:
        opts.validate()
        homes = _scenario_reps(reps, opts)[["home_lat", "home_lon"]]
    except BadInput:
        return None
    if len(set(countries_at(homes["home_lat"], homes["home_lon"], ANY_KM)) - {None}) < 2:
        return None
    if not _names_a_country(accounts):  # first: once per spelling, where account_countries looks up every row
        return None
    country = account_countries(accounts)
    if len(set(country) - {None}) < 2:
        return None
    p = _prepare(accounts, reps, opts)
    of_rep = countries_at(p.reps["home_lat"], p.reps["home_lon"], ANY_KM).astype(object)
    codes = sorted(set(of_rep))
    owner_mk = np.where(p.owner >= 0, of_rep[np.maximum(p.owner, 0)], None)
    _, near = _nearest(p.xyz, p.homes, 1)
    in_market = np.array([c in codes for c in country], dtype=bool)
    known = ~pd.isna(country)
    how = np.where(p.pinned, "stays", np.where(in_market, "country", np.where(known, "no rep", "no country"))).astype(
        object
    )
    fallback = np.where(pd.isna(owner_mk), of_rep[near[:, 0]], owner_mk)
    of_account = np.where(p.pinned, owner_mk, np.where(in_market, country, fallback)).astype(object)
    if p.nowhere is not None:
        lost = np.flatnonzero(p.nowhere & pd.isna(owner_mk) & ~p.pinned & ~in_market)
        how[lost] = "no place"
        _spread(p, codes, of_rep, of_account, lost)
    return Markets(p, codes, of_account, of_rep, country, how)


def _spread(p: _Problem, codes: list[str], of_rep: np.ndarray, of_account: np.ndarray, lost: np.ndarray) -> None:
    """Accounts with no place, no country and no owner in the scenario (`lost`) over the markets in proportion to
    their reps' capacity: largest first, each to the market furthest below its share of them. Nothing says where
    they belong (a nearest rep would be nearest to a made-up point); within a market the bands decide."""
    if not len(lost):
        return
    cap = p.reps["capacity_hours"].to_numpy(float)
    want = np.array([cap[of_rep == c].sum() for c in codes]) / cap.sum() * float(p.b[lost].sum())
    got = np.zeros(len(codes))
    for i in lost[np.lexsort((lost, -p.b[lost]))]:
        k = int(np.argmax(want - got))
        of_account[i] = codes[k]
        got[k] += p.b[i]


Part = tuple[str, np.ndarray, pd.DataFrame, pd.DataFrame, Options]


def parts(m: Markets, accounts: pd.DataFrame, reps: pd.DataFrame, opts: Options) -> list[Part]:
    """Each market with accounts as a problem of its own: (market, account positions, accounts, reps, options). Its
    reps are the scenario reps living there and the reps the scenario removes who own some of its accounts today;
    locks, removals, capacities and new reps are the market's own."""
    p = m.p
    new = p.reps[p.reps["is_new"].astype(bool)]
    out = []
    for code in m.codes:
        pos = np.flatnonzero(m.of_account == code)
        if not len(pos):
            continue
        acc = accounts.iloc[pos]
        mine = set(p.reps["rep_id"][(m.of_rep == code) & ~p.reps["is_new"].to_numpy(bool)])
        leaving = set(opts.remove_reps) & set(acc["owner_rep_id"].dropna())
        sub_reps = reps[reps["rep_id"].isin(mine | leaving)]
        hires = tuple(
            replace(nr, rep_id=rid)
            for nr, rid, c in zip(opts.add_reps, new["rep_id"], m.of_rep[len(p.reps) - len(new) :], strict=True)
            if c == code
        )
        ids = set(acc["account_id"])
        in_scenario = mine | {r.rep_id for r in hires}
        sub_opts = replace(
            opts,
            locks=tuple(a for a in opts.locks if a in ids),
            remove_reps=tuple(r for r in opts.remove_reps if r in leaving),
            capacities=tuple((r, c) for r, c in opts.capacities if r in in_scenario),
            add_reps=hires,
        )
        out.append((code, pos, acc, sub_reps, sub_opts))
    return out


def _rescaled(m: Markets, p: _Problem) -> _Problem:
    """The book's problem with each market's weights scaled to its reps' share of the team's capacity: every rep's
    target (their share of capacity) is then their fair share of their market, on every band."""
    cap = p.reps["capacity_hours"].to_numpy(float)
    b, bm = p.b.copy(), p.bm.copy()
    for code in m.codes:
        sel = m.of_account == code
        share = cap[m.of_rep == code].sum() / cap.sum()
        for col in [b, *bm.T]:
            total = col[sel].sum()
            if total > 0:
                col[sel] *= share / total
    return replace(p, b=b, bm=bm)


def _merged_extra(solved: list[tuple[str, Result]], n: np.ndarray, share: np.ndarray) -> dict[str, Any]:
    """The solver's figures over the markets: counts and seconds summed, flags over all (a stop at a time limit
    over any), means over accounts weighted by accounts, shares of the metric by each market's share of it."""
    subs = [r.summary for _, r in solved]
    out: dict[str, Any] = {}
    for key in dict.fromkeys(k for s in subs for k in s):
        vals = [s[key] for s in subs if key in s]
        if all(isinstance(v, bool | np.bool_) for v in vals):
            out[key] = any(vals) if "stopped" in key or "killed" in key else all(vals)
        elif all(isinstance(v, list) for v in vals):  # e.g. the reps each market set apart
            out[key] = [x for v in vals for x in v]
        elif all(isinstance(v, int | float | np.integer | np.floating) for v in vals):
            out[key] = float(np.nansum(vals)) if any(isinstance(v, float) for v in vals) else int(sum(vals))
        else:
            out[key] = vals[0]
    for key, w in [*((k, n / max(n.sum(), 1.0)) for k in MEAN_KEYS), *((k, share) for k in SHARE_KEYS)]:
        if all(key in s for s in subs):
            out[key] = float(sum(float(s[key]) * wi for s, wi in zip(subs, w, strict=True)))
    solvers = [s.get("solver") for s in subs if s.get("solver") != "none"]
    out["solver"] = f"{solvers[0] if solvers else 'none'}, one problem per market ({len(subs)})"
    out["lp_status"] = ", ".join(dict.fromkeys(str(s["lp_status"]) for s in subs if "lp_status" in s)) or None
    out["lp_excess_over_band"] = max((float(s.get("lp_excess_over_band", 0.0)) for s in subs), default=0.0)
    out["capacity_enforced"] = all(bool(s.get("capacity_enforced")) for s in subs)
    return out


def _worst(values: list[Any], pick: Any = max) -> float:
    finite = [float(v) for v in values if v is not None and np.isfinite(float(v))]
    return float(pick(finite)) if finite else float("nan")


def _balance(s: dict[str, Any], subs: list[dict[str, Any]]) -> None:
    """Balance within markets: the worst market's max/mean and bound, a band met where every market meets it."""
    for key in ("max_mean_before", "max_mean_after", "lower_bound"):
        s[key] = _worst([x[key] for x in subs])
    s["tolerance_met"] = all(bool(x["tolerance_met"]) for x in subs)
    s["within_reach"] = all(bool(x.get("within_reach", True)) for x in subs)
    for i, band in enumerate(s["metrics"]):
        theirs = [x["metrics"][i] for x in subs]
        for key in ("max_mean_before", "max_mean_after", "largest_deviation", "lower_bound", "reach_high"):
            band[key] = _worst([t[key] for t in theirs])
        for key in ("min_mean_after", "reach_low"):
            band[key] = _worst([t[key] for t in theirs], min)
        band["met"] = all(bool(t["met"]) for t in theirs)
    s["h3_resolution"] = next((x["h3_resolution"] for x in subs if x.get("h3_resolution") is not None), None)


def _market_rows(m: Markets, solved: list[tuple[str, Result]]) -> list[dict[str, Any]]:
    """One row per market: its reps and accounts, each band's max/mean today and after, travel and moves."""
    by_code = dict(solved)
    rows = []
    for code in m.codes:
        res = by_code.get(code)
        row: dict[str, Any] = {"market": code, "name": market_name(code), "reps": int((m.of_rep == code).sum())}
        if res is None:
            rows.append({**row, "accounts": 0, "tolerance_met": None, "metrics": []})
            continue
        s = res.summary
        row.update(
            accounts=int(s["accounts"]), moved_accounts=int(s["moved_accounts"]),
            max_mean_before=s["max_mean_before"], max_mean_after=s["max_mean_after"], lower_bound=s["lower_bound"],
            tolerance_met=bool(s["tolerance_met"]), travel_km_today=s["travel_km_today"],
            travel_km_after=s["travel_km_after"],
            metrics=[{k: b[k] for k in BAND_KEYS} for b in s["metrics"]],
        )  # fmt: skip
        rows.append(row)
    return rows


def _names_of(p: _Problem, pos: np.ndarray) -> str:
    return listing([account_label(p.acc["account_id"].iloc[i], p.acc["name"].iloc[i] if "name" in p.acc else None)
                    for i in pos], 3)  # fmt: skip


def _notes(m: Markets, assign: np.ndarray) -> list[str]:
    """What the markets did, in plain words: the markets, and every account not simply in its own country's."""
    p = m.p
    reps = [f"{market_name(c)} {int((m.of_rep == c).sum())} rep(s)" for c in m.codes]
    out = [
        f"Balanced within each country: {len(m.codes)} markets ({listing(reps, 8)}). An account goes only to a rep "
        "whose home is in its country, and each rep's fair share is their market's total over its reps. To balance "
        "the book as one: balance --within none, or untick 'Keep accounts within their country'."
    ]
    lost = np.flatnonzero(m.how == "no place")
    if len(lost):
        out.append(
            f"{len(lost):,} account(s) have no place, no country and no owner ({_names_of(p, lost)}): they are spread "
            "over the markets in proportion to their reps' capacity, and the bands alone decide the rep there. Give "
            "them an address on the Data page to place them by country."
        )
    no_country = np.flatnonzero(m.how == "no country")
    no_rep = np.flatnonzero(m.how == "no rep")
    rule = "each is balanced in its owner's market, or, without an owner in the scenario, in its nearest rep's"
    if len(no_country):
        out.append(f"{len(no_country):,} account(s) have no known country ({_names_of(p, no_country)}): {rule}.")
    if len(no_rep):
        where = listing(sorted({str(c) for c in m.country[no_rep]}), 5)
        out.append(
            f"{len(no_rep):,} account(s) are in a country where no rep lives ({where}: {_names_of(p, no_rep)}): {rule}."
        )
    stays = np.flatnonzero((m.how == "stays") & ~pd.isna(m.country) & (m.country != m.of_account))
    if len(stays):
        out.append(
            f"{len(stays):,} account(s) that must stay with their owner (locked, customers, open deals) lie in "
            f"a country other than their owner's home and stay: {_names_of(p, stays)}."
        )
    owner_mk = np.where(p.owner >= 0, m.of_rep[np.maximum(p.owner, 0)], None)
    home = np.flatnonzero((m.how == "country") & (p.owner >= 0) & (owner_mk != m.of_account))
    if len(home):
        out.append(
            f"{len(home):,} account(s) owned today by a rep in another country go to a rep in their own: "
            f"{_names_of(p, home)}."
        )
    idle = [c for c in m.codes if not (m.of_account == c).any()]
    if idle:
        names = listing([str(n) for n in p.reps["name"][np.isin(m.of_rep, idle)]], 5)
        out.append(
            f"{names}: home in {listing([market_name(c) for c in idle], 5)}, where the book has no account; within "
            "their country they get none (check their home, or balance across countries with --within none)."
        )
    return out


def _capacity_note(note: str) -> bool:
    """A note of report._capacity_notes (capacity is per market: each market's reps serve only its accounts)."""
    return note.startswith("Capacity ") or "above their own capacity" in note or "end above their capacity" in note


def _capacity_notes(book: list[str], solved: list[tuple[str, Result]], over: int) -> list[str]:
    """Capacity in words: the book's notes when every market enforces it, else which markets do and which cannot (a
    book whose hours fit the team can still hold a market whose reps cannot serve its accounts)."""
    enforced = [c for c, x in solved if x.summary.get("capacity_enforced")]
    if len(enforced) == len(solved):
        return [n for n in book if _capacity_note(n)]
    out = []
    short = {c: x.summary["capacity_hours_needed_min"] / max(x.summary["capacity_hours"], 1e-9) for c, x in solved
             if c not in enforced and "capacity_hours_needed_min" in x.summary}  # fmt: skip
    over_cap = [f"{market_name(c)} {r:,.1f}x" for c, r in short.items() if r > 1]
    if over_cap:
        out.append(
            f"Capacity is not enforced in {listing(over_cap, 8)}: serving a market's accounts needs that many times "
            "the hours a year its reps have, so no assignment within it can fit. Each rep's target is still their "
            "share of their market's capacity. Add reps there, or lower touches per year or meeting hours on the "
            "Settings page (admins), for capacity to bind."
        )
    idle = [market_name(c) for c, x in solved if c not in enforced and short.get(c, 2.0) <= 1]
    if idle:
        out.append(f"Capacity was not checked in {listing(idle, 8)}: no account there could move.")
    if enforced:
        out.append(f"Capacity is enforced in {listing([market_name(c) for c in enforced], 8)}.")
    if over:
        out.append(f"{over} rep(s) end above their own capacity.")
    return out


def merge(m: Markets, solved: list[tuple[str, Result]], opts: Options, distance: pd.DataFrame | None,
          seconds: float) -> Result:  # fmt: skip
    """The markets' assignments as one result, measured over the whole book (see the module's docstring)."""
    p = _with_distance(m.p, distance)
    rid = {r: i for i, r in enumerate(p.reps["rep_id"])}
    assign = p.owner.copy()
    for code, res in solved:
        pos = np.flatnonzero(m.of_account == code)
        assign[pos] = res.assignments["owner"].map(rid).to_numpy(np.int64)
    placed = placed_mask(p)
    n = np.array([int(((m.of_account == c) & placed).sum()) for c, _ in solved], dtype=float)
    share = np.array([float(p.b[m.of_account == c].sum()) for c, _ in solved])
    subs = [r.summary for _, r in solved]
    timing = {k: float(sum(float(s.get(k, 0.0)) for s in subs)) for k in ("prepare_seconds", "lp_seconds",
              "mip_seconds", "repair_seconds", "bound_seconds")}  # fmt: skip
    timing["solve_seconds"] = seconds
    extra = {k: v for k, v in _merged_extra(solved, n, share).items() if not k.endswith("_seconds")}
    # The report measures the merged assignment itself; the solver's own figures (LP, rounding, contiguity) come from
    # the markets, merged, where the report has none of its own.
    core = ("travel_unit", "capacity_enforced", "accounts_without_area")
    res = _report(_rescaled(m, p), None, opts, assign, timing, {k: extra[k] for k in core if k in extra})
    s = res.summary
    for key, value in extra.items():
        s.setdefault(key, value)
    _balance(s, subs)
    for key in SHARE_KEYS[3:]:
        s[key] = extra[key]
    labels = tuple(f"{label}: " for label in p.band_labels)
    unit = unit_label(str(extra.get("travel_unit", "km")))
    s["reasons"] = [f"{market_name(c)}: {r}" for c, x in solved for r in x.summary["reasons"]]
    reach = [f"{market_name(c)}: {n}" for c, x in solved for n in x.summary["notes"]
             if n.startswith((*labels, OVERFULL_NOTE))]  # fmt: skip
    own = [n for n in s["notes"] if not n.startswith(labels) and not _capacity_note(n)]
    s["notes"] = _notes(m, assign) + _capacity_notes(s["notes"], solved, int(s["over_capacity_reps"])) + own + reach
    s["within"] = opts.within
    s["markets"] = _market_rows(m, solved)
    a = res.assignments
    a["weight"] = p.b  # the share of the whole book, as without markets
    owner_mk = np.where(p.owner >= 0, m.of_rep[np.maximum(p.owner, 0)], None)
    home = np.flatnonzero((p.owner >= 0) & (owner_mk != m.of_account) & (assign != p.owner))
    names = p.reps["name"].to_numpy(dtype=object)
    km = _dist(p, home, assign[home])
    a.loc[home, "reason"] = [
        f"to a rep in its country, {market_name(str(m.of_account[i]))}: {names[assign[i]]} ({d:.0f} {unit})"
        for i, d in zip(home, km, strict=True)
    ]
    return res
