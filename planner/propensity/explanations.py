"""Explanations of propensity scores: each account's top drivers in plain words.

A model stores, at training time, the partial dependence of each feature; explaining an account is then
a lookup, whatever the store size. The fit score explains itself by its parts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from planner.propensity.estimators import Bundle, FitScore, PropensityModel
from planner.propensity.features import FeatureSpec
from planner.text import filled, money

MIN_EFFECT = 0.02  # a driver must move the log-odds at least this much to count as raising or lowering
SHARE_OF_TOP = 0.25  # ...and at least this share of the account's strongest driver (a side effect is no reason)
PD_ROWS = 300  # background deals over which the model's partial dependence (for reasons) is averaged
PD_GRID = 32  # values per numeric feature at which the partial dependence is evaluated

# Features explained together (one reason each).
_GROUPS: dict[str, list[str]] = {
    "similar": ["similar_won", "nearest_won_km"],
    "history": ["prior_wins", "prior_losses"],
}


def _groups(spec: FeatureSpec) -> dict[str, list[str]]:
    grouped = {c for cols in _GROUPS.values() for c in cols}
    out = {g: [c for c in cols if c in spec.columns] for g, cols in _GROUPS.items()}
    out = {g: cols for g, cols in out.items() if cols}
    for c in spec.columns:
        if c not in grouped:
            out[c] = [c]
    return out


_STR = pa.string()
# ", top 0%" .. ", top 100%", ", bottom 0%" .. ", bottom 100%", and "" (no value): taken by position.
_RANKS = pa.array([f", top {i}%" for i in range(101)] + [f", bottom {i}%" for i in range(101)] + [""], _STR)


def _cat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of Arrow text arrays and plain strings (Arrow compute, no Python objects)."""
    return pc.binary_join_element_wise(*parts, "")


def _where(mask: pd.Series | np.ndarray, yes: pa.Array | str, no: pa.Array | str) -> pa.Array:
    flags = mask.to_numpy(dtype=bool) if isinstance(mask, pd.Series) else np.asarray(mask, dtype=bool)
    return pc.if_else(pa.array(flags), yes, no)


def _ints(values: pd.Series) -> pa.Array:
    """Whole numbers as decimal text, as str(int) writes them."""
    return pc.cast(pa.array(values.to_numpy(dtype=np.int64)), _STR)


def _arrow_text(values: Any) -> pa.Array:
    """Text (a pandas Series or an array of str) as an Arrow string array."""
    return pa.array(pd.Series(values, dtype="str")).cast(_STR)


def _by_value(values: pd.Series, words: Callable[[pd.Series], Any]) -> pa.Array:
    """`words` (element-wise text of a Series) computed once per distinct value, spread to every row."""
    codes, uniq = pd.factorize(values, use_na_sentinel=False)
    return _arrow_text(words(pd.Series(uniq, dtype=values.dtype))).take(pa.array(codes))


def _rank_phrase(values: pd.Series, population: pd.Series) -> pa.Array:
    """', top 10%' / ', bottom 20%' of each value among all accounts ('' where the value is missing)."""
    pop = np.sort(pd.to_numeric(population, errors="coerce").dropna().to_numpy(dtype=float))
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    if len(pop) == 0:
        return _RANKS.take(np.full(len(v), len(_RANKS) - 1))
    at_or_above = 1 - np.searchsorted(pop, v, "left") / len(pop)
    at_or_below = np.searchsorted(pop, v, "right") / len(pop)
    top = np.clip(np.ceil(at_or_above * 100), 1, 100).astype(int)
    bottom = np.clip(np.ceil(at_or_below * 100), 1, 100).astype(int)
    pos = np.where(np.isnan(v), len(_RANKS) - 1, np.where(top <= 50, top, 101 + bottom))
    return _RANKS.take(pos)


def _formatted(values: pd.Series, fmt: Callable[[Any], str]) -> pa.Array:
    """fmt applied once per distinct value (a million accounts share far fewer values)."""
    uniq, inverse = np.unique(values.to_numpy(), return_inverse=True)
    return pa.array([fmt(u) for u in uniq], _STR).take(inverse.ravel())


