"""Features of the propensity model: what feeds it, what is kept out and why, and point-in-time history.

One training row per closed deal: the account's firmographics, growth, intent and typed custom
attributes, plus what was known *when the deal was created* about nearby wins (same industry,
within RADIUS_KM, in the WINDOW_DAYS before) and the account's own earlier deals. Fields known only
after an outcome are excluded by a leakage guard that records why.
"""

from __future__ import annotations

import math
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.spatial import cKDTree
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KDTree

from planner.geo import unit_vectors
from planner.text import filled

EARTH_KM = 6371.0088
RADIUS_KM = 100.0  # "nearby": how far a recent win counts as similar
WINDOW_DAYS = 182  # "recent": six months
MAX_TEXT_LEVELS = 20  # a text attribute with more distinct values is free text, not a category
MIN_COVERAGE = 0.05  # an attribute present on fewer accounts than this share is not used
LEAK_AUC = 0.9  # a single field separating won from lost deals this well was recorded after the outcome
LEAK_ACCOUNT_AUC = 0.97  # ... or telling accounts that ever won from the others this well
QUERY_THREADS = max(1, min(2, os.cpu_count() or 1))  # threads for neighbour queries and predictions on big stores

BASE_FEATURES: dict[str, str] = {
    "industry": "Industry",
    "employees": "Employees",
    "annual_revenue": "Annual revenue",
    "employee_growth": "Employee growth, 12 months",
    "intent_score": "Intent score",
    "new_executive": "New executive, last 90 days",
    "website_visits": "Website visits, last 30 days",
}
HISTORY_FEATURES: dict[str, str] = {
    "similar_won": "Similar wins nearby, 6 months",  # same industry, within RADIUS_KM, before the deal
    "nearest_won_km": "Distance to nearest similar win",
    "prior_wins": "Earlier deals won",
    "prior_losses": "Earlier deals lost",
}
# Fields that exist in every store but must never feed the model, and why.
ALWAYS_EXCLUDED: list[tuple[str, str]] = [
    ("deals.stage", "the deal's own stage: 'Closed Won' or 'Closed Lost' is the outcome itself"),
    ("deals.is_won, deals.is_closed", "the outcome the model learns (its label)"),
    ("deals.amount, deals.users", "set or revised when the deal closes: known only after the outcome"),
    ("deals.close_date", "known only after the outcome; used only to order deals in time for the split"),
    ("accounts.account_type", "the CRM marks an account 'Customer' after it wins: known only after the outcome"),
    (
        "accounts.owner_rep_id, deals.owner_rep_id",
        "who owns an account records who worked and won it, and changes with rebalancing",
    ),
    ("account_id, deal_id, name", "identifiers carry no meaning and would let the model memorise accounts"),
    (
        "lat, lon, city, state, postal_code, county",
        "raw location would memorise places; geography enters only as similarity to recent nearby wins",
    ),
    ("activities", "touches are logged mostly while a deal is worked and after it: they trail the outcome"),
    ("created_at, updated_at, source, geo_method, locked", "bookkeeping of imports, not facts about the account"),
]
# Words in a custom attribute's name that mean it is recorded at or after the outcome.
LEAKY_WORDS = {
    "stage", "won", "win", "lost", "loss", "close", "closed", "churn", "churned", "customer", "owner", "renewal",
    "contract", "amount", "booking", "bookings", "arr", "mrr", "acv", "tcv", "status", "id", "crm", "converted",
}  # fmt: skip


@dataclass
class FeatureSpec:
    """Which columns feed the model (and how), which were excluded and why."""

    categorical: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    attr_kinds: dict[str, str] = field(default_factory=dict)  # column -> number | boolean | text
    excluded: list[dict[str, str]] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return self.categorical + self.numeric

    def exclude(self, name: str, reason: str) -> None:
        for col_list in (self.categorical, self.numeric):
            if name in col_list:
                col_list.remove(name)
        self.excluded.append({"name": self.labels.get(name, name), "field": name, "reason": reason})

    def used(self) -> list[dict[str, str]]:
        kinds = {**{c: "category" for c in self.categorical}, **{c: "number" for c in self.numeric}}
        source = {c: ("history" if c in HISTORY_FEATURES else "import" if c.startswith("attr:") else "account")
                  for c in self.columns}  # fmt: skip
        return [
            {"field": c, "name": self.labels.get(c, c), "kind": kinds[c], "source": source[c]} for c in self.columns
        ]


