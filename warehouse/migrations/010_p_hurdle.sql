-- SPEC §6 (revised): p_hurdle beside the IRR in portfolio_risk.
ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS p_hurdle DOUBLE;
COMMENT ON COLUMN portfolio_risk.p_hurdle IS 'Probability (decimal 0-1) that the sleeve''s annual return on capital beats WACC + hurdle: stationary block bootstrap (mean block 21 sessions, 2,000 resamples, fixed seed) of its daily return on capital over its book history (at most 10 years); NULL without history';
