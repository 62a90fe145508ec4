"""The first schema (version 1) as DDL: shipped, never edited (planner.store.schema applies it, keyless)."""

V1 = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);

CREATE TABLE IF NOT EXISTS reps (
    rep_id VARCHAR PRIMARY KEY,
    crm_id VARCHAR,
    name VARCHAR NOT NULL,
    email VARCHAR,
    home_city VARCHAR,
    home_state VARCHAR,
    home_postal_code VARCHAR,
    home_lat DOUBLE,
    home_lon DOUBLE,
    quota DOUBLE,
    capacity_hours DOUBLE,
    active BOOLEAN DEFAULT TRUE,
    source VARCHAR,
    created_at TIMESTAMP,
    updated_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS accounts (
    account_id VARCHAR PRIMARY KEY,
    source VARCHAR,
    name VARCHAR,
    industry VARCHAR,
    employees BIGINT,
    annual_revenue DOUBLE,
    employee_growth DOUBLE,      -- 12-month employee growth, a fraction (0.10 = +10%)
    intent_score DOUBLE,         -- 0..100
    new_executive BOOLEAN,       -- a new executive in the last 90 days
    website_visits BIGINT,       -- last 30 days
    account_type VARCHAR,        -- CRM's own label (Customer, Prospect...): known after the outcome
    city VARCHAR,
    state VARCHAR,
    postal_code VARCHAR,
    county VARCHAR,
    lat DOUBLE,
    lon DOUBLE,
    geo_method VARCHAR,          -- file | zip | city | none
    owner_rep_id VARCHAR,        -- today's owner (also in assignments)
    locked BOOLEAN DEFAULT FALSE,
    created_at TIMESTAMP,
    updated_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS account_attributes (
    account_id VARCHAR,
    attr VARCHAR,
    num_value DOUBLE,
    text_value VARCHAR,
    PRIMARY KEY (account_id, attr)
);

CREATE TABLE IF NOT EXISTS attribute_defs (
    attr VARCHAR PRIMARY KEY,
    label VARCHAR,
    dtype VARCHAR,               -- number | boolean | text | date
    source VARCHAR,
    first_import_id BIGINT
);

CREATE TABLE IF NOT EXISTS deals (
    deal_id VARCHAR PRIMARY KEY,
    account_id VARCHAR,
    name VARCHAR,
    stage VARCHAR,
    amount DOUBLE,
    users BIGINT,
    created_date DATE,
    close_date DATE,
    is_closed BOOLEAN,
    is_won BOOLEAN,
    owner_rep_id VARCHAR,
    source VARCHAR,
    updated_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS activities (
    activity_id VARCHAR PRIMARY KEY,
    account_id VARCHAR,
    rep_id VARCHAR,
    kind VARCHAR,                -- email | call | meeting | social | event
    activity_date DATE,
    subject VARCHAR,
    outcome VARCHAR,
    source VARCHAR
);

CREATE TABLE IF NOT EXISTS assignments (
    account_id VARCHAR PRIMARY KEY,
    rep_id VARCHAR,
    assigned_at TIMESTAMP,
    origin VARCHAR               -- crm | demo | scenario:<id> | restore:<version>
);

CREATE SEQUENCE IF NOT EXISTS assignment_version_seq START 1;
CREATE TABLE IF NOT EXISTS assignment_versions (
    version BIGINT PRIMARY KEY,
    created_at TIMESTAMP,
    created_by VARCHAR,
    note VARCHAR
);
CREATE TABLE IF NOT EXISTS assignment_snapshots (
    version BIGINT,
    account_id VARCHAR,
    rep_id VARCHAR
);

CREATE SEQUENCE IF NOT EXISTS import_id_seq START 1;
CREATE TABLE IF NOT EXISTS imports (
    import_id BIGINT PRIMARY KEY,
    file_name VARCHAR,
    source VARCHAR,
    kind VARCHAR,
    sha256 VARCHAR,
    rows_read BIGINT,
    inserted BIGINT,
    updated BIGINT,
    rejected BIGINT,
    geocoded BIGINT,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    imported_by VARCHAR
);
CREATE TABLE IF NOT EXISTS rejected_rows (
    import_id BIGINT,
    row_number BIGINT,
    reason VARCHAR,
    raw VARCHAR
);
CREATE TABLE IF NOT EXISTS column_mappings (
    signature VARCHAR PRIMARY KEY,
    source VARCHAR,
    kind VARCHAR,
    mapping VARCHAR,             -- JSON: source column -> field
    updated_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS potential_settings (
    segment VARCHAR PRIMARY KEY, -- an industry, or '*' for the default
    adoption_share DOUBLE,       -- users = employees x share
    price_per_user DOUBLE,
    learned BOOLEAN DEFAULT FALSE,
    updated_at TIMESTAMP
);

CREATE SEQUENCE IF NOT EXISTS model_version_seq START 1;
CREATE TABLE IF NOT EXISTS models (
    model_version BIGINT PRIMARY KEY,
    created_at TIMESTAMP,
    created_by VARCHAR,
    kind VARCHAR,                -- model | fit_score
    active BOOLEAN,
    n_train BIGINT,
    n_test BIGINT,
    metrics VARCHAR,             -- JSON
    features VARCHAR,            -- JSON: used and excluded with reasons
    blob BLOB                    -- the fitted pipeline (pickle)
);
CREATE TABLE IF NOT EXISTS scores (
    model_version BIGINT,
    account_id VARCHAR,
    propensity DOUBLE,
    potential DOUBLE,
    expected_value DOUBLE,
    rank BIGINT,
    reasons VARCHAR,
    PRIMARY KEY (model_version, account_id)
);

CREATE SEQUENCE IF NOT EXISTS scenario_id_seq START 1;
CREATE TABLE IF NOT EXISTS scenarios (
    scenario_id BIGINT PRIMARY KEY,
    name VARCHAR,
    created_at TIMESTAMP,
    created_by VARCHAR,
    params VARCHAR,              -- JSON
    result VARCHAR,              -- JSON: indices, bounds, travel, solve time
    status VARCHAR,              -- draft | committed
    committed_at TIMESTAMP,
    committed_by VARCHAR
);
CREATE TABLE IF NOT EXISTS scenario_reps (
    scenario_id BIGINT,
    rep_id VARCHAR,
    name VARCHAR,
    home_lat DOUBLE,
    home_lon DOUBLE,
    capacity_hours DOUBLE,
    quota DOUBLE,
    is_new BOOLEAN
);
CREATE TABLE IF NOT EXISTS scenario_assignments (
    scenario_id BIGINT,
    account_id VARCHAR,
    previous_rep_id VARCHAR,
    rep_id VARCHAR,
    moved BOOLEAN,
    reason VARCHAR
);

CREATE SEQUENCE IF NOT EXISTS plan_id_seq START 1;
CREATE TABLE IF NOT EXISTS plans (
    plan_id BIGINT PRIMARY KEY,
    rep_id VARCHAR,
    period_start DATE,
    period_end DATE,
    weeks INTEGER,
    settings VARCHAR,            -- JSON
    created_at TIMESTAMP,
    updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS plan_targets (
    plan_id BIGINT,
    account_id VARCHAR,
    position INTEGER,
    rationale VARCHAR,
    offer_id VARCHAR,
    needs VARCHAR,               -- JSON
    status VARCHAR
);
CREATE TABLE IF NOT EXISTS plan_steps (
    plan_id BIGINT,
    account_id VARCHAR,
    step_no INTEGER,
    step_date DATE,
    channel VARCHAR,
    action VARCHAR,
    is_decision BOOLEAN
);
CREATE TABLE IF NOT EXISTS offers (
    offer_id VARCHAR PRIMARY KEY,
    name VARCHAR,
    kind VARCHAR,                -- event | case_study | trial | discount
    industry VARCHAR,
    description VARCHAR,
    valid_until DATE,
    active BOOLEAN DEFAULT TRUE
);
CREATE TABLE IF NOT EXISTS partners (
    partner_id VARCHAR PRIMARY KEY,
    name VARCHAR,
    industries VARCHAR,          -- JSON list
    states VARCHAR               -- JSON list
);

CREATE TABLE IF NOT EXISTS roles (
    email VARCHAR PRIMARY KEY,
    role VARCHAR,
    rep_id VARCHAR
);
CREATE SEQUENCE IF NOT EXISTS audit_id_seq START 1;
CREATE TABLE IF NOT EXISTS audit_log (
    audit_id BIGINT PRIMARY KEY,
    logged_at TIMESTAMP,
    actor VARCHAR,
    action VARCHAR,
    detail VARCHAR               -- JSON
);

CREATE TABLE IF NOT EXISTS demo_truth (
    account_id VARCHAR PRIMARY KEY,
    p_true DOUBLE                -- the demo generator's true win probability (model ceiling)
);

-- Revenue potential: users = employees x adoption share of the industry (or the '*' default),
-- potential = users x price per user. A view, so edits to potential_settings apply at once.
CREATE OR REPLACE VIEW account_potential AS
SELECT a.account_id,
       coalesce(s.adoption_share, d.adoption_share, 0.2) AS adoption_share,
       coalesce(s.price_per_user, d.price_per_user, 600.0) AS price_per_user,
       round(coalesce(a.employees, 0) * coalesce(s.adoption_share, d.adoption_share, 0.2)) AS est_users,
       round(coalesce(a.employees, 0) * coalesce(s.adoption_share, d.adoption_share, 0.2))
           * coalesce(s.price_per_user, d.price_per_user, 600.0) AS potential
FROM accounts a
LEFT JOIN potential_settings s ON s.segment = a.industry
LEFT JOIN potential_settings d ON d.segment = '*';

CREATE TABLE IF NOT EXISTS geo_zip (
    postal_code VARCHAR PRIMARY KEY,
    city VARCHAR,
    state VARCHAR,
    county VARCHAR,
    lat DOUBLE,
    lon DOUBLE
);
CREATE TABLE IF NOT EXISTS geo_city (
    city_key VARCHAR PRIMARY KEY,  -- upper(city) || '|' || state
    lat DOUBLE,
    lon DOUBLE,
    county VARCHAR
);
"""
