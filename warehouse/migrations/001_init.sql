-- 001: the SPEC §9 tables (the SQL contract). Column names are public: never rename.
-- Keys make reruns idempotent: facts are insert-if-absent, derived rows are replaced per as_of.

CREATE TABLE IF NOT EXISTS observations (
    series_id    VARCHAR   NOT NULL,
    date         DATE      NOT NULL,
    value        DOUBLE,                 -- NULL = the provider's missing marker ('.', blank)
    available_at DATE      NOT NULL,     -- first session the value was knowable (SPEC §1.2)
    source       VARCHAR   NOT NULL,
    ingested_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (series_id, date, available_at)
);

CREATE TABLE IF NOT EXISTS quarantine (
    source         VARCHAR   NOT NULL,
    series_id      VARCHAR   NOT NULL,
    raw            VARCHAR   NOT NULL,
    check_name     VARCHAR   NOT NULL,
    detail         VARCHAR,
    run_id         VARCHAR   NOT NULL,
    quarantined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, series_id, raw, check_name)
);

CREATE TABLE IF NOT EXISTS raw_fetch (
    run_id           VARCHAR   NOT NULL,
    source           VARCHAR   NOT NULL,
    series_id        VARCHAR,
    url              VARCHAR   NOT NULL,   -- never carries an API key
    status           INTEGER,
    bytes            BIGINT    NOT NULL,
    sha256           VARCHAR   NOT NULL,
    rows_parsed      INTEGER   NOT NULL,
    rows_accepted    INTEGER   NOT NULL,
    rows_quarantined INTEGER   NOT NULL,
    fetched_at       TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS signal_states (
    as_of      DATE    NOT NULL,
    signal     VARCHAR NOT NULL,
    value      DOUBLE,
    state      VARCHAR NOT NULL,
    params     VARCHAR NOT NULL,   -- JSON: parameters and series used
    input_date DATE,               -- newest input observation used (staleness)
    PRIMARY KEY (as_of, signal)
);

CREATE TABLE IF NOT EXISTS betas (
    as_of       DATE    NOT NULL,
    asset       VARCHAR NOT NULL,
    window_days INTEGER NOT NULL,
    beta        DOUBLE,
    alpha       DOUBLE,
    r2          DOUBLE,
    n_obs       INTEGER,
    PRIMARY KEY (as_of, asset, window_days)
);

CREATE TABLE IF NOT EXISTS daily_sizing (
    as_of          DATE    NOT NULL,
    portfolio_id   VARCHAR NOT NULL,
    position_id    VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,   -- 'condor' | 'hedge'
    expiry         DATE,
    leg            VARCHAR NOT NULL,
    put_call       VARCHAR,            -- 'P' | 'C' | NULL
    strike         DOUBLE,
    qty            INTEGER,            -- signed per unit: + long, - short
    contracts      INTEGER,            -- recommended units of the position
    spot           DOUBLE,
    rate           DOUBLE,
    div_yield      DOUBLE,
    iv             DOUBLE,
    model_price    DOUBLE,
    delta          DOUBLE,
    pricing_source VARCHAR,            -- 'chain' | 'model'
    PRIMARY KEY (as_of, portfolio_id, position_id, leg)
);

CREATE TABLE IF NOT EXISTS portfolio_risk (
    as_of                 DATE    NOT NULL,
    portfolio_id          VARCHAR NOT NULL,
    equity                DOUBLE,
    beta_before           DOUBLE,
    beta_after            DOUBLE,
    risk_free             DOUBLE,
    cost_of_equity        DOUBLE,
    wacc                  DOUBLE,
    irr                   DOUBLE,
    spread_bps            DOUBLE,
    eva                   DOUBLE,
    quick_ratio           DOUBLE,
    stress_crash_pnl      DOUBLE,
    stress_correction_pnl DOUBLE,
    stress_cpi_shock_pnl  DOUBLE,
    stress_vol_spike_pnl  DOUBLE,
    stress_rally_pnl      DOUBLE,
    rationale             VARCHAR,
    PRIMARY KEY (as_of, portfolio_id)
);

CREATE TABLE IF NOT EXISTS vix_term (
    as_of        DATE    NOT NULL,
    expiry       DATE    NOT NULL,
    tenor_days   INTEGER NOT NULL,
    future_model DOUBLE,
    PRIMARY KEY (as_of, expiry)
);

CREATE TABLE IF NOT EXISTS runs (
    run_id       VARCHAR   PRIMARY KEY,
    flow         VARCHAR   NOT NULL,
    as_of        DATE,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    status       VARCHAR   NOT NULL,   -- 'completed' | 'failed'
    rows_written BIGINT,
    message      VARCHAR
);
