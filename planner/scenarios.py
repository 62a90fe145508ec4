"""Rebalancing scenarios: run the optimizer on the store, save, compare, commit, restore, export.

Shared by the Rebalance page and `python -m planner balance`. Reads take a Scope (rebalancing
looks at the whole book, so a rep's scope is refused); writes go through store.write, all or nothing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from planner import crm_files, geo, optimize, store
from planner.coverage import value
from planner.coverage.imbalance import imbalance_table
from planner.coverage.workload import load_workload
from planner.errors import BadInput, PlannerError
from planner.optimize import matrix
from planner.optimize.options import COLUMN
from planner.scope import Scope, require_admin, require_leader
from planner.store import scenarios as q
from planner.text import json_safe, listing, one_line

CRM_FORMATS = crm_files.FORMATS
CHANGE_LABELS = {"moved": "moved", "newly_assigned": "newly assigned", "unassigned": "unassigned"}


def owner_change(previous: pd.Series, new: pd.Series) -> pd.Series:
    """What happens to each account's owner: 'moved' (from one rep to another), 'newly assigned' (had no owner),
    'unassigned' (loses its owner) or '' (unchanged). The one definition behind every count of the page, the
    commit message, the CLI and the files, so they agree."""
    prev = previous.astype(object).where(previous.notna(), None).reset_index(drop=True)
    after = new.astype(object).where(new.notna(), None).reset_index(drop=True)
    had, has = prev.notna(), after.notna()
    out = pd.Series("", index=prev.index, dtype=object)
    out[had & has & (prev != after)] = CHANGE_LABELS["moved"]
    out[~had & has] = CHANGE_LABELS["newly_assigned"]
    out[had & ~has] = CHANGE_LABELS["unassigned"]
    out.index = previous.index
    return out


def owner_changes(previous: pd.Series, new: pd.Series, leaving: set[str] | None = None) -> dict[str, int]:
    """Counts of owner_change: moved, newly_assigned, unassigned and changed (their sum); owner_leaves: of the
    moved, accounts given a new owner because their owner (one of `leaving`) leaves, not counted in moved."""
    change = owner_change(previous, new)
    kinds = change.value_counts()
    counts = {k: int(kinds.get(label, 0)) for k, label in CHANGE_LABELS.items()}
    left = int(((change == CHANGE_LABELS["moved"]) & previous.isin(leaving or set())).sum())
    return {**counts, "moved": counts["moved"] - left, "owner_leaves": left, "changed": sum(counts.values())}


def result_changes(result: optimize.Result) -> dict[str, int]:
    """owner_changes of an optimizer result, its leavers (owners not on its team: removed or inactive) apart."""
    a, team = result.assignments, result.reps[~result.reps["removed"].astype(bool)]["rep_id"]
    return owner_changes(a["previous_owner"], a["owner"], set(a["previous_owner"].dropna()) - set(team))


def describe_changes(c: dict[str, int]) -> str:
    """'831 accounts move to another rep, 95 unowned accounts get an owner, none lose their owner'."""

    def n(count: int, one: str, many: str) -> str:
        return f"{count:,} {one if count == 1 else many}"

    left = c.get("owner_leaves", 0)
    leaves = f"{n(left, 'account is', 'accounts are')} given a new owner because their owner leaves, " if left else ""
    lost = "none lose their owner" if not c["unassigned"] else n(c["unassigned"], "account loses", "accounts lose") + (
        " its owner" if c["unassigned"] == 1 else " their owner")  # fmt: skip
    return (
        f"{leaves}{n(c['moved'], 'account moves', 'accounts move')} to another rep, "
        f"{n(c['newly_assigned'], 'unowned account gets', 'unowned accounts get')} an owner, {lost}"
    )


def team(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Today's reps (active and not) as the optimizer sees them: what the what-if controls need."""
    require_leader(scope)
    return q.rebalance_reps(con, scope=scope)


