-- 004: model_checks (SPEC §9, §12): the model surface checked against a published strategy index.
-- One row per (check, variant, scope, start, end); rerunning the same check replaces its row.

CREATE TABLE IF NOT EXISTS model_checks (
    checked_at    TIMESTAMP NOT NULL,
    "check"       VARCHAR   NOT NULL,
    "start"       DATE      NOT NULL,
    "end"         DATE      NOT NULL,
    months        INTEGER   NOT NULL,
    corr          DOUBLE,
    sharpe_model  DOUBLE,
    sharpe_index  DOUBLE,
    mean_model    DOUBLE,
    mean_index    DOUBLE,
    scope         VARCHAR   NOT NULL,
    variant       VARCHAR   NOT NULL,
    params        VARCHAR,
    source_file   VARCHAR,
    source_sha256 VARCHAR,
    run_id        VARCHAR,
    PRIMARY KEY ("check", variant, scope, "start", "end")
);

COMMENT ON TABLE model_checks IS 'The model surface (SPEC §3.1) checked against a published strategy index (SPEC §12): month-by-month tracking figures of the model''s replica against the index, per range and per year';
COMMENT ON COLUMN model_checks.checked_at IS 'UTC time the check ran';
COMMENT ON COLUMN model_checks."check" IS 'Which index was replicated: cndr (Cboe S&P 500 Iron Condor Index)';
COMMENT ON COLUMN model_checks."start" IS 'Roll (entry) session of the first month compared';
COMMENT ON COLUMN model_checks."end" IS 'Expiry session of the last month compared (a month belongs to the range of its expiry)';
COMMENT ON COLUMN model_checks.months IS 'Months compared (months with both a model price and an index return)';
COMMENT ON COLUMN model_checks.corr IS 'Pearson correlation of the model''s and the index''s monthly excess returns; NULL under 3 months';
COMMENT ON COLUMN model_checks.sharpe_model IS 'Annualised Sharpe ratio of the model''s monthly excess return (P&L per unit of max loss): sqrt(12)·mean/std, ddof 1';
COMMENT ON COLUMN model_checks.sharpe_index IS 'Annualised Sharpe ratio of the index''s monthly return in excess of bills: sqrt(12)·mean/std, ddof 1';
COMMENT ON COLUMN model_checks.mean_model IS 'Mean monthly excess return of the model, decimal per unit of max loss (0.01 = 1% of max loss a month)';
COMMENT ON COLUMN model_checks.mean_index IS 'Mean monthly return of the index in excess of bills, decimal (0.01 = 1% a month)';
COMMENT ON COLUMN model_checks.scope IS 'range = the whole requested range; year = one calendar year of expiries inside it';
COMMENT ON COLUMN model_checks.variant IS 'Parameter set: default (the Params defaults) or a calibration''s name';
COMMENT ON COLUMN model_checks.params IS 'JSON: the pricing and validation parameters the replica used';
COMMENT ON COLUMN model_checks.source_file IS 'The index history file compared against (path as given)';
COMMENT ON COLUMN model_checks.source_sha256 IS 'SHA-256 (hex) of that file';
COMMENT ON COLUMN model_checks.run_id IS 'Run that wrote the row (runs.run_id)';
