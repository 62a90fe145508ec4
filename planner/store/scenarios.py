"""Queries behind rebalancing: optimizer inputs, scenarios, commits, assignment versions and the audit log.

A scenario is a saved optimizer result (its parameters, summary, rep set and one row per account).
Committing one makes it today's assignment: the previous assignment is kept as a numbered version
first, so any earlier assignment can be restored, and the audit log records who did what and when.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pandas as pd

from planner.errors import BadInput, NotFound
from planner.scope import Scope, require_admin, require_leader
from planner.store.core import query_df, query_one, scalar
from planner.store.schema import next_id, now, set_meta

# ---------------------------------------------------------------- optimizer inputs


def rebalance_accounts(
    con: duckdb.DuckDBPyConnection, *, scope: Scope, attributes: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Every account with what the optimizer needs: place, owner, potential, and whether it is a
    customer, has an open deal or is locked; plus a column for each of `attributes` that is a numeric custom
    attribute (what a `column:NAME` metric balances; blank where an account has no value; BadInput naming the
    numeric ones when it is none). Only the named ones are read: a store may hold hundreds."""
    require_leader(scope)
    acc = query_df(
        con,
        """WITH d AS (SELECT account_id, bool_or(NOT coalesce(is_closed, FALSE)) AS has_open_deal
                      FROM deals GROUP BY account_id)
           SELECT a.account_id, a.name, a.city, a.state, a.postal_code, a.county,
                  coalesce(a.country_code, a.country) AS country, a.lat, a.lon, a.geo_precision, a.source,
                  a.owner_rep_id, coalesce(a.locked, FALSE) AS locked,
                  coalesce(a.is_customer, FALSE) AS is_customer,
                  coalesce(d.has_open_deal, FALSE) AS has_open_deal,
                  coalesce(p.potential, 0) AS potential
           FROM accounts a
           LEFT JOIN account_potential p USING (account_id)
           LEFT JOIN d USING (account_id)
           ORDER BY a.account_id""",
    )
    wanted = [a for a in dict.fromkeys(attributes) if a not in acc.columns]  # a built-in column wins
    if not wanted:
        return acc
    long = query_df(
        con,
        """SELECT v.account_id, v.attr, v.num_value FROM account_attributes v JOIN attribute_defs d USING (attr)
           WHERE list_contains(?, v.attr) AND lower(coalesce(d.dtype, 'text')) = 'number'
             AND v.num_value IS NOT NULL""",
        [wanted],
    )
    if not long.empty:
        wide = long.pivot_table(index="account_id", columns="attr", values="num_value", aggfunc="first")
        acc = acc.merge(wide, left_on="account_id", right_index=True, how="left")
    missing = [a for a in wanted if a not in acc.columns]
    if missing:
        defs = query_df(con, "SELECT attr, lower(coalesce(dtype, 'text')) AS dtype FROM attribute_defs ORDER BY 1")
        kinds = dict(zip(defs["attr"], defs["dtype"], strict=True))
        numbers = [a for a, kind in kinds.items() if kind == "number"]
        kind = kinds.get(missing[0])
        why = f"'{missing[0]}' is a {kind} column, not a number" if kind else f"no column is named '{missing[0]}'"
        have = ", ".join(numbers[:8]) + (f" and {len(numbers) - 8:,} more" if len(numbers) > 8 else "")
        raise BadInput(
            f"metric 'column:{missing[0]}' names no numeric column of the accounts: {why}; "
            + (f"the numeric custom columns are {have}" if numbers else "the store has no numeric custom column")
            + " (import a column of numbers as one with --map COLUMN=attribute, or on the Data page)"
        )
    return acc


