-- SPEC §11 backtest of the sizing policy (tables of SPEC §9): per backtest_id, portfolio and
-- hedge variant, the daily account of the §10 book loop and the tearsheet. A rerun under the
-- same backtest_id replaces that (portfolio, variant)'s rows in one transaction.

CREATE TABLE IF NOT EXISTS backtest_daily (
    backtest_id VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    portfolio_id VARCHAR NOT NULL,
    variant VARCHAR NOT NULL,
    nav DOUBLE NOT NULL,
    capital_at_risk DOUBLE NOT NULL,
    pnl DOUBLE NOT NULL,
    condor_pnl DOUBLE NOT NULL,
    hedge_pnl DOUBLE NOT NULL,
    drawdown DOUBLE NOT NULL,
    PRIMARY KEY (backtest_id, portfolio_id, variant, as_of)
);

CREATE TABLE IF NOT EXISTS backtest_summary (
    backtest_id VARCHAR NOT NULL,
    portfolio_id VARCHAR NOT NULL,
    variant VARCHAR NOT NULL,
    start DATE NOT NULL,
    "end" DATE NOT NULL,
    cagr DOUBLE,
    vol DOUBLE,
    sharpe DOUBLE,
    sortino DOUBLE,
    max_drawdown DOUBLE,
    calmar DOUBLE,
    win_rate DOUBLE,
    profit_factor DOUBLE,
    trades BIGINT NOT NULL,
    hedge_cost_per_year DOUBLE,
    irr DOUBLE,
    wacc DOUBLE,
    spread_bps DOUBLE,
    drawdown_peak DATE,
    drawdown_trough DATE,
    sessions BIGINT NOT NULL,
    exit_reasons VARCHAR NOT NULL,
    seconds DOUBLE,
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (backtest_id, portfolio_id, variant)
);

CREATE TABLE IF NOT EXISTS backtest_windows (
    backtest_id VARCHAR NOT NULL,
    portfolio_id VARCHAR NOT NULL,
    variant VARCHAR NOT NULL,
    "window" VARCHAR NOT NULL,
    start DATE NOT NULL,
    "end" DATE NOT NULL,
    condor_pnl DOUBLE NOT NULL,
    hedge_pnl DOUBLE NOT NULL,
    ratio DOUBLE,
    PRIMARY KEY (backtest_id, portfolio_id, variant, "window")
);

COMMENT ON TABLE backtest_daily IS 'SPEC §11 backtest: one row per session of the §10 book loop (the daily run''s code) for a portfolio and hedge variant, started from the portfolio file''s NAV';
COMMENT ON COLUMN backtest_daily.backtest_id IS 'Id of the backtest run (given with --id, else derived from its range and the portfolio file)';
COMMENT ON COLUMN backtest_daily.as_of IS 'NYSE session (close) of the row';
COMMENT ON COLUMN backtest_daily.portfolio_id IS 'Portfolio of the portfolio file';
COMMENT ON COLUMN backtest_daily.variant IS 'Hedge policy: alvh (SPEC §7 step 5), vxth (Cboe VXTH allocation by VIX level) or none';
COMMENT ON COLUMN backtest_daily.nav IS 'NAV at the close, USD: cash + T-bills + holdings + marked options − debt';
COMMENT ON COLUMN backtest_daily.capital_at_risk IS 'Capital at risk of the open options at the close, USD (condor max losses + hedge premium)';
COMMENT ON COLUMN backtest_daily.pnl IS 'P&L of the session, USD: condors + hedge + holdings + carry';
COMMENT ON COLUMN backtest_daily.condor_pnl IS 'P&L of the condor tranches in the session, USD (marks and trades, net of commissions)';
COMMENT ON COLUMN backtest_daily.hedge_pnl IS 'P&L of the VIX-call hedge in the session, USD (marks and trades, net of commissions)';
COMMENT ON COLUMN backtest_daily.drawdown IS 'NAV / running peak NAV − 1, decimal (≤ 0)';

