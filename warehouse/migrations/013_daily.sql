-- 013: the daily run's own needs (issue 11).
--
-- 1. `params` columns hold DuckDB JSON rather than JSON text, so `params->>'series'` works
--    in SQL and `condorcap sql --format json` emits an object, not an escaped string.
--    ALTER … TYPE keeps each column's comment, key and CHECK constraints.
ALTER TABLE signal_states ALTER params TYPE JSON;
ALTER TABLE model_checks ALTER params TYPE JSON;

-- 2. "not applicable" is NULL, not -1: a hedge has no per-tranche cap.
UPDATE sizing_positions SET n_cap = NULL WHERE n_cap = -1;

-- 3. Incremental ingest: a payload whose fingerprint (SHA-256 of the payload and of the
--    parameters that turn it into rows) equals the last one loaded for its series is not
--    parsed, validated or loaded again; the fetch is still logged, marked as skipped.
ALTER TABLE raw_fetch ADD COLUMN fingerprint VARCHAR;
ALTER TABLE raw_fetch ADD COLUMN unchanged BOOLEAN;
COMMENT ON COLUMN raw_fetch.fingerprint IS 'SHA-256 (hex) of the payload''s sha256 together with the release lags and ingest limits that turned it into rows; equal fingerprints give equal rows';
COMMENT ON COLUMN raw_fetch.unchanged IS 'True when the payload''s fingerprint equalled the series'' last loaded one, so it was not parsed, validated or loaded again (its row counts are then 0: nothing was parsed); NULL before migration 013';
COMMENT ON COLUMN sizing_positions.n_cap IS 'Per-tranche cap in contracts floor(cap x E / R); NULL for a hedge (not applicable)';

-- 4. Incremental history: the stored modelled ladder is extended, not recomputed, when it
--    was computed with the same method parameters (tasks/history/incremental.py).
ALTER TABLE ladder_daily ADD COLUMN params_fingerprint VARCHAR;
COMMENT ON COLUMN ladder_daily.params_fingerprint IS 'SHA-256 (hex) of the method parameters the history was computed with; a run with other parameters recomputes it in full';
