"""Risk and capital maths: betas, CAPM, WACC, IRR, scenario scaling and stress (SPEC §5, §6, §7).

Small pure functions in the style of empyrical/ffn: plain numbers, NumPy arrays or pandas
objects in, plain numbers or frames out. Every parameter default lives in
:mod:`schemas.config` (``RiskParams``, ``SizingParams``); callers pass the values in.

Where each SPEC formula lives
-----------------------------
========================================  =============================================
SPEC                                      function
========================================  =============================================
§0  ``r_t = P_t / P_{t-1} - 1``            :func:`simple_returns`
§5  rolling OLS beta/alpha/r2/n_obs        :func:`rolling_beta`, :func:`betas_table`
§5  dollar betas                           :func:`spx_leg_dollar_beta`,
                                          :func:`vix_leg_dollar_beta`,
                                          :func:`holding_dollar_beta`
§5  ``β_p``, tranche beta                  :func:`portfolio_beta`, :func:`tranche_beta`
§5  CAPM, cost of equity                   :func:`capm_expected_return`,
                                          :func:`cost_of_equity`
§6  box rate                               :func:`box_rate_from_quote`,
                                          :func:`box_rate_fallback`
§6  ``t_1256``                             :func:`section_1256_rate`
§6  collateral drag                        :func:`collateral_drag`
§6  WACC                                   :func:`wacc` (-> :class:`WaccBreakdown`)
§6  XIRR                                   :func:`xirr`
§6  IRR flows                              :func:`condor_cash_flows`,
                                          :func:`hedge_cash_flows`,
                                          :func:`irr_from_events`, :func:`read_fills_csv`
§6  spread, EVA, cash-flow multiple        :func:`spread_bps`, :func:`eva`,
                                          :func:`cash_flow_multiple`
§7.3 historical-simulation inputs          :func:`joint_scenarios`
§7.3 covariance, risk-inverse weights      :func:`scenario_covariance`,
                                          :func:`risk_inverse_weights`
§7.6 quick ratio and its scaling           :func:`quick_ratio`, :func:`proportional_path`
========================================  =============================================

Position events (the IRR input)
-------------------------------
The modelled history (SPEC §8) and a user's fills file both feed the IRR through two event
frames, one row per position (a whole condor tranche or a whole hedge lot):

*Condor events* (:data:`CONDOR_EVENT_COLUMNS`)

- ``position_id`` (str): unique id of the position.
- ``open_date`` (datetime64): session the condor was sold.
- ``close_date`` (datetime64, NaT while open): session it was bought back or settled.
- ``contracts`` (int > 0): number of iron condors sold (a count; short by construction).
- ``width`` (float > 0): wing width ``W`` in index points.
- ``credit`` (float, 0 < credit < width): credit ``C`` received per condor, in points, net of
  the opening commissions and slippage.
- ``close_cost`` (float >= 0, NaN while open): cost to close or settle per condor, in points,
  including the closing commissions and slippage (``X = 100 · close_cost`` dollars).

*Hedge events* (:data:`HEDGE_EVENT_COLUMNS`)

- ``position_id``, ``open_date``, ``close_date`` as above.
- ``units`` (int > 0): number of ALVH hedge units bought.
- ``premium`` (float > 0): net debit per unit, in VIX points (dollars = 100 · premium).
- ``close_value`` (float >= 0, NaN while open): value per unit at sale or settlement, in points.

Both frames may carry extra columns; they are ignored. Prices are in points and the contract
multiplier :data:`MULTIPLIER` (SPEC §0, a market convention, not a configurable default) turns
them into dollars.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from tasks.market.calendar import CALENDAR_START, sessions
from tasks.market.pricing import MULTIPLIER

#: Contract multiplier of SPX and VIX options, dollars per index point (SPEC §0).

#: Column names of a condor event frame (see the module docstring).
CONDOR_EVENT_COLUMNS: tuple[str, ...] = (
    "position_id",
    "open_date",
    "close_date",
    "contracts",
    "width",
    "credit",
    "close_cost",
)
#: Column names of a hedge event frame (see the module docstring).
HEDGE_EVENT_COLUMNS: tuple[str, ...] = (
    "position_id",
    "open_date",
    "close_date",
    "units",
    "premium",
    "close_value",
)
#: Column names of a user's fills CSV (see :func:`read_fills_csv`).
FILLS_COLUMNS: tuple[str, ...] = (
    "position_id",
    "kind",
    "open_date",
    "close_date",
    "contracts",
    "width",
    "credit",
    "close_cost",
    "premium",
    "close_value",
)

_EPS = np.finfo(float).eps


# =========================================================================== returns and betas


def simple_returns(prices: pd.Series) -> pd.Series:
    """Simple returns between consecutive sessions, ``r_t = P_t / P_{t-1} - 1`` (SPEC §0).

    Parameters
    ----------
    prices : pandas.Series
        Closes indexed by session date, ascending and unique. A missing close is NaN.

    Returns
    -------
    pandas.Series
        Same index; the first value is NaN. A NaN close makes both returns it touches NaN:
        no gap is bridged, so a later regression never mixes one-day and two-day returns.

    Raises
    ------
    ValueError
        When the index is not strictly increasing or a close is not positive.
    """
    _check_index(prices.index, "prices")
    values = prices.astype(float)
    if (values <= 0).any():
        raise ValueError("prices must be positive to form simple returns")
    # fill_method=None: a missing close must not be forward-filled into a fake zero return
    return values.pct_change(fill_method=None)


def _check_index(index: pd.Index, name: str) -> None:
    if not index.is_unique:
        raise ValueError(f"{name} has duplicate dates")
    if not index.is_monotonic_increasing:
        raise ValueError(f"{name} dates are not in ascending order")


def default_min_obs(window: int) -> int:
    """Fewest valid pairs for which :func:`rolling_beta` reports a number: ``max(3, window // 4)``.

    63 for the 252-session window. Not a SPEC default (the SPEC is silent); callers may pass
    their own ``min_obs``.
    """
    return max(3, window // 4)


def _trailing_sums(values: np.ndarray, window: int) -> np.ndarray:
    """Sums over the trailing ``window`` rows (shorter at the start), by a cumulative sum."""
    csum = np.concatenate([np.zeros((1,) + values.shape[1:]), np.cumsum(values, axis=0)])
    upper = np.arange(1, len(values) + 1)
    lower = np.maximum(upper - window, 0)
    return csum[upper] - csum[lower]


def rolling_beta(
    y: pd.Series, x: pd.Series, window: int, min_obs: int | None = None
) -> pd.DataFrame:
    """Rolling OLS with intercept of ``y`` on ``x`` over the trailing ``window`` rows (SPEC §5).

    For every date ``t`` the regression ``y = alpha + beta·x + e`` uses the rows
    ``t-window+1 .. t`` of the two series aligned on their common dates, dropping any pair
    with a NaN in either series. It is computed in one pass from rolling sums
    (``beta = cov(x, y) / var(x)``), so 9,000 dates cost microseconds.

    Parameters
    ----------
    y, x : pandas.Series
        Returns (``r_X`` and ``r_SPX``) indexed by session date.
    window : int
        Trailing window in rows of the aligned data (sessions), e.g. ``RiskParams.beta_window``.
    min_obs : int, optional
        Fewest valid pairs for a result; fewer gives NaN. Default :func:`default_min_obs`.

    Returns
    -------
    pandas.DataFrame
        Indexed by the common dates, columns ``beta``, ``alpha``, ``r2`` (float) and ``n_obs``
        (int, pairs actually used, reported even when below ``min_obs``). The first rows use the
        shorter history available (their ``n_obs`` says so). ``beta``/``alpha``/``r2`` are NaN
        when ``x`` has no variance in the window; ``r2`` is NaN when ``y`` has none.
    """
    if window < 2:
        raise ValueError("window must be at least 2")
    min_obs = default_min_obs(window) if min_obs is None else int(min_obs)
    if min_obs < 2:
        raise ValueError("min_obs must be at least 2 (a line needs two points)")
    _check_index(y.index, "y")
    _check_index(x.index, "x")
    common = y.index.intersection(x.index).sort_values()
    yv = y.reindex(common).to_numpy(dtype=float)
    xv = x.reindex(common).to_numpy(dtype=float)
    valid = np.isfinite(yv) & np.isfinite(xv)

    # Demean by the full-sample mean first: cov/var are shift invariant and the rolling-sum
    # form (sum xy - n·mean x·mean y) loses precision when the mean is large against the spread.
    mu_x = xv[valid].mean() if valid.any() else 0.0
    mu_y = yv[valid].mean() if valid.any() else 0.0
    xc = np.where(valid, xv - mu_x, 0.0)
    yc = np.where(valid, yv - mu_y, 0.0)
    stacked = np.column_stack([valid.astype(float), xc, yc, xc * xc, yc * yc, xc * yc])
    n, sx, sy, sxx, syy, sxy = _trailing_sums(stacked, window).T

    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = sx / n
        mean_y = sy / n
        var_x = sxx - n * mean_x**2  # n·Var(x), centred sum of squares
        var_y = syy - n * mean_y**2
        cov_xy = sxy - n * mean_x * mean_y
        # cumulative-sum differences carry an absolute error of order eps·(total sum); a window
        # whose spread is below that is treated as having none
        tol_x = 1e3 * _EPS * max(float((xc * xc).sum()), 1e-300)
        tol_y = 1e3 * _EPS * max(float((yc * yc).sum()), 1e-300)
        beta = np.where(var_x > tol_x, cov_xy / var_x, np.nan)
        alpha = (mean_y + mu_y) - beta * (mean_x + mu_x)
        r2 = np.where(var_y > tol_y, beta * cov_xy / var_y, np.nan)
    enough = n >= min_obs
    out = pd.DataFrame(
        {
            "beta": np.where(enough, beta, np.nan),
            "alpha": np.where(enough, alpha, np.nan),
            "r2": np.where(enough, np.clip(r2, 0.0, 1.0), np.nan),
            "n_obs": np.rint(n).astype("int64"),
        },
        index=common,
    )
    return out


def betas_table(
    returns: pd.DataFrame,
    as_of_dates: ArrayLike | pd.DatetimeIndex,
    window: int,
    min_obs: int | None = None,
    market: str = "spx",
) -> pd.DataFrame:
    """Rows of the ``betas`` table: every asset's rolling beta on SPX at the given dates.

    Parameters
    ----------
    returns : pandas.DataFrame
        Daily simple returns indexed by session date; one column per asset plus the market
        column ``market`` (``'spx'``). NaN where a return is missing.
    as_of_dates : array-like of dates
        Dates to report. A date absent from ``returns.index`` yields NaN values and
        ``n_obs = 0`` rather than a stale estimate from an earlier row.
    window : int
        Trailing window in sessions (``RiskParams.beta_window``).
    min_obs : int, optional
        See :func:`rolling_beta`.
    market : str
        Name of the regressor column.

    Returns
    -------
    pandas.DataFrame
        Long format, columns ``as_of, asset, window_days, beta, alpha, r2, n_obs``, sorted by
        ``as_of`` then ``asset``. Each row uses only returns dated on or before its ``as_of``.
    """
    if market not in returns.columns:
        raise ValueError(f"returns has no '{market}' column (the regressor)")
    assets = [c for c in returns.columns if c != market]
    dates = pd.DatetimeIndex(pd.to_datetime(np.asarray(as_of_dates))).normalize().unique()
    dates = dates.sort_values()
    frames = []
    for asset in assets:  # a handful of assets; each regression is itself vectorised over dates
        fit = rolling_beta(returns[asset], returns[market], window, min_obs).reindex(dates)
        fit["n_obs"] = fit["n_obs"].fillna(0).astype("int64")
        fit.index.name = "as_of"
        fit = fit.reset_index()
        fit.insert(1, "asset", asset)
        frames.append(fit)
    columns = ["as_of", "asset", "window_days", "beta", "alpha", "r2", "n_obs"]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    out = pd.concat(frames, ignore_index=True)
    out.insert(2, "window_days", int(window))
    out["as_of"] = out["as_of"].astype("datetime64[ns]")
    return out.sort_values(["as_of", "asset"], kind="stable").reset_index(drop=True)[columns]


# =========================================================================== dollar betas and CAPM


def spx_leg_dollar_beta(delta: ArrayLike, S: ArrayLike, qty: ArrayLike) -> np.ndarray | float:
    """Dollar beta of an SPX option leg, ``Δ·100·S·qty``: P&L per unit SPX return (SPEC §5).

    ``delta`` is per option (puts negative), ``S`` the SPX level, ``qty`` signed contracts.
    """
    return _out(np.asarray(delta, float) * MULTIPLIER * np.asarray(S, float) * np.asarray(qty))


def vix_leg_dollar_beta(
    delta_F: ArrayLike, F: ArrayLike, beta_F: ArrayLike, qty: ArrayLike
) -> np.ndarray | float:
    """Dollar beta of a VIX option leg, ``Δ_F·100·F·β_F·qty`` (SPEC §5).

    ``delta_F`` is the Black-76 delta with respect to the VIX future ``F`` of the option's
    expiry, ``beta_F`` the beta of that future's returns on SPX returns (negative), ``qty``
    signed contracts.
    """
    value = (
        np.asarray(delta_F, float)
        * MULTIPLIER
        * np.asarray(F, float)
        * np.asarray(beta_F, float)
        * np.asarray(qty)
    )
    return _out(value)


def holding_dollar_beta(beta: ArrayLike, value: ArrayLike) -> np.ndarray | float:
    """Dollar beta of a non-option holding, ``β_h·value_h`` (SPEC §5)."""
    return _out(np.asarray(beta, float) * np.asarray(value, float))


def portfolio_beta(dollar_betas: ArrayLike, equity: float) -> float:
    """Portfolio beta ``β_p = Σ dollar beta / equity`` (SPEC §5)."""
    if not equity > 0:
        raise ValueError("equity must be positive")
    return float(np.sum(np.asarray(dollar_betas, float)) / equity)


def tranche_beta(dollar_beta: ArrayLike, max_loss: ArrayLike) -> np.ndarray | float:
    """Tranche beta = its dollar beta / its max loss (both in dollars, same contract count)."""
    max_loss = np.asarray(max_loss, float)
    if np.any(max_loss <= 0):
        raise ValueError("max_loss must be positive")
    return _out(np.asarray(dollar_beta, float) / max_loss)


def capm_expected_return(rf: ArrayLike, beta: ArrayLike, mrp: float) -> np.ndarray | float:
    """CAPM expected return ``E[R_i] = r_f + β_i·MRP`` (SPEC §5; ``mrp`` = ``RiskParams.mrp``)."""
    return _out(np.asarray(rf, float) + np.asarray(beta, float) * mrp)


def cost_of_equity(rf: float, beta_post_hedge: float, mrp: float) -> float:
    """Cost of equity ``r_E = r_f + β_p·MRP`` with the **post-hedge** portfolio beta (SPEC §5).

    It is the CAPM expected return (:func:`capm_expected_return`) of the portfolio, priced at
    the β it carries once the ALVH hedge is on.
    """
    return float(capm_expected_return(rf, beta_post_hedge, mrp))


def _out(a: np.ndarray) -> np.ndarray | float:
    """A 0-d result as a Python float, anything else as the array."""
    return float(a) if np.ndim(a) == 0 else a


# =========================================================================== cost of capital


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


# =========================================================================== IRR


# Candidate rates for bracketing XIRR's root, expanding outwards from 0 towards -100% and
# towards very large rates (a profitable one-day trade annualises to astronomical numbers).
_XIRR_GRID = np.unique(
    np.concatenate(
        [
            -(1.0 - np.geomspace(1e-4, 0.5, 14)),  # -0.9999 .. -0.5
            np.round(np.linspace(-0.5, 1.0, 16), 12),  # includes 0.0 exactly
            np.geomspace(1.0, 1e15, 46),
        ]
    )
)


def _npv_scaled(rate: float | np.ndarray, t: np.ndarray, flows: np.ndarray) -> np.ndarray:
    """NPV times a positive factor, free of overflow; same sign and roots as the NPV.

    For ``r < 0`` the flows are valued at the last date (``Σ CF·(1+r)^(t_max − t)``), for
    ``r >= 0`` at the first (``Σ CF·(1+r)^(−t)``): every power then stays in (0, 1].
    """
    rate = np.atleast_1d(np.asarray(rate, float))
    log_growth = np.log1p(rate)[:, None]
    exponent = np.where(rate[:, None] < 0, t.max() - t[None, :], -t[None, :])
    return (flows[None, :] * np.exp(exponent * log_growth)).sum(axis=1)


def xirr(dates: ArrayLike, flows: ArrayLike) -> float:
    """Annual internal rate of return of dated cash flows, as Excel's XIRR (SPEC §6).

    Solves ``Σ CF_i / (1+r)^((d_i − d_0)/365) = 0`` (ACT/365, annual compounding) with Brent's
    method inside a bracket found by scanning an expanding grid of rates in (-0.9999, 1e15).

    Parameters
    ----------
    dates : array-like of dates
        One date per flow, any order; ``d_0`` is the earliest.
    flows : array-like of float
        Signed cash flows (negative = paid out).

    Returns
    -------
    float
        The IRR as an annual decimal.

    Raises
    ------
    ValueError
        When the inputs are empty, of unequal length or not finite, when the flows do not
        change sign, when all flows fall on one date, or when no root is bracketed.

    Notes
    -----
    Flows that change sign more than once can have several IRRs; the root nearest zero is
    returned (the bracket nearest 0 is searched first).
    """
    flows = np.asarray(flows, float)
    d = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates)))
    if flows.ndim != 1 or len(flows) != len(d):
        raise ValueError(f"xirr: {len(d)} dates but {flows.size} flows")
    if len(flows) < 2:
        raise ValueError("xirr needs at least two cash flows")
    if not np.all(np.isfinite(flows)) or d.hasnans:
        raise ValueError("xirr: flows and dates must be finite / not missing")
    if not (np.any(flows > 0) and np.any(flows < 0)):
        raise ValueError(
            "xirr: the cash flows do not change sign (need at least one negative and one "
            "positive flow), so no IRR exists"
        )
    t = np.asarray((d - d.min()).days, float) / 365.0
    if t.max() == 0:
        raise ValueError("xirr: all cash flows are on the same date, so no IRR exists")

    values = _npv_scaled(_XIRR_GRID, t, flows)
    exact = np.flatnonzero(values == 0)
    signs = np.sign(values)
    brackets = np.flatnonzero(signs[:-1] * signs[1:] < 0)
    candidates: list[tuple[float, float | tuple[float, float]]] = []
    for i in exact:
        candidates.append((abs(_XIRR_GRID[i]), float(_XIRR_GRID[i])))
    for i in brackets:
        lo, hi = float(_XIRR_GRID[i]), float(_XIRR_GRID[i + 1])
        candidates.append((min(abs(lo), abs(hi)), (lo, hi)))
    if not candidates:
        raise ValueError("xirr: no root bracketed in (-0.9999, 1e15); the flows have no finite IRR")
    _, best = min(candidates, key=lambda c: c[0])
    if isinstance(best, float):
        return best
    lo, hi = best

    def f(r: float) -> float:
        return float(_npv_scaled(r, t, flows)[0])

    return float(brentq(f, lo, hi, xtol=1e-14, rtol=4 * _EPS, maxiter=500))


def spread_bps(irr: float, wacc: float) -> float:
    """IRR's excess over WACC in basis points, ``(IRR − WACC)·10_000`` (SPEC §6)."""
    return float((irr - wacc) * 10_000.0)


def eva(irr: float, wacc: float, avg_capital_at_risk: float) -> float:
    """Economic value added, ``(IRR − WACC) · average capital at risk`` in dollars (SPEC §6)."""
    return float((irr - wacc) * avg_capital_at_risk)


def cash_flow_multiple(capital_at_risk: float, annual_expected_credit: float) -> float:
    """The practitioner's "P/CF equivalent": capital at risk / annualised expected credit.

    Returns NaN when the expected credit is not positive (the multiple is undefined).
    """
    if not annual_expected_credit > 0:
        return float("nan")
    return float(capital_at_risk / annual_expected_credit)


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lack column(s): {', '.join(missing)}")


def _flows_frame(
    ids: pd.Series,
    open_dates: pd.Series,
    close_dates: pd.Series,
    opening: np.ndarray,
    closing: np.ndarray,
) -> pd.DataFrame:
    n = len(ids)
    out = pd.DataFrame(
        {
            "date": np.concatenate(
                [pd.to_datetime(open_dates).to_numpy(), pd.to_datetime(close_dates).to_numpy()]
            ).astype("datetime64[ns]"),
            "flow": np.concatenate([opening, closing]).astype(float),
            "position_id": np.concatenate([ids.astype(str).to_numpy()] * 2),
            "event": np.repeat(["open", "close"], n),
        }
    )
    return out.sort_values(["date", "position_id"], kind="stable").reset_index(drop=True)


def condor_cash_flows(events: pd.DataFrame) -> pd.DataFrame:
    """Dated cash flows of closed condor tranches (SPEC §6).

    Per contract: ``−R`` at open with ``R = 100·(W − C)`` (the max loss posted as capital), and
    ``100·W − X`` at close with ``X = 100·close_cost``; both times ``contracts``. Their sum is the
    trade's P&L, ``100·(C − close_cost)·contracts``.

    Parameters
    ----------
    events : pandas.DataFrame
        Condor events (module docstring); every row must be closed. ``position_id`` is
        optional here (the row label is used when absent).

    Returns
    -------
    pandas.DataFrame
        Columns ``date, flow, position_id, event`` (``'open'``/``'close'``), sorted by date.
    """
    needed = ("open_date", "close_date", "contracts", "width", "credit", "close_cost")
    _require_columns(events, needed, "condor events")
    if events["close_date"].isna().any() or events["close_cost"].isna().any():
        raise ValueError("condor_cash_flows needs closed positions (close_date and close_cost)")
    ids = events["position_id"] if "position_id" in events else events.index.to_series()
    n = events["contracts"].to_numpy(float)
    W = events["width"].to_numpy(float)
    C = events["credit"].to_numpy(float)
    X = MULTIPLIER * events["close_cost"].to_numpy(float)
    R = MULTIPLIER * (W - C)
    return _flows_frame(
        ids, events["open_date"], events["close_date"], -R * n, (MULTIPLIER * W - X) * n
    )


def hedge_cash_flows(events: pd.DataFrame) -> pd.DataFrame:
    """Dated cash flows of closed hedge lots: ``−100·premium·units`` at open, ``100·close_value·units`` at close.

    Parameters
    ----------
    events : pandas.DataFrame
        Hedge events (module docstring); every row must be closed.

    Returns
    -------
    pandas.DataFrame
        Columns ``date, flow, position_id, event``, sorted by date.
    """
    needed = ("open_date", "close_date", "units", "premium", "close_value")
    _require_columns(events, needed, "hedge events")
    if events["close_date"].isna().any() or events["close_value"].isna().any():
        raise ValueError("hedge_cash_flows needs closed positions (close_date and close_value)")
    ids = events["position_id"] if "position_id" in events else events.index.to_series()
    units = events["units"].to_numpy(float)
    opening = -MULTIPLIER * events["premium"].to_numpy(float) * units
    closing = MULTIPLIER * events["close_value"].to_numpy(float) * units
    return _flows_frame(ids, events["open_date"], events["close_date"], opening, closing)


def trailing_sessions(as_of: object, window_sessions: int) -> pd.DatetimeIndex:
    """The last ``window_sessions`` NYSE sessions ending at ``as_of`` (inclusive when a session)."""
    if window_sessions < 1:
        raise ValueError("window_sessions must be at least 1")
    end = pd.Timestamp(as_of).normalize()
    # about 252 sessions per 365 days; a generous margin, then fall back to the whole calendar
    start = end - pd.Timedelta(days=int(window_sessions * 1.6) + 30)
    days = sessions(max(start, pd.Timestamp(CALENDAR_START)), end)
    if len(days) < window_sessions:
        days = sessions(CALENDAR_START, end)
    return days[-window_sessions:]


def _empty_events(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})