def _by_kind(kind: np.ndarray, texts: list[Callable[[np.ndarray], pa.Array | str]]) -> pa.Array:
    """Row i's text is texts[kind[i]] (called with the positions of the rows of that kind, returning their texts
    or one text for all of them): each text is built only for the rows that get it."""
    chunks: list[pa.Array] = []
    at = np.zeros(len(kind), dtype=np.int64)
    start = 0
    for k, text in enumerate(texts):
        rows = np.flatnonzero(kind == k)
        if not len(rows):
            continue
        made = text(rows)
        if isinstance(made, str):
            chunks.append(pa.array([made], _STR))
            at[rows] = start
            start += 1
        else:
            chunks.append(made)
            at[rows] = start + np.arange(len(rows))
            start += len(rows)
    return pa.concat_arrays(chunks).take(at) if chunks else pa.array([], _STR)


def _phrases(group: str, X: pd.DataFrame, bundle: Bundle, *, currency: str) -> pd.Series:
    """One plain-words description per account of the feature group's value (money in `currency`)."""
    return pd.Series(_phrase_text(group, X, bundle, currency=currency), index=X.index, dtype="str")


def _similar_text(X: pd.DataFrame, bundle: Bundle) -> pa.Array:
    """The "similar" group's sentence of each account (X indexed 0..n-1)."""
    idx = X.index

    def num(col: str) -> pd.Series:
        return pd.to_numeric(X[col], errors="coerce").astype(float)

    n = num("similar_won") if "similar_won" in X else pd.Series(np.nan, index=idx)
    d = num("nearest_won_km") if "nearest_won_km" in X else pd.Series(np.nan, index=idx)
    ind: pa.Array | None = _by_value(X["industry"], lambda u: filled(u, "") + " ") if "industry" in X else None

    def ind_of(rows: np.ndarray) -> pa.Array | str:
        return "" if ind is None else ind.take(rows)

    months = round(bundle.window_days / 30.4)
    within = f"within {bundle.radius_km:.0f} km in the last {months} months"
    count = n.fillna(0).astype(int).to_numpy()
    km = d.round(0).fillna(0).astype(int)

    def km_of(rows: np.ndarray) -> pa.Array:
        return _formatted(km.iloc[rows], "{:,}".format)

    # Which sentence each account gets; each is built for its own accounts only.
    kind = np.select([(n.isna() & d.isna()).to_numpy(), (n >= 2).to_numpy(), (n == 1).to_numpy(),
                      d.notna().to_numpy()], [0, 1, 2, 3], 4)  # fmt: skip
    return _by_kind(
        kind,
        [
            lambda r: "Location unknown: no similarity to recent wins",
            lambda r: _cat("Similar to ", _ints(pd.Series(count[r])), " ", ind_of(r), f"accounts won {within}"),
            lambda r: _cat("Similar to 1 ", ind_of(r), f"account won {within}"),
            lambda r: _cat("Nearest ", ind_of(r), f"win of the last {months} months is ", km_of(r), " km away"),
            lambda r: _cat("No ", ind_of(r), f"wins in the last {months} months nearby"),
        ],
    )


