-- 003: CHECK constraints on the categorical columns (kind, put_call, state, status).
--
-- DuckDB 2.0 cannot add a constraint to an existing table ("No support for adding CHECK
-- constraints with ALTER TABLE"), so each guarded table is rebuilt: created under a new
-- name with the constraint, filled from the old one BY NAME (the same columns, the same
-- rows: a stored value outside the vocabulary fails this migration loudly rather than
-- being dropped), the old table dropped and the new one renamed. The migration runs in
-- one transaction, so it applies whole or not at all. Columns and keys are exactly those
-- of 001 + 002; a later migration adding a column to one of these tables must sort after
-- this one. The vocabularies are those of schemas/tables.py (a test compares them).

-- daily_sizing: kind, put_call (and pricing_source, the same kind of flag)
CREATE TABLE daily_sizing_003 (
    as_of          DATE    NOT NULL,
    portfolio_id   VARCHAR NOT NULL,
    position_id    VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL CHECK (kind IN ('condor', 'hedge')),
    expiry         DATE,
    leg            VARCHAR NOT NULL,
    put_call       VARCHAR CHECK (put_call IN ('P', 'C')),          -- NULL passes a CHECK
    strike         DOUBLE,
    qty            INTEGER,
    contracts      INTEGER,
    spot           DOUBLE,
    rate           DOUBLE,
    div_yield      DOUBLE,
    iv             DOUBLE,
    model_price    DOUBLE,
    delta          DOUBLE,
    pricing_source VARCHAR CHECK (pricing_source IN ('chain', 'model')),
    underlying     VARCHAR,
    tenor_days     INTEGER,
    forward        DOUBLE,
    gamma          DOUBLE,
    vega           DOUBLE,
    theta          DOUBLE,
    PRIMARY KEY (as_of, portfolio_id, position_id, leg)
);
INSERT INTO daily_sizing_003 BY NAME SELECT * FROM daily_sizing;
DROP TABLE daily_sizing;
ALTER TABLE daily_sizing_003 RENAME TO daily_sizing;

-- sizing_positions: kind
CREATE TABLE sizing_positions_003 (
    as_of                   DATE    NOT NULL,
    portfolio_id            VARCHAR NOT NULL,
    position_id             VARCHAR NOT NULL,
    kind                    VARCHAR NOT NULL CHECK (kind IN ('condor', 'hedge')),
    expiry                  DATE,
    dte                     INTEGER,
    contracts               INTEGER,
    n_cap                   INTEGER,
    risk_weight             DOUBLE,
    credit                  DOUBLE,
    max_profit              DOUBLE,
    max_loss                DOUBLE,
    breakeven_low           DOUBLE,
    breakeven_high          DOUBLE,
    prob_between_breakevens DOUBLE,
    dollar_beta             DOUBLE,
    tranche_beta            DOUBLE,
    premium                 DOUBLE,
    pricing_source          VARCHAR CHECK (pricing_source IN ('chain', 'model')),
    PRIMARY KEY (as_of, portfolio_id, position_id)
);
INSERT INTO sizing_positions_003 BY NAME SELECT * FROM sizing_positions;
DROP TABLE sizing_positions;
ALTER TABLE sizing_positions_003 RENAME TO sizing_positions;

-- signal_states: state (tasks.conventions.SignalState, plus the MACD crossings and GDP's 'slow')
CREATE TABLE signal_states_003 (
    as_of      DATE    NOT NULL,
    signal     VARCHAR NOT NULL,
    value      DOUBLE,
    state      VARCHAR NOT NULL CHECK (state IN (
        'stale', 'insufficient_history', 'overbought', 'oversold', 'neutral', 'bullish',
        'bearish', 'bullish_cross', 'bearish_cross', 'calm', 'normal', 'stressed', 'crisis', 'contango', 'flat',
        'backwardation', 'strong', 'weak', 'hot', 'cool', 'inline', 'shock', 'expansion', 'slow',
        'contraction', 'event', 'clear', 'risk_on', 'risk_off')),
    params     VARCHAR NOT NULL,
    input_date DATE,
    PRIMARY KEY (as_of, signal)
);
INSERT INTO signal_states_003 BY NAME SELECT * FROM signal_states;
DROP TABLE signal_states;
ALTER TABLE signal_states_003 RENAME TO signal_states;

-- runs: status ('crashed': a run killed mid-way, logged by the next run that found its copy)
CREATE TABLE runs_003 (
    run_id       VARCHAR   PRIMARY KEY,
    flow         VARCHAR   NOT NULL,
    as_of        DATE,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    status       VARCHAR   NOT NULL CHECK (status IN ('completed', 'failed', 'crashed')),
    rows_written BIGINT,
    message      VARCHAR
);
INSERT INTO runs_003 BY NAME SELECT * FROM runs;
DROP TABLE runs;
ALTER TABLE runs_003 RENAME TO runs;
