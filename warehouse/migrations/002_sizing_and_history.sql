-- 002: tables beyond the SPEC §9 contract, and extra columns on it (additions only).

-- one row per recommended position (tranche or hedge): the numbers behind daily_sizing's legs
CREATE TABLE IF NOT EXISTS sizing_positions (
    as_of                   DATE    NOT NULL,
    portfolio_id            VARCHAR NOT NULL,
    position_id             VARCHAR NOT NULL,
    kind                    VARCHAR NOT NULL,
    expiry                  DATE,
    dte                     INTEGER,
    contracts               INTEGER,
    n_cap                   INTEGER,
    risk_weight             DOUBLE,
    credit                  DOUBLE,   -- points per contract (condor)
    max_profit              DOUBLE,   -- USD per contract
    max_loss                DOUBLE,   -- USD per contract
    breakeven_low           DOUBLE,
    breakeven_high          DOUBLE,
    prob_between_breakevens DOUBLE,
    dollar_beta             DOUBLE,   -- USD per unit SPX return, whole position
    tranche_beta            DOUBLE,
    premium                 DOUBLE,   -- USD per hedge unit
    pricing_source          VARCHAR,
    PRIMARY KEY (as_of, portfolio_id, position_id)
);

-- each leg's full inputs, so a model price can be reproduced from its row
ALTER TABLE daily_sizing ADD COLUMN IF NOT EXISTS underlying VARCHAR;   -- 'SPX' | 'VIX'
ALTER TABLE daily_sizing ADD COLUMN IF NOT EXISTS tenor_days INTEGER;
ALTER TABLE daily_sizing ADD COLUMN IF NOT EXISTS forward DOUBLE;       -- SPX forward or modelled F_VIX(T)
ALTER TABLE daily_sizing ADD COLUMN IF NOT EXISTS gamma DOUBLE;
ALTER TABLE daily_sizing ADD COLUMN IF NOT EXISTS vega DOUBLE;          -- per vol point
ALTER TABLE daily_sizing ADD COLUMN IF NOT EXISTS theta DOUBLE;         -- per calendar day

ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS profile VARCHAR;
ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS hurdle_bps DOUBLE;
ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS box_rate DOUBLE;
ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS box_rate_source VARCHAR;
ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS wacc_equity_term DOUBLE;
ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS wacc_margin_term DOUBLE;
ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS wacc_box_term DOUBLE;
ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS collateral_drag DOUBLE;
ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS hedge_units INTEGER;
ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS hedge_beta_multiple DOUBLE;
ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS condor_contracts INTEGER;
ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS capital_at_risk DOUBLE;
ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS cash_flow_multiple DOUBLE;
ALTER TABLE portfolio_risk ADD COLUMN IF NOT EXISTS cap_fraction DOUBLE;

-- the modelled ladder (SPEC §8) as of the latest run's as_of: replaced whole on every run
CREATE TABLE IF NOT EXISTS ladder_events (
    position_id  VARCHAR PRIMARY KEY,
    slot         INTEGER,
    open_date    DATE    NOT NULL,
    close_date   DATE,               -- NULL while open
    expiry       DATE,
    contracts    INTEGER,
    width        DOUBLE,
    credit       DOUBLE,             -- points, net of opening costs
    close_cost   DOUBLE,             -- points, including closing costs
    k_long_put   DOUBLE,
    k_short_put  DOUBLE,
    k_short_call DOUBLE,
    k_long_call  DOUBLE,
    exit_reason  VARCHAR,            -- profit_target | stop | dte | expiry | open
    commissions  DOUBLE,             -- USD
    pnl          DOUBLE,             -- USD
    computed_as_of DATE NOT NULL
);

CREATE TABLE IF NOT EXISTS hedge_events (
    position_id  VARCHAR PRIMARY KEY,
    open_date    DATE    NOT NULL,
    close_date   DATE,
    expiry       DATE,
    strike       DOUBLE,
    units        INTEGER,
    premium      DOUBLE,             -- points per unit
    close_value  DOUBLE,             -- points per unit
    exit_reason  VARCHAR,
    computed_as_of DATE NOT NULL
);

CREATE TABLE IF NOT EXISTS ladder_daily (
    as_of           DATE PRIMARY KEY,
    pnl             DOUBLE,          -- USD, mark-to-model, one contract per tranche
    capital_at_risk DOUBLE,          -- USD
    strategy_return DOUBLE,
    open_condors    INTEGER,
    open_hedges     INTEGER,
    computed_as_of  DATE NOT NULL
);