@dataclass(frozen=True)
class IrrResult:
    """The strategy's trailing IRR and what went into it (SPEC §6)."""

    irr: float  # NaN when it cannot be computed; ``note`` says why
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    n_condors: int  # condor positions closed in the window
    n_hedges: int
    avg_capital_at_risk: float  # dollars, mean over the window's sessions
    flows: pd.DataFrame = field(repr=False)
    note: str = ""


def average_capital_at_risk(
    condor_events: pd.DataFrame | None,
    hedge_events: pd.DataFrame | None,
    days: pd.DatetimeIndex,
) -> float:
    """Mean over ``days`` of the capital committed by the positions open on each day.

    A condor commits its max loss ``100·(W − C)·contracts``, a hedge its premium
    ``100·premium·units``. A position counts on the days ``open_date <= d < close_date``
    (through the last day while still open).
    """
    if len(days) == 0:
        return float("nan")
    day_ns = np.asarray(days.values, dtype="datetime64[ns]")
    total = np.zeros(len(days))
    parts = []
    if condor_events is not None and len(condor_events):
        cap = MULTIPLIER * (condor_events["width"] - condor_events["credit"]).to_numpy(float)
        parts.append((condor_events, cap * condor_events["contracts"].to_numpy(float)))
    if hedge_events is not None and len(hedge_events):
        cap = MULTIPLIER * hedge_events["premium"].to_numpy(float)
        parts.append((hedge_events, cap * hedge_events["units"].to_numpy(float)))
    for events, capital in parts:
        opened = pd.to_datetime(events["open_date"]).to_numpy("datetime64[ns]")
        closed = pd.to_datetime(events["close_date"]).to_numpy("datetime64[ns]")
        closed = np.where(np.isnat(closed), np.datetime64("2262-01-01", "ns"), closed)
        live = (opened[:, None] <= day_ns[None, :]) & (day_ns[None, :] < closed[:, None])
        total += capital @ live
    return float(total.mean())


