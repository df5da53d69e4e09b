"""SPEC §7 step 5: the ALVH hedge — beta and tail units, the macro scale and the two caps."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.config import Params
from tasks import risk
from tasks.conventions import DAYS_PER_MONTH
from tasks.sizing.inputs import MarketBook
from tasks.structures import HedgeUnit

_EPS = 1e-9  # ceil/floor tolerance: a count that is whole up to rounding stays whole


@dataclass(frozen=True)
class HedgeDecision:
    """The hedge units for a given condor book (SPEC §7 step 5) and how they were reached."""

    units: int
    beta_before: float
    beta_after: float
    h_beta: float  # continuous beta-hedge units
    h_tail: float  # continuous tail-hedge units (inf when the hedge cannot cover the crash)
    h_target: int  # ceil(max(h_β, h_tail)·(1 + macro)) before the caps (-1: unbounded)
    cap_beta: float  # most units keeping β after ≥ band low (inf when no bound)
    cap_premium: float  # most units within the monthly premium budget
    crash_pnl_unhedged: float

    @property
    def capped(self) -> bool:
        """True when a cap, not the target, set the units."""
        return self.h_target < 0 or self.units < self.h_target

    @property
    def binding_cap(self) -> str:
        """The cap that binds when :attr:`capped`: ``"beta_band"`` or ``"premium_budget"``."""
        return "beta_band" if self.cap_beta <= self.cap_premium else "premium_budget"


def hedge_units(
    beta_before: float,
    equity: float,
    dollar_beta_unit: float,
    crash_pnl_unhedged: float | None,
    crash_gain_unit: float | None,
    premium_usd: float,
    tenor_days: int,
    macro: bool,
    params: Params,
) -> HedgeDecision:
    """ALVH hedge units (SPEC §7 step 5).

    ``h_β = φ·max(0, β_p − β_mid)·E / |dollar beta per unit|``; ``h_tail`` = fewest units
    so that ``crash P&L ≥ −max_drawdown·E``; ``h = ceil(max(h_β, h_tail)·(1 + macro_scale
    if macro))``; capped (``floor``) so that β after ≥ ``beta_band_low`` and
    ``h·premium·30/tenor_days ≤ premium_cap_monthly·E``.

    Parameters
    ----------
    beta_before : β_p of the book without the hedge.
    dollar_beta_unit : dollar beta of one hedge unit (normally negative).
    crash_pnl_unhedged, crash_gain_unit : the book's P&L in the ``crash`` scenario and one
        unit's P&L there (None when the scenario is not configured: no tail hedge).
    premium_usd : one unit's premium in dollars; ``tenor_days`` its (longest) tenor.
    """
    hp, sz = params.hedge, params.sizing
    beta_mid = 0.5 * (hp.beta_band_low + hp.beta_band_high)
    abs_db = abs(dollar_beta_unit)
    h_beta = (
        hp.phi * max(0.0, beta_before - beta_mid) * equity / abs_db
        if abs_db > 0 and np.isfinite(abs_db)
        else 0.0
    )
    h_tail = 0.0
    if crash_pnl_unhedged is not None and crash_gain_unit is not None:
        shortfall = -sz.max_drawdown * equity - crash_pnl_unhedged
        if shortfall > 0:
            h_tail = shortfall / crash_gain_unit if crash_gain_unit > 0 else math.inf
    h = max(h_beta, h_tail)
    if macro:
        h *= 1.0 + hp.macro_scale
    h_target = math.inf if not np.isfinite(h) else math.ceil(h - _EPS)
    if dollar_beta_unit < 0:
        cap_beta = max(0.0, math.floor((beta_before - hp.beta_band_low) * equity / abs_db + _EPS))
    else:
        cap_beta = math.inf
    monthly = premium_usd * DAYS_PER_MONTH / max(tenor_days, 1)
    cap_premium = (
        float(math.floor(hp.premium_cap_monthly * equity / monthly + _EPS))
        if monthly > 0
        else math.inf
    )
    units = min(h_target, cap_beta, cap_premium)
    units = 0 if not np.isfinite(units) else int(max(units, 0))
    return HedgeDecision(
        units=units,
        beta_before=beta_before,
        beta_after=beta_before + units * dollar_beta_unit / equity,
        h_beta=h_beta,
        h_tail=h_tail,
        h_target=int(h_target) if np.isfinite(h_target) else -1,
        cap_beta=cap_beta,
        cap_premium=cap_premium,
        crash_pnl_unhedged=float("nan") if crash_pnl_unhedged is None else crash_pnl_unhedged,
    )


def fallback_hedge_beta(spx_returns: np.ndarray, vix_ratios: np.ndarray) -> float:
    """β_F fallback: OLS slope of ``vix_ratio − 1`` on the SPX returns (package notes)."""
    x = np.asarray(spx_returns, float)
    y = np.asarray(vix_ratios, float) - 1.0
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 2 or np.var(x) == 0:
        return float("nan")
    xc = x - x.mean()
    return float((xc * (y - y.mean())).sum() / (xc * xc).sum())


@dataclass(frozen=True)
class HedgeBeta:
    """The hedge tenor's β_F used for VIX legs, and where it came from."""

    beta_F: float
    source: str  # "betas" (the rolling estimate), "scenarios" (the fallback) or "none" (0)


def resolve_hedge_beta(
    hedge_beta_F: float, spx_returns: np.ndarray, vix_ratios: np.ndarray
) -> HedgeBeta:
    """β_F: the rolling estimate; else the scenario VIX-on-SPX slope; else 0 (no beta hedge)."""
    beta_F = float(hedge_beta_F)
    if np.isfinite(beta_F):
        return HedgeBeta(beta_F, "betas")
    beta_F = fallback_hedge_beta(spx_returns, vix_ratios)
    if np.isfinite(beta_F):
        return HedgeBeta(beta_F, "scenarios")
    return HedgeBeta(0.0, "none")


@dataclass(frozen=True)
class HedgeSpec:
    """One ALVH hedge unit with the per-unit numbers step 5 multiplies by units."""

    unit: HedgeUnit
    position_id: str
    legs: pd.DataFrame  # the unit's legs, tagged with ``position_id``
    tenor_days: int  # of its longest leg (the premium budget's "per month")
    dollar_beta: float  # per unit, with β_F
    stress: pd.Series  # per unit, USD per scenario
    beta: HedgeBeta

    @property
    def premium_usd(self) -> float:
        return self.unit.premium_usd


def hedge_spec(market: MarketBook, beta: HedgeBeta) -> HedgeSpec:
    """The day's hedge unit of ``market`` with its dollar beta at ``beta.beta_F``."""
    unit, legs = market.hedge, market.hedge_legs
    db_unit = float(
        np.sum(
            risk.vix_leg_dollar_beta(
                legs["delta"].to_numpy(float), legs["F"].to_numpy(float), beta.beta_F,
                legs["qty"].to_numpy(float),
            )
        )
    )  # fmt: skip
    return HedgeSpec(
        unit=unit,
        position_id=market.hedge_id,
        legs=legs,
        tenor_days=int(legs["tenor_days"].to_numpy(np.int64).max()),
        dollar_beta=db_unit,
        stress=market.hedge_stress,
        beta=beta,
    )
