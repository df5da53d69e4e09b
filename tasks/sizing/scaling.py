"""SPEC §7 step 3: risk-inverse scaling from the joint historical (SPX, VIX) scenarios."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.config import Params
from tasks import risk
from tasks.market.frame import MarketContext
from tasks.structures import pnl_by_position, revalue_legs


def tranche_scenario_pnl(
    ctx: MarketContext,
    legs: pd.DataFrame,
    spx_returns: np.ndarray,
    vix_ratios: np.ndarray,
    params: Params,
) -> pd.DataFrame:
    """Per-contract one-day P&L of every tranche under the joint historical scenarios (step 3).

    Scenario ``s``: SPX at ``S·(1 + r_spx[s])``, the whole VIX term × ``vix_ratio[s]``, one
    calendar day of decay, full revaluation (``structures.revalue_legs``).

    Returns
    -------
    DataFrame (n_scenarios, n_tranches), columns = position ids.
    """
    S = ctx.spot * (1.0 + np.asarray(spx_returns, float))
    term = ctx.term.scaled(np.asarray(vix_ratios, float))
    pnl = revalue_legs(
        legs,
        ctx.as_of,
        ctx.spot,
        ctx.term,
        ctx.risk_free,
        params.pricing.div_yield,
        S,
        term,
        ctx.risk_free,
        params.pricing,
        days_ahead=1,
    )
    return pnl_by_position(legs, pnl)


@dataclass(frozen=True)
class RiskWeights:
    """Step 3's outcome: per-tranche one-day P&L vol σ_i and the weights q_i (contracts)."""

    sigma: np.ndarray
    q: np.ndarray
    n_scenarios: int
    sized: bool  # False when there were too few scenarios: every q_i is 0

    def __post_init__(self) -> None:
        # frozen by value too: a caller must not edit the weights another step reads
        self.sigma.setflags(write=False)
        self.q.setflags(write=False)


def risk_weights(
    scenario_pnl: np.ndarray | None, n_tranches: int, n_scenarios: int, target_vol_usd: float
) -> RiskWeights:
    """``q_i ∝ 1/σ_i`` scaled so ``sqrt(qᵀΣq) = target_vol·E`` (Σ of the scenario P&L).

    Parameters
    ----------
    scenario_pnl : (scenario × tranche) USD per contract, or None when fewer than two joint
        scenarios exist — then every weight is 0 (no risk-inverse sizing: 0 contracts).
    n_tranches : number of tranches (the width of ``scenario_pnl``).
    n_scenarios : how many joint scenarios there were (for the rationale).
    target_vol_usd : ``target_vol · E``, the target daily P&L vol in dollars.
    """
    if scenario_pnl is None:
        return RiskWeights(np.full(n_tranches, np.nan), np.zeros(n_tranches), n_scenarios, False)
    cov = risk.scenario_covariance(scenario_pnl)
    sigma = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    q = risk.risk_inverse_weights(sigma, cov, target_vol_usd)
    return RiskWeights(sigma, np.asarray(q, float), n_scenarios, True)