def _phrase_text(group: str, X: pd.DataFrame, bundle: Bundle, *, currency: str) -> pa.Array:
    """_phrases as an Arrow string array (text built by Arrow compute: a million accounts in well under a
    second, where Python strings took ten). Money is written in `currency` (the store's ISO code), whatever
    this run's: scoring runs in the CLI, after an import and on a worker thread, none of which a page set."""
    spec = bundle.spec
    X = X.reset_index(drop=True)  # numpy and Arrow check attributes of a Series: cheap on a RangeIndex
    idx = X.index

    def num(col: str) -> pd.Series:
        return pd.to_numeric(X[col], errors="coerce").astype(float)

    if group == "similar":
        return _similar_text(X, bundle)
    if group == "history":
        w = num("prior_wins").fillna(0).astype(int) if "prior_wins" in X else pd.Series(0, index=idx)
        lo = num("prior_losses").fillna(0).astype(int) if "prior_losses" in X else pd.Series(0, index=idx)
        # Facts, not verdicts: earlier deals, even lost ones, may raise a score ("▲ Lost 2 earlier deals" read
        # as a contradiction); the arrow says which way they moved it.
        won, lost = _cat(_ints(w), " won"), _cat(_ints(lo), " lost")
        both = _cat("Earlier deals: ", won, ", ", lost)
        one = _cat("Earlier deals: ", _where(w > 0, won, lost))
        return _where((w > 0) & (lo > 0), both, _where((w > 0) | (lo > 0), one, "No earlier deals"))
    col = group
    label = spec.labels.get(col, col)
    if col == "industry":
        overall = f", {_percent(bundle.fit.base_rate_)}% overall"
        counts = bundle.reference.get("industry_counts")

        def industry(values: pd.Series) -> Any:
            ind = filled(values, "(none)")
            rate = _shown_rates(bundle, ind)
            name = ("Industry " + ind).where(ind != "(none)", "Industry unknown")
            shown = (rate * 100).round(0).fillna(0).astype(int).astype(str)
            if counts is None:  # a version trained before the counts were kept: its smoothed rate, said as one
                said = name + ": an estimated " + shown + "% of the company's deals won" + overall
            else:  # what happened: "0% of the company's deals won (0 of 41)"
                won = ind.map(lambda k: f"{counts[k][0]:,} of {counts[k][1]:,}" if k in counts else "")
                said = name + ": " + shown + "% of the company's deals won (" + won + ")" + overall
            return np.where(rate.notna(), said, name)

        return _by_value(X[col], industry)
    if col in spec.categorical:

        def category(values: pd.Series) -> Any:
            val = values.astype(object)
            return np.where(val.notna(), label + ": " + val.astype(str), label + " unknown")

        return _by_value(X[col], category)
    v = num(col)
    pop = bundle.reference.get("population", {}).get(col)
    rank = _rank_phrase(v, pd.Series(pop if pop is not None else v))
    kind = spec.attr_kinds.get(col)
    text: pa.Array
    if col == "new_executive" or kind == "boolean":
        yes = "New executive in the last 90 days" if col == "new_executive" else label + ": yes"
        no = "No new executive in the last 90 days" if col == "new_executive" else label + ": no"
        text = _where(v >= 0.5, yes, no)
    elif col == "intent_score":
        text = _cat("Intent score ", _ints(v.round(0).fillna(0).astype(int)), rank)
    elif col == "employees":
        text = _cat(_formatted(v.fillna(0).astype(int), "{:,}".format), " employees", rank)
    elif col == "annual_revenue":
        text = _cat("Annual revenue ", _formatted(v.fillna(0), lambda x: money(x, currency=currency)), rank)
    elif col == "employee_growth":
        text = _cat("Employee growth ", _formatted(v.fillna(0), "{:+.0%}".format), " in 12 months", rank)
    elif col == "website_visits":
        text = _cat(_formatted(v.fillna(0).astype(int), "{:,}".format), " website visits in 30 days", rank)
    else:
        text = _cat(label + " ", _formatted(v, _plain), rank)
    return _where(v.isna(), label + " unknown", text)


def _shown_rates(bundle: Bundle, industry: pd.Series) -> pd.Series:
    """Each industry's share of the company's deals won, as its reason quotes it: the observed share (won / closed
    deals the version learned from), or for a version trained before those counts were kept, the fit score's
    smoothed rate. NaN for an industry without deals."""
    counts = bundle.reference.get("industry_counts")
    if counts is None:
        return industry.map(bundle.reference.get("industry_rates") or {}).astype(float)
    observed = {k: won / n for k, (won, n) in counts.items() if n}
    return industry.map(observed).astype(float)


def _percent(rate: float) -> int:
    """A win rate as the reasons show it: whole percent."""
    return int(round(float(rate) * 100))


def _plain(x: float) -> str:
    """A custom field's value as people write it: 427,400 (not 4.274e+05), 12.5, 0.0031."""
    return f"{x:,.0f}" if abs(x) >= 1_000 else f"{x:,.4g}"


