"""Returns on capital (SPEC §6): XIRR, spread over WACC, EVA, and the dated cash flows of
condor tranches and hedge lots that feed the strategy's trailing IRR.

Position events (the IRR input)
-------------------------------
The modelled history (SPEC §8) and a user's fills file (:mod:`tasks.risk.fills`) both feed
the IRR through two event frames, one row per position (a whole condor tranche or a whole
hedge lot):

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
multiplier :data:`tasks.conventions.MULTIPLIER` (SPEC §0, a market convention, not a
configurable default) turns them into dollars.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from tasks.conventions import DAYS_PER_YEAR, MULTIPLIER
from tasks.market.calendar import CALENDAR_START, sessions
from tasks.risk._shared import EPS

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
    t = np.asarray((d - d.min()).days, float) / DAYS_PER_YEAR
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

    from scipy.optimize import brentq  # here: importing scipy.optimize costs a run ~0.5 s

    return float(brentq(f, lo, hi, xtol=1e-14, rtol=4 * EPS, maxiter=500))


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
    # bootstrapped annual returns on capital for p_hurdle (SPEC §6); empty when not resampled
    resampled_years: np.ndarray = field(default_factory=lambda: np.array([]), repr=False)


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


# --------------------------------------------------------------------------- p_hurdle


def stationary_bootstrap_indices(
    n: int, length: int, mean_block: float, n_resamples: int, seed: int
) -> np.ndarray:
    """Politis–Romano stationary bootstrap: ``(n_resamples, length)`` indices into ``0..n-1``.

    Blocks start at a uniform random index and have geometric lengths of mean
    ``mean_block`` (a new block begins at each step with probability ``1/mean_block``);
    a block runs on circularly past the end of the sample. Vectorised: each position's
    index is its block's start plus its offset in the block.
    """
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n, size=(n_resamples, length))
    new_block = rng.random((n_resamples, length)) < 1.0 / max(mean_block, 1.0)
    new_block[:, 0] = True
    pos = np.arange(length)
    # the position where each step's block began: running max of the block-start positions
    began = np.maximum.accumulate(np.where(new_block, pos, 0), axis=1)
    rows = np.arange(n_resamples)[:, None]
    return (starts[rows, began] + (pos - began)) % n


def resampled_annual_returns(
    returns: pd.Series | np.ndarray,
    sessions_per_year: int = 252,
    mean_block: float = 21.0,
    n_resamples: int = 2000,
    seed: int = 20_250_106,
) -> np.ndarray:
    """The annual return on capital of ``n_resamples`` bootstrapped years (SPEC §6 p_hurdle).

    A year is ``sessions_per_year`` daily returns drawn by the stationary bootstrap and
    summed: the IRR of SPEC §6 over one year (365 days) is ``P&L/C̄``, the sum of the
    daily ``P&L/C̄``. Empty when there are fewer than two returns.
    """
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    if len(r) < 2:
        return np.array([], dtype=float)
    idx = stationary_bootstrap_indices(len(r), sessions_per_year, mean_block, n_resamples, seed)
    return r[idx].sum(axis=1)


def p_hurdle(annual_returns: np.ndarray, wacc: float, hurdle_bps: float) -> float:
    """``P(annual return on capital > WACC + hurdle)`` over bootstrapped years (SPEC §6).

    NaN when there are no resampled years (no history: the IRR is unknown too).
    """
    a = np.asarray(annual_returns, dtype=float)
    if a.size == 0 or not np.isfinite(wacc):
        return float("nan")
    return float((a > wacc + hurdle_bps / 1e4).mean())
