"""Queries behind the propensity model: training data, versioned models and scores, target lists.

Contract used by other pages and modules: `active_scores(con, rep_id=None, *, scope)` returns the
active model version's scores (rank 1 is the best expected value) with each account's context.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from planner.errors import BadInput, Forbidden, NotFound
from planner.scope import Scope, require_actor, require_leader, view
from planner.store import model_inputs
from planner.store.core import query_df, query_one, scalar
from planner.store.schema import next_id, now

# How many model versions keep their scores (older versions stay in the history, without scores).
KEEP_SCORED_VERSIONS = 5

ACTIVE_COLUMNS = [
    "account_id", "name", "industry", "employees", "state", "city", "country", "owner_rep_id", "propensity",
    "potential", "est_users", "price_per_user", "expected_value", "rank", "reasons", "open_deals", "intent_score",
    "new_executive", "similar_won",
]  # fmt: skip


# ---------------------------------------------------------------- training and scoring inputs


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """query_df's frame, its text columns brought over by Arrow (DuckDB's .df() makes a Python string of every
    cell first: most of the time of reading a million accounts); DuckDB converts the other columns, from
    the same Arrow result, so every dtype is query_df's."""
    table = con.execute(sql).to_arrow_table()
    # (A text column without any value stays DuckDB's: .df() gives it object dtype, not str.)
    text = {f.name for f in table.schema if (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
            and table.column(f.name).null_count < table.num_rows}  # fmt: skip
    other = [n for n in table.column_names if n not in text]
    rest = pd.DataFrame(index=pd.RangeIndex(table.num_rows))
    if other:
        name = f"_arrow_frame_{id(table)}"
        con.register(name, table.select(other))
        try:
            rest = con.execute(f"SELECT * FROM {name}").df()
        finally:
            con.unregister(name)
    return pd.DataFrame({n: table.column(n).to_pandas() if n in text else rest[n] for n in table.column_names})


def load_accounts(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Every account with the fields a model may use (and the ones the leakage guard drops)."""
    require_leader(scope)
    return _frame(
        con,
        """SELECT account_id, name, industry, employees, annual_revenue, employee_growth, intent_score,
                  new_executive, website_visits, account_type, state, lat, lon, owner_rep_id
           FROM accounts ORDER BY account_id""",
    )


def load_deals(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Every deal's dates, outcome and size; created_date falls back to the close date when missing."""
    require_leader(scope)
    return _frame(
        con,
        """SELECT d.deal_id, d.account_id, d.is_closed, d.is_won, d.amount, d.users,
                  coalesce(d.created_date, d.close_date) AS created_date, d.close_date
           FROM deals d JOIN accounts a USING (account_id)
           ORDER BY d.deal_id""",
    )


def load_attribute_defs(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Typed custom attributes that came in with imports, with how many accounts carry each."""
    require_leader(scope)
    return query_df(
        con,
        """SELECT d.attr, coalesce(d.label, d.attr) AS label, lower(coalesce(d.dtype, 'text')) AS dtype,
                  count(v.account_id) AS n_values, count(DISTINCT v.text_value) AS n_text
           FROM attribute_defs d LEFT JOIN account_attributes v USING (attr)
           GROUP BY ALL ORDER BY d.attr""",
    )


def load_attribute_values(con: duckdb.DuckDBPyConnection, attrs: list[str], *, scope: Scope) -> pd.DataFrame:
    """Long table account_id, attr, num_value, text_value for the given attributes."""
    require_leader(scope)
    if not attrs:
        return pd.DataFrame(columns=["account_id", "attr", "num_value", "text_value"])
    return query_df(
        con,
        "SELECT account_id, attr, num_value, text_value FROM account_attributes WHERE list_contains(?, attr)",
        [attrs],
    )


def load_truth(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """The demo generator's true probabilities (empty for real data)."""
    require_leader(scope)
    return query_df(con, "SELECT account_id, p_true FROM demo_truth")


def account_potential(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """Potential, estimated users and price per user of every account (from potential_settings)."""
    require_leader(scope)
    return _frame(con, "SELECT account_id, est_users, price_per_user, potential FROM account_potential")


# ---------------------------------------------------------------- models: versions, activation


def insert_model(
    con: duckdb.DuckDBPyConnection,
    *,
    kind: str,
    created_by: str,
    n_train: int,
    n_test: int,
    metrics: dict[str, Any],
    features: dict[str, Any],
    blob: bytes,
    scope: Scope,
) -> int:
    """Store a fitted model (inactive) and what it read (model_inputs.snapshot: the fields its card's `features`
    name, and the closed deals), and return its new version number."""
    require_leader(scope)
    version = next_id(con, "model_version")
    con.execute(
        "INSERT INTO models VALUES (?, ?, ?, ?, FALSE, ?, ?, ?, ?, ?)",
        [version, now(), created_by, kind, n_train, n_test, json.dumps(metrics), json.dumps(features), blob],
    )
    model_inputs.snapshot(con, version, features, scope=scope)
    return version


def replace_scores(con: duckdb.DuckDBPyConnection, version: int, scores: pd.DataFrame, *, scope: Scope) -> None:
    """Write one version's scores (account_id, propensity, potential, expected_value, rank, reasons...)."""
    require_leader(scope)
    cols = ["account_id", "propensity", "potential", "expected_value", "rank", "reasons", "similar_won",
            "nearest_won_km"]  # fmt: skip
    frame = scores[cols].copy()
    frame.insert(0, "model_version", version)
    con.execute("DELETE FROM scores WHERE model_version = ?", [version])
    # As an Arrow table: DuckDB reads its text columns as they are (a pandas frame's, cell by cell).
    con.register("_new_scores", pa.Table.from_pandas(frame, preserve_index=False))
    try:
        con.execute("INSERT INTO scores BY NAME SELECT * FROM _new_scores")
    finally:
        con.unregister("_new_scores")


def activate(con: duckdb.DuckDBPyConnection, version: int, *, scope: Scope) -> None:
    """Make `version` the model whose scores every page shows."""
    require_leader(scope)
    row = query_one(
        con,
        """SELECT m.model_version, (SELECT count(*) FROM scores s WHERE s.model_version = m.model_version)
           FROM models m WHERE m.model_version = ?""",
        [version],
    )
    if row is None:
        raise NotFound(f"model version {version} does not exist; see the version history on the Model page")
    if not row[1]:
        raise BadInput(
            f"model version {version} no longer has scores (only the last {KEEP_SCORED_VERSIONS} keep them); "
            "retrain instead"
        )
    con.execute("UPDATE models SET active = (model_version = ?)", [version])


def active_version(con: duckdb.DuckDBPyConnection) -> int | None:
    value = scalar(con, "SELECT max(model_version) FROM models WHERE active")
    return None if value is None else int(value)


def previous_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The newest scored version older than the active one (what a roll back returns to)."""
    active = active_version(con)
    value = scalar(
        con,
        """SELECT max(m.model_version) FROM models m
           WHERE m.model_version < coalesce(?, 9223372036854775807)
             AND EXISTS (SELECT 1 FROM scores s WHERE s.model_version = m.model_version)""",
        [active],
    )
    return None if value is None else int(value)


def prune_scores(con: duckdb.DuckDBPyConnection, keep: int = KEEP_SCORED_VERSIONS, *, scope: Scope) -> None:
    """Drop the scores of all but the newest `keep` versions (the active one always stays)."""
    require_leader(scope)
    con.execute(
        """DELETE FROM scores WHERE model_version NOT IN (
               SELECT model_version FROM models ORDER BY model_version DESC LIMIT ?)
           AND model_version NOT IN (SELECT model_version FROM models WHERE active)""",
        [keep],
    )
    model_inputs.prune(con, scope=scope)


def model_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every model version, newest first, with its headline metrics and whether it can be restored."""
    df = query_df(
        con,
        """SELECT m.model_version, m.created_at, m.created_by, m.kind, m.active, m.n_train, m.n_test, m.metrics,
                  EXISTS (SELECT 1 FROM scores s WHERE s.model_version = m.model_version) AS has_scores
           FROM models m ORDER BY m.model_version DESC""",
    )
    metrics = [json.loads(m) if m else {} for m in df["metrics"]]
    df["auc"] = [m.get("auc") for m in metrics]
    df["lift_top_decile"] = [m.get("lift_top_decile") for m in metrics]
    df["fit_score_auc"] = [(m.get("baselines") or {}).get("fit_score", {}).get("auc") for m in metrics]
    df["intent_auc"] = [(m.get("baselines") or {}).get("intent_only", {}).get("auc") for m in metrics]
    return df.drop(columns=["metrics"])


def model_record(con: duckdb.DuckDBPyConnection, version: int | None = None) -> dict[str, Any] | None:
    """One model's card data (metrics and features decoded); the active one when version is None."""
    if version is None:
        version = active_version(con)
        if version is None:
            return None
    row = query_one(
        con,
        """SELECT model_version, created_at, created_by, kind, active, n_train, n_test, metrics, features
           FROM models WHERE model_version = ?""",
        [version],
    )
    if row is None:
        raise NotFound(f"model version {version} does not exist; see the version history on the Model page")
    keys = ["model_version", "created_at", "created_by", "kind", "active", "n_train", "n_test", "metrics", "features"]
    rec = dict(zip(keys, row, strict=True))
    rec["metrics"] = json.loads(rec["metrics"] or "{}")
    rec["features"] = json.loads(rec["features"] or "{}")
    return rec


def model_blob(con: duckdb.DuckDBPyConnection, version: int, *, scope: Scope) -> bytes:
    require_leader(scope)
    blob = scalar(con, "SELECT blob FROM models WHERE model_version = ?", [version])
    if blob is None:
        raise NotFound(f"model version {version} does not exist; run `python -m planner train`")
    return bytes(blob)


def refresh_values(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> None:
    """Recompute potential, expected value and rank of every stored score from potential_settings."""
    require_leader(scope)
    con.execute(
        """UPDATE scores SET potential = p.potential, expected_value = scores.propensity * p.potential
           FROM account_potential p WHERE p.account_id = scores.account_id"""
    )
    _rerank(con, None)


def _rerank(con: duckdb.DuckDBPyConnection, version: int | None) -> None:
    """Rank 1..n by expected value, then propensity, then account id, within each version (one when given);
    only the rows whose rank moves are written."""
    only = "" if version is None else "WHERE model_version = ?"
    con.execute(
        f"""UPDATE scores SET rank = r.new_rank FROM (
               SELECT model_version, account_id,
                      row_number() OVER (PARTITION BY model_version
                                         ORDER BY expected_value DESC, propensity DESC, account_id) AS new_rank
               FROM scores {only}) r
           WHERE r.model_version = scores.model_version AND r.account_id = scores.account_id
             AND scores.rank IS DISTINCT FROM r.new_rank""",
        [] if version is None else [version],
    )


def merge_scores(con: duckdb.DuckDBPyConnection, version: int, scores: pd.DataFrame, *, scope: Scope) -> None:
    """Write the scores of some accounts into a version (theirs replaced, every other account's kept) and rank
    the whole version again: what accounts imported after the training get."""
    require_leader(scope)
    cols = ["account_id", "propensity", "potential", "expected_value", "rank", "reasons", "similar_won",
            "nearest_won_km"]  # fmt: skip
    frame = scores[cols].copy()
    frame.insert(0, "model_version", version)
    con.register("_some_scores", pa.Table.from_pandas(frame, preserve_index=False))
    try:
        con.execute(
            """DELETE FROM scores WHERE model_version = ?
                 AND account_id IN (SELECT account_id FROM _some_scores)""",
            [version],
        )
        con.execute("INSERT INTO scores BY NAME SELECT * FROM _some_scores")
    finally:
        con.unregister("_some_scores")
    _rerank(con, version)


def accounts_to_score(con: duckdb.DuckDBPyConnection, version: int, since: Any, *, scope: Scope) -> list[str]:
    """Accounts the version has no score for, and those whose row or deals changed at or after `since` (an
    import's start): what an import leaves for the active model to score."""
    require_leader(scope)
    rows = query_df(
        con,
        """SELECT a.account_id FROM accounts a
           WHERE a.created_at >= ? OR a.updated_at >= ?
              OR NOT EXISTS (SELECT 1 FROM scores s WHERE s.model_version = ? AND s.account_id = a.account_id)
           UNION
           SELECT d.account_id FROM deals d JOIN accounts a USING (account_id) WHERE d.updated_at >= ?
           ORDER BY 1""",
        [since, since, version, since],
    )
    return [str(a) for a in rows["account_id"]]


def import_changes(con: duckdb.DuckDBPyConnection, since: Any, *, scope: Scope) -> dict[str, int]:
    """What an import that started at `since` changed of what feeds the model: deals added or changed (every
    account's similar wins nearby and the account's own earlier wins and losses read them), existing accounts
    changed, and existing accounts an accounts file named (their custom attributes are replaced without a
    timestamp)."""
    require_leader(scope)
    row = query_one(
        con,
        """SELECT (SELECT count(*) FROM deals WHERE updated_at >= ?),
                  (SELECT count(*) FROM accounts WHERE updated_at >= ? AND coalesce(created_at < ?, TRUE)),
                  (SELECT coalesce(sum(updated), 0) FROM imports WHERE kind = 'accounts' AND started_at >= ?)""",
        [since, since, since, since],
    )
    assert row is not None
    keys = ["deals_changed", "accounts_changed", "accounts_named"]
    return {k: int(v or 0) for k, v in zip(keys, row, strict=True)}


def changes_since(con: duckdb.DuckDBPyConnection, since: Any, version: int | None = None) -> dict[str, int]:
    """Accounts added, accounts and closed deals whose inputs to the version changed since its training at
    `since` (model_inputs.changes: an owner, a name or an open deal is nothing it reads; a deal won since is),
    and how many accounts the version has no score for. A version trained before its inputs were kept counts
    the rows updated after `since` instead, a committed rebalance's owner changes aside. Counts only: what the
    Model page may show anyone."""
    moved = """SELECT DISTINCT assigned_at FROM assignments
               WHERE origin LIKE 'scenario:%' OR origin LIKE 'restore:%'"""
    row = query_one(
        con,
        f"""SELECT
              (SELECT count(*) FROM accounts WHERE created_at > ?),
              (SELECT count(*) FROM accounts WHERE coalesce(created_at <= ?, TRUE) AND updated_at > ?
                 AND updated_at NOT IN ({moved})),
              (SELECT count(*) FROM deals WHERE updated_at > ? AND updated_at NOT IN ({moved})),
              (SELECT count(*) FROM accounts a WHERE NOT EXISTS (
                 SELECT 1 FROM scores s WHERE s.model_version = ? AND s.account_id = a.account_id)),
              (SELECT count(*) FROM accounts), (SELECT count(*) FROM deals)""",
        [since, since, since, since, version],
    )
    assert row is not None
    keys = ["accounts_added", "accounts_changed", "deals_changed", "accounts_unscored", "accounts", "deals"]
    out = {k: int(v or 0) for k, v in zip(keys, row, strict=True)}
    exact = model_inputs.changes(con, version) if version is not None else None
    return out if exact is None else {**out, **exact}


# ---------------------------------------------------------------- reading scores


def _narrow(scope: Scope, rep_id: str | None) -> tuple[str, list[Any]]:
    return view(scope, rep_id, "a.owner_rep_id")


_SCORED = """
    SELECT a.account_id, a.name, a.industry, a.employees, a.state, a.city, a.country, a.owner_rep_id,
           s.propensity, p.potential, p.est_users, p.price_per_user, s.propensity * p.potential AS expected_value,
           s.rank, s.reasons, coalesce(o.open_deals, 0) AS open_deals, a.intent_score, a.new_executive,
           s.similar_won
    FROM scores s
    JOIN accounts a USING (account_id)
    JOIN account_potential p USING (account_id)
    LEFT JOIN (SELECT account_id, count(*) AS open_deals FROM deals WHERE NOT coalesce(is_closed, FALSE)
               GROUP BY account_id) o USING (account_id)
    WHERE s.model_version = (SELECT max(model_version) FROM models WHERE active)
"""


# Every account in view, its active score where it has one: what a target list shows (an account imported after
# the training and not scored yet comes last, not never).
_LISTED = """
    SELECT a.account_id, a.name, a.industry, a.employees, a.state, a.city, a.country, a.owner_rep_id,
           s.propensity, p.potential, p.est_users, p.price_per_user, s.propensity * p.potential AS expected_value,
           s.rank, s.reasons, coalesce(o.open_deals, 0) AS open_deals, a.intent_score, a.new_executive,
           s.similar_won, s.account_id IS NOT NULL AS scored
    FROM accounts a
    JOIN account_potential p ON p.account_id = a.account_id
    LEFT JOIN scores s ON s.account_id = a.account_id
                      AND s.model_version = (SELECT max(model_version) FROM models WHERE active)
    LEFT JOIN (SELECT account_id, count(*) AS open_deals FROM deals WHERE NOT coalesce(is_closed, FALSE)
               GROUP BY account_id) o ON o.account_id = a.account_id
    WHERE TRUE
"""


def active_scores(con: duckdb.DuckDBPyConnection, rep_id: str | None = None, *, scope: Scope) -> pd.DataFrame:
    """Scores of the active model for the accounts in scope (one territory when rep_id is given), best first.

    Columns: account_id, name, industry, employees, state, city, country, owner_rep_id, propensity, potential,
    est_users, price_per_user, expected_value, rank, reasons, open_deals, intent_score, new_executive,
    similar_won. `rank` is store-wide (1 = highest expected value); empty when no model was trained.
    """
    where, params = _narrow(scope, rep_id)
    return query_df(con, f"{_SCORED} AND {where} ORDER BY s.rank", params)


def score_reasons(con: duckdb.DuckDBPyConnection, account_ids: list[str], rep_id: str | None = None, *,
                  scope: Scope) -> dict[str, str]:  # fmt: skip
    """The active model's reasons for the given accounts in scope (one territory when rep_id is given), by
    account; an account without a score is left out. What a plan target's rationale needs, without the
    potential, deal counts and ranks of every account in view that active_scores computes."""
    where, params = _narrow(scope, rep_id)
    rows = query_df(
        con,
        f"""SELECT s.account_id, s.reasons FROM scores s JOIN accounts a USING (account_id)
            WHERE s.model_version = (SELECT max(model_version) FROM models WHERE active)
              AND list_contains(?, s.account_id) AND {where}""",
        [list(account_ids), *params],
    )
    return {str(a): str(r or "") for a, r in zip(rows["account_id"], rows["reasons"], strict=True)}


def _target_where(
    scope: Scope,
    rep_id: str | None,
    industries: list[str] | None,
    states: list[str] | None,
    min_employees: float | None,
    max_employees: float | None,
    min_propensity: float | None,
) -> tuple[str, list[Any]]:
    where, params = _narrow(scope, rep_id)
    parts, args = [where], list(params)
    if industries:
        parts.append("list_contains(?, a.industry)")
        args.append(list(industries))
    if states:
        parts.append("list_contains(?, a.state)")
        args.append(list(states))
    if min_employees is not None:
        parts.append("a.employees >= ?")
        args.append(min_employees)
    if max_employees is not None:
        parts.append("a.employees <= ?")
        args.append(max_employees)
    if min_propensity:
        parts.append("s.propensity >= ?")
        args.append(float(min_propensity))
    return " AND ".join(parts), args


def target_list(
    con: duckdb.DuckDBPyConnection,
    rep_id: str | None = None,
    *,
    scope: Scope,
    industries: list[str] | None = None,
    states: list[str] | None = None,
    min_employees: float | None = None,
    max_employees: float | None = None,
    min_propensity: float | None = None,
    limit: int = 500,
) -> dict[str, Any]:
    """The best `limit` accounts matching the filters, and totals over every match. Accounts the active model has
    no score for (imported after it was trained, or no model at all) come last, by potential, with `scored`
    False and no propensity, rank or reasons; a minimum propensity leaves them out. `unscored` counts them."""
    if limit < 1:
        raise BadInput(f"limit {limit} must be at least 1")
    where, args = _target_where(scope, rep_id, industries, states, min_employees, max_employees, min_propensity)
    order = "s.rank NULLS LAST, p.potential DESC NULLS LAST, a.account_id"
    rows = query_df(con, f"{_LISTED} AND {where} ORDER BY {order} LIMIT ?", [*args, int(limit)])
    tot = query_one(
        con,
        f"""SELECT count(*), sum(expected_value), sum(potential), avg(propensity), sum(open_deals),
                   count(*) FILTER (WHERE NOT scored)
            FROM ({_LISTED} AND {where})""",
        args,
    )
    assert tot is not None
    return {
        "rows": rows,
        "matches": int(tot[0] or 0),
        "unscored": int(tot[5] or 0),
        "expected_value": float(tot[1] or 0.0),
        "potential": float(tot[2] or 0.0),
        "mean_propensity": float(tot[3]) if tot[3] is not None else float("nan"),
        "open_deals": int(tot[4] or 0),
    }


def filter_options(con: duckdb.DuckDBPyConnection, rep_id: str | None = None, *, scope: Scope) -> dict[str, Any]:
    """Industries, states and the employee range among the accounts in scope (for the filters)."""
    where, params = _narrow(scope, rep_id)
    ind = query_df(
        con, f"SELECT DISTINCT a.industry FROM accounts a WHERE {where} AND a.industry IS NOT NULL ORDER BY 1", params
    )
    st = query_df(
        con, f"SELECT DISTINCT a.state FROM accounts a WHERE {where} AND a.state IS NOT NULL ORDER BY 1", params
    )
    rng = query_one(con, f"SELECT min(a.employees), max(a.employees) FROM accounts a WHERE {where}", params)
    return {
        "industries": ind["industry"].tolist(),
        "states": st["state"].tolist(),
        "min_employees": int(rng[0]) if rng and rng[0] is not None else 0,
        "max_employees": int(rng[1]) if rng and rng[1] is not None else 0,
    }


_EXPORT = """
    SELECT s.account_id, s.propensity, p.potential, s.propensity * p.potential AS expected_value, s.rank, s.reasons
    FROM scores s JOIN account_potential p USING (account_id)
    WHERE s.model_version = (SELECT max(model_version) FROM models WHERE active) ORDER BY s.rank
"""


def scores_for_export(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pd.DataFrame:
    """account_id, propensity, potential, expected_value, rank, reasons of every scored account (expected
    value = propensity x today's potential, as every page computes it)."""
    require_leader(scope)
    return query_df(con, _EXPORT)


def scores_for_export_table(con: duckdb.DuckDBPyConnection, *, scope: Scope) -> pa.Table:
    """scores_for_export as an Arrow table (a million rows' text without a Python string each)."""
    require_leader(scope)
    return con.execute(_EXPORT).to_arrow_table()


# ---------------------------------------------------------------- plans (shared with the plan page)


def _own_plan(con: duckdb.DuckDBPyConnection, scope: Scope, plan_id: int, targets: pd.DataFrame) -> None:
    """Forbidden unless the plan is the asker's (any plan for leaders and admins) and, for a rep, every
    account added is in their own territory."""
    owner = scalar(con, "SELECT rep_id FROM plans WHERE plan_id = ?", [plan_id])
    if owner is None:
        raise NotFound(f"no plan #{plan_id}; open the Plan page to start one")
    if not scope.allows_rep(str(owner)):
        raise Forbidden(f"plan #{plan_id} is not a plan of {scope.rep_id}; {scope.user} may not change it")
    if scope.is_rep:
        ids = [str(a) for a in targets["account_id"]]
        mine = set(accounts_owned_by(con, ids, scope=scope)["account_id"])
        foreign = [a for a in ids if a not in mine]
        if foreign:
            raise Forbidden(f"account {foreign[0]!r} is not in your territory; it cannot go into your plan")


def add_plan_targets(con: duckdb.DuckDBPyConnection, plan_id: int, targets: pd.DataFrame, *, scope: Scope) -> int:
    """Append accounts (account_id, rationale) to a plan after its last position; skip ones already in it."""
    _own_plan(con, scope, plan_id, targets)
    existing = set(query_df(con, "SELECT account_id FROM plan_targets WHERE plan_id = ?", [plan_id])["account_id"])
    new = targets[~targets["account_id"].isin(existing)].drop_duplicates("account_id")
    if new.empty:
        return 0
    start = int(scalar(con, "SELECT coalesce(max(position), 0) FROM plan_targets WHERE plan_id = ?", [plan_id]))
    rows = [
        (plan_id, str(r.account_id), start + i + 1, str(r.rationale or ""), "planned")
        for i, r in enumerate(new.itertuples(index=False))
    ]
    con.executemany(
        "INSERT INTO plan_targets (plan_id, account_id, position, rationale, status) VALUES (?, ?, ?, ?, ?)", rows
    )
    con.execute("UPDATE plans SET updated_at = ? WHERE plan_id = ?", [now(), plan_id])
    return len(rows)


def accounts_owned_by(con: duckdb.DuckDBPyConnection, account_ids: list[str], *, scope: Scope) -> pd.DataFrame:
    """account_id and owner_rep_id of those of the given accounts in scope (a rep: only their own)."""
    mine, params = scope.owner_filter("owner_rep_id")
    return query_df(
        con,
        f"SELECT account_id, owner_rep_id FROM accounts WHERE list_contains(?, account_id) AND {mine}",
        [list(account_ids), *params],
    )


def audit(con: duckdb.DuckDBPyConnection, actor: str, action: str, detail: dict[str, Any], *, scope: Scope) -> None:
    """Record who trained, activated or changed what."""
    require_actor(scope, actor)
    con.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
        [next_id(con, "audit_id"), now(), actor, action, json.dumps(detail, default=str)],
    )