def partial_dependence(
    model: PropensityModel,
    X: pd.DataFrame,
    columns: list[str],
    categorical: list[str],
    rows: int = PD_ROWS,
    grid: int = PD_GRID,
    random_state: int = 0,
) -> dict[str, dict[str, Any]]:
    """The model's average log-odds (first booster) as each feature alone takes each of its values.

    Per column: `grid` (encoded values: category codes, or quantiles of a number), `value` (mean log-odds
    over `rows` background deals with the column set to that value), `missing` (the same for an unknown
    value) and `neutral`: the log-odds averaged over the deals' own values of the column, an unknown value
    counted as often as the deals lack one, what an account's value is judged against (a median or most
    common value may itself lift the score: then the accounts that have it read as typical, and a value
    known on few deals reads as a departure for all the others). Computed once at training; explaining an
    account is then a lookup, whatever the store size.
    """
    A = model.encode(X)
    sel = np.sort(np.random.default_rng(random_state).permutation(len(A))[:rows])
    background = A[sel]
    blocks: list[np.ndarray] = []
    grids: dict[str, np.ndarray] = {}
    for i, c in enumerate(columns):
        v = A[:, i][np.isfinite(A[:, i])]
        if c in categorical:
            g = np.unique(v)
        else:
            g = np.unique(np.quantile(v, np.linspace(0.0, 1.0, grid))) if len(v) else np.array([])
        grids[c] = g
        for value in np.r_[g, np.nan]:
            b = background.copy()
            b[:, i] = value
            blocks.append(b)
    means = model.raw_encoded(np.vstack(blocks)).reshape(-1, len(background)).mean(axis=1)
    out: dict[str, dict[str, Any]] = {}
    at = 0
    for c in columns:
        k = len(grids[c])
        out[c] = {"grid": grids[c], "value": means[at : at + k], "missing": float(means[at + k])}
        at += k + 1
    for i, c in enumerate(columns):
        if len(A):
            out[c]["neutral"] = float(_effect(out[c], A[:, i], c in categorical).mean())
    return out


def _effect(table: dict[str, Any], values: np.ndarray, categorical: bool) -> np.ndarray:
    """Look up a column's partial dependence at encoded values (linear between numeric grid points)."""
    grid, value = table["grid"], table["value"]
    out = np.full(len(values), table["missing"], dtype=float)
    ok = np.isfinite(values)
    if not len(grid) or not ok.any():
        return out
    if categorical:
        pos = np.clip(np.searchsorted(grid, values[ok]), 0, len(grid) - 1)
        hit = grid[pos] == values[ok]
        out[np.flatnonzero(ok)[hit]] = value[pos[hit]]
    else:
        out[ok] = np.interp(values[ok], grid, value)
    return out