def irr_from_events(
    condor_events: pd.DataFrame | None,
    hedge_events: pd.DataFrame | None,
    as_of: object,
    window_sessions: int,
) -> IrrResult:
    """XIRR of the condors and hedges closed in the trailing window (SPEC §6).

    Selects the positions whose ``close_date`` falls on one of the last ``window_sessions``
    sessions ending at ``as_of`` (``RiskParams.irr_window``), takes all their flows (opens may
    predate the window) and solves :func:`xirr`. Positions closed after ``as_of`` are unknown
    on ``as_of`` and ignored (point-in-time).

    Returns
    -------
    IrrResult
        ``irr`` is NaN, with ``note`` saying why, when nothing closed in the window or the
        flows have no IRR. ``avg_capital_at_risk`` covers every position (closed or still open)
        over the window's sessions, for :func:`eva`.
    """
    days = trailing_sessions(as_of, window_sessions)
    start, end = days[0], pd.Timestamp(as_of).normalize()
    condors = _empty_events(CONDOR_EVENT_COLUMNS) if condor_events is None else condor_events
    hedges = _empty_events(HEDGE_EVENT_COLUMNS) if hedge_events is None else hedge_events
    _require_columns(condors, CONDOR_EVENT_COLUMNS[1:], "condor events")
    _require_columns(hedges, HEDGE_EVENT_COLUMNS[1:], "hedge events")

    def closed_in_window(ev: pd.DataFrame) -> pd.DataFrame:
        close = pd.to_datetime(ev["close_date"])
        return ev[(close >= start) & (close <= end)]

    def known(ev: pd.DataFrame) -> pd.DataFrame:
        # point-in-time: a position opened after as_of does not exist yet; one closed after
        # as_of is still open as far as as_of knows
        ev = ev[pd.to_datetime(ev["open_date"]) <= end].copy()
        late = pd.to_datetime(ev["close_date"]) > end
        ev["close_date"] = pd.to_datetime(ev["close_date"]).mask(late)
        return ev

    c_known, h_known = known(condors), known(hedges)
    c_sel, h_sel = closed_in_window(c_known), closed_in_window(h_known)
    avg_cap = average_capital_at_risk(c_known, h_known, days[days <= end])
    flows = pd.concat(
        [f for f in (condor_cash_flows(c_sel), hedge_cash_flows(h_sel)) if len(f)]
        or [pd.DataFrame(columns=["date", "flow", "position_id", "event"])],
        ignore_index=True,
    )
    irr, note = float("nan"), ""
    if len(c_sel) + len(h_sel) == 0:
        note = f"no position closed between {start.date()} and {end.date()}"
    else:
        try:
            irr = xirr(flows["date"], flows["flow"])
        except ValueError as exc:
            note = str(exc)
    return IrrResult(
        irr=irr,
        window_start=start,
        window_end=end,
        n_condors=len(c_sel),
        n_hedges=len(h_sel),
        avg_capital_at_risk=avg_cap,
        flows=flows.sort_values("date", kind="stable").reset_index(drop=True),
        note=note,
    )


