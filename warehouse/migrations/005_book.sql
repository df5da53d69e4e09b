-- The book of SPEC §10: every leg held after each session's orders, the orders, the account,
-- and the scalars the next session starts from. Per (as_of, portfolio_id); a rerun of a date
-- replaces that date and every later stored date of the portfolio in one transaction.

CREATE TABLE IF NOT EXISTS book (
    as_of DATE NOT NULL,
    portfolio_id VARCHAR NOT NULL,
    position_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    expiry DATE NOT NULL,
    leg VARCHAR NOT NULL,
    put_call VARCHAR,
    strike DOUBLE NOT NULL,
    contracts BIGINT NOT NULL,
    opened_on DATE NOT NULL,
    entry_price DOUBLE NOT NULL,
    mark DOUBLE NOT NULL,
    pricing_source VARCHAR NOT NULL,
    underlying VARCHAR NOT NULL,
    qty DOUBLE NOT NULL,
    iv DOUBLE,
    PRIMARY KEY (as_of, portfolio_id, position_id, leg)
);

CREATE TABLE IF NOT EXISTS orders (
    as_of DATE NOT NULL,
    portfolio_id VARCHAR NOT NULL,
    order_id VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    position_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    expiry DATE NOT NULL,
    leg VARCHAR NOT NULL,
    put_call VARCHAR,
    strike DOUBLE NOT NULL,
    contracts BIGINT NOT NULL,
    limit_price DOUBLE NOT NULL,
    reason VARCHAR NOT NULL,
    side VARCHAR NOT NULL,
    qty DOUBLE NOT NULL,
    mid DOUBLE NOT NULL,
    commission DOUBLE NOT NULL,
    PRIMARY KEY (as_of, portfolio_id, order_id, leg)
);

CREATE TABLE IF NOT EXISTS account_daily (
    as_of DATE NOT NULL,
    portfolio_id VARCHAR NOT NULL,
    nav DOUBLE NOT NULL,
    cash DOUBLE NOT NULL,
    capital_at_risk DOUBLE NOT NULL,
    pnl DOUBLE NOT NULL,
    realised_pnl DOUBLE NOT NULL,
    unrealised_pnl DOUBLE NOT NULL,
    condor_pnl DOUBLE NOT NULL,
    hedge_pnl DOUBLE NOT NULL,
    drawdown DOUBLE NOT NULL,
    tbills DOUBLE NOT NULL,
    holdings_value DOUBLE NOT NULL,
    options_value DOUBLE NOT NULL,
    holdings_pnl DOUBLE NOT NULL,
    carry_pnl DOUBLE NOT NULL,
    commissions DOUBLE NOT NULL,
    condor_contracts BIGINT NOT NULL,
    hedge_units BIGINT NOT NULL,
    PRIMARY KEY (as_of, portfolio_id)
);

CREATE TABLE IF NOT EXISTS book_state (
    as_of DATE NOT NULL,
    portfolio_id VARCHAR NOT NULL,
    cash DOUBLE NOT NULL,
    tbills DOUBLE NOT NULL,
    holdings VARCHAR NOT NULL,
    margin_debt DOUBLE NOT NULL,
    margin_rate DOUBLE NOT NULL,
    box_debt DOUBLE NOT NULL,
    other DOUBLE NOT NULL,
    nav DOUBLE NOT NULL,
    peak_nav DOUBLE NOT NULL,
    spot DOUBLE NOT NULL,
    monetised BOOLEAN NOT NULL,
    PRIMARY KEY (as_of, portfolio_id)
);

COMMENT ON TABLE book IS 'Every option leg a portfolio holds after the session''s orders (SPEC §10): one row per (as_of, portfolio, position, leg)';
COMMENT ON COLUMN book.as_of IS 'Session whose close (after its orders) the row describes';
COMMENT ON COLUMN book.portfolio_id IS 'Portfolio (portfolio file portfolio_id)';
COMMENT ON COLUMN book.position_id IS 'Position id, stable for the life of the position: IC-<expiry>-<short put>-<short call> (condor), HV-<long expiry>-<long strike> (VIX call hedge unit; HS spread, HC calendar)';
COMMENT ON COLUMN book.kind IS 'condor or hedge';
COMMENT ON COLUMN book.expiry IS 'The leg''s expiry date';
COMMENT ON COLUMN book.leg IS 'short_put, long_put, short_call, long_call (condor); long_call, short_call (hedge)';
COMMENT ON COLUMN book.put_call IS 'P or C';
COMMENT ON COLUMN book.strike IS 'Strike, index points';
COMMENT ON COLUMN book.contracts IS 'Structure units held: condor contracts or hedge units (count)';
COMMENT ON COLUMN book.opened_on IS 'Session the position was first filled';
COMMENT ON COLUMN book.entry_price IS 'Fill price per option, points (mid -/+ slippage; contract-weighted when units were added)';
COMMENT ON COLUMN book.mark IS 'Close price per option, points: chain mid when quoted, else the model (intrinsic at expiry)';
COMMENT ON COLUMN book.pricing_source IS 'chain or model: where mark came from';
COMMENT ON COLUMN book.underlying IS 'SPX or VIX';
COMMENT ON COLUMN book.qty IS 'Signed quantity per structure unit (+1 long, -1 short)';
COMMENT ON COLUMN book.iv IS 'Vol the model mark used, decimal (VIX legs: vol of vol); NULL for SPX legs (the skewed surface)';

