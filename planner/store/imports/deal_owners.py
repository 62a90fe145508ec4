"""The owners of open deals a committed scenario moved with their accounts, met again by a CRM deals export: the same
three-way merge as the accounts' (plan_owners), per deal.

A commit gives every open deal of the accounts it writes the account's new owner (store.scenarios.apply_owners) and
keeps those it moved, with their owner before (scenario_deals: a deal may be owned apart from its account). An open
deal the file still names is merged when the commit moved it, its account still holds the scenario's owner (its
assignment says 'scenario:N', as plan_owners reads it) and the deal does too: base is the deal's owner before the
commit (for a commit made before commits kept deals: the account's), ours the scenario's, theirs the file's; one
base per commit of the account's chain (plan_owners.chain_bases) that moved the deal. theirs == a base: the CRM has
not caught up, the plan's owner stays; a third owner is taken and listed as a conflict;
`take_file` takes every owner from the file. An account whose accounts file in the same import took the file's owner
is no longer the scenario's, so its deals take the file's too: the two merges agree; and owners_from_deals (which
only fills accounts without an owner) leaves alone the accounts a scenario left without one.
"""

from __future__ import annotations

from typing import Any

import duckdb

from planner.scope import Scope, require_admin
from planner.store.core import query_df, scalar
from planner.store.imports.plan_owners import _merge_chain, _touched_scenarios, chain_bases
from planner.store.imports.reps import _OWNER_JOIN

# The scenarios whose commit kept the open deals it moved (scenario_deals; its audit entry counts them): a deal they
# did not record, the commit did not move. Earlier commits kept none: their deals' base is the account's.
_RECORDED = """SELECT TRY_CAST(json_extract_string(detail, '$.scenario_id') AS BIGINT) AS scenario_id,
                      bool_or(json_extract(detail, '$.deals_moved') IS NOT NULL) AS recorded
               FROM audit_log WHERE action = 'scenario.commit' GROUP BY 1"""


def plan_deal_owners(con: duckdb.DuckDBPyConnection, take_file: bool, *, scope: Scope) -> dict[str, Any]:
    """Merge the owners of the accepted open deals in _p (through _owner_map) with the owners committed scenarios
    gave their accounts.

    Leaves temp table _deal_plan_kept (deal_id, rep_id): the deals that keep the plan's owner (none when
    `take_file`), which merge_deals writes. Returns kept, reverted (with `take_file`: deals the file gives back to
    their owner before the commit), conflicts (deal_id, deal, account_id, account, scenario_id, before_plan,
    plan_owner, file_owner), scenarios ({scenario_id, name, committed_at}) and owner_changes (stored open deals whose
    owner this file changes after the merge)."""
    require_admin(scope)
    # Per commit of the account's chain (plan_owners.chain_bases) that moved the deal, then per deal, as plan_owners.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _deal_chain AS
            WITH f AS (SELECT p.deal_id, p.account_id, o.rep_id AS theirs, d.owner_rep_id AS stored
                       FROM _p p {_OWNER_JOIN} JOIN deals d ON d.deal_id = p.deal_id
                       WHERE p._reject IS NULL AND p._exists AND NOT p.is_closed
                         AND NOT coalesce(d.is_closed, false) AND p.account_id IS NOT NULL)
            SELECT f.deal_id, f.account_id, g.scenario_id, g.step, g.ours, f.theirs,
                   CASE WHEN c.recorded THEN x.previous_rep_id ELSE g.base END AS base,
                   CASE WHEN c.recorded THEN x.rep_id ELSE g.after END AS after
            FROM f JOIN ({chain_bases("f")}) g USING (account_id)
            LEFT JOIN ({_RECORDED}) c ON c.scenario_id = g.scenario_id
            LEFT JOIN scenario_deals x ON x.scenario_id = g.scenario_id AND x.deal_id = f.deal_id
            WHERE f.stored IS NOT DISTINCT FROM g.ours AND (x.deal_id IS NOT NULL OR NOT coalesce(c.recorded, false))"""
    )
    kept, reverted = _merge_chain(con, "_deal", "deal_id", take_file, extra="any_value(account_id) AS account_id,")
    conflicts = query_df(
        con,
        """SELECT m.deal_id, d.name AS deal, m.account_id, a.name AS account, m.scenario_id,
                  coalesce(rb.name, m.base) AS before_plan, coalesce(ro.name, m.ours) AS plan_owner,
                  coalesce(rt.name, m.theirs) AS file_owner
           FROM _deal_owned m JOIN deals d USING (deal_id) LEFT JOIN accounts a ON a.account_id = m.account_id
           LEFT JOIN reps rb ON rb.rep_id = m.base LEFT JOIN reps ro ON ro.rep_id = m.ours
           LEFT JOIN reps rt ON rt.rep_id = m.theirs
           WHERE m.conflict ORDER BY m.deal_id""",
    )
    scenarios = _touched_scenarios(con, "_deal_links")
    changes = int(
        scalar(
            con,
            f"""SELECT count(*) FROM _p p {_OWNER_JOIN} JOIN deals d ON d.deal_id = p.deal_id
                WHERE p._reject IS NULL AND p._exists AND NOT coalesce(d.is_closed, false)
                  AND p.deal_id NOT IN (SELECT deal_id FROM _deal_plan_kept)
                  AND d.owner_rep_id IS DISTINCT FROM o.rep_id""",
        )
    )
    con.execute("DROP TABLE _deal_owned; DROP TABLE _deal_links; DROP TABLE _deal_chain")
    return {"kept": kept, "reverted": reverted, "conflicts": conflicts.to_dict("records"),
            "scenarios": scenarios.to_dict("records"), "owner_changes": changes}  # fmt: skip