def route_destinations(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> tuple[int, int]:
    """How many destinations the pairs to route list (planner.optimize.matrix.route_pairs), counted in the store:
    one per postal code whose accounts name at most one country, one per account otherwise (no code, or a code
    several countries share), each only when one of its accounts has a place; and how many accounts the file
    leaves out (their destination has no place). Codes compare as the file's keys do (matrix.canonical): 02139 is
    2139, 2139.0 too."""
    require_leader(scope)
    row = query_one(
        con,
        r"""WITH t AS (SELECT account_id, regexp_replace(nullif(trim(postal_code), ''), '^([0-9]+)\.0+$', '\1') AS z,
                             nullif(upper(trim(coalesce(country_code, country))), '') AS c,
                             lat IS NOT NULL AND lon IS NOT NULL AS placed FROM accounts),
                a AS (SELECT CASE WHEN regexp_full_match(z, '[0-9]+') THEN coalesce(nullif(ltrim(z, '0'), ''), '0')
                                  ELSE z END AS z, c, placed, account_id FROM t),
                zc AS (SELECT z, count(DISTINCT c) AS n_c FROM a WHERE z IS NOT NULL GROUP BY z),
                d AS (SELECT CASE WHEN a.z IS NULL OR zc.n_c > 1 THEN '#' || a.account_id ELSE a.z END AS dest,
                             a.placed FROM a LEFT JOIN zc USING (z)),
                g AS (SELECT dest, bool_or(placed) AS placed, count(*) AS n FROM d GROUP BY dest)
           SELECT count(*) FILTER (WHERE placed) AS destinations,
                  coalesce(sum(n) FILTER (WHERE NOT placed), 0) AS left_out FROM g""",
    )
    return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)


