"""The cost of capital the sizing steps test against (SPEC §6 as used by §7 steps 2 and 4).

The WACC needs the post-hedge β, which the sizing decides; :class:`CapitalCost` holds every
other input fixed so a pass can ask for the WACC and spread at any β (package notes: the
WACC ↔ β fixed point).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from schemas.config import Params, Portfolio
from tasks import risk
from tasks.risk.returns import p_hurdle
from tasks.sizing.inputs import MarketBook


@dataclass(frozen=True)
class CapitalCost:
    """The WACC inputs that do not depend on the sizing, and the strategy's IRR."""

    equity: float
    margin_debt: float
    margin_rate: float
    box_debt: float
    box_rate: float
    box_source: str  # "chain" (SPX box quotes) or "spread" (r_f + box_spread)
    risk_free: float
    mrp: float
    t_ord: float
    t_1256: float
    drag: float
    irr: float  # NaN when unknown
    irr_note: str | None  # why the IRR is unknown, when it is
    hurdle_bps: float
    wacc_high: float
    hurdle_rule: str = "trailing"  # "bootstrap": step 4 tests p_hurdle, not the spread
    p_hurdle_min: float = 0.5
    #: the close the IRR's window ends on (the book's: the previous close, knowable before
    #: today's orders); None when unknown
    irr_through: pd.Timestamp | None = None
    # bootstrapped annual returns on capital (SPEC §6 p_hurdle); empty when not resampled
    resampled_years: np.ndarray = field(default_factory=lambda: np.array([]), repr=False)

    def p_hurdle_at(self, wacc: float) -> float:
        """``P(annual return on capital > WACC + hurdle)`` (NaN when not resampled)."""
        return p_hurdle(self.resampled_years, wacc, self.hurdle_bps)

    def wacc_at(self, beta: float) -> risk.WaccBreakdown:
        """The WACC with ``r_E = r_f + β·MRP`` for the post-hedge ``beta``."""
        r_e = risk.cost_of_equity(self.risk_free, beta, self.mrp)
        return risk.wacc(
            self.equity,
            self.margin_debt,
            self.margin_rate,
            self.box_debt,
            self.box_rate,
            r_e,
            self.t_ord,
            self.t_1256,
            self.drag,
        )

    def spread_at(self, wacc: float) -> float:
        """``(IRR − WACC)·10 000`` bp (NaN when the IRR is unknown)."""
        return risk.spread_bps(self.irr, wacc) if np.isfinite(self.irr) else float("nan")

    def regime_of(self, wacc: float) -> tuple[bool, bool]:
        """(WACC above ``wacc_high``?, spread below the hurdle?) at ``wacc``; an unknown
        spread counts as below the hurdle (SPEC §6)."""
        if self.hurdle_rule == "bootstrap":
            return (wacc > self.wacc_high, not (self.p_hurdle_at(wacc) >= self.p_hurdle_min))
        return (wacc > self.wacc_high, not (self.spread_at(wacc) >= self.hurdle_bps))

    def regime_at(self, beta: float) -> tuple[bool, bool]:
        """:meth:`regime_of` the WACC at post-hedge ``beta``."""
        return self.regime_of(self.wacc_at(beta).wacc)


def capital_cost(
    portfolio: Portfolio,
    risk_free: float,
    market: MarketBook,
    irr: risk.IrrResult | None,
    params: Params,
    equity: float | None = None,
) -> CapitalCost:
    """The :class:`CapitalCost` of ``portfolio`` on the day of ``market``.

    ``equity`` defaults to the portfolio file's; the book (SPEC §10) passes the previous
    close's NAV instead.
    """
    rk = params.risk
    E = float(portfolio.equity) if equity is None else float(equity)
    V = E + portfolio.margin_debt + portfolio.box_debt
    note = irr.note if irr is not None and irr.note else None
    return CapitalCost(
        equity=E,
        margin_debt=portfolio.margin_debt,
        margin_rate=portfolio.margin_rate,
        box_debt=portfolio.box_debt,
        box_rate=market.box_rate,
        box_source=market.box_source,
        risk_free=risk_free,
        mrp=rk.mrp,
        t_ord=rk.t_ord,
        t_1256=risk.section_1256_rate(rk.t_ltcg, rk.t_ord),
        drag=risk.collateral_drag(portfolio.idle_collateral, V, risk_free, rk.r_sweep),
        irr=float(irr.irr) if irr is not None else float("nan"),
        irr_note=note,
        irr_through=irr.window_end if irr is not None and np.isfinite(irr.irr) else None,
        hurdle_bps=rk.hurdle_bps,
        wacc_high=params.sizing.wacc_high,
        hurdle_rule=rk.hurdle_rule,
        p_hurdle_min=rk.p_hurdle_min,
        resampled_years=(irr.resampled_years if irr is not None else np.array([], dtype=float)),
    )