def inputs(con: duckdb.DuckDBPyConnection, *, scope: Scope, metric: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accounts (with the expected value every page shows: planner.coverage.value, and the custom column of each
    `column:NAME` in `metric`) and reps. Reps without a home get one for this run (with_homes; reps.attrs["notes"])."""
    require_leader(scope)
    wanted = tuple(m[len(COLUMN) :] for m in map(str.strip, metric.split(",")) if m.startswith(COLUMN))
    acc = q.rebalance_accounts(con, scope=scope, attributes=wanted)
    basis = value.expected_value_basis(con, scope=scope)
    ev = value.account_values(con, scope=scope, basis=basis)[["account_id", "expected_value"]]
    acc = acc.drop(columns=["expected_value"], errors="ignore").merge(ev, on="account_id", how="left")
    acc.attrs["expected_value_source"] = basis.note
    return acc, with_homes(acc, q.rebalance_reps(con, scope=scope))


US_CENTRE = (39.8, -98.6)  # where the optimizer puts accounts when no account has a location
NO_PLACE_NOTE = (
    "Travel cannot be measured: no account has a location, so territories are balanced on the metric alone and "
    "travel figures are 0 km. Import addresses, cities or countries to measure travel."
)


def with_homes(acc: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """Reps, each with a home to measure travel from (issue #14 point 5), for one run; nothing is stored.

    A rep without a home starts from the weighted medoid of their placed accounts (geo.weighted_medoid, weights:
    potential, at least 1; the rule the import uses to infer homes), else from the whole book's medoid. When no
    account has a location, travel cannot be measured: every home and account sits at one point and the
    territories are balanced on the metric alone. reps.attrs["notes"] says which of these happened."""
    out = reps.copy()
    out.attrs["notes"] = []
    missing = out["home_lat"].isna() | out["home_lon"].isna()
    if out.empty or not missing.any():
        return out
    lat = pd.to_numeric(acc["lat"], errors="coerce")
    lon = pd.to_numeric(acc["lon"], errors="coerce")
    placed = lat.notna() & lon.notna()
    names = listing(out.loc[missing, "name"].fillna(out.loc[missing, "rep_id"]).astype(str).tolist(), 3)
    if not placed.any():
        out.loc[missing, ["home_lat", "home_lon"]] = US_CENTRE
        out.attrs["notes"].append(NO_PLACE_NOTE)  # travel_table drops it when a matrix prices every account
        return out
    pot = acc["potential"] if "potential" in acc else pd.Series(1.0, index=acc.index)
    frame = pd.DataFrame(
        {"rep": acc.loc[placed, "owner_rep_id"], "lat": lat[placed], "lon": lon[placed],
         "w": pd.to_numeric(pot, errors="coerce").fillna(0).clip(lower=1)[placed]}
    )  # fmt: skip
    places = frame.groupby(["rep", "lat", "lon"], dropna=False, sort=True)["w"].sum().reset_index()
    homes = {rid: geo.weighted_medoid(g["lat"], g["lon"], g["w"]) for rid, g in places.groupby("rep", sort=False)}
    if not set(out.loc[missing, "rep_id"]) <= set(homes):  # a rep with no placed account: the book's medoid
        book = frame.groupby(["lat", "lon"], sort=True)["w"].sum().reset_index()
        centre = geo.weighted_medoid(book["lat"], book["lon"], book["w"])
    for i in out.index[missing]:
        out.at[i, "home_lat"], out.at[i, "home_lon"] = homes.get(out.at[i, "rep_id"]) or centre
    out.attrs["notes"].append(
        f"{names} {'has' if missing.sum() == 1 else 'have'} no home: travel is measured from the place "
        "of their accounts (or of the whole book) with the least travel to the others for this run. Set homes "
        "with `python -m planner rep-home` or on the Data page."
    )
    return out


def with_workload(con: duckdb.DuckDBPyConnection, options: optimize.Options) -> optimize.Options:
    """The options with the store's workload assumptions unless they carry their own."""
    return options if options.workload is not None else replace(options, workload=load_workload(con))


def run(
    con: duckdb.DuckDBPyConnection,
    options: optimize.Options,
    progress: optimize.Progress = optimize.noop,
    *,
    scope: Scope,
    travel_matrix: bytes | None = None,
    matrix_name: str = "upload",
) -> optimize.Result:
    """Rebalance today's store under `options` (nothing is written).

    With `travel_matrix` (a CSV's bytes: planner.optimize.matrix) travel is the file's minutes or km
    between reps and accounts instead of great-circle km.
    """
    acc, reps = inputs(con, scope=scope, metric=options.metric)
    distance = None if travel_matrix is None else travel_table(travel_matrix, acc, reps, options, matrix_name)
    result = optimize.rebalance(acc, reps, with_workload(con, options), progress, distance=distance)
    result.summary["notes"] = [*reps.attrs.get("notes", []), *result.summary.get("notes", [])]
    return result


def route_pairs(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """The pairs a routing engine must price for today's book (planner.optimize.matrix.route_pairs): the CSV the
    Rebalance page and `balance --travel-template FILE` give to fill in and bring back as the travel matrix."""
    acc, reps = inputs(con, scope=scope)
    return matrix.route_pairs(acc, reps)


def route_pair_count(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> tuple[int, int]:
    """How many rows route_pairs() gives (active reps x destinations with a place), and how many accounts it leaves
    out (no place), from counts in the store: what a page checks before it offers the file (the accounts
    themselves load only when it is made)."""
    reps = q.rebalance_reps(con, scope=scope)
    destinations, left_out = q.route_destinations(con, scope=scope)
    return int(matrix.active_reps(reps).sum()) * destinations, left_out


def travel_table(
    source: Path | bytes, acc: pd.DataFrame, reps: pd.DataFrame, options: optimize.Options, name: str | None = None
) -> pd.DataFrame:
    """The accounts x reps travel table of a matrix file for a scenario (new hires have no rows in it)."""
    if options.add_reps:
        hires = ", ".join(r.name for r in options.add_reps[:3])
        raise BadInput(
            f"the travel matrix has no rows for new hires ({hires}); plan hires without a travel matrix, or "
            "add them as reps with a home and give their rows"
        )
    table = matrix.read_travel_matrix(source, acc, reps, name)
    # Accounts without a location take the travel they would without a matrix (the table's notes say so); a file
    # that prices every account measures travel even where no place is known: with_homes' note would be false.
    notes = [n for n in reps.attrs.get("notes", []) if n != NO_PLACE_NOTE or table.attrs.get("unplaced")]
    reps.attrs["notes"] = [*notes, *table.attrs.get("notes", [])]
    return table


def disruption_curve(
    con: duckdb.DuckDBPyConnection,
    options: optimize.Options,
    progress: optimize.Progress = optimize.noop,
    *,
    scope: Scope,
    travel_matrix: bytes | None = None,
    matrix_name: str = "upload",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Travel and balance against the share moved, and what the default rules cost (see
    optimize.disruption_curve)."""
    acc, reps = inputs(con, scope=scope, metric=options.metric)
    distance = None if travel_matrix is None else travel_table(travel_matrix, acc, reps, options, matrix_name)
    return optimize.disruption_curve(acc, reps, with_workload(con, options), distance=distance, progress=progress)


def capacity_curve(
    con: duckdb.DuckDBPyConnection,
    options: optimize.Options,
    team_sizes: tuple[int, ...],
    progress: optimize.Progress = optimize.noop,
    *,
    scope: Scope,
) -> pd.DataFrame:
    """Imbalance, coverage and travel for each team size (see optimize.capacity_curve)."""
    acc, reps = inputs(con, scope=scope, metric=options.metric)
    return optimize.capacity_curve(acc, reps, with_workload(con, options), list(team_sizes), progress)


@store.retry_conflicts
def save(path: Path, name: str, result: optimize.Result, actor: str, *, scope: Scope) -> int:
    """Save a result as a named draft scenario; returns its id (admins and leaders)."""
    require_leader(scope)
    name = _name(name)
    with store.write(path) as con:
        store.versions.declare(con, store.versions.SCENARIOS)  # the optimizer's inputs stay as they were
        return _save(con, name, result, actor, scope=scope)


def _name(name: str) -> str:
    if not name.strip():
        raise BadInput("a scenario needs a name; type one, e.g. 'Q3 with two hires'")
    return name.strip()


def _save(con: duckdb.DuckDBPyConnection, name: str, result: optimize.Result, actor: str, *, scope: Scope) -> int:
    reps = result.reps[~result.reps["removed"].astype(bool)]
    sid = q.insert_scenario(
        con, name, actor, json_safe(result.options.to_dict()), json_safe(result.summary), reps,
        result.assignments, scope=scope,
    )  # fmt: skip
    q.audit(con, actor, "scenario.save", {"scenario_id": sid, "name": name}, scope=scope)
    return sid


@store.retry_conflicts
def save_and_commit(
    path: Path, name: str, result: optimize.Result, actor: str, *, scope: Scope, keep_later: bool = False
) -> dict[str, Any]:
    """Save a result as a scenario and commit it (see `commit`) in one write: stopped half-way (Ctrl-C), neither
    lands. A commit refused because owners changed meanwhile leaves the scenario saved, as its message says (to
    commit keeping those changes). Returns the commit's detail, its scenario_id among it (admins)."""
    require_admin(scope)
    name = _name(name)
    with store.write(path) as con:
        sid = _save(con, name, result, actor, scope=scope)
        try:
            return _commit(con, sid, actor, scope=scope, keep_later=keep_later)
        except BadInput as exc:  # _commit refuses before it writes anything: the saved scenario alone lands
            refused = exc
    raise refused


def list_scenarios(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Saved scenarios with headline figures decoded from their results."""
    require_leader(scope)
    df = q.list_scenarios(con, scope=scope)

    res = [json.loads(r or "{}") for r in df["result"]]
    df["max_mean_before"] = [r.get("max_mean_before") for r in res]
    df["max_mean_after"] = [r.get("max_mean_after") for r in res]
    df["moved_share"] = [r.get("moved_share") for r in res]
    df["travel_km_after"] = [r.get("travel_km_after") for r in res]
    df["metric"] = [r.get("metric") for r in res]
    return df.drop(columns=["params", "result"])


def compare(con: duckdb.DuckDBPyConnection, scenario_ids: list[int], *, scope: Scope) -> dict[str, Any]:
    """Side-by-side summaries and per-rep figures of several scenarios (and today, 'Before' the first): potential
    and accounts, and every other metric a scenario balanced, as the optimizer counts it (optimize.metric_values:
    workload from the nearest of that scenario's reps). "metrics": the balanced metrics of the scenarios, in order,
    potential first; "notes": a metric that could not be counted today, and why."""
    require_leader(scope)
    summaries, per_rep, metrics, notes = {}, [], ["potential"], []
    book: tuple[pd.DataFrame, pd.DataFrame] | None = None  # today's accounts and reps, read once when needed
    first: pd.DataFrame | None = None  # the first scenario's rows: today's owners ('Before')
    counted = pd.DataFrame()  # each metric beyond potential and accounts as the first scenario to balance it counts it
    for sid in scenario_ids:
        rec = q.scenario_record(con, sid, scope=scope)
        summaries[sid] = rec
        asg = q.scenario_assignments(con, sid, scope=scope)
        first = asg if first is None else first
        try:
            opts = optimize.Options.from_dict(rec["params"] or {})
            balanced = list(opts.metric_weights())
            extra = [m for m in balanced if m not in ("potential", "accounts")]  # those two come with the rows
            if extra and (book is None or COLUMN in opts.metric):  # again for each scenario's own column: metrics
                book = inputs(con, scope=scope, metric=opts.metric)
            values = (
                optimize.metric_values(*book, with_workload(con, opts))[extra] if book and extra else pd.DataFrame()
            )
        except PlannerError as exc:
            notes.append(f"#{sid} {rec['name']}: its metrics cannot be counted on today's book ({exc})")
            balanced, extra, values = [], [], pd.DataFrame()
        metrics += [m for m in balanced if m not in metrics]
        counted = counted.join(values.drop(columns=list(counted.columns), errors="ignore"), how="outer")
        per_rep.append(_per_rep(asg.join(values, on="account_id"), "rep_id", "owner_name", extra))
        per_rep[-1]["scenario"] = f"#{sid} {rec['name']}"
    if first is not None:
        before = first.dropna(subset=["previous_rep_id"]).join(counted, on="account_id")
        per_rep.insert(0, _per_rep(before, "previous_rep_id", "previous_owner_name", list(counted.columns)))
        per_rep[0] = per_rep[0].rename(columns={"previous_rep_id": "rep_id", "previous_owner_name": "owner_name"})
        per_rep[0]["scenario"] = "Before"
    table = pd.concat(per_rep, ignore_index=True) if per_rep else pd.DataFrame()
    metrics = [m for m in metrics if table.empty or m in table]  # a metric no scenario could count is not drawn
    return {"scenarios": summaries, "per_rep": table, "metrics": metrics, "notes": notes}


def _per_rep(rows: pd.DataFrame, rep: str, name: str, extra: list[str]) -> pd.DataFrame:
    """Potential, accounts and the `extra` metrics summed per rep of the `rep` column."""
    sums = {m: (m, "sum") for m in extra}
    g = rows.groupby([rep, name], dropna=False).agg(potential=("potential", "sum"), accounts=("account_id", "count"),
                                                    **sums)  # fmt: skip
    return g.reset_index()


KEEP_LATER = (
    "commit it keeping those later changes ('Commit, keeping later changes' on the Rebalance page, "
    "`balance --commit --keep-later` on the command line), or"
)


@store.retry_conflicts
def commit(path: Path, scenario_id: int, actor: str, *, scope: Scope, keep_later: bool = False) -> dict[str, Any]:
    """Make a saved scenario today's assignment: keep the current one as a version first, hire its new
    reps, retire its removed reps, move its accounts, mark it committed and log it.

    Owners changed since the scenario was computed (an import, another commit) refuse the commit unless
    `keep_later`: then only the scenario's own moves are written, every later change stays (an account both
    changed since and moved by the scenario keeps today's owner), and the detail says how many were kept and
    what the merge does to balance (_merge_balance)."""
    require_admin(scope)
    with store.write(path) as con:
        return _commit(con, scenario_id, actor, scope=scope, keep_later=keep_later)


def _commit(
    con: duckdb.DuckDBPyConnection, scenario_id: int, actor: str, *, scope: Scope, keep_later: bool
) -> dict[str, Any]:
    rec = q.scenario_record(con, scenario_id, scope=scope)
    rows = merge_rows(q.scenario_assignments(con, scenario_id, scope=scope))
    kept = merge_counts(rows)
    if not keep_later:  # raising here writes nothing: the write rolls back
        refuse_if_stale(kept["later_changes_kept"], scenario_id, rec["name"])
        kept = dict.fromkeys(kept, 0)
    balance = _merge_balance(con, rec, rows, scope=scope) if keep_later else None  # before hires change the team
    reps = q.scenario_reps(con, scenario_id, scope=scope)
    version = q.snapshot_assignment(con, actor, f"before scenario {scenario_id} ({rec['name']})", scope=scope)
    q.add_reps(con, reps[reps["is_new"].fillna(False).astype(bool)], scope=scope)
    params = rec["params"]
    q.set_capacities(con, {str(k): float(v) for k, v in params.get("capacities") or []}, scope=scope)
    written = rows[rows["apply"]] if keep_later else rows
    counts = owner_changes(written["today_rep_id"], written["rep_id"], set(written["today_rep_id"].dropna()) - set(
        reps["rep_id"]))  # fmt: skip
    deals = q.record_deal_owners(con, written[["account_id", "rep_id"]], scenario_id, scope=scope)
    changed = q.apply_owners(con, written[["account_id", "rep_id"]], f"scenario:{scenario_id}", scope=scope)
    still = q.deactivate_reps(con, [str(r) for r in params.get("remove_reps") or []], scope=scope)
    q.mark_committed(con, scenario_id, actor, scope=scope)
    detail = {"scenario_id": scenario_id, "name": rec["name"], "accounts_changed": changed,
              "moved": counts["moved"], "owner_leaves": counts["owner_leaves"],
              "newly_assigned": counts["newly_assigned"], "unassigned": counts["unassigned"],
              "deals_moved": deals, "previous_version": version, "keep_later": keep_later,
              "later_changes_kept": kept["later_changes_kept"],
              "conflicts_kept_today": kept["conflicts_kept_today"], "reps_kept_active": still,
              "notes": [_kept_active_note(still)] if still else []}  # fmt: skip
    if balance is not None:
        detail["balance"] = json_safe(balance.to_dict("records"))
        detail["balance_notes"] = balance.attrs["notes"]
    q.audit(con, actor, "scenario.commit", detail, scope=scope)
    return detail


def _kept_active_note(still: dict[str, int]) -> str:
    """Why reps the scenario removes are still on the team: accounts added or given to them since it was computed."""
    who = ", ".join(f"{name} ({n:,} account{'s' * (n != 1)})" for name, n in still.items())
    return (
        "Reps the scenario removes stay on the team: they still own accounts it did not place (added or reassigned "
        f"since it was computed): {who}. Move those accounts (run the optimizer again, or import new owners), then "
        "retire them."
    )


def merge_rows(asg: pd.DataFrame) -> pd.DataFrame:
    """A scenario's rows (scenario_assignments) of the accounts still in the book, each marked: `moves` (the scenario
    gives it another owner than the one it was computed from), `later` (its owner changed since, to one the scenario
    does not give it: a plain commit would undo that change), `conflict` (both), `apply` (a move of the scenario on
    an account unchanged since: what a commit keeping later changes writes) and its owner after that commit
    (merged_rep_id, merged_owner_name). An account deleted since cannot be committed; one added since is not in
    the scenario: neither is touched."""
    rows = asg[asg["in_book"].fillna(False).astype(bool)].reset_index(drop=True)
    moves = owner_change(rows["previous_rep_id"], rows["rep_id"]) != ""
    since = owner_change(rows["previous_rep_id"], rows["today_rep_id"]) != ""
    later = since & (owner_change(rows["rep_id"], rows["today_rep_id"]) != "")
    apply = moves & ~since
    return rows.assign(
        moves=moves, later=later, conflict=later & moves, apply=apply,
        merged_rep_id=rows["rep_id"].where(apply, rows["today_rep_id"]),
        merged_owner_name=rows["owner_name"].where(apply, rows["today_owner_name"]),
    )  # fmt: skip


def merge_counts(rows: pd.DataFrame) -> dict[str, int]:
    """later_changes_kept (owner changes since the scenario was computed that a commit keeping later changes keeps
    and a plain one would undo), conflicts_kept_today (of those, accounts the scenario moves too) and moves_applied
    (the scenario's moves such a commit writes), of merge_rows."""
    return {"later_changes_kept": int(rows["later"].sum()), "conflicts_kept_today": int(rows["conflict"].sum()),
            "moves_applied": int(rows["apply"].sum())}  # fmt: skip


def refuse_if_stale(later: int, scenario_id: int, name: str) -> None:
    """BadInput when `later` accounts of a scenario have another owner today than the one it was computed from (an
    import or another commit since) and would get yet another: committing it would silently undo those changes,
    which its moves table never showed. An account already where the scenario puts it is not touched, and one
    deleted since cannot be (so committing twice stays harmless); merge_rows counts them."""
    if later:
        raise BadInput(
            f"{later:,} {'account has' if later == 1 else 'accounts have'} changed owner since scenario #{scenario_id} "
            f"({name}) was computed; nothing was committed: {KEEP_LATER} run the optimizer again and save a new "
            "scenario to commit"
        )


def merge_plan(con: duckdb.DuckDBPyConnection, scenario_id: int, *, scope: Scope) -> dict[str, Any]:
    """What committing a scenario keeping later changes would do on today's book, before anyone commits: the counts
    of merge_counts, "table" (every later change: account, its owner when the scenario was computed, the scenario's
    owner, today's and whether the scenario moves it too, conflicts first), "balance" (_merge_balance; empty when
    nothing changed since) and "notes" (its notes)."""
    require_leader(scope)
    rec = q.scenario_record(con, scenario_id, scope=scope)
    rows = merge_rows(q.scenario_assignments(con, scenario_id, scope=scope))
    counts = merge_counts(rows)
    later = rows[rows["later"]].sort_values(["conflict", "account_id"], ascending=[False, True], kind="stable")
    table = later[["account_id", "account_name", "previous_owner_name", "owner_name", "today_owner_name", "conflict"]]
    table = table.rename(columns={"previous_owner_name": "owner_when_computed", "owner_name": "scenario_owner",
                                  "today_owner_name": "today_owner"}).reset_index(drop=True)  # fmt: skip
    empty = pd.DataFrame(columns=["metric", "scenario_max_mean", "merged_max_mean"])
    empty.attrs["notes"] = []
    balance = _merge_balance(con, rec, rows, scope=scope) if counts["later_changes_kept"] else empty
    return {**counts, "table": table, "balance": balance, "notes": list(balance.attrs["notes"])}


def _merge_balance(con: duckdb.DuckDBPyConnection, rec: dict[str, Any], rows: pd.DataFrame, *, scope: Scope
                  ) -> pd.DataFrame:  # fmt: skip
    """Per metric the scenario `rec` balanced (potential first), the max/mean across reps of its own assignment and
    of the merged one of `rows` (merge_rows), over the accounts still in the book: whether the later changes kept
    broke its balance. Metrics are counted as compare() counts them (optimize.metric_values, summed per rep) and
    measured with planner.coverage.imbalance, as Coverage measures territories; .attrs["notes"] says when a metric
    cannot be counted on today's book."""
    metrics, extra, values, notes = ["potential"], [], pd.DataFrame(), []
    try:
        opts = optimize.Options.from_dict(rec["params"] or {})
        metrics += [m for m in opts.metric_weights() if m not in metrics]
        extra = [m for m in metrics if m not in ("potential", "accounts")]  # those two come with the rows
        if extra:
            book = inputs(con, scope=scope, metric=opts.metric)
            values = optimize.metric_values(*book, with_workload(con, opts))[extra]
    except PlannerError as exc:
        notes.append(f"#{rec['scenario_id']} {rec['name']}: its metrics cannot be counted on today's book ({exc})")
        metrics, extra = [m for m in metrics if m in ("potential", "accounts")], []
    counted = rows.join(values, on="account_id") if extra else rows
    labels = {m: m for m in metrics}

    def max_mean(rep: str, name: str) -> pd.Series:
        per_rep = _per_rep(counted.dropna(subset=[rep]), rep, name, extra)
        table = imbalance_table(per_rep.rename(columns={rep: "rep_id", name: "name"}), labels)
        return table.set_index("metric")["max_mean"]

    own, merged = max_mean("rep_id", "owner_name"), max_mean("merged_rep_id", "merged_owner_name")
    out = pd.DataFrame({"metric": metrics, "scenario_max_mean": own.reindex(metrics).to_numpy(),
                        "merged_max_mean": merged.reindex(metrics).to_numpy()})  # fmt: skip
    out.attrs["notes"] = notes
    return out


@store.retry_conflicts
def restore(path: Path, version: int, actor: str, *, scope: Scope) -> dict[str, Any]:
    """Put a kept assignment version back (today's is kept as a version first, so this is undoable)."""
    require_admin(scope)
    with store.write(path) as con:
        owners = q.version_owners(con, version, scope=scope)
        kept = q.snapshot_assignment(con, actor, f"before restoring version {version}", scope=scope)
        q.reps_in_use(con, sorted(set(owners["rep_id"].dropna())), scope=scope)
        changed = q.apply_owners(con, owners, f"restore:{version}", scope=scope)
        detail = {"restored_version": version, "accounts_changed": changed, "previous_version": kept}
        q.audit(con, actor, "assignment.restore", detail, scope=scope)
    return detail


def versions(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    require_leader(scope)
    return q.list_versions(con, scope=scope)


def history(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Who saved, committed and restored what, and which imports changed owners, newest first; `summary` says it in
    a line (an import: its files, the owners it changed, kept from a plan or took as conflicts, the version kept)."""
    require_leader(scope)
    log = q.owner_history(con, scope=scope)
    return log.assign(summary=[_summary(a, d) for a, d in zip(log["action"], log["detail"], strict=True)])


def _summary(action: str, detail: str | None) -> str:
    """One line for a history entry."""
    d = json.loads(detail or "{}")
    if action == "scenario.save":
        return f"saved scenario #{d.get('scenario_id')} {one_line(str(d.get('name')))}"
    if action == "scenario.commit":
        return (f"committed scenario #{d.get('scenario_id')} {one_line(str(d.get('name')))}: "
                f"{d.get('accounts_changed', 0):,} account(s) changed owner")  # fmt: skip
    if action == "assignment.restore":
        return (
            f"restored version {d.get('restored_version')}: {d.get('accounts_changed', 0):,} account(s) changed owner"
        )
    parts = [_file_summary(f) for f in d.get("files") or [] if f.get("kind") in ("accounts", "deals")]
    how = " (every owner taken from the file)" if d.get("owners_from_file") else ""
    kept = f"; the owners before it are version {d['previous_version']}" if d.get("previous_version") else ""
    return f"import{how}: " + "; ".join(parts) + kept


def _file_summary(f: dict[str, Any]) -> str:
    """'week2.csv (accounts, import #7): 118 owner(s) changed, 118 of them back to ...' for an import's file."""
    what = "account" if f.get("kind") == "accounts" else "open deal"
    out = f"{one_line(str(f.get('file')))} ({f.get('kind')}, import #{f.get('import_id')}): "
    out += f"{f.get('owner_changes', 0):,} {what} owner(s) changed"
    if f.get("reverted"):
        out += f", {f['reverted']:,} of them back to their owner before a committed scenario"
    if f.get("owners_kept_from_plan"):
        out += f", {f['owners_kept_from_plan']:,} kept the owner a committed scenario gave them"
    if f.get("owner_conflicts"):
        out += f", {f['owner_conflicts']:,} conflict(s) with a committed scenario: the file's owner taken"
    return out


def moves_report(con: duckdb.DuckDBPyConnection, scenario_id: int, *, scope: Scope) -> pd.DataFrame:
    """Every account that changes owner in a scenario (a committed one: in its commit, see as_committed), with both
    owners and the reason; .attrs["basis"] says when that is not the scenario as computed."""
    require_leader(scope)
    asg = as_committed(con, scenario_id, q.scenario_assignments(con, scenario_id, scope=scope), scope=scope)
    moved = asg[asg["moved"].fillna(False).astype(bool) | (asg["previous_rep_id"].isna() & asg["rep_id"].notna())]
    cols = ["account_id", "account_name", "city", "state", "potential", "change", "previous_rep_id",
            "previous_owner_name", "rep_id", "owner_name", "reason"]  # fmt: skip
    moved = moved.assign(change=owner_change(moved["previous_rep_id"], moved["rep_id"]))
    renamed = moved[cols].rename(columns={"previous_owner_name": "previous_owner", "owner_name": "new_owner"})
    out = renamed.reset_index(drop=True)
    out.attrs["basis"] = asg.attrs.get("basis", "")
    return out


def crm_file(
    con: duckdb.DuckDBPyConnection, scenario_id: int, fmt: str, only_source: bool = False, *, scope: Scope
) -> crm_files.OwnerFile:
    """A CRM owner-update file for the accounts a scenario moves (a committed one: the owner changes its commit
    made, see as_committed), with notes on unknown owner ids.

    The formats are planner.crm_files.FORMATS (salesforce, hubspot, dynamics, pipedrive, plain); the CLI's
    `balance --out FILE --format F` writes the same file. With only_source, only accounts that came from
    that CRM are included.
    """
    if fmt not in CRM_FORMATS:
        raise BadInput(f"unknown CRM format {fmt!r}; use one of {', '.join(CRM_FORMATS)}")
    require_leader(scope)
    asg = as_committed(con, scenario_id, q.scenario_assignments(con, scenario_id, scope=scope), scope=scope)
    changed = asg["moved"].fillna(False).astype(bool) | (asg["previous_rep_id"].isna() & asg["rep_id"].notna())
    rows = asg.assign(changed=changed)
    if fmt != "plain":
        rows = rows[changed]
        if only_source:
            rows = rows[rows["source"].fillna("").str.lower() == fmt]
    return crm_files.owner_update(rows[list(crm_files.ROW_COLUMNS)], fmt)


def crm_update(
    con: duckdb.DuckDBPyConnection, scenario_id: int, fmt: str, only_source: bool = False, *, scope: Scope
) -> pd.DataFrame:
    """The table of crm_file() (what the page's download buttons write)."""
    return crm_file(con, scenario_id, fmt, only_source, scope=scope).table


def result_file(result: optimize.Result, reps: pd.DataFrame, fmt: str) -> crm_files.OwnerFile:
    """The CLI's --out file for an optimizer result: `fmt` as in crm_file(), owners by name, email and CRM id.

    `reps` is every rep the store knows (scenarios.inputs); the result's new hires are added to it.
    """
    new = result.reps[result.reps["is_new"].fillna(False).astype(bool)] if "is_new" in result.reps else None
    known = reps if new is None or new.empty else pd.concat([reps, new], ignore_index=True)
    return crm_files.owner_update(crm_files.owner_rows(result.assignments, known), fmt)


def _first_commit(con: duckdb.DuckDBPyConnection, scenario_id: int, *, scope: Scope) -> dict[str, Any] | None:
    """The audit detail of a scenario's first commit (a second one changes nothing), None when never committed."""
    log = q.audit_log(con, ["scenario.commit"], limit=1_000_000, scope=scope)
    mine = [d for d in (json.loads(x or "{}") for x in log["detail"]) if d.get("scenario_id") == scenario_id]
    return mine[-1] if mine else None  # the log is newest first


def as_committed(con: duckdb.DuckDBPyConnection, scenario_id: int, asg: pd.DataFrame, *, scope: Scope
                 ) -> pd.DataFrame:  # fmt: skip
    """A scenario's rows (scenario_assignments) as its commit wrote them: each account's owner before the commit
    (the version the commit kept) as the previous owner, and after it as the owner. A commit keeping later changes
    wrote only the scenario's moves of accounts unchanged since it was computed, so the CRM files list exactly
    those and never undo a change the commit kept. A draft's rows come back as they are; .attrs["basis"] says
    which (a phrase for a page's count, '' for a draft)."""
    commit = _first_commit(con, scenario_id, scope=scope)
    if commit is None or commit.get("previous_version") is None:
        return asg
    base_of = q.version_owners(con, int(commit["previous_version"]), scope=scope).set_index("account_id")["rep_id"]
    rows = asg[asg["in_book"].fillna(False).astype(bool)].reset_index(drop=True)
    base = rows["account_id"].map(base_of).astype(object)
    base = base.where(base.notna(), None)
    moves = owner_change(rows["previous_rep_id"], rows["rep_id"]) != ""
    same_base = (base.isna() & rows["previous_rep_id"].isna()) | (base == rows["previous_rep_id"])
    written = moves & same_base if commit.get("keep_later") else pd.Series(True, index=rows.index)
    after = rows["rep_id"].where(written, base)
    reps = q.rebalance_reps(con, scope=scope).set_index("rep_id")
    out = rows.assign(previous_rep_id=base, previous_owner_name=base.map(reps["name"]).fillna(base),
                      previous_owner_email=base.map(reps["email"]), rep_id=after)  # fmt: skip
    kept = ~written
    for col, rep_col in (("owner_name", "name"), ("owner_email", "email"), ("owner_crm_id", "crm_id"),
                         ("owner_source", "source")):  # fmt: skip
        out[col] = out[col].astype(object).where(~kept, after.map(reps[rep_col]))
    out["owner_name"] = out["owner_name"].where(out["owner_name"].notna(), after)
    out["moved"] = owner_change(base, after).isin([CHANGE_LABELS["moved"], CHANGE_LABELS["unassigned"]])
    later = int(commit.get("later_changes_kept") or 0)
    out.attrs["basis"] = (f"as its commit wrote them, keeping {later:,} later owner change{'s' * (later != 1)}"
                          if commit.get("keep_later") else "as its commit wrote them")  # fmt: skip
    return out