def rebalance_reps(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Every rep (active or not) with home, capacity and CRM identifiers."""
    require_leader(scope)
    return query_df(
        con,
        """SELECT rep_id, crm_id, name, email, home_city, home_state, home_postal_code, home_lat, home_lon, quota,
                  capacity_hours, source,
                  coalesce(active, TRUE) AS active
           FROM reps ORDER BY rep_id""",
    )


# ---------------------------------------------------------------- scenarios


def insert_scenario(
    con: duckdb.DuckDBPyConnection,
    name: str,
    actor: str,
    params: dict[str, Any],
    result: dict[str, Any],
    reps: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    scope: Scope,
) -> int:
    """Save one scenario with its rep set and per-account assignment; returns the new scenario_id."""
    require_leader(scope)
    sid = next_id(con, "scenario_id")
    con.execute(
        "INSERT INTO scenarios VALUES (?, ?, ?, ?, ?, ?, 'draft', NULL, NULL)",
        [sid, name, now(), actor, json.dumps(params), json.dumps(result, default=str)],
    )
    r = reps.assign(scenario_id=sid)[
        ["scenario_id", "rep_id", "name", "home_lat", "home_lon", "capacity_hours", "is_new"]
    ].assign(quota=None)
    con.register("_sc_reps", r)
    try:
        con.execute(
            """INSERT INTO scenario_reps (scenario_id, rep_id, name, home_lat, home_lon, capacity_hours, quota, is_new)
               SELECT scenario_id, rep_id, name, home_lat, home_lon, capacity_hours, quota, is_new FROM _sc_reps"""
        )
    finally:
        con.unregister("_sc_reps")
    a = assignments.assign(scenario_id=sid)[["scenario_id", "account_id", "previous_owner", "owner", "moved", "reason"]]
    con.register("_sc_asg", a)
    try:
        con.execute(
            """INSERT INTO scenario_assignments (scenario_id, account_id, previous_rep_id, rep_id, moved, reason)
               SELECT scenario_id, account_id, previous_owner, owner, moved, reason FROM _sc_asg"""
        )
    finally:
        con.unregister("_sc_asg")
    return sid


def list_scenarios(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Saved scenarios, newest first, with their headline figures."""
    require_leader(scope)
    df = query_df(
        con,
        """SELECT s.scenario_id, s.name, s.created_at, s.created_by, s.status, s.committed_at, s.committed_by,
                  s.params, s.result,
                  (SELECT count(*) FROM scenario_assignments x WHERE x.scenario_id = s.scenario_id AND x.moved)
                      AS moved_accounts,
                  (SELECT count(*) FROM scenario_assignments x WHERE x.scenario_id = s.scenario_id
                      AND x.previous_rep_id IS NULL AND x.rep_id IS NOT NULL) AS newly_assigned
           FROM scenarios s ORDER BY s.scenario_id DESC""",
    )
    return df


def scenario_record(con: duckdb.DuckDBPyConnection, scenario_id: int, *, scope: Scope) -> dict[str, Any]:
    """One scenario's row with params and result decoded; NotFound when it does not exist."""
    require_leader(scope)
    row = query_one(
        con,
        """SELECT scenario_id, name, created_at, created_by, params, result, status, committed_at, committed_by
           FROM scenarios WHERE scenario_id = ?""",
        [scenario_id],
    )
    if row is None:
        raise NotFound(f"no scenario {scenario_id}; list them with `python -m planner balance --list` or the page")
    keys = ["scenario_id", "name", "created_at", "created_by", "params", "result", "status", "committed_at",
            "committed_by"]  # fmt: skip
    rec = dict(zip(keys, row, strict=True))
    rec["params"] = json.loads(rec["params"] or "{}")
    rec["result"] = json.loads(rec["result"] or "{}")
    return rec


def scenario_reps(con: duckdb.DuckDBPyConnection, scenario_id: int, *, scope: Scope) -> pd.DataFrame:
    require_leader(scope)
    return query_df(
        con,
        """SELECT rep_id, name, home_lat, home_lon, capacity_hours, is_new
           FROM scenario_reps WHERE scenario_id = ? ORDER BY rep_id""",
        [scenario_id],
    )


def scenario_assignments(con: duckdb.DuckDBPyConnection, scenario_id: int, *, scope: Scope) -> pd.DataFrame:
    """A scenario's account rows with account context, potential, and both owners' names and CRM ids; with today's
    owner (today_rep_id, today_owner_name) and whether the account is still in the book (in_book)."""
    require_leader(scope)
    return query_df(
        con,
        """SELECT x.account_id, a.name AS account_name, a.source, a.city, a.state, a.lat, a.lon,
                  coalesce(p.potential, 0) AS potential,
                  x.previous_rep_id, coalesce(pr.name, x.previous_rep_id) AS previous_owner_name,
                  pr.email AS previous_owner_email,
                  x.rep_id, coalesce(r.name, sr.name, x.rep_id) AS owner_name, r.crm_id AS owner_crm_id,
                  r.email AS owner_email, r.source AS owner_source, x.moved, x.reason,
                  a.owner_rep_id AS today_rep_id, coalesce(tr.name, a.owner_rep_id) AS today_owner_name,
                  a.account_id IS NOT NULL AS in_book
           FROM scenario_assignments x
           LEFT JOIN accounts a ON a.account_id = x.account_id
           LEFT JOIN account_potential p ON p.account_id = x.account_id
           LEFT JOIN reps pr ON pr.rep_id = x.previous_rep_id
           LEFT JOIN reps r ON r.rep_id = x.rep_id
           LEFT JOIN reps tr ON tr.rep_id = a.owner_rep_id
           LEFT JOIN scenario_reps sr ON sr.scenario_id = x.scenario_id AND sr.rep_id = x.rep_id
           WHERE x.scenario_id = ?
           ORDER BY x.account_id""",
        [scenario_id],
    )


# ---------------------------------------------------------------- commits and versions


def snapshot_assignment(con: duckdb.DuckDBPyConnection, actor: str, note: str, *, scope: Scope) -> int:
    """Keep today's owner of every account as a new numbered version; returns the version."""
    require_admin(scope)
    version = next_id(con, "assignment_version")
    con.execute("INSERT INTO assignment_versions VALUES (?, ?, ?, ?)", [version, now(), actor, note])
    con.execute("INSERT INTO assignment_snapshots SELECT ?, account_id, owner_rep_id FROM accounts", [version])
    return version


def add_reps(con: duckdb.DuckDBPyConnection, reps: pd.DataFrame, *, scope: Scope) -> None:
    """Hire the scenario's new reps (rep_id, name, home_lat, home_lon, capacity_hours)."""
    require_admin(scope)
    if reps.empty:
        return
    con.register("_new_reps", reps[["rep_id", "name", "home_lat", "home_lon", "capacity_hours"]])
    try:
        con.execute(
            """INSERT INTO reps (rep_id, name, home_lat, home_lon, capacity_hours, active, source, created_at,
                                 updated_at)
               SELECT rep_id, name, home_lat, home_lon, capacity_hours, TRUE, 'scenario', ?, ? FROM _new_reps
               WHERE rep_id NOT IN (SELECT rep_id FROM reps)""",
            [now(), now()],
        )
    finally:
        con.unregister("_new_reps")


def deactivate_reps(con: duckdb.DuckDBPyConnection, rep_ids: list[str], *, scope: Scope) -> dict[str, int]:
    """Retire the reps of `rep_ids` who own no account; the others stay active (an account owned by an inactive
    rep would belong to no territory). Returns the names of those kept, with how many accounts each owns."""
    require_admin(scope)
    if not rep_ids:
        return {}
    owning = query_df(
        con,
        """SELECT r.name, count(*) AS n FROM accounts a JOIN reps r ON r.rep_id = a.owner_rep_id
           WHERE list_contains(?, a.owner_rep_id) GROUP BY r.name ORDER BY r.name""",
        [rep_ids],
    )
    con.execute(
        """UPDATE reps SET active = FALSE, updated_at = ? WHERE list_contains(?, rep_id)
           AND rep_id NOT IN (SELECT owner_rep_id FROM accounts WHERE owner_rep_id IS NOT NULL)""",
        [now(), rep_ids],
    )
    return {str(n): int(c) for n, c in owning.itertuples(index=False)}


def set_capacities(con: duckdb.DuckDBPyConnection, capacities: dict[str, float], *, scope: Scope) -> None:
    require_admin(scope)
    for rep_id, hours in capacities.items():
        con.execute("UPDATE reps SET capacity_hours = ?, updated_at = ? WHERE rep_id = ?", [hours, now(), rep_id])


def apply_owners(con: duckdb.DuckDBPyConnection, owners: pd.DataFrame, origin: str, *, scope: Scope) -> int:
    """Make `owners` (account_id, rep_id) today's assignment for those accounts: accounts, the
    assignments table and the owner of their open deals. Returns the number of accounts changed."""
    require_admin(scope)
    if owners.empty:
        return 0
    con.register("_owners", owners[["account_id", "rep_id"]])
    try:
        changed = int(
            scalar(
                con,
                """SELECT count(*) FROM accounts a JOIN _owners o USING (account_id)
                   WHERE a.owner_rep_id IS DISTINCT FROM o.rep_id""",
            )
        )
        stamp = now()
        # A commit over accounts whose owner an earlier commit set and nobody changed since (the CRM may not have
        # caught up with it) chains the origins, newest first ('scenario:3:2'): the import merge takes the owner
        # before any of them as the CRM's not updated yet (store.imports.plan_owners).
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _owner_origin AS
               SELECT o.account_id, CASE WHEN g.account_id IS NULL THEN ?
                                         WHEN split_part(g.origin, ':', 2) = split_part(?, ':', 2) THEN g.origin
                                         ELSE ? || substr(g.origin, 9) END AS origin
               FROM _owners o LEFT JOIN (SELECT g.account_id, g.origin FROM assignments g JOIN accounts a
                                         USING (account_id) WHERE ? LIKE 'scenario:%' AND g.origin LIKE 'scenario:%'
                                           AND g.rep_id IS NOT DISTINCT FROM a.owner_rep_id) g USING (account_id)""",
            [origin, origin, origin, origin],
        )
        con.execute(
            """UPDATE accounts SET owner_rep_id = o.rep_id, updated_at = ?
               FROM _owners o WHERE accounts.account_id = o.account_id
                 AND accounts.owner_rep_id IS DISTINCT FROM o.rep_id""",
            [stamp],
        )
        con.execute("DELETE FROM assignments WHERE account_id IN (SELECT account_id FROM _owners)")
        # An account left without an owner keeps a row too: the import merge (store.imports.plan_owners) finds what
        # a scenario un-assigned by its origin, as it finds what it moved.
        con.execute("INSERT INTO assignments SELECT account_id, o.rep_id, ?, g.origin FROM _owners o "
                    "JOIN _owner_origin g USING (account_id)", [stamp])  # fmt: skip
        con.execute("DROP TABLE _owner_origin")
        con.execute(
            """UPDATE deals SET owner_rep_id = o.rep_id, updated_at = ?
               FROM _owners o WHERE deals.account_id = o.account_id AND NOT coalesce(deals.is_closed, FALSE)
                 AND deals.owner_rep_id IS DISTINCT FROM o.rep_id""",
            [stamp],
        )
        if changed:  # Overview's "last change" and the sidebar's "updated" (only imports set it before)
            set_meta(con, "data_updated_at", stamp.isoformat())
    finally:
        con.unregister("_owners")
    return changed


def record_deal_owners(con: duckdb.DuckDBPyConnection, owners: pd.DataFrame, scenario_id: int, *,
                       scope: Scope) -> int:  # fmt: skip
    """Keep the open deals that writing `owners` (account_id, rep_id) with apply_owners gives another owner, with
    their owner before, as scenario `scenario_id`'s (table scenario_deals; a scenario committed again keeps its
    first record): a deal may be owned apart from its account, so the account's owner before the commit is not
    the deal's, and the import merge (store.imports.deal_owners) needs the deal's. Call it before apply_owners;
    returns how many open deals change owner."""
    require_admin(scope)
    if owners.empty:
        return 0
    con.register("_deal_owners_new", owners[["account_id", "rep_id"]])
    try:
        changing = """FROM deals d JOIN _deal_owners_new o USING (account_id)
                      WHERE NOT coalesce(d.is_closed, FALSE) AND d.owner_rep_id IS DISTINCT FROM o.rep_id"""
        n = int(scalar(con, f"SELECT count(*) {changing}"))
        con.execute(
            f"""INSERT INTO scenario_deals (scenario_id, deal_id, account_id, previous_rep_id, rep_id)
                SELECT ?, d.deal_id, d.account_id, d.owner_rep_id, o.rep_id {changing}
                  AND d.deal_id NOT IN (SELECT deal_id FROM scenario_deals WHERE scenario_id = ?)""",
            [scenario_id, scenario_id],
        )
    finally:
        con.unregister("_deal_owners_new")
    return n


def mark_committed(con: duckdb.DuckDBPyConnection, scenario_id: int, actor: str, *, scope: Scope) -> None:
    require_admin(scope)
    con.execute(
        "UPDATE scenarios SET status = 'committed', committed_at = ?, committed_by = ? WHERE scenario_id = ?",
        [now(), actor, scenario_id],
    )


def mark_reverted(con: duckdb.DuckDBPyConnection, reverted: list[dict[str, Any]], import_id: int | None, *,
                  scope: Scope) -> None:  # fmt: skip
    """Say on committed scenarios that an import gave their moves back to the owners before the commit (`reverted`:
    {scenario_id, reverted, moves}): status 'reverted by import #N', or 'partly reverted by import #N (r of m
    moves)', so the Rebalance page's list no longer reads 'committed' for an assignment that is gone."""
    require_admin(scope)
    for r in reverted:
        n, moves = int(r["reverted"]), int(r["moves"])
        status = (f"reverted by import #{import_id}" if n >= moves
                  else f"partly reverted by import #{import_id} ({n:,} of {moves:,} moves)")  # fmt: skip
        con.execute("UPDATE scenarios SET status = ? WHERE scenario_id = ? AND status IS DISTINCT FROM 'draft'",
                    [status, int(r["scenario_id"])])  # fmt: skip


def list_versions(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Kept assignment versions, newest first, with how many accounts each holds."""
    require_leader(scope)
    return query_df(
        con,
        """SELECT v.version, v.created_at, v.created_by, v.note, count(s.account_id) AS accounts
           FROM assignment_versions v LEFT JOIN assignment_snapshots s USING (version)
           GROUP BY ALL ORDER BY v.version DESC""",
    )