def _tokens(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t}


def plan_features(accounts: pd.DataFrame, defs: pd.DataFrame) -> FeatureSpec:
    """Decide the candidate features from what the store holds (before the data-driven leak check)."""
    spec = FeatureSpec(labels={**BASE_FEATURES, **HISTORY_FEATURES})
    n = max(len(accounts), 1)
    for col in BASE_FEATURES:
        if col not in accounts.columns or accounts[col].notna().sum() == 0:
            spec.excluded.append({"name": BASE_FEATURES[col], "field": col, "reason": "no values in this store"})
        elif col == "industry":
            spec.categorical.append(col)
        else:
            spec.numeric.append(col)
    spec.numeric += list(HISTORY_FEATURES)
    for d in defs.itertuples(index=False):
        col = f"attr:{d.attr}"
        label = str(d.label or d.attr)
        spec.labels[col] = label
        reason = None
        leaky = _tokens(str(d.attr)) & LEAKY_WORDS or _tokens(label) & LEAKY_WORDS
        if leaky:
            reason = f"its name ({', '.join(sorted(leaky))}) suggests it is recorded at or after the outcome"
        elif d.dtype == "date":
            reason = "a date needs a reference point to mean anything: not used"
        elif d.n_values / n < MIN_COVERAGE:
            reason = f"present on only {d.n_values / n:.0%} of accounts"
        elif d.dtype == "text" and d.n_text > MAX_TEXT_LEVELS:
            reason = f"free text with {d.n_text:,} distinct values: too many to learn from"
        elif d.dtype not in ("number", "boolean", "text"):
            reason = f"unknown type {d.dtype!r}"
        if reason:
            spec.excluded.append({"name": label, "field": col, "reason": reason})
            continue
        spec.attr_kinds[col] = str(d.dtype)
        (spec.categorical if d.dtype == "text" else spec.numeric).append(col)
    return spec


_TRUE = {"true", "yes", "y", "1", "x", "t"}
_FALSE = {"false", "no", "n", "0", "f", ""}