class FillsError(ValueError):
    """A fills file that cannot be used; the message lists every problem with its line."""


class Fills(NamedTuple):
    """A fills file split into the two event frames :func:`irr_from_events` takes."""

    condors: pd.DataFrame
    hedges: pd.DataFrame


def read_fills_csv(path: str | Path) -> Fills:
    """Read and validate a user's fills file (SPEC §6: flows "from a user's fills file").

    One row per position, comma separated, with a header naming (any order, extra columns
    ignored) :data:`FILLS_COLUMNS`:

    ============  ==========================================================================
    column        meaning
    ============  ==========================================================================
    position_id   unique id of the position
    kind          ``condor`` or ``hedge``
    open_date     ISO date the position was opened (``YYYY-MM-DD``)
    close_date    ISO date it was closed or settled; blank while open
    contracts     positive whole number: condors sold, or hedge units bought
    width         condor wing width in points (condor rows; blank for hedges)
    credit        condor credit per contract in points, net of costs (condor rows)
    close_cost    condor cost to close/settle per contract in points, incl. costs; blank while
                  open (condor rows)
    premium       hedge debit per unit in points (hedge rows; blank for condors)
    close_value   hedge value per unit at close in points; blank while open (hedge rows)
    ============  ==========================================================================

    Returns
    -------
    Fills
        ``condors`` with :data:`CONDOR_EVENT_COLUMNS` and ``hedges`` with
        :data:`HEDGE_EVENT_COLUMNS` (``units`` = the file's ``contracts``).

    Raises
    ------
    FillsError
        Naming the file and, for every bad value, its line number and column.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError as exc:
        raise FillsError(f"fills file not found: {path}") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise FillsError(f"{path}: not a readable CSV file: {exc}") from exc
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in FILLS_COLUMNS if c not in raw.columns]
    if missing:
        raise FillsError(
            f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(FILLS_COLUMNS)}"
        )
    raw = raw[list(FILLS_COLUMNS)].apply(lambda s: s.str.strip())
    line = pd.Series(np.arange(len(raw)) + 2, index=raw.index)  # header is line 1
    problems: list[tuple[int, str]] = []

    def flag(mask: pd.Series, message: str) -> None:
        problems.extend((int(n), message) for n in line[mask.fillna(False).astype(bool)])

    kind = raw["kind"].str.lower()
    is_condor, is_hedge = kind == "condor", kind == "hedge"
    flag(~(is_condor | is_hedge), "kind must be 'condor' or 'hedge'")
    flag(raw["position_id"] == "", "position_id is empty")
    flag(
        raw["position_id"].duplicated(keep=False) & (raw["position_id"] != ""),
        "position_id is not unique",
    )

    def dates(col: str) -> pd.Series:
        # the project's convention is datetime64[ns] (pandas 3 would give [us])
        parsed = pd.to_datetime(raw[col], format="%Y-%m-%d", errors="coerce").astype(
            "datetime64[ns]"
        )
        flag((raw[col] != "") & parsed.isna(), f"{col} is not a YYYY-MM-DD date")
        return parsed

    def numbers(col: str) -> pd.Series:
        parsed = pd.to_numeric(raw[col].replace("", np.nan), errors="coerce")
        flag((raw[col] != "") & ~np.isfinite(parsed.astype(float)), f"{col} is not a number")
        return parsed.astype(float)

    open_date, close_date = dates("open_date"), dates("close_date")
    flag(raw["open_date"] == "", "open_date is empty")
    flag(close_date < open_date, "close_date is before open_date")
    is_closed = raw["close_date"] != ""

    num = {
        c: numbers(c)
        for c in ("contracts", "width", "credit", "close_cost", "premium", "close_value")
    }
    contracts = num["contracts"]
    flag(
        ~((contracts > 0) & (contracts == np.round(contracts))),
        "contracts must be a positive whole number",
    )
    w, c, x = num["width"], num["credit"], num["close_cost"]
    flag(is_condor & ~(w > 0), "width must be a positive number for a condor")
    flag(is_condor & ~(c > 0), "credit must be a positive number for a condor")
    flag(is_condor & (c >= w), "credit must be below width (a condor cannot take in its width)")
    flag(is_condor & is_closed & ~(x >= 0), "close_cost must be a non-negative number once closed")
    flag(is_condor & ~is_closed & x.notna(), "close_cost is given but close_date is blank")
    p, v = num["premium"], num["close_value"]
    flag(is_hedge & ~(p > 0), "premium must be a positive number for a hedge")
    flag(is_hedge & is_closed & ~(v >= 0), "close_value must be a non-negative number once closed")
    flag(is_hedge & ~is_closed & v.notna(), "close_value is given but close_date is blank")

    if problems:
        problems.sort()
        shown = "\n".join(f"  line {n}: {msg}" for n, msg in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise FillsError(f"{path}: invalid fills file\n{shown}{more}")

    base = pd.DataFrame(
        {"position_id": raw["position_id"], "open_date": open_date, "close_date": close_date}
    )
    condors = base[is_condor].assign(
        contracts=contracts[is_condor].astype("int64"),
        width=w[is_condor],
        credit=c[is_condor],
        close_cost=x[is_condor],
    )
    hedges = base[is_hedge].assign(
        units=contracts[is_hedge].astype("int64"),
        premium=p[is_hedge],
        close_value=v[is_hedge],
    )
    return Fills(
        condors=condors.reset_index(drop=True)[list(CONDOR_EVENT_COLUMNS)],
        hedges=hedges.reset_index(drop=True)[list(HEDGE_EVENT_COLUMNS)],
    )


# =========================================================================== historical simulation


def joint_scenarios(
    spx: pd.Series, vix: pd.Series, as_of: object, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """The last ``window`` joint daily (SPX return, VIX ratio) pairs ending at ``as_of`` (SPEC §7.3).

    Both series are put on the union of their dates up to ``as_of`` (nothing later is read);
    each move is taken between consecutive dates of that index, and a pair is kept only when
    both moves exist, so a day missing from one series never produces a two-day move.

    Parameters
    ----------
    spx, vix : pandas.Series
        Closes indexed by session date.
    as_of : date-like
        Last session whose close may be used.
    window : int
        Number of pairs (``SizingParams.hist_window``).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        SPX simple returns ``S_t/S_{t-1} − 1`` and VIX ratios ``VIX_t/VIX_{t-1}``, oldest first.
        Fewer than ``window`` pairs when the history is shorter.

    Raises
    ------
    ValueError
        When no joint pair exists up to ``as_of``.
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    cutoff = pd.Timestamp(as_of).normalize()
    _check_index(spx.index, "spx")
    _check_index(vix.index, "vix")
    spx, vix = spx[spx.index <= cutoff], vix[vix.index <= cutoff]
    frame = pd.concat({"spx": spx.astype(float), "vix": vix.astype(float)}, axis=1, sort=True)
    # a day on which both are missing is not a trading day of either; drop before differencing
    frame = frame.dropna(how="all")
    moves = frame / frame.shift(1)
    moves = moves.dropna(how="any")
    moves = moves[np.isfinite(moves).all(axis=1)]
    if moves.empty:
        raise ValueError(f"no joint SPX/VIX daily move on or before {cutoff.date()}")
    moves = moves.iloc[-window:]
    return moves["spx"].to_numpy() - 1.0, moves["vix"].to_numpy()


