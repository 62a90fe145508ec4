"""Owners a committed scenario set, met again by a CRM import: a three-way merge per account.

An account whose owner was set by a committed scenario (its assignment says 'scenario:N', also when the scenario left
it without an owner) and not changed since has three owners: base (before the commit: the version the commit kept),
ours (the scenario's, today's) and theirs (the file's). theirs == base: the CRM has not caught up with the plan yet,
the plan's owner stays; theirs == ours: nothing to do; a third owner: the CRM changed it after the commit, the file's
owner is taken and listed as a conflict. Taking every owner from the file instead is the caller's choice
(`take_file`).

Commits the CRM has not caught up with chain: a commit over an account an earlier commit's owner still holds writes
'scenario:N:M:...' (newest first, store.scenarios.apply_owners), and the account has one base per commit of its chain
(`chain_bases`): a file naming the owner before any of them is the CRM not updated yet, only an owner before none of
them and not the plan's is a conflict. A chain ends where an import took the file's owner (origin 'crm').
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from planner.scope import Scope, require_admin
from planner.store.core import query_df, scalar
from planner.store.imports.reps import _OWNER_JOIN
from planner.store.scenarios import snapshot_assignment

# The first commit of each scenario: the version it kept of the owners before it (base), and when.
_COMMITS = """SELECT TRY_CAST(json_extract_string(detail, '$.scenario_id') AS BIGINT) AS scenario_id,
                     min(TRY_CAST(json_extract_string(detail, '$.previous_version') AS BIGINT)) AS version
              FROM audit_log WHERE action = 'scenario.commit' GROUP BY 1"""


def chain_bases(among: str) -> str:
    """SQL of the chain of commits of the accounts among `among` (a table or CTE with account_id) whose owner a
    committed scenario set and nobody changed since: the commit that set it and the earlier ones chained before it,
    one row per account and commit: account_id, scenario_id, step (0 the newest), ours (today's owner), base (the
    owner before that commit: the version it kept, else the one the scenario was computed from) and after (the owner
    it wrote: the next commit's base, or ours)."""
    return f"""SELECT c.*, CASE WHEN c.step = 0 THEN c.ours
                               ELSE lag(c.base) OVER (PARTITION BY c.account_id ORDER BY c.step) END AS after
               FROM (SELECT g.account_id, g.scenario_id, g.step, g.ours,
                            CASE WHEN s.account_id IS NOT NULL THEN s.rep_id ELSE x.previous_rep_id END AS base
                     FROM (SELECT g.account_id, a.owner_rep_id AS ours,
                                  TRY_CAST(unnest(g.ids) AS BIGINT) AS scenario_id,
                                  generate_subscripts(g.ids, 1) - 1 AS step
                           FROM (SELECT account_id, rep_id, string_split(substr(origin, 10), ':') AS ids
                                 FROM assignments WHERE origin LIKE 'scenario:%'
                                   AND account_id IN (SELECT account_id FROM {among})) g
                           JOIN accounts a USING (account_id)
                           WHERE g.rep_id IS NOT DISTINCT FROM a.owner_rep_id) g
                     LEFT JOIN ({_COMMITS}) v ON v.scenario_id = g.scenario_id
                     LEFT JOIN assignment_snapshots s ON s.version = v.version AND s.account_id = g.account_id
                     LEFT JOIN scenario_assignments x ON x.scenario_id = g.scenario_id
                                                     AND x.account_id = g.account_id) c"""


def _touched_scenarios(con: duckdb.DuckDBPyConnection, merged: str) -> pd.DataFrame:
    """The committed scenarios whose moves a merge's table (`_plan_owned`, `_deal_owned`) gave back or met a
    third owner on: id, name, committed_at."""
    return query_df(
        con,
        f"""SELECT s.scenario_id, s.name, s.committed_at FROM scenarios s
            WHERE s.scenario_id IN (SELECT scenario_id FROM {merged} WHERE back_to_base OR conflict)
            ORDER BY s.scenario_id""",
    )


def _merge_chain(
    con: duckdb.DuckDBPyConnection, prefix: str, key: str, take_file: bool, extra: str = ""
) -> tuple[int, int]:
    """The merge over temp table {prefix}_chain (key, scenario_id, step, base, after, ours, theirs: a row per commit
    of a record's chain): leaves {prefix}_owned (per record the chain moved: the newest moving commit's scenario_id,
    ours, theirs, the base before the first commit, back_to_base: theirs is the base of some commit, the CRM not
    updated yet; conflict: a third owner), {prefix}_links (per moving commit: back_to_base for the commits after the
    one the file is from, conflict) and {prefix}_plan_kept or _plan_kept (key, rep_id: the records keeping the plan's
    owner, none when `take_file`). Returns (kept, reverted: with `take_file`, the records given back). `extra`: more
    columns of {prefix}_owned, as aggregates."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {prefix}_owned AS
           WITH m AS (SELECT {key}, {extra}
                             min_by(scenario_id, step) FILTER (WHERE base IS DISTINCT FROM after) AS scenario_id,
                             any_value(ours) AS ours, any_value(theirs) AS theirs,
                             list(base ORDER BY step DESC)[1] AS base,
                             min(step) FILTER (WHERE theirs IS NOT DISTINCT FROM base) AS matched
                      FROM {prefix}_chain GROUP BY {key} HAVING bool_or(base IS DISTINCT FROM ours))
           SELECT *, matched IS NOT NULL AND theirs IS DISTINCT FROM ours AS back_to_base,
                  matched IS NULL AND theirs IS DISTINCT FROM ours AS conflict
           FROM m"""  # only the records the chain moved
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {prefix}_links AS
           SELECT c.scenario_id, c.{key}, m.back_to_base AND c.step <= m.matched AS back_to_base, m.conflict
           FROM {prefix}_chain c JOIN {prefix}_owned m USING ({key}) WHERE c.base IS DISTINCT FROM c.after"""
    )
    kept_table = "_plan_kept" if prefix == "_plan" else f"{prefix}_plan_kept"
    keep = "false" if take_file else "back_to_base"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {kept_table} AS SELECT {key}, ours AS rep_id FROM {prefix}_owned WHERE {keep}"
    )
    kept = int(scalar(con, f"SELECT count(*) FROM {kept_table}"))
    reverted = int(scalar(con, f"SELECT count(*) FROM {prefix}_owned WHERE back_to_base")) if take_file else 0
    return kept, reverted


def plan_owners(con: duckdb.DuckDBPyConnection, take_file: bool, *, scope: Scope) -> dict[str, Any]:
    """Merge the owners of the accepted rows in _p (through _owner_map) with the owners committed scenarios set.

    Leaves temp table _plan_kept (account_id, rep_id): the accounts that keep the plan's owner (none when
    `take_file`). Returns kept (how many), reverted (with `take_file`: plan owners the file gives back to their owner
    before the commit), conflicts (account_id, account, scenario_id, base, plan and file owner names, sorted),
    scenarios ({id, name, committed_at} of the scenarios concerned), owner_changes (existing accounts whose owner
    this file changes after the merge: 0 means no version is needed) and reverted_by_scenario ({scenario_id,
    reverted, moves}: with `take_file`, how many of each scenario's owner changes, its newly assigned accounts
    included, the file reverts)."""
    require_admin(scope)
    # Per commit of each account's chain, then per account: theirs matching the base of any commit (the newest such,
    # `matched`) is the CRM not updated yet; a conflict is listed on the newest commit that moved the account.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _plan_chain AS
            WITH f AS (SELECT p.account_id, o.rep_id AS theirs FROM _p p {_OWNER_JOIN}
                       WHERE p._reject IS NULL AND p._exists AND NOT p._merged)
            SELECT c.*, f.theirs, c.base IS DISTINCT FROM c.after AS moves
            FROM f JOIN ({chain_bases("f")}) c USING (account_id)"""
    )
    kept, reverted = _merge_chain(con, "_plan", "account_id", take_file)
    by_scenario = query_df(
        con,
        """SELECT b.scenario_id, count(DISTINCT b.account_id) AS reverted,
                  (SELECT count(*) FROM scenario_assignments x WHERE x.scenario_id = b.scenario_id
                   AND x.previous_rep_id IS DISTINCT FROM x.rep_id) AS moves
           FROM _plan_links b WHERE b.back_to_base AND ? GROUP BY 1 ORDER BY 1""",
        [take_file],
    )
    conflicts = query_df(
        con,
        """SELECT m.account_id, a.name AS account, m.scenario_id, coalesce(rb.name, m.base) AS before_plan,
                  coalesce(ro.name, m.ours) AS plan_owner, coalesce(rt.name, m.theirs) AS file_owner
           FROM _plan_owned m JOIN accounts a USING (account_id)
           LEFT JOIN reps rb ON rb.rep_id = m.base LEFT JOIN reps ro ON ro.rep_id = m.ours
           LEFT JOIN reps rt ON rt.rep_id = m.theirs
           WHERE m.conflict ORDER BY m.account_id""",
    )
    scenarios = _touched_scenarios(con, "_plan_links")
    changes = int(
        scalar(
            con,
            f"""SELECT count(*) FROM _p p {_OWNER_JOIN} JOIN accounts a USING (account_id)
                WHERE p._reject IS NULL AND p._exists AND NOT p._merged
                  AND p.account_id NOT IN (SELECT account_id FROM _plan_kept)
                  AND a.owner_rep_id IS DISTINCT FROM o.rep_id""",
        )
    )
    con.execute("DROP TABLE _plan_owned; DROP TABLE _plan_links; DROP TABLE _plan_chain")
    return {"kept": kept, "reverted": reverted, "conflicts": conflicts.to_dict("records"),
            "scenarios": scenarios.to_dict("records"), "owner_changes": changes,
            "reverted_by_scenario": by_scenario.to_dict("records")}  # fmt: skip


def version_before_import(con: duckdb.DuckDBPyConnection, actor: str, note: str, *, scope: Scope) -> int:
    """Keep today's owners as an assignment version (as a commit does) once per import, before its first owner
    change, so the owners before it can be restored in one step; returns that version (the same one for every file
    of the import: temp table _import_version, which lives as long as the import's connection)."""
    require_admin(scope)
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _import_version (version BIGINT)")
    found = scalar(con, "SELECT max(version) FROM _import_version")
    if found is not None:
        return int(found)
    version = snapshot_assignment(con, actor, note, scope=scope)
    con.execute("INSERT INTO _import_version VALUES (?)", [version])
    return version


def import_version(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> int | None:
    """The version version_before_import kept in this import, if any."""
    require_admin(scope)
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _import_version (version BIGINT)")
    found = scalar(con, "SELECT max(version) FROM _import_version")
    return None if found is None else int(found)
