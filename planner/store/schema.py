"""The store's schema: a version number and forward migrations, applied in order.

To change the schema, append a migration; never edit one that has shipped.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from planner.errors import StoreError, redact
from planner.store import versions
from planner.store.ddl import V1 as _V1
from planner.store.reference import zip_gazetteer


def keyless(ddl: str) -> str:
    """The DDL without key constraints and sequences, which a DuckLake cannot hold (#19 point 3).

    Applied to the first migration, so that a new store (a file or a lake) never has them; old files lose
    theirs in _v_keys_by_code. The tables keep one row per key by code: MERGE INTO, and new numbers from
    next_id under the store's one-writer-at-a-time rule.
    """
    ddl = re.sub(r",\s*PRIMARY KEY\s*\([^)]*\)", "", ddl)
    ddl = ddl.replace(" PRIMARY KEY", "")
    return re.sub(r"CREATE SEQUENCE[^;]*;", "", ddl)


def _v1(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(keyless(_V1))
    zips = zip_gazetteer()
    con.register("_zips", zips)
    con.execute("INSERT INTO geo_zip SELECT postal_code, city, state, county, lat, lon FROM _zips")
    con.unregister("_zips")
    con.execute(
        """INSERT INTO geo_city
           SELECT upper(city) || '|' || state, avg(lat), avg(lon), any_value(county)
           FROM geo_zip GROUP BY 1"""
    )


def _v_scores_similarity(con: duckdb.DuckDBPyConnection) -> None:
    """Scores keep the similarity figures behind their reasons (targets page, plan rationale)."""
    con.execute("ALTER TABLE scores ADD COLUMN IF NOT EXISTS similar_won BIGINT")
    con.execute("ALTER TABLE scores ADD COLUMN IF NOT EXISTS nearest_won_km DOUBLE")


def _v_plan_target_start(con: duckdb.DuckDBPyConnection) -> None:
    """A plan target may carry the week its sequence starts (NULL: the planner staggers it)."""
    con.execute("ALTER TABLE plan_targets ADD COLUMN IF NOT EXISTS start_week INTEGER")
    con.execute("ALTER TABLE plan_steps ADD COLUMN IF NOT EXISTS hours DOUBLE")


def _v_scores_without_key(con: duckdb.DuckDBPyConnection) -> None:
    """Scores lose their primary key: committing the delete of a whole version's rows from the key index cost
    about 8 s per 100,000 accounts (rescoring, pruning old versions). planner.store.scores.replace_scores
    writes each account once per version."""
    con.execute("CREATE TABLE scores_unkeyed AS SELECT * FROM scores ORDER BY model_version, account_id")
    con.execute("DROP TABLE scores")
    con.execute("ALTER TABLE scores_unkeyed RENAME TO scores")


def table_ddl(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The CREATE TABLE statement of a store table as DuckDB keeps it (columns, defaults, keys)."""
    row = con.execute(
        "SELECT sql FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main' "
        "AND database_name = current_database()",
        [table],
    ).fetchone()
    assert row is not None, table
    return str(row[0])


def _drop_primary_key(con: duckdb.DuckDBPyConnection, table: str, order_by: str) -> None:
    """Rebuild `table` as it is, defaults and all, minus its primary key."""
    ddl = re.sub(r",\s*PRIMARY KEY\s*\([^)]*\)", "", table_ddl(con, table), count=1).replace(" PRIMARY KEY", "", 1)
    ddl = re.sub(rf'^CREATE TABLE "?{table}"?\(', f"CREATE TABLE {table}_unkeyed(", ddl, count=1)
    con.execute(ddl)
    con.execute(f"INSERT INTO {table}_unkeyed SELECT * FROM {table} ORDER BY {order_by}")
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE {table}_unkeyed RENAME TO {table}")


def _v_bulk_tables_without_key(con: duckdb.DuckDBPyConnection) -> None:
    """Accounts, assignments and custom attributes lose their primary keys: maintaining the key index cost an
    import of 1,000,000 accounts about 2 s (a third of it), and deleting many keyed rows is slow in DuckDB.
    Their only writers keep one row per key: the importer (duplicate IDs rejected, existing IDs updated, a
    row's attributes and assignment deleted before they are written again), the demo builder and scenario
    commits (delete, then insert); tests check it."""
    _drop_primary_key(con, "accounts", "account_id")
    _drop_primary_key(con, "assignments", "account_id")
    _drop_primary_key(con, "account_attributes", "account_id, attr")


def _v_any_crm_shape(con: duckdb.DuckDBPyConnection) -> None:
    """CRM data of any shape (#14): accounts keep their country, how precisely they are placed, a geocoding
    note (a ZIP that contradicts its state), whether they are customers and whether only deals named them;
    reps keep their manager and region/team and whether their home was inferred from their accounts."""
    for column, dtype in (("country", "VARCHAR"), ("country_code", "VARCHAR"), ("geo_precision", "VARCHAR"),
                          ("geo_note", "VARCHAR"), ("is_customer", "BOOLEAN"), ("from_deals", "BOOLEAN")):  # fmt: skip
        con.execute(f"ALTER TABLE accounts ADD COLUMN IF NOT EXISTS {column} {dtype}")
    for column, dtype in (("manager", "VARCHAR"), ("region", "VARCHAR"), ("home_inferred", "BOOLEAN")):
        con.execute(f"ALTER TABLE reps ADD COLUMN IF NOT EXISTS {column} {dtype}")
    con.execute(
        """UPDATE accounts SET
               geo_precision = CASE geo_method WHEN 'file' THEN 'coordinates' WHEN 'zip' THEN 'postal_code'
                                   WHEN 'zip3' THEN 'region' WHEN 'city' THEN 'city' WHEN 'country' THEN 'country' END,
               country_code = CASE WHEN state IS NOT NULL OR postal_code IS NOT NULL THEN 'US' END,
               is_customer = coalesce(account_type = 'Customer', false)
                   OR account_id IN (SELECT account_id FROM deals WHERE is_won),
               from_deals = false"""
    )
    con.execute("UPDATE reps SET home_inferred = false")


# The key of every table: one row per key, kept by code rather than by constraints (a lake has none).
KEYS: dict[str, tuple[str, ...]] = {
    "meta": ("key",),
    "reps": ("rep_id",),
    "accounts": ("account_id",),
    "account_attributes": ("account_id", "attr"),
    "attribute_defs": ("attr",),
    "deals": ("deal_id",),
    "activities": ("activity_id",),
    "assignments": ("account_id",),
    "assignment_versions": ("version",),
    "assignment_snapshots": ("version", "account_id"),
    "imports": ("import_id",),
    "column_mappings": ("signature",),
    "potential_settings": ("segment",),
    "models": ("model_version",),
    "scores": ("model_version", "account_id"),
    "training_inputs": ("model_version", "kind", "key"),
    "scenarios": ("scenario_id",),
    "scenario_reps": ("scenario_id", "rep_id"),
    "scenario_assignments": ("scenario_id", "account_id"),
    "scenario_deals": ("scenario_id", "deal_id"),
    "plans": ("plan_id",),
    "offers": ("offer_id",),
    "partners": ("partner_id",),
    "roles": ("email",),
    "audit_log": ("audit_id",),
    "demo_truth": ("account_id",),
    "geo_zip": ("postal_code",),
    "geo_city": ("city_key",),
}

# Numbers that sequences used to hand out: (counter name in meta, table, column).
COUNTERS: dict[str, tuple[str, str]] = {
    "assignment_version": ("assignment_versions", "version"),
    "import_id": ("imports", "import_id"),
    "model_version": ("models", "model_version"),
    "scenario_id": ("scenarios", "scenario_id"),
    "plan_id": ("plans", "plan_id"),
    "audit_id": ("audit_log", "audit_id"),
}


def _v_keys_by_code(con: duckdb.DuckDBPyConnection) -> None:
    """No primary keys and no sequences (#19 point 3): a DuckLake refuses both, and one code path serves files
    and lakes. Each sequence's last number handed out becomes a counter in meta: no number twice, none skipped. A
    reopened file (every migrated one) reports its *next* value as start_value and last_value alike (edited after
    shipping for stores not yet migrated; those migrated before keep their counters, one number skipped)."""
    for (table,) in con.execute(
        "SELECT DISTINCT table_name FROM duckdb_constraints() WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE') "
        "AND schema_name = 'main' AND database_name = current_database() ORDER BY 1"
    ).fetchall():
        _drop_primary_key(con, table, ", ".join(KEYS.get(table, ("1",))))
    for name in COUNTERS:
        row = con.execute(
            "SELECT if(last_value = start_value, last_value - increment_by, last_value) FROM duckdb_sequences() "
            "WHERE schema_name = 'main' AND database_name = current_database() AND sequence_name = ?",
            [f"{name}_seq"],
        ).fetchone()
        if row is not None and row[0] is not None and int(row[0]) > 0:
            set_meta(con, f"counter:{name}", str(int(row[0])))
        con.execute(f"DROP SEQUENCE IF EXISTS {name}_seq")


# Annual revenue per employee assumed for an account with revenue but no head count (meta revenue_per_employee
# overrides it): about what US firms across industries take in per employee, in dollar terms.
REVENUE_PER_EMPLOYEE = 250_000.0


def _v_potential_from_revenue(con: duckdb.DuckDBPyConnection) -> None:
    """Potential for accounts with revenue and no head count: a Dynamics book with annual revenue and no employees
    valued every account at 0 (charts drew axes from $-1 to $1). Users are employees x share where the head count
    is known, else annual revenue / revenue per employee x share; users_basis says which."""
    share = "coalesce(s.adoption_share, d.adoption_share, 0.2)"
    price = "coalesce(s.price_per_user, d.price_per_user, 600.0)"
    # A scalar subquery, not a joined CTE: DuckDB writes a view's CROSS JOIN back as a comma join, which then binds
    # looser than the LEFT JOINs after it, and the view's own DDL fails to replay ("Non-inner join on correlated
    # columns") where a store is copied (a lake, `store copy`).
    per_employee = (
        "(SELECT coalesce(max(TRY_CAST(value AS DOUBLE)) FILTER (WHERE key = 'revenue_per_employee' "
        f"AND TRY_CAST(value AS DOUBLE) > 0), {REVENUE_PER_EMPLOYEE}) FROM meta)"
    )
    heads = (
        f"CASE WHEN a.employees > 0 THEN a.employees WHEN a.annual_revenue > 0 THEN a.annual_revenue / {per_employee} "
        "ELSE 0 END"
    )
    con.execute(
        f"""CREATE OR REPLACE VIEW account_potential AS
            SELECT a.account_id,
                   {share} AS adoption_share,
                   {price} AS price_per_user,
                   round({heads} * {share}) AS est_users,
                   round({heads} * {share}) * {price} AS potential,
                   CASE WHEN a.employees > 0 THEN 'employees' WHEN a.annual_revenue > 0 THEN 'revenue' END
                       AS users_basis
            FROM accounts a
            LEFT JOIN potential_settings s ON s.segment = a.industry
            LEFT JOIN potential_settings d ON d.segment = '*'"""
    )


def _v_account_domain(con: duckdb.DuckDBPyConnection) -> None:
    """Accounts keep their web domain (normalised: no scheme, 'www.' or path), so deals that name their company
    only by domain (HubSpot's 'Associated Company Domain') find it."""
    con.execute("ALTER TABLE accounts ADD COLUMN IF NOT EXISTS domain VARCHAR")


def _v_training_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """A model version keeps a digest of what it read at training, per account and per closed deal
    (planner.store.model_inputs), so that the Model page counts only changes the model would learn from."""
    con.execute(
        """CREATE TABLE IF NOT EXISTS training_inputs (
               model_version BIGINT, kind VARCHAR, key VARCHAR, account_id VARCHAR, digest UBIGINT)"""
    )


def _v_scenario_deals(con: duckdb.DuckDBPyConnection) -> None:
    """A commit keeps the open deals it gives another owner, with their owner before (as scenario_assignments keeps
    the accounts'): a re-import's three-way merge of deal owners needs that base (store.imports.deal_owners)."""
    con.execute(
        """CREATE TABLE IF NOT EXISTS scenario_deals (
               scenario_id BIGINT, deal_id VARCHAR, account_id VARCHAR, previous_rep_id VARCHAR, rep_id VARCHAR)"""
    )


def _v_rep_former_names(con: duckdb.DuckDBPyConnection) -> None:
    """A renamed rep keeps their former names, which older exports still write as owners (imports.reps)."""
    con.execute("ALTER TABLE reps ADD COLUMN IF NOT EXISTS former_names VARCHAR[]")


MIGRATIONS: list[Callable[[duckdb.DuckDBPyConnection], None]] = [
    _v1, _v_scores_similarity, _v_plan_target_start, _v_scores_without_key, _v_bulk_tables_without_key,
    _v_any_crm_shape, _v_keys_by_code, _v_potential_from_revenue, _v_account_domain, _v_training_inputs,
    _v_scenario_deals, _v_rep_former_names,
]  # fmt: skip
SCHEMA_VERSION = len(MIGRATIONS)


def duplicate_keys(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many keys occur more than once, per table that has any (empty: one row per key everywhere)."""
    out: dict[str, int] = {}
    for table, key in KEYS.items():
        cols = ", ".join(key)
        n = con.execute(
            f"SELECT count(*) FROM (SELECT {cols} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()
        if n and n[0]:
            out[table] = int(n[0])
    return out


def _has_meta(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta' AND table_schema = 'main' "
        "AND table_catalog = current_database()"
    ).fetchone()
    return bool(row and row[0])


def _table_count(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_catalog = current_database()"
    ).fetchone()
    return int(row[0]) if row else 0


def current_version(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """The schema version of an open store; a foreign DuckDB file is an error, an empty one is 0."""
    if not _has_meta(con):
        if _table_count(con) == 0:
            return 0
        raise StoreError(
            f"{redact(str(path))} is a DuckDB file but not a Territory Planner store; pass --db with another path"
        )
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{redact(str(path))} was written by a newer Territory Planner (schema {version} > {SCHEMA_VERSION}); "
            "upgrade the app"
        )
    return version


def migrate(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Apply every migration the store has not seen yet, in order."""
    version = current_version(con, path)
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        step(con)
        set_meta(con, "schema_version", str(number))
    if version == 0:
        set_meta(con, "created_at", now().isoformat())


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute(
        """MERGE INTO meta USING (SELECT ?::VARCHAR AS key, ?::VARCHAR AS value) AS s ON meta.key = s.key
           WHEN MATCHED THEN UPDATE SET value = s.value
           WHEN NOT MATCHED THEN INSERT (key, value) VALUES (s.key, s.value)""",
        [key, value],
    )


def next_id(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """The next number of counter `name` (a model version, a scenario id...), never handed out before.

    Safe across processes and hosts because writes take turns (core: a file lock, or a PostgreSQL lock for a
    lake) and every write also updates meta, so two overlapping lake writes cannot both commit.
    """
    table, column = COUNTERS[name]
    highest = f"SELECT max({column}) FROM {table}"
    row = con.execute(
        f"SELECT greatest(({highest}), (SELECT max(value::BIGINT) FROM meta WHERE key = ?), 0)", [f"counter:{name}"]
    ).fetchone()
    value = int(row[0] if row else 0) + 1
    set_meta(con, f"counter:{name}", str(value))
    return value


def get_meta(con: duckdb.DuckDBPyConnection, key: str, default: str | None = None) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return default if row is None else row[0]


def bump_write_id(con: duckdb.DuckDBPyConnection) -> None:
    """Mark every successful write, so that caches keyed on it refresh."""
    for key in ("write_id", *versions.bumped_by(con)):  # the versions its writer's kind changes (store/versions.py)
        set_meta(con, key, uuid.uuid4().hex)
    set_meta(con, "written_at", now().isoformat())


def now() -> datetime:
    """Naive UTC now, the way timestamps are stored."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