def scenario_covariance(pnl: ArrayLike) -> np.ndarray:
    """Sample covariance (ddof = 1) of per-contract scenario P&L across tranches (SPEC §7.3).

    Parameters
    ----------
    pnl : array-like, shape (n_scenarios, n_tranches)
        One-day P&L per contract of each tranche under each historical scenario, dollars.

    Returns
    -------
    numpy.ndarray, shape (n_tranches, n_tranches)
    """
    pnl = np.asarray(pnl, float)
    if pnl.ndim != 2:
        raise ValueError("pnl must be a 2-d array [scenario, tranche]")
    if pnl.shape[0] < 2:
        raise ValueError("need at least two scenarios for a covariance")
    if not np.all(np.isfinite(pnl)):
        raise ValueError("pnl contains NaN or infinite values")
    return np.atleast_2d(np.cov(pnl, rowvar=False, ddof=1))


def risk_inverse_weights(sigma: ArrayLike, cov: ArrayLike, target_vol_dollars: float) -> np.ndarray:
    """Risk-inverse contract counts: ``q_i ∝ 1/σ_i`` scaled so ``sqrt(qᵀΣq) = target`` (SPEC §7.3).

    Parameters
    ----------
    sigma : array-like, shape (n_tranches,)
        Per-contract one-day P&L standard deviation of each tranche (normally
        ``sqrt(diag(cov))``), dollars.
    cov : array-like, shape (n_tranches, n_tranches)
        Scenario covariance of per-contract P&L (:func:`scenario_covariance`).
    target_vol_dollars : float
        Target daily P&L volatility in dollars, ``SizingParams.target_vol · E``.

    Returns
    -------
    numpy.ndarray
        Unrounded contract counts ``q_i >= 0``; the caller applies ``floor(min(n_cap, q_i))``.

    Notes
    -----
    A tranche with ``σ_i = 0`` (or NaN) shows no P&L variability in the scenarios, which for a
    short-premium structure means the revaluation is degenerate rather than that the tranche is
    riskless; ``1/σ_i`` would be infinite, so such a tranche gets ``q_i = 0`` and the others
    share the target. When the weighted portfolio's variance is zero (all degenerate, or
    perfectly offsetting tranches) every ``q_i`` is 0: there is no finite scale that hits the
    target.
    """
    sigma = np.asarray(sigma, float)
    cov = np.atleast_2d(np.asarray(cov, float))
    if sigma.ndim != 1 or cov.shape != (sigma.size, sigma.size):
        raise ValueError("sigma must be 1-d and cov square of the same size")
    if target_vol_dollars < 0:
        raise ValueError("target_vol_dollars must be non-negative")
    if np.any(sigma < 0):
        raise ValueError("sigma must be non-negative")
    usable = np.isfinite(sigma) & (sigma > 0)
    raw = np.zeros_like(sigma)
    raw[usable] = 1.0 / sigma[usable]
    sub = cov[np.ix_(usable, usable)]
    variance = float(raw[usable] @ sub @ raw[usable]) if usable.any() else 0.0
    # relative tolerance: variance of the unit-risk portfolio is of order n_usable² at most
    if not variance > 1e3 * _EPS * max(1, int(usable.sum())) ** 2:
        return np.zeros_like(sigma)
    return raw * (target_vol_dollars / np.sqrt(variance))