def account_features(accounts: pd.DataFrame, values: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """One row per account (indexed by account_id): base fields and typed custom attributes."""
    base = accounts.set_index("account_id")
    out = pd.DataFrame(index=base.index)
    for col in BASE_FEATURES:
        if col in spec.columns:
            out[col] = base[col].astype(float) if col != "industry" else base[col].astype(object)
    if spec.attr_kinds and len(values):
        vals = values[values["attr"].isin([c[5:] for c in spec.attr_kinds])]
        for col, kind in spec.attr_kinds.items():
            v = vals[vals["attr"] == col[5:]].drop_duplicates("account_id").set_index("account_id")
            if kind == "number":
                s = pd.to_numeric(v["num_value"], errors="coerce")
            elif kind == "boolean":
                text = v["text_value"].astype(str).str.strip().str.lower()
                from_text = np.where(text.isin(_TRUE), 1.0, np.where(text.isin(_FALSE), 0.0, np.nan))
                s = pd.to_numeric(v["num_value"], errors="coerce").fillna(pd.Series(from_text, index=v.index))
            else:
                s = v["text_value"].astype(object)
            out[col] = s.reindex(out.index)
    for col in spec.attr_kinds:
        if col not in out.columns:
            out[col] = np.nan
    return out


def _days(values: Any) -> np.ndarray:
    return pd.to_datetime(pd.Series(values)).to_numpy(dtype="datetime64[D]")


def history_features(
    queries: pd.DataFrame,
    accounts: pd.DataFrame,
    deals: pd.DataFrame,
    radius_km: float = RADIUS_KM,
    window_days: int = WINDOW_DAYS,
) -> pd.DataFrame:
    """Point-in-time history for each query row (account_id, as_of, sim_ref): nothing on or after the date.

    similar_won / nearest_won_km: distinct other accounts of the same industry with a deal won in
    [sim_ref - window_days, sim_ref), within radius_km / the nearest one (great-circle distance).
    prior_wins / prior_losses: the account's own deals closed before as_of.
    """
    acct = accounts.set_index("account_id")[["industry", "lat", "lon"]]
    acct = acct[~acct.index.duplicated(keep="first")]
    index = pd.Index(acct.index)
    q_ids = queries["account_id"]
    in_order = len(q_ids) == len(index) and _same_ids(q_ids, index)  # every account in order (scoring)
    q_code = np.arange(len(q_ids)) if in_order else positions_of(index, q_ids)  # -1: not a known account
    closed = deals[deals["is_closed"].fillna(False).astype(bool) & deals["close_date"].notna()]
    c_code = positions_of(index, closed["account_id"])
    keep = c_code >= 0
    c_code = c_code[keep]
    c_day = _days(closed["close_date"])[keep]
    c_won = closed["is_won"].fillna(False).astype(bool).to_numpy()[keep]
    prior_wins, prior_losses = _prior_outcomes(q_code, _days(queries["as_of"]), c_code, c_day, c_won)
    # Industries as codes (a missing one is "(none)", the same group as the text "(none)").
    industry = pd.factorize(filled(acct["industry"], "(none)"))[0]
    xyz = unit_vectors(acct["lat"].to_numpy(dtype=float), acct["lon"].to_numpy(dtype=float))
    similar, nearest = _similar_wins(
        q_code, _days(queries["sim_ref"]), industry, xyz, c_code[c_won], c_day[c_won], radius_km, window_days
    )
    return pd.DataFrame(
        {"similar_won": similar, "nearest_won_km": nearest, "prior_wins": prior_wins, "prior_losses": prior_losses}
    )


def arrow_ids(values: pd.Series | pd.Index) -> pa.Array | pa.ChunkedArray | None:
    """Account ids as Arrow text (no copy for pandas' str columns), or None when they are not all text."""
    try:
        ids = pa.array(values.array if isinstance(values, pd.Series | pd.Index) else values, from_pandas=True)
    except (pa.ArrowException, UnicodeError, TypeError, ValueError):
        return None
    return ids if pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type) else None


def _same_ids(ids: pd.Series, index: pd.Index) -> bool:
    """ids equal index element by element (both the same length)."""
    a, b = arrow_ids(ids), arrow_ids(index)
    if a is None or b is None or a.null_count or b.null_count:
        return bool((ids.to_numpy() == index.to_numpy()).all())
    return bool(pc.all(pc.equal(a, b.cast(a.type))).as_py())


def positions_of(index: pd.Index, ids: pd.Series) -> np.ndarray:
    """index.get_indexer(ids) for a unique index (-1 where an id is not in it): Arrow's hash lookup when both
    hold text (a pandas index of str hashed a million Python strings)."""
    keys, look = arrow_ids(index), arrow_ids(ids)
    if keys is None or look is None or keys.null_count:
        return index.get_indexer(ids.to_numpy())
    found = pc.index_in(look.cast(keys.type), value_set=keys)
    return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.intp)