def version_owners(con: duckdb.DuckDBPyConnection, version: int, *, scope: Scope) -> pd.DataFrame:
    """account_id, rep_id of one kept version (accounts that still exist); NotFound if missing."""
    require_leader(scope)
    if scalar(con, "SELECT count(*) FROM assignment_versions WHERE version = ?", [version]) == 0:
        raise NotFound(f"no assignment version {version}; pick one from the list of kept versions")
    return query_df(
        con,
        """SELECT s.account_id, s.rep_id FROM assignment_snapshots s JOIN accounts a USING (account_id)
           WHERE s.version = ? ORDER BY s.account_id""",
        [version],
    )


def reps_in_use(con: duckdb.DuckDBPyConnection, rep_ids: list[str], *, scope: Scope) -> None:
    """Re-activate reps that a restored version gives accounts to."""
    require_admin(scope)
    if rep_ids:
        con.execute("UPDATE reps SET active = TRUE, updated_at = ? WHERE list_contains(?, rep_id)", [now(), rep_ids])


def audit(con: duckdb.DuckDBPyConnection, actor: str, action: str, detail: dict[str, Any], *, scope: Scope) -> None:
    require_leader(scope)
    audit_id = next_id(con, "audit_id")
    con.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
        [audit_id, now(), actor, action, json.dumps(detail, default=str)],
    )