COMMENT ON TABLE backtest_summary IS 'SPEC §11 tearsheet of a backtest: one row per portfolio and hedge variant; metrics from empyrical-reloaded on the daily NAV returns';
COMMENT ON COLUMN backtest_summary.backtest_id IS 'Id of the backtest run';
COMMENT ON COLUMN backtest_summary.portfolio_id IS 'Portfolio of the portfolio file';
COMMENT ON COLUMN backtest_summary.variant IS 'Hedge policy: alvh, vxth or none';
COMMENT ON COLUMN backtest_summary.start IS 'First session of the backtest';
COMMENT ON COLUMN backtest_summary."end" IS 'Last session of the backtest';
COMMENT ON COLUMN backtest_summary.cagr IS 'Compound annual growth of the NAV, decimal (252 sessions a year)';
COMMENT ON COLUMN backtest_summary.vol IS 'Annualised volatility of the daily NAV returns, decimal (×√252)';
COMMENT ON COLUMN backtest_summary.sharpe IS 'Sharpe ratio of the daily returns in excess of T-bills, annualised (×√252)';
COMMENT ON COLUMN backtest_summary.sortino IS 'Sortino ratio of the daily returns in excess of T-bills, annualised (×√252)';
COMMENT ON COLUMN backtest_summary.max_drawdown IS 'Deepest fall of the NAV from a running peak, decimal (≤ 0)';
COMMENT ON COLUMN backtest_summary.calmar IS 'CAGR / |max drawdown|';
COMMENT ON COLUMN backtest_summary.win_rate IS 'Share of closed condor tranches whose round trip made money, decimal';
COMMENT ON COLUMN backtest_summary.profit_factor IS 'Gains of the winning closed condors / losses of the losing ones';
COMMENT ON COLUMN backtest_summary.trades IS 'Condor tranches closed (any exit rule, expiry included)';
COMMENT ON COLUMN backtest_summary.hedge_cost_per_year IS 'Net cost of the hedge per year, USD (− hedge P&L summed / years; > 0 = a cost)';
COMMENT ON COLUMN backtest_summary.irr IS 'Sleeve IRR over the whole backtest (SPEC §6 on the account: (1 + P&L / mean capital at risk)^(365/days) − 1), decimal';
COMMENT ON COLUMN backtest_summary.wacc IS 'Mean WACC of the full sizings of the run, decimal';
COMMENT ON COLUMN backtest_summary.spread_bps IS '(IRR − WACC) × 10,000, bp';
COMMENT ON COLUMN backtest_summary.drawdown_peak IS 'Session of the NAV peak before the max drawdown';
COMMENT ON COLUMN backtest_summary.drawdown_trough IS 'Session of the max drawdown''s trough';
COMMENT ON COLUMN backtest_summary.sessions IS 'Sessions stepped';
COMMENT ON COLUMN backtest_summary.exit_reasons IS 'Closed condors by exit rule, JSON object {rule: count}';
COMMENT ON COLUMN backtest_summary.seconds IS 'Wall seconds of the book loop for this portfolio and variant';
COMMENT ON COLUMN backtest_summary.computed_at IS 'UTC time the row was written';

COMMENT ON TABLE backtest_windows IS 'SPEC §11 crash-window attribution of a backtest: condor and hedge P&L summed over each crash window inside the range';
COMMENT ON COLUMN backtest_windows.backtest_id IS 'Id of the backtest run';
COMMENT ON COLUMN backtest_windows.portfolio_id IS 'Portfolio of the portfolio file';
COMMENT ON COLUMN backtest_windows.variant IS 'Hedge policy: alvh, vxth or none';
COMMENT ON COLUMN backtest_windows."window" IS 'Crash window label (2008-09…2009-03, 2011-08, 2015-08, 2018-02, 2020-02…04, 2022)';
COMMENT ON COLUMN backtest_windows.start IS 'First day of the window';
COMMENT ON COLUMN backtest_windows."end" IS 'Last day of the window';
COMMENT ON COLUMN backtest_windows.condor_pnl IS 'Condor P&L summed over the window''s sessions, USD';
COMMENT ON COLUMN backtest_windows.hedge_pnl IS 'Hedge P&L summed over the window''s sessions, USD';
COMMENT ON COLUMN backtest_windows.ratio IS 'hedge P&L / − condor P&L: share of the condors'' loss the hedge paid back (NULL when the condors did not lose)';
