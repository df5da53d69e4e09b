"""SPEC §7 step 6: stress scenarios, the crash limit and the quick ratio.

The search that scales new condors until both limits hold is in :mod:`tasks.sizing.limits`
(it needs the hedge of step 5 for every candidate book).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from schemas.config import Params
from tasks import risk
from tasks.market.frame import MarketContext
from tasks.structures import revalue_legs
from tasks.structures.revalue import LegInputs, position_sums

CRASH = "crash"  # the scenario whose loss the tail hedge and the crash limit hold
_CRASH_TOL = 1e-6  # dollars: a loss equal to the limit up to rounding is within it


def stress_pnl(
    ctx: MarketContext,
    legs: pd.DataFrame | Sequence[pd.DataFrame],
    params: Params,
    key: str = "position_id",
) -> pd.DataFrame:
    """P&L (USD, per structure unit for ``qty`` per unit) of every position in every stress
    scenario of ``SizingParams.scenarios``: SPX × (1 + spx_return), the whole term ×
    vix_mult, rate + rate_shift, instantaneous (no decay). Rows = scenario names.

    ``legs``: a leg frame, or several (e.g. the ladder and the hedge unit) revalued in one
    call; columns = the positions in order of first appearance, frame after frame.
    """
    names = list(params.sizing.scenarios)
    parts = [legs] if isinstance(legs, pd.DataFrame) else [f for f in legs if len(f)]
    if not parts or parts[0].empty or not names:
        return pd.DataFrame(index=pd.Index(names, name="scenario"))
    sc = params.sizing.scenarios
    spx = np.array([sc[n].spx_return for n in names])
    mult = np.array([sc[n].vix_mult for n in names])
    shift = np.array([sc[n].rate_shift for n in names])
    leg = LegInputs.stack([LegInputs.of(f) for f in parts]) if len(parts) > 1 else parts[0]
    pnl = revalue_legs(
        leg,
        ctx.as_of,
        ctx.spot,
        ctx.term,
        ctx.risk_free,
        params.pricing.div_yield,
        ctx.spot * (1.0 + spx),
        ctx.term.scaled(mult),
        ctx.risk_free + shift,
        params.pricing,
        days_ahead=0,
    )
    ids = np.concatenate([f[key].to_numpy(object) for f in parts])
    positions, sums = position_sums(ids, pnl, key)
    return pd.DataFrame(sums, columns=positions, index=pd.Index(names, name="scenario"),
                        copy=False)  # fmt: skip


def crash_limit(equity: float, params: Params) -> float:
    """The largest crash loss allowed, in dollars: ``max_drawdown · E`` (SPEC §7 step 5)."""
    return params.sizing.max_drawdown * equity


def breaches_crash(total: pd.Series, equity: float, params: Params) -> bool:
    """True when the book's ``crash`` P&L is a loss beyond :func:`crash_limit`."""
    return bool(total[CRASH] < -crash_limit(equity, params) - _CRASH_TOL)


def book_quick_ratio(
    cash: float,
    tbills: float,
    hedge_premium_paid: float,
    margin: float,
    total: pd.Series | np.ndarray,
) -> float:
    """Quick ratio of a book: ``(cash − hedge premium + T-bills) / (margin + worst loss)``.

    Liquid assets exclude the hedge premium paid; the worst loss is the lowest scenario
    total (0 when no scenario is configured). Package notes: condor credit is not liquid.
    """
    worst = float(total.min()) if len(total) else 0.0
    return float(risk.quick_ratio(cash - hedge_premium_paid, tbills, margin, worst))