def audit_log(
    con: duckdb.DuckDBPyConnection, actions: list[str] | None = None, limit: int = 200, *, scope: Scope
) -> pd.DataFrame:
    """The newest audit entries (optionally of some actions only)."""
    require_leader(scope)
    if actions:
        return query_df(
            con,
            """SELECT audit_id, logged_at, actor, action, detail FROM audit_log
               WHERE list_contains(?, action) ORDER BY audit_id DESC LIMIT ?""",
            [actions, limit],
        )
    return query_df(
        con, "SELECT audit_id, logged_at, actor, action, detail FROM audit_log ORDER BY audit_id DESC LIMIT ?", [limit]
    )


# What changed owners: an import's audit entry says how many it changed (owner_changes); older entries only name the
# version kept before an owner change (previous_version).
_IMPORT_CHANGED_OWNERS = """action = 'import' AND (
    coalesce(TRY_CAST(json_extract_string(detail, '$.owner_changes') AS BIGINT), 0) > 0
    OR coalesce(TRY_CAST(json_extract_string(detail, '$.reverted') AS BIGINT), 0) > 0
    OR json_extract_string(detail, '$.previous_version') IS NOT NULL)"""


def owner_history(con: duckdb.DuckDBPyConnection, limit: int = 200, *, scope: Scope) -> pd.DataFrame:
    """The audit entries of what set owners, newest first: scenarios saved, committed and restored, and the imports
    that changed owners (store-wide: leaders and admins)."""
    require_leader(scope)
    return query_df(
        con,
        f"""SELECT audit_id, logged_at, actor, action, detail FROM audit_log
            WHERE list_contains(['scenario.save', 'scenario.commit', 'assignment.restore'], action)
               OR ({_IMPORT_CHANGED_OWNERS})
            ORDER BY audit_id DESC LIMIT ?""",
        [limit],
    )