COMMENT ON TABLE orders IS 'The session''s orders per portfolio (SPEC §10): one row per leg of each order, with the rule that caused it';
COMMENT ON COLUMN orders.as_of IS 'Session at whose close the order is placed (the shadow book fills it there)';
COMMENT ON COLUMN orders.portfolio_id IS 'Portfolio';
COMMENT ON COLUMN orders.order_id IS 'Order id <yyyymmdd>-<portfolio>-<nn>; the legs of one order share it';
COMMENT ON COLUMN orders.action IS 'open, close, roll or adjust';
COMMENT ON COLUMN orders.position_id IS 'Position the order acts on (book.position_id)';
COMMENT ON COLUMN orders.kind IS 'condor or hedge';
COMMENT ON COLUMN orders.expiry IS 'The leg''s expiry date';
COMMENT ON COLUMN orders.leg IS 'Leg name as in book.leg';
COMMENT ON COLUMN orders.put_call IS 'P or C';
COMMENT ON COLUMN orders.strike IS 'Strike, index points';
COMMENT ON COLUMN orders.contracts IS 'Structure units traded (count, > 0)';
COMMENT ON COLUMN orders.limit_price IS 'Limit price per option, points: the mid moved against us by the slippage (the shadow fill)';
COMMENT ON COLUMN orders.reason IS 'The rule that caused the order, in words (free ladder slot, profit target, stop, DTE exit, expiry, roll, monetise, hedge resize)';
COMMENT ON COLUMN orders.side IS 'buy or sell (this leg)';
COMMENT ON COLUMN orders.qty IS 'Signed quantity of the leg per structure unit (+1 long, -1 short)';
COMMENT ON COLUMN orders.mid IS 'Mid price per option at the close, points (chain or model)';
COMMENT ON COLUMN orders.commission IS 'Commission of this leg, USD total';

COMMENT ON TABLE account_daily IS 'The portfolio''s account at each close (SPEC §10): NAV and its P&L split; NAV(d) - NAV(d-1) = pnl(d)';
COMMENT ON COLUMN account_daily.as_of IS 'Session';
COMMENT ON COLUMN account_daily.portfolio_id IS 'Portfolio';
COMMENT ON COLUMN account_daily.nav IS 'Net asset value, USD: cash + T-bills + holdings + marked options + other - margin debt - box debt';
COMMENT ON COLUMN account_daily.cash IS 'Cash after the session''s trades, interest and debt cost, USD';
COMMENT ON COLUMN account_daily.capital_at_risk IS 'Sleeve capital at risk, USD: condor max loss 100*(W - credit)*contracts + hedge premium paid';
COMMENT ON COLUMN account_daily.pnl IS 'P&L since the previous close, USD (condor + hedge + holdings + carry)';
COMMENT ON COLUMN account_daily.realised_pnl IS 'Sleeve P&L realised by the session''s closes (fill - entry), net of all its commissions, USD';
COMMENT ON COLUMN account_daily.unrealised_pnl IS 'Change in the marked value of open sleeve positions over their cost, USD';
COMMENT ON COLUMN account_daily.condor_pnl IS 'P&L of the condors (marks, fills, commissions), USD';
COMMENT ON COLUMN account_daily.hedge_pnl IS 'P&L of the hedge units, USD';
COMMENT ON COLUMN account_daily.drawdown IS 'NAV / running peak NAV - 1, decimal (<= 0)';
COMMENT ON COLUMN account_daily.tbills IS 'T-bills after interest, USD';
COMMENT ON COLUMN account_daily.holdings_value IS 'Non-option holdings after their beta * SPX-return move, USD';
COMMENT ON COLUMN account_daily.options_value IS 'Marked value of every option held, USD (short condors negative)';
COMMENT ON COLUMN account_daily.holdings_pnl IS 'Holdings P&L: sum of beta_h * r_SPX * value_h, USD';
COMMENT ON COLUMN account_daily.carry_pnl IS 'T-bill and cash interest less margin and box debt cost, USD';
COMMENT ON COLUMN account_daily.commissions IS 'Commissions paid in the session, USD';
COMMENT ON COLUMN account_daily.condor_contracts IS 'Condor contracts held after the orders (count)';
COMMENT ON COLUMN account_daily.hedge_units IS 'Hedge units held after the orders (count)';

COMMENT ON TABLE book_state IS 'What the next session of a portfolio''s book starts from, per close (the scalars beside the legs in book)';
COMMENT ON COLUMN book_state.as_of IS 'Session';
COMMENT ON COLUMN book_state.portfolio_id IS 'Portfolio';
COMMENT ON COLUMN book_state.cash IS 'Cash, USD';
COMMENT ON COLUMN book_state.tbills IS 'T-bills, USD';
COMMENT ON COLUMN book_state.holdings IS 'JSON list of [value USD, beta] per holding, in the portfolio file''s order';
COMMENT ON COLUMN book_state.margin_debt IS 'Margin debt, USD';
COMMENT ON COLUMN book_state.margin_rate IS 'Margin rate, decimal per year';
COMMENT ON COLUMN book_state.box_debt IS 'Box-spread borrowing, USD';
COMMENT ON COLUMN book_state.other IS 'Starting equity not itemised in the portfolio file (equity - cash - bills - holdings + debt), USD, held constant';
COMMENT ON COLUMN book_state.nav IS 'NAV at the close, USD (= account_daily.nav)';
COMMENT ON COLUMN book_state.peak_nav IS 'Running peak NAV, USD (for drawdown)';
COMMENT ON COLUMN book_state.spot IS 'SPX close, index points (the next session''s holdings return starts here)';
COMMENT ON COLUMN book_state.monetised IS 'True after the hedge was sold at VIX >= monetise level and until VIX closes below the rebuy level';
