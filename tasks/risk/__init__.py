"""Risk and capital maths: betas, CAPM, WACC, IRR, scenario scaling and stress (SPEC §5, §6, §7).

Small pure functions in the style of empyrical/ffn: plain numbers, NumPy arrays or pandas
objects in, plain numbers or frames out. Every parameter default lives in
:mod:`schemas.config` (``RiskParams``, ``SizingParams``); callers pass the values in.
Every public name is re-exported here, so ``from tasks import risk; risk.wacc(...)`` works.

Where each SPEC formula lives
-----------------------------
========================================  =============================================
SPEC                                      function (module)
========================================  =============================================
§0  ``r_t = P_t / P_{t-1} - 1``            :func:`simple_returns` (betas)
§5  rolling OLS beta/alpha/r2/n_obs        :func:`rolling_beta`, :func:`betas_table` (betas)
§5  dollar betas                           :func:`spx_leg_dollar_beta`,
                                          :func:`vix_leg_dollar_beta`,
                                          :func:`holding_dollar_beta` (betas)
§5  ``β_p``, tranche beta                  :func:`portfolio_beta`, :func:`tranche_beta` (betas)
§5  CAPM, cost of equity                   :func:`capm_expected_return`,
                                          :func:`cost_of_equity` (capm)
§6  box rate                               :func:`box_rate_from_quote`,
                                          :func:`box_rate_fallback` (capital)
§6  ``t_1256``                             :func:`section_1256_rate` (capital)
§6  collateral drag                        :func:`collateral_drag` (capital)
§6  WACC                                   :func:`wacc` -> :class:`WaccBreakdown` (capital)
§6  XIRR                                   :func:`xirr` (returns)
§6  IRR flows                              :func:`condor_cash_flows`,
                                          :func:`hedge_cash_flows`,
                                          :func:`irr_from_events` (returns),
                                          :func:`read_fills_csv` (fills)
§6  spread, EVA, cash-flow multiple        :func:`spread_bps`, :func:`eva`,
                                          :func:`cash_flow_multiple` (returns)
§7.3 historical-simulation inputs          :func:`joint_scenarios` (scenarios)
§7.3 covariance, risk-inverse weights      :func:`scenario_covariance`,
                                          :func:`risk_inverse_weights` (scenarios)
§7.6 quick ratio and its scaling           :func:`quick_ratio`, :func:`proportional_path`
                                          (scenarios)
========================================  =============================================

The position event frames the IRR reads are described in :mod:`tasks.risk.returns`.
"""

from tasks.risk.betas import (
    betas_table,
    default_min_obs,
    holding_dollar_beta,
    portfolio_beta,
    rolling_beta,
    simple_returns,
    spx_leg_dollar_beta,
    tranche_beta,
    vix_leg_dollar_beta,
)
from tasks.risk.capital import (
    WaccBreakdown,
    box_rate_fallback,
    box_rate_from_quote,
    collateral_drag,
    section_1256_rate,
    wacc,
)
from tasks.risk.capm import capm_expected_return, cost_of_equity
from tasks.risk.fills import FILLS_COLUMNS, Fills, FillsError, fills_account, read_fills_csv
from tasks.risk.returns import (
    CONDOR_EVENT_COLUMNS,
    HEDGE_EVENT_COLUMNS,
    IrrResult,
    average_capital_at_risk,
    cash_flow_multiple,
    condor_cash_flows,
    eva,
    hedge_cash_flows,
    irr_from_events,
    p_hurdle,
    resampled_annual_returns,
    spread_bps,
    stationary_bootstrap_indices,
    trailing_sessions,
    xirr,
)
from tasks.risk.scenarios import (
    joint_scenarios,
    proportional_path,
    quick_ratio,
    risk_inverse_weights,
    scenario_covariance,
)

__all__ = [
    "p_hurdle",
    "resampled_annual_returns",
    "stationary_bootstrap_indices",
    "CONDOR_EVENT_COLUMNS",
    "FILLS_COLUMNS",
    "HEDGE_EVENT_COLUMNS",
    "Fills",
    "FillsError",
    "IrrResult",
    "WaccBreakdown",
    "average_capital_at_risk",
    "betas_table",
    "box_rate_fallback",
    "box_rate_from_quote",
    "capm_expected_return",
    "cash_flow_multiple",
    "collateral_drag",
    "condor_cash_flows",
    "cost_of_equity",
    "default_min_obs",
    "eva",
    "hedge_cash_flows",
    "holding_dollar_beta",
    "irr_from_events",
    "joint_scenarios",
    "portfolio_beta",
    "proportional_path",
    "quick_ratio",
    "fills_account",
    "read_fills_csv",
    "risk_inverse_weights",
    "rolling_beta",
    "scenario_covariance",
    "section_1256_rate",
    "simple_returns",
    "spread_bps",
    "spx_leg_dollar_beta",
    "tranche_beta",
    "trailing_sessions",
    "vix_leg_dollar_beta",
    "wacc",
    "xirr",
]