def _prior_outcomes(
    q_code: np.ndarray, q_asof: np.ndarray, c_code: np.ndarray, c_day: np.ndarray, c_won: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Wins and losses of each query's own account that closed strictly before its as-of date."""
    n, m = len(q_code), len(c_code)
    if n and bool((q_asof == q_asof[0]).all()):  # one date for all (scoring): a count per account
        size = max(int(q_code.max()), int(c_code.max()) if m else 0) + 1
        before = c_day < q_asof[0]
        wins = np.bincount(c_code[before & c_won], minlength=size).astype(float)
        losses = np.bincount(c_code[before & ~c_won], minlength=size).astype(float)
        known = q_code >= 0
        return np.where(known, wins[np.maximum(q_code, 0)], 0.0), np.where(known, losses[np.maximum(q_code, 0)], 0.0)
    # Sort queries before same-day events so only strictly earlier closes count.
    code = np.r_[c_code, q_code]
    day = np.r_[c_day, q_asof].astype("datetime64[D]").astype(np.int64)
    kind = np.r_[np.ones(m, dtype=np.int8), np.zeros(n, dtype=np.int8)]
    won = np.r_[c_won.astype(np.int64), np.zeros(n, dtype=np.int64)]
    lost = np.r_[(~c_won).astype(np.int64), np.zeros(n, dtype=np.int64)]
    order = np.lexsort((kind, day, code))
    code_s, won_s, lost_s = code[order], np.cumsum(won[order]), np.cumsum(lost[order])
    first = np.r_[True, code_s[1:] != code_s[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(code_s)), 0))
    before_w = np.where(start > 0, won_s[start - 1], 0)
    before_l = np.where(start > 0, lost_s[start - 1], 0)
    is_q = kind[order] == 0
    qid = order[is_q] - m
    prior_wins = np.zeros(n)
    prior_losses = np.zeros(n)
    prior_wins[qid] = (won_s - before_w)[is_q]
    prior_losses[qid] = (lost_s - before_l)[is_q]
    prior_wins[q_code < 0] = 0.0
    prior_losses[q_code < 0] = 0.0
    return prior_wins, prior_losses


