"""Cost of capital (SPEC §6): box-spread rate, Section 1256 rate, collateral drag, WACC."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def box_rate_from_quote(W_box: float, P_box: float, T: float) -> float:
    """Box-spread borrowing rate from a quote, ``r_box = ln(W_box / P_box) / T`` (SPEC §6).

    ``W_box`` is the box's value at expiry (strike width × 100), ``P_box`` the price received
    today, ``T`` calendar days / 365.
    """
    if not (W_box > 0 and P_box > 0 and T > 0):
        raise ValueError("W_box, P_box and T must be positive")
    return float(np.log(W_box / P_box) / T)


def box_rate_fallback(rf: float, box_spread: float) -> float:
    """Box rate without a chain: ``r_f + box_spread`` (``RiskParams.box_spread``, SPEC §6)."""
    return float(rf + box_spread)


def section_1256_rate(t_ltcg: float, t_ord: float) -> float:
    """Section 1256 blended tax rate ``0.6·t_ltcg + 0.4·t_ord`` (the 60/40 rule is statutory)."""
    return 0.6 * t_ltcg + 0.4 * t_ord


def collateral_drag(idle_cash: float, V: float, rf: float, r_sweep: float) -> float:
    """Collateral drag ``(C_idle / V)·max(0, r_f − r_sweep)`` (SPEC §6).

    The opportunity cost of collateral parked as cash at the sweep rate instead of T-bills;
    zero when the sweep pays at least the bill rate.
    """
    if not V > 0:
        raise ValueError("total capital V must be positive")
    return float(idle_cash / V * max(0.0, rf - r_sweep))


@dataclass(frozen=True)
class WaccBreakdown:
    """WACC and each of its terms, so the rationale can show the arithmetic (SPEC §6).

    ``wacc = equity_term + margin_term + box_term + drag``.
    """

    wacc: float
    E: float
    D_m: float
    D_b: float
    V: float
    w_equity: float  # E / V
    w_margin: float  # D_m / V
    w_box: float  # D_b / V
    r_E: float
    r_m: float
    r_box: float
    t_ord: float
    t_1256: float
    equity_term: float  # (E/V)·r_E
    margin_term: float  # (D_m/V)·r_m·(1 − t_ord)
    box_term: float  # (D_b/V)·r_box·(1 − t_1256)
    drag: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def describe(self) -> str:
        """One line of rationale: each term in percent."""
        return (
            f"WACC {self.wacc:.2%} = equity {self.w_equity:.0%}×{self.r_E:.2%} ({self.equity_term:.2%})"
            f" + margin {self.w_margin:.0%}×{self.r_m:.2%}×(1−{self.t_ord:.1%}) ({self.margin_term:.2%})"
            f" + box {self.w_box:.0%}×{self.r_box:.2%}×(1−{self.t_1256:.1%}) ({self.box_term:.2%})"
            f" + drag {self.drag:.2%}"
        )


def wacc(
    E: float,
    D_m: float,
    r_m: float,
    D_b: float,
    r_box: float,
    r_E: float,
    t_ord: float,
    t_1256: float,
    drag: float,
) -> WaccBreakdown:
    """Blended cost of capital (SPEC §6).

    ``WACC = (E/V)·r_E + (D_m/V)·r_m·(1 − t_ord) + (D_b/V)·r_box·(1 − t_1256) + drag`` with
    ``V = E + D_m + D_b``. Margin interest is deductible at the ordinary rate; the box
    spread's implied interest is a Section 1256 loss, hence the blended rate.

    Returns
    -------
    WaccBreakdown
        The WACC and every term.
    """
    if E < 0 or D_m < 0 or D_b < 0:
        raise ValueError("E, D_m and D_b must be non-negative")
    V = E + D_m + D_b
    if not V > 0:
        raise ValueError("total capital V = E + D_m + D_b must be positive")
    w_e, w_m, w_b = E / V, D_m / V, D_b / V
    equity_term = w_e * r_E
    margin_term = w_m * r_m * (1.0 - t_ord)
    box_term = w_b * r_box * (1.0 - t_1256)
    total = equity_term + margin_term + box_term + drag
    return WaccBreakdown(
        wacc=float(total),
        E=float(E),
        D_m=float(D_m),
        D_b=float(D_b),
        V=float(V),
        w_equity=float(w_e),
        w_margin=float(w_m),
        w_box=float(w_b),
        r_E=float(r_E),
        r_m=float(r_m),
        r_box=float(r_box),
        t_ord=float(t_ord),
        t_1256=float(t_1256),
        equity_term=float(equity_term),
        margin_term=float(margin_term),
        box_term=float(box_term),
        drag=float(drag),
    )