# =========================================================================== stress and liquidity


def quick_ratio(
    cash: ArrayLike, tbills: ArrayLike, margin_requirement: ArrayLike, stressed_pnl: ArrayLike
) -> np.ndarray | float:
    """Quick ratio ``(cash + T-bills) / (margin + max(0, −stressed P&L))`` (SPEC §7.6).

    ``stressed_pnl`` is the portfolio's P&L in the stress scenario considered (normally the
    worst one), negative for a loss. An empty denominator gives ``inf``.
    """
    liquid = np.asarray(cash, float) + np.asarray(tbills, float)
    need = np.asarray(margin_requirement, float) + np.maximum(0.0, -np.asarray(stressed_pnl, float))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(need > 0, liquid / np.where(need > 0, need, 1.0), np.inf)
    return _out(ratio)


def proportional_path(proposed: ArrayLike) -> np.ndarray:
    """Every distinct ``floor(f·proposed)`` for f in [0, 1], ordered by f (rows), exactly.

    The counts change only at ``f = j / p_i``; at that point tranche k holds
    ``floor(j·p_k / p_i)`` contracts, computed in integers so no rounding can lose a contract.
    """
    proposed = np.asarray(proposed, dtype=np.int64)
    nz = np.flatnonzero(proposed > 0)
    if nz.size == 0:
        return np.zeros((1, proposed.size), dtype=np.int64)
    owner = np.repeat(nz, proposed[nz])
    j = np.concatenate([np.arange(1, proposed[i] + 1) for i in nz])
    counts = (j[:, None] * proposed[None, :]) // proposed[owner][:, None]
    counts = np.vstack([np.zeros((1, proposed.size), dtype=np.int64), counts])
    # along the path every component is non-decreasing, so the total orders the rows
    counts = np.unique(counts, axis=0)
    return counts[np.argsort(counts.sum(axis=1), kind="stable")]