def _similar_wins(
    q_code: np.ndarray,
    q_ref: np.ndarray,
    industry: np.ndarray,
    xyz: np.ndarray,
    w_code: np.ndarray,
    w_day: np.ndarray,
    radius_km: float,
    window_days: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Similar recent wins of each query, per (industry, reference date): one small KD-tree on unit vectors
    each (chord distance orders points exactly as the great-circle distance does, and is far cheaper).

    `industry` holds each account's industry code. NaN for queries whose account has no location (or is
    unknown)."""
    n = len(q_code)
    similar = np.full(n, np.nan)
    nearest = np.full(n, np.nan)
    if not len(xyz):
        return similar, nearest
    w_ok = np.isfinite(xyz[w_code, 0])
    w_code, w_day = w_code[w_ok], w_day[w_ok]
    w_ind = industry[w_code]
    by_ind: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for ind, idx in pd.Series(w_ind).groupby(w_ind, sort=False).indices.items():
        o = idx[np.argsort(w_day[idx], kind="stable")]
        by_ind[int(ind)] = (w_code[o], w_day[o])
    has_geo = (q_code >= 0) & np.isfinite(xyz[np.maximum(q_code, 0), 0])
    similar[has_geo] = 0.0
    window = np.timedelta64(int(window_days), "D")
    chord = 2.0 * math.sin(min(radius_km / EARTH_KM, math.pi) / 2.0)
    geo_rows = np.flatnonzero(has_geo)
    keys = pd.DataFrame({"ind": industry[q_code[geo_rows]], "ref": q_ref[geo_rows]})

    def one_group(item: tuple[tuple[Any, Any], np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        (ind, ref), idx = item
        w = by_ind.get(int(ind))
        if w is None:
            return None
        wc, wd = w
        ref_d = np.datetime64(ref, "D")
        lo, hi = (int(i) for i in np.searchsorted(wd, np.array([ref_d - window, ref_d]), "left"))
        if hi <= lo:
            return None
        rows = geo_rows[idx]
        count, near = _neighbours(xyz, pd.unique(wc[lo:hi][::-1]), q_code[rows], chord)
        return rows, count, near

    groups = list(keys.groupby(["ind", "ref"], sort=False).indices.items())
    # KD-tree queries release the GIL: big stores use both cores (results land in a fixed order).
    workers = min(QUERY_THREADS, len(groups)) if n >= 50_000 else 1
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one_group, groups))
    else:
        results = [one_group(g) for g in groups]
    for res in results:
        if res is not None:
            rows, sim, near_km = res
            similar[rows] = sim
            nearest[rows] = near_km
    return similar, nearest


def _neighbours(xyz: np.ndarray, sub: np.ndarray, codes: np.ndarray, chord: float) -> tuple[np.ndarray, np.ndarray]:
    """For accounts `codes`: how many won accounts `sub` (other than themselves) lie within `chord`, and the
    great-circle km to the nearest other one (NaN when there is none)."""
    pts = xyz[codes]
    # Counting within a radius: scikit-learn's KD-tree (counts whole nodes inside it); nearest neighbours:
    # SciPy's, twice as fast at it (the same distances).
    count = KDTree(xyz[sub], leaf_size=40).query_radius(pts, r=chord, count_only=True).astype(float)
    tree = cKDTree(xyz[sub])
    is_self = np.isin(codes, sub)
    near = np.full(len(codes), np.nan)
    others = ~is_self
    if others.any():
        near[others] = tree.query(pts[others], k=1)[0]
    if is_self.any() and len(sub) >= 2:
        dist, ind_ = tree.query(pts[is_self], k=2)
        first_self = sub[ind_[:, 0]] == codes[is_self]
        near[is_self] = np.where(first_self, dist[:, 1], dist[:, 0])
    return count - is_self, 2.0 * np.arcsin(np.clip(near / 2.0, 0.0, 1.0)) * EARTH_KM


def _month_start(values: Any) -> np.ndarray:
    return _days(values).astype("datetime64[M]").astype("datetime64[D]")


def training_frame(
    accounts: pd.DataFrame,
    deals: pd.DataFrame,
    feats: pd.DataFrame,
    spec: FeatureSpec,
    max_rows: int | None = None,
    random_state: int = 0,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Closed deals as training rows (features as of each deal's creation), labels, close dates and account ids.

    With more than max_rows closed deals, a sample of max_rows of them: the same share of every
    (close month, outcome) stratum, so the time split and the win rate stay as they are.
    """
    closed = deals[deals["is_closed"].fillna(False).astype(bool) & deals["close_date"].notna()].copy()
    known = feats.index.get_indexer(closed["account_id"].to_numpy()) >= 0  # hashing, unlike isin; reused below
    closed = closed[known]
    if closed["deal_id"].is_monotonic_increasing:  # as load_deals returns them: a stable sort by date suffices
        closed = closed.sort_values("close_date", kind="stable")
    else:
        closed = closed.sort_values(["close_date", "deal_id"], kind="stable")
    if max_rows is not None and len(closed) > max_rows:
        closed = closed.iloc[np.sort(stratified_sample(closed, max_rows, random_state))]
    created = closed["created_date"].fillna(closed["close_date"])
    # Similarity uses wins before the first of the creation month: a slightly older picture, never a later one.
    queries = pd.DataFrame(
        {"account_id": closed["account_id"].to_numpy(), "as_of": _days(created), "sim_ref": _month_start(created)}
    )
    hist = history_features(queries, accounts, deals)
    X = feats.reindex(closed["account_id"].to_numpy()).reset_index(drop=True)
    X = pd.concat([X, hist], axis=1)[spec.columns]
    y = closed["is_won"].fillna(False).astype(bool).to_numpy().astype(int)
    return X, y, _days(closed["close_date"]), closed["account_id"].to_numpy()


