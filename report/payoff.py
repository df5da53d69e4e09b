"""The payoff chart's curves: the condor ladder at expiry, the hedge revalued, their sum.

Presentation choices (the SPEC is silent on the report):

- The condor curve sums each tranche's payoff *at its own expiry* (the value of its legs
  at expiry minus the entry credit, × contracts): the usual "expiry diagram" of a ladder,
  although the tranches expire on different dates.
- The hedge is not at expiry: it is fully revalued on the day the nearest condor expires,
  with the VIX term structure scaled by ``1 + β_vix·r_SPX`` (β_vix from the ``betas``
  table; the ratio is floored at :data:`VIX_RATIO_FLOOR` so a large rally cannot make the
  VIX negative). Pricing parameters are the defaults of ``schemas.config``: the report
  does not know a portfolio's overrides.

Both valuations are the structures code's own (:func:`tasks.structures.leg_values`,
:func:`tasks.structures.revalue_legs`); this module only chooses the scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from report.data import ReportData
from schemas.config import PricingParams
from tasks.conventions import MULTIPLIER
from tasks.market.surface import VolTerm
from tasks.structures import leg_values, revalue_legs

FloatArray = NDArray[np.float64]

PAYOFF_LOW = -0.25  # payoff chart: SPX from −25% …
PAYOFF_HIGH = 0.15  # … to +15% of spot
PAYOFF_POINTS = 401
VIX_RATIO_FLOOR = 0.05  # the scaled VIX term never goes below 5% of today's

# At expiry (T = 0) an option is worth its intrinsic value whatever the vol, rate or
# dividend yield, so the expiry valuation below may use any finite market state.
_EXPIRY_TERM = VolTerm(20.0, 20.0, 20.0, 20.0)
_EXPIRY_PRICING = PricingParams()


def spx_grid(spot: float, n: int = PAYOFF_POINTS) -> FloatArray:
    """SPX levels from ``(1 + PAYOFF_LOW)·spot`` to ``(1 + PAYOFF_HIGH)·spot``."""
    return np.linspace((1.0 + PAYOFF_LOW) * spot, (1.0 + PAYOFF_HIGH) * spot, n)


def condor_payoff(legs: pd.DataFrame, S: FloatArray) -> FloatArray:
    """USD payoff at expiry of condor legs, net of their entry prices, for each SPX level.

    ``Σ_legs 100 · qty · contracts · (value at expiry(S) − model_price)``: for a condor the
    entry term is ``+credit``. The value at expiry is :func:`tasks.structures.leg_values`
    with every leg past its expiry. ``legs`` needs ``expiry, put_call, strike, qty,
    contracts, model_price`` (``daily_sizing`` rows). Returns shape ``(len(S),)``.
    """
    S = np.asarray(S, dtype=float)
    if legs.empty:
        return np.zeros(len(S))
    # valued on the last expiry, every leg has expired: each is worth its intrinsic value
    last_expiry = pd.DatetimeIndex(legs["expiry"]).max()
    at_expiry = leg_values(
        legs.assign(underlying="SPX"), last_expiry, S, _EXPIRY_TERM, 0.0, 0.0, _EXPIRY_PRICING
    )
    entry = MULTIPLIER * legs["qty"].to_numpy(dtype=float) * legs["model_price"].to_numpy(float)
    contracts = legs["contracts"].fillna(0).to_numpy(dtype=float)
    return ((at_expiry - entry) * contracts).sum(axis=1)


def hedge_pnl(
    legs: pd.DataFrame,
    as_of: pd.Timestamp,
    S0: float,
    term0: VolTerm,
    r0: float,
    q: float,
    S: FloatArray,
    beta_vix: float,
    days_ahead: int,
    pricing: PricingParams,
) -> FloatArray:
    """USD P&L of the hedge legs × units when SPX moves to ``S`` over ``days_ahead`` days.

    The VIX term structure scales by ``max(1 + β_vix·(S/S0 − 1), VIX_RATIO_FLOOR)``; the
    legs are fully revalued with :func:`tasks.structures.revalue_legs` (Black-76 on the
    modelled futures at each leg's vol of vol).
    """
    if legs.empty:
        return np.zeros(len(S))
    S = np.asarray(S, dtype=float)
    ratio = np.maximum(1.0 + beta_vix * (S / S0 - 1.0), VIX_RATIO_FLOOR)
    # daily_sizing.underlying arrived with migration 002 and is NULL on older rows (and on
    # rows written without it); every hedge leg is a VIX option (SPEC §4)
    stored = legs["underlying"] if "underlying" in legs else pd.Series(None, index=legs.index)
    frame = legs.assign(underlying=stored.fillna("VIX"))
    pnl = revalue_legs(
        frame, as_of, S0, term0, r0, q, S, term0.scaled(ratio), r0, pricing, days_ahead
    )
    return (pnl * legs["contracts"].fillna(0).to_numpy(dtype=float)).sum(axis=1)


def break_evens(S: FloatArray, pnl: FloatArray) -> FloatArray:
    """SPX levels where ``pnl`` crosses zero, by linear interpolation between grid points."""
    s = np.sign(pnl)
    i = np.nonzero(s[:-1] * s[1:] < 0)[0]
    crossings = S[i] - pnl[i] * (S[i + 1] - S[i]) / (pnl[i + 1] - pnl[i])
    # a grid point exactly at zero is a break-even too (the first of a run of zeros)
    z = np.nonzero(s == 0)[0]
    z = z[(z == 0) | (s[np.maximum(z - 1, 0)] != 0)]
    return np.sort(np.concatenate([crossings, S[z]]))


@dataclass(frozen=True)
class PayoffCurves:
    """The payoff chart's curves for one portfolio (USD over the SPX grid ``S``)."""

    portfolio_id: str
    S: FloatArray
    condors: FloatArray
    hedge: FloatArray
    total: FloatArray
    break_evens: FloatArray
    beta_vix: float
    days_ahead: int


def _first(legs: pd.DataFrame, column: str, default: float) -> float:
    """The first non-null value of a leg column (the same for every leg of a day)."""
    values = legs[column].dropna()
    return float(values.iloc[0]) if len(values) else default


def _beta_vix(data: ReportData) -> float:
    """β of VIX on SPX: the stored one, else the last rolling one, else 0 (vol term unchanged)."""
    beta = data.beta_of("vix")
    if not np.isfinite(beta) and len(data.rolling_betas):
        beta = float(data.rolling_betas["vix"].dropna().iloc[-1])
    return beta if np.isfinite(beta) else 0.0


def payoff_curves(data: ReportData, portfolio_id: str) -> PayoffCurves:
    """Condor ladder at expiry, hedge revalued at the nearest condor expiry, and their sum."""
    legs = data.daily_sizing[data.daily_sizing["portfolio_id"] == portfolio_id]
    condor = legs[legs["kind"] == "condor"]
    hedge = legs[legs["kind"] == "hedge"]
    spot = data.spot if np.isfinite(data.spot) else float(legs["spot"].dropna().iloc[0])
    S = spx_grid(spot)
    condor_usd = condor_payoff(condor, S)
    beta_vix = _beta_vix(data)
    days_ahead = int((condor["expiry"].min() - data.as_of).days) if len(condor) else 0
    rate, q = _first(legs, "rate", 0.0), _first(legs, "div_yield", 0.0)
    hedge_usd = hedge_pnl(
        hedge, data.as_of, spot, data.term, rate, q, S, beta_vix, days_ahead, data.params.pricing
    )
    total = condor_usd + hedge_usd
    return PayoffCurves(
        portfolio_id, S, condor_usd, hedge_usd, total, break_evens(S, total), beta_vix, days_ahead
    )