def encoded(bundle: Bundle, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """X and the typical account as the model's first booster reads them (None for the fit score). Made in the
    caller's thread: the column transform runs under scikit-learn's Parallel, whose catch_warnings is not
    thread-safe (two threads in it at once can leave the process with no warning filters at all)."""
    if bundle.kind != "model" or bundle.model is None:
        return None
    typical = pd.DataFrame([{c: bundle.reference["typical"].get(c, np.nan) for c in bundle.spec.columns}])
    return bundle.model.encode(X), bundle.model.encode(typical)[0]


def contributions(
    bundle: Bundle, X: pd.DataFrame, encoded_x: tuple[np.ndarray, np.ndarray] | None = None, held: tuple[str, ...] = ()
) -> pd.DataFrame:
    """How much each feature group moves each account's score, vs the typical value.

    Models store the partial dependence of each feature (see partial_dependence): a group's contribution is
    the change of its features' partial dependence from the typical value to the account's. Older model
    versions without it fall back to occlusion (one prediction per group). `encoded_x`: what encoded(bundle, X)
    returns, when the caller made it already. `held`: columns the caller holds at their typical value for every
    account (revenue in a store of several currencies): they move no score, so they are no driver.
    """
    groups = {g: cols for g, cols in _groups(bundle.spec).items() if not set(cols) <= set(held)}
    if bundle.kind == "model" and bundle.model is not None:
        model = bundle.model
        got = encoded_x or encoded(bundle, X)
        assert got is not None  # a model
        A, ref = got
        pos = {c: i for i, c in enumerate(bundle.spec.columns)}
        effects = bundle.reference.get("effects")
        out = {}
        if effects is not None:
            for g, cols in groups.items():
                total = np.zeros(len(A))
                for c in cols:
                    cat = c in bundle.spec.categorical
                    total += _effect(effects[c], A[:, pos[c]], cat) - _neutral(effects[c], ref[pos[c]], cat)
                out[g] = total
            return _agreeing(bundle, X, pd.DataFrame(out, index=X.index))
        base = model.raw_encoded(A)
        for g, cols in groups.items():
            saved = {pos[c]: A[:, pos[c]].copy() for c in cols}
            for i in saved:
                A[:, i] = ref[i]
            out[g] = base - model.raw_encoded(A)
            for i, col in saved.items():
                A[:, i] = col
        return pd.DataFrame(out, index=X.index)
    comp = bundle.fit.components(X)
    comp = comp - comp.mean()
    kept = {g: comp[g] for g in ("industry", "employees", "annual_revenue") if g in groups}
    return _agreeing(bundle, X, pd.DataFrame(kept, index=X.index))


def _neutral(table: dict[str, Any], typical: float, categorical: bool) -> float:
    """What a feature's effect is measured from: the average effect over the deals' values (see
    partial_dependence). Models trained before it was stored: for a number, the effect at the typical
    (median) value; for a category, the average over the categories seen (a category's since 2026-11)."""
    if "neutral" in table:
        return float(table["neutral"])
    if not categorical:
        return float(_effect(table, np.array([typical]), False)[0])
    return float(np.mean(table["value"])) if len(table["value"]) else float(table["missing"])


def _agreeing(bundle: Bundle, X: pd.DataFrame, contrib: pd.DataFrame) -> pd.DataFrame:
    """The contributions, less an industry's where it contradicts the win rate its reason quotes: an industry
    that won more deals than the book as a whole never reads as lowering the score, nor one that won fewer as
    raising it (the model may credit the difference to other drivers); it is then no reason at all."""
    if "industry" not in contrib or "industry" not in X or not bundle.reference.get("industry_rates"):
        return contrib
    shown = np.round(_shown_rates(bundle, filled(X["industry"], "(none)")).to_numpy(dtype=float) * 100)
    book = _percent(bundle.fit.base_rate_)
    effect = contrib["industry"].to_numpy(dtype=float)
    against = ((effect > 0) & (shown <= book)) | ((effect < 0) & (shown >= book))  # (NaN: unknown rate, kept)
    if against.any():
        contrib = contrib.copy()
        contrib.loc[against, "industry"] = 0.0
    return contrib


RAISES = "\u25b2"  # ▲ a driver that raises the score above a typical account's
LOWERS = "\u25bc"  # ▼ one that lowers it
LOWERED = " (lowers the score)"  # said after a driver that lowers it


def drivers(contrib: pd.DataFrame, top: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Each account's top drivers: (column index, direction) per slot, `top` slots per account.

    Drivers that raise the score come first (strongest first), then those that lower it (strongest first);
    a driver that moves the score by less than MIN_EFFECT either way, or by less than SHARE_OF_TOP of the
    account's strongest driver, is no reason at all (direction 0): an account lifted by a new executive is
    not explained by the crumbs a noisy column adds.
    """
    mag = contrib.to_numpy(dtype=float)
    floor = np.maximum(MIN_EFFECT, SHARE_OF_TOP * np.abs(mag).max(axis=1, initial=0.0))[:, None]
    key = np.where(mag >= floor, mag + 1e6, np.where(mag <= -floor, -mag, -np.inf))
    order = np.argsort(-key, axis=1, kind="stable")[:, :top]
    picked = np.take_along_axis(mag, order, axis=1)
    direction = np.where(picked >= floor, 1, np.where(picked <= -floor, -1, 0))
    return order, direction


TYPICAL = "Close to a typical account on every driver"


def reasons(
    bundle: Bundle,
    X: pd.DataFrame,
    top: int = 3,
    encoded_x: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    currency: str,
    held: tuple[str, ...] = (),
) -> pd.Series:
    """Each account's top drivers in plain words with their direction, joined by '; ' (one per row of X, in
    its order, indexed 0..n-1).

    "▲ Intent score 88, top 5%" raised the score; a driver that lowered it appears only after those, as
    "▼ 25,000 employees, top 9% (lowers the score)". Drivers too weak to move the score are left out; an
    account typical on every driver says so. `encoded_x`: what
    encoded(bundle, X) returns, made in the caller's thread when this runs in another. Money is written in
    `currency`, the store's ISO code (reasons are stored, and read on every page and plan).
    """
    contrib = contributions(bundle, X, encoded_x, held)
    if contrib.empty:
        return pd.Series([""] * len(X), dtype="str")
    order, direction = drivers(contrib, top)
    shown = direction != 0
    form = np.where(direction == 1, 1, 2)  # how each shown driver reads: 1 raised it, 2 "... (lowers the score)"
    # Every piece of text is built once, by Arrow compute, into one array after "" and the typical text.
    chunks: list[pa.Array] = [pa.array(["", TYPICAL], _STR)]
    where = np.zeros(order.shape, dtype=np.int64)
    where[~shown.any(axis=1), 0] = 1
    start = 2
    for gi, g in enumerate(contrib.columns):
        hit = (order == gi) & shown  # a group takes at most one slot of a row
        rows = hit.any(axis=1)
        if not rows.any():
            continue
        needs = [c for c in (*_GROUPS.get(g, [g]), "industry") if c in X.columns]  # (industry: similar's)
        phrase = _phrase_text(g, X.loc[rows, list(dict.fromkeys(needs))], bundle, currency=currency)
        r, slot = np.nonzero(hit)  # row by row: the k-th hit is the k-th phrase
        kind = form[r, slot]
        for k in (1, 2):
            sel = np.flatnonzero(kind == k)
            if not len(sel):
                continue
            w = phrase.take(sel)
            # ("▼ despite 25,000 employees" read as if size were bad news; the arrow and the words now agree.)
            piece = _cat(RAISES + " ", w) if k == 1 else _cat(LOWERS + " ", w, LOWERED)
            where[r[sel], slot[sel]] = start + np.arange(len(sel))
            chunks.append(piece)
            start += len(sel)
    # Each row's pieces in slot order (the typical text where none is shown), joined by "; " in one go.
    keep = shown.copy()
    keep[~shown.any(axis=1), 0] = True
    offsets = np.r_[0, np.cumsum(keep.sum(axis=1))].astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), pa.concat_arrays(chunks).take(where[keep]))
    return pd.Series(pc.binary_join(lists, "; "), dtype="str")


def _distribution(values: np.ndarray, points: int = 2001) -> np.ndarray:
    """Sorted values, or their quantiles when there are many (enough for 'top 10%', a fraction of the size)."""
    values = np.sort(values)
    return values if len(values) <= points else np.quantile(values, np.linspace(0.0, 1.0, points))


def reference(X: pd.DataFrame, spec: FeatureSpec, population: pd.DataFrame, fit: FitScore) -> dict[str, Any]:
    """What explanations compare an account with: typical values, population distributions, industry win rates."""
    typical: dict[str, Any] = {}
    for c in spec.numeric:
        med = pd.to_numeric(X[c], errors="coerce").median()
        typical[c] = float(med) if pd.notna(med) else np.nan
    for c in spec.categorical:
        mode = X[c].dropna().astype(str).mode()
        typical[c] = str(mode.iloc[0]) if len(mode) else np.nan
    pop = {c: _distribution(pd.to_numeric(population[c], errors="coerce").dropna().to_numpy(dtype=float))
           for c in spec.numeric if c in population.columns}  # fmt: skip
    out = {"typical": typical, "population": pop, "industry_rates": dict(fit.industry_rates_)}
    if hasattr(fit, "industry_counts_"):  # (a FitScore unpickled from before the counts were kept has none)
        out["industry_counts"] = {k: (int(w), int(n)) for k, (w, n) in fit.industry_counts_.items()}
    return out