def stratified_sample(closed: pd.DataFrame, size: int, random_state: int = 0) -> np.ndarray:
    """Positions of `size` rows of closed deals: the same share of every (close month, outcome) stratum,
    chosen at random (deterministic for a random_state)."""
    month = _days(closed["close_date"]).astype("datetime64[M]").astype(np.int64)
    stratum = month * 2 + closed["is_won"].fillna(False).astype(bool).to_numpy().astype(np.int64)
    key = np.random.default_rng(random_state).random(len(closed))
    order = np.lexsort((key, stratum))
    s_sorted = stratum[order]
    first = np.r_[True, s_sorted[1:] != s_sorted[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    rank_in = np.arange(len(order)) - start
    sizes = np.diff(np.r_[np.flatnonzero(first), len(order)])
    # Exactly `size` rows: each stratum its share rounded down, the rest to the largest remainders.
    exact = sizes * (size / len(closed))
    quota = np.floor(exact).astype(np.int64)
    extra = np.argsort(-(exact - quota), kind="stable")[: max(0, size - int(quota.sum()))]
    quota[extra] += 1
    return order[rank_in < np.repeat(quota, sizes)]


def scoring_frame(accounts: pd.DataFrame, deals: pd.DataFrame, feats: pd.DataFrame, spec: FeatureSpec,
                  as_of: date) -> pd.DataFrame:  # fmt: skip
    """Every account's features as of today (the store's as-of date)."""
    ids = feats.index.to_numpy()
    queries = pd.DataFrame(
        {"account_id": ids, "as_of": np.datetime64(as_of, "D"), "sim_ref": np.datetime64(as_of, "D")}
    )
    hist = history_features(queries, accounts, deals)
    return pd.concat([feats.reset_index(drop=True), hist], axis=1)[spec.columns]


def single_feature_auc(x: pd.Series, y: np.ndarray) -> float:
    """How well one column alone separates wins from losses (0.5 = not at all; symmetric)."""
    if x.dtype == object:
        codes = filled(x, "(none)")
        rate = pd.Series(y).groupby(codes.to_numpy()).mean()
        values = codes.map(rate).to_numpy(dtype=float)
    else:
        values = pd.to_numeric(x, errors="coerce").astype(float)
        values = values.fillna(values.median() if values.notna().any() else 0.0).to_numpy()
    if len(np.unique(y)) < 2 or np.nanstd(values) == 0:
        return 0.5
    auc = float(roc_auc_score(y, values))
    return max(auc, 1 - auc)


_NO_LOCATION = "no account of a closed deal has a location, or none has a same-industry win nearby: nothing to measure"
_EMPTY_REASONS = {"similar_won": _NO_LOCATION, "nearest_won_km": _NO_LOCATION}
MIN_TRAIN_VALUES = 10  # a feature needs this many values among the deals it is fitted on


def drop_unlearnable(X: pd.DataFrame, spec: FeatureSpec, what: str) -> None:
    """Drop the columns the booster cannot learn from on the rows it is fitted on (`what` names them):
    fewer than MIN_TRAIN_VALUES values. A column empty on the fitted rows would crash the booster's binning."""
    for col in list(spec.columns):
        present = int(X[col].notna().sum())
        if present < MIN_TRAIN_VALUES:
            spec.exclude(col, f"a value on only {present:,} of the {len(X):,} {what}: too few to learn from")


def guard_leaks(X: pd.DataFrame, y: np.ndarray, spec: FeatureSpec, account_ids: np.ndarray | None = None) -> None:
    """Drop constant columns, and any custom attribute that gives the outcome away: alone it separates
    won from lost deals (AUC >= LEAK_AUC), or it tells accounts that ever won from the others almost
    exactly (a status set after a win, like 'customer since')."""
    for col in list(spec.columns):
        s = X[col]
        distinct = s.nunique(dropna=True)
        if distinct == 0:
            spec.exclude(col, _EMPTY_REASONS.get(col, "no value on any closed deal: nothing to learn"))
            continue
        if distinct == 1 and col not in HISTORY_FEATURES:
            spec.exclude(col, "the same value on every closed deal: nothing to learn")
            continue
        if not col.startswith("attr:"):
            continue
        auc = single_feature_auc(s, y)
        if auc >= LEAK_AUC:
            spec.exclude(col, f"separates won from lost deals almost perfectly on its own (AUC {auc:.2f}): "
                         "it is most likely recorded after the outcome")  # fmt: skip
            continue
        if account_ids is not None:
            per = (
                pd.DataFrame({"a": account_ids, "won": y, "v": s.to_numpy()})
                .groupby("a")
                .agg(won=("won", "max"), v=("v", "first"))
            )
            acc_auc = single_feature_auc(per["v"], per["won"].to_numpy())
            if acc_auc >= LEAK_ACCOUNT_AUC:
                spec.exclude(col, f"tells accounts that won from the rest almost exactly (AUC {acc_auc:.2f}): "
                             "it is most likely set after a win")  # fmt: skip
