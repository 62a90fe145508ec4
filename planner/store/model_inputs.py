"""What a model version read when it was trained, kept as one digest per account and per closed deal.

"What changed since training" must count only what the model reads: its features (the account fields and
custom attributes on its card, the location where nearby wins are a feature) and its labels (closed deals'
outcomes and dates). An import's owner changes, renames or new cities feed no model, and a deal won since the
training changes its account's history even though the account row is untouched. So the training stores a
digest of those inputs, and the Model page compares today's with it.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from planner.scope import Scope, require_leader
from planner.store.core import query_one, quote_identifier

# Account columns a card may name as the model's (anything else on a card is ignored, never put in SQL).
_ACCOUNT_FIELDS = ("industry", "employees", "annual_revenue", "employee_growth", "intent_score", "new_executive",
                   "website_visits")  # fmt: skip
# History features measured from wins near the account: they read its place and industry.
_NEARBY = ("similar_won", "nearest_won_km")
ATTR_PREFIX = "attr:"


def _reads(features: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The account columns and custom attributes a card's used features read."""
    used = [str(u.get("field", "")) for u in features.get("used") or []]
    cols = [c for c in _ACCOUNT_FIELDS if c in used]
    if any(c in used for c in _NEARBY):
        cols += [c for c in ("industry", "lat", "lon") if c not in cols]
    attrs = sorted(c.removeprefix(ATTR_PREFIX) for c in used if c.startswith(ATTR_PREFIX))
    return cols, attrs


def _account_digests(cols: list[str], attrs: list[str]) -> tuple[str, list[Any]]:
    """SQL of (account_id, digest) over the given columns and attributes, and its parameters."""
    parts = [f"a.{quote_identifier(c)}" for c in cols] + ["v.attrs"]
    sql = f"""SELECT a.account_id, hash({", ".join(parts)}) AS digest FROM accounts a
              LEFT JOIN (SELECT account_id, list(attr || '=' || coalesce(num_value::VARCHAR, text_value, '')
                                                 ORDER BY attr) AS attrs
                         FROM account_attributes WHERE list_contains(?, attr) GROUP BY account_id) v
                     ON v.account_id = a.account_id"""
    return sql, [attrs]


# Every closed deal's label: outcome, dates and account (what training rows and history features come from).
_DEAL_DIGESTS = """SELECT deal_id, account_id, hash(account_id, is_won, created_date, close_date) AS digest
                   FROM deals WHERE coalesce(is_closed, FALSE)"""


def snapshot(con: duckdb.DuckDBPyConnection, version: int, features: dict[str, Any], *, scope: Scope) -> None:
    """Keep what version `version` read (its card's `features`) as it is now: at its training."""
    require_leader(scope)
    cols, attrs = _reads(features)
    accounts, params = _account_digests(cols, attrs)
    con.execute("DELETE FROM training_inputs WHERE model_version = ?", [version])
    con.execute(
        f"""INSERT INTO training_inputs (model_version, kind, key, account_id, digest)
            SELECT ?, 'account', account_id, account_id, digest FROM ({accounts})
            UNION ALL SELECT ?, 'deal', deal_id, account_id, digest FROM ({_DEAL_DIGESTS})""",
        [version, *params, version],
    )


def prune(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> None:
    """Forget the inputs of versions without scores (they can no longer be made active)."""
    require_leader(scope)
    con.execute(
        """DELETE FROM training_inputs t WHERE NOT EXISTS (
               SELECT 1 FROM scores s WHERE s.model_version = t.model_version)"""
    )


def changes(con: duckdb.DuckDBPyConnection, version: int) -> dict[str, int] | None:
    """Accounts added, accounts whose inputs changed (their fields, or a closed deal of theirs added, changed or
    gone) and closed deals added, changed or gone since version `version` was trained; None when its inputs
    were not kept (trained before this was recorded). Counts only."""
    row = query_one(con, "SELECT features FROM models WHERE model_version = ?", [version])
    kept = query_one(con, "SELECT count(*) FROM training_inputs WHERE model_version = ?", [version])
    if row is None or not kept or not kept[0]:
        return None
    cols, attrs = _reads(json.loads(row[0] or "{}"))
    accounts, params = _account_digests(cols, attrs)
    got = query_one(
        con,
        f"""WITH now_a AS ({accounts}),
                 then_a AS (SELECT key AS account_id, digest FROM training_inputs
                            WHERE model_version = ? AND kind = 'account'),
                 now_d AS ({_DEAL_DIGESTS}),
                 then_d AS (SELECT key AS deal_id, account_id, digest FROM training_inputs
                            WHERE model_version = ? AND kind = 'deal'),
                 deals_moved AS (
                     SELECT n.account_id AS now_account, t.account_id AS then_account
                     FROM now_d n FULL JOIN then_d t ON t.deal_id = n.deal_id
                     WHERE n.digest IS DISTINCT FROM t.digest),
                 touched AS (
                     SELECT n.account_id FROM now_a n JOIN then_a t USING (account_id) WHERE n.digest <> t.digest
                     UNION SELECT now_account FROM deals_moved UNION SELECT then_account FROM deals_moved)
            SELECT (SELECT count(*) FROM now_a WHERE account_id NOT IN (SELECT account_id FROM then_a)),
                   (SELECT count(*) FROM touched WHERE account_id IN (SELECT account_id FROM then_a)
                      AND account_id IN (SELECT account_id FROM now_a)),
                   (SELECT count(*) FROM deals_moved)""",
        [*params, version, version],
    )
    assert got is not None
    return {"accounts_added": int(got[0]), "accounts_changed": int(got[1]), "deals_changed": int(got[2])}
