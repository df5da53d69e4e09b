"""The ladder's condor slots (SPEC §8): every session priced as a candidate entry with its
whole life, exits by trigger, trades chained slot by slot, and their events and P&L.

The trading rules are in :mod:`tasks.history.ladder`'s docstring."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from schemas.config import HistoryParams, LadderParams, Params, PricingParams
from tasks.conventions import CONDOR_IS_CALL, CONDOR_LEGS, CONDOR_QTY, DAYS_PER_YEAR, MULTIPLIER
from tasks.history.accounting import (
    _normalise_dates,
    _open_span_sum,
    _scatter_position_pnl,
)
from tasks.history.sessions import (
    FloatArray,
    IntArray,
    _day_numbers,
    _ffill_along_rows,
    _Market,
    _next_true,
    _term_at,
)
from tasks.market.expiries import spx_weekly_expiries
from tasks.market.pricing import bsm
from tasks.market.surface import atm_vol, skew_vol, surface_slopes
from tasks.risk.returns import CONDOR_EVENT_COLUMNS
from tasks.structures.condor import model_condor_arrays

_N_CONDOR_LEGS = len(CONDOR_LEGS)


CONDOR_EXTRA_COLUMNS: tuple[str, ...] = (
    "slot",
    "expiry",
    "k_long_put",
    "k_short_put",
    "k_short_call",
    "k_long_call",
    "exit_reason",
    "commissions",
    "pnl",
    "entry_mid",
    "exit_mid",
    "target_dte",
)


def _nearest_weekly_expiry(day: IntArray, target_dte: int, horizon_days: int) -> IntArray:
    """Day numbers of the SPX weekly expiry nearest ``day + target_dte`` (ties: the earlier).

    Vectorised form of :func:`tasks.market.expiries.nearest_expiry`: the weekly expiries of the whole
    window come from :func:`tasks.market.expiries.spx_weekly_expiries` (holiday Fridays rolled to the
    previous session), then each target takes its nearer neighbour among those strictly
    after the entry day.
    """
    first = pd.Timestamp(np.datetime64(int(day.min()), "D"))
    expiries = spx_weekly_expiries(first - pd.Timedelta(days=1), horizon_days)
    exp_day = _day_numbers(expiries)
    target = day + int(target_dte)
    hi = np.clip(np.searchsorted(exp_day, target, side="left"), 0, len(exp_day) - 1)
    lo = np.clip(hi - 1, 0, len(exp_day) - 1)
    e_lo, e_hi = exp_day[lo], exp_day[hi]
    lo_ok = e_lo > day
    # ties go to the earlier expiry, as in nearest_expiry (argmin keeps the first)
    take_lo = lo_ok & (np.abs(e_lo - target) <= np.abs(e_hi - target))
    return np.where(take_lo, e_lo, e_hi)


@dataclass(frozen=True)
class _Candidates:
    """Every session as a candidate entry of one slot, with the candidate's whole path."""

    eligible: NDArray[np.bool_]  # a trade may open here
    expiry_day: IntArray
    strikes: FloatArray  # (n, 4) in CONDOR_LEGS order
    entry_mid: FloatArray  # model credit at entry, points
    credit: FloatArray  # net credit C, points
    marks: FloatArray  # (n, L+1) model cost to close, col 0 = entry; NaN past expiry/end
    exit_col: IntArray  # column of the exit in marks (0 = still open at the end)
    exit_cost: FloatArray  # close_cost X, points (NaN when open)
    exit_mid: FloatArray  # the model mid at exit (intrinsic at expiry)
    reason: NDArray[np.object_]


def _condor_candidates(
    mk: _Market,
    target_dte: int,
    ladder: LadderParams,
    pricing: PricingParams,
    hist: HistoryParams,
) -> _Candidates:
    """Price every session's candidate condor over its whole remaining life (vectorised).

    Shapes: n sessions (candidates) × L sessions of life. Every leg is BSM-priced on the
    session's own surface (no look-ahead: column j uses only session i + j's market).
    """
    horizon = int(mk.day[-1] - mk.day[0]) + int(target_dte) + 21
    expiry_day = _nearest_weekly_expiry(mk.day, target_dte, horizon)
    # expiry session: first session on/after the expiry (n when beyond the data)
    expiry_idx = np.searchsorted(mk.day, expiry_day, side="left")
    strikes, entry_mid = _entry_condors(mk, expiry_day, ladder, pricing)
    side_cost = _N_CONDOR_LEGS * (hist.slippage_per_leg + hist.commission_per_leg / MULTIPLIER)
    credit = entry_mid - side_cost
    eligible = mk.complete & np.isfinite(credit) & (credit > 0)
    path = _condor_paths(mk, strikes, entry_mid, expiry_day, expiry_idx, pricing)
    exit_col, exit_cost, exit_mid, reason = _condor_exits(path, credit, side_cost, hist)
    return _Candidates(
        eligible,
        expiry_day,
        strikes,
        entry_mid,
        credit,
        path.marks,
        exit_col,
        exit_cost,
        exit_mid,
        reason,
    )


def _entry_condors(
    mk: _Market, expiry_day: IntArray, ladder: LadderParams, pricing: PricingParams
) -> tuple[FloatArray, FloatArray]:
    """Strikes ``(n, 4)`` and model credit of the condor each complete session would sell."""
    n = mk.n
    i_ok = np.flatnonzero(mk.complete)
    T0 = (expiry_day - mk.day) / DAYS_PER_YEAR
    strikes = np.full((n, _N_CONDOR_LEGS), np.nan)
    entry_mid = np.full(n, np.nan)
    if len(i_ok):
        c = model_condor_arrays(
            mk.spot[i_ok],
            T0[i_ok],
            mk.rate[i_ok],
            pricing.div_yield,
            _term_at(mk.term, i_ok),
            pricing,
            ladder.short_delta,
            ladder.short_delta,
            ladder.wing_width,
        )
        strikes[i_ok] = c.strike
        entry_mid[i_ok] = c.credit
    return strikes, entry_mid


@dataclass(frozen=True)
class _Paths:
    """Every candidate's life: column j is session i + j (j = 0 is the entry)."""

    marks: FloatArray  # (n, L+1) model cost to close; NaN outside the life
    cols: IntArray  # (L+1,) column numbers
    days_left: IntArray  # (n, L+1) calendar days to expiry at each column
    inside: NDArray[np.bool_]  # within the data and on/before the expiry session
    at_expiry: NDArray[np.bool_]  # the expiry session (settles at intrinsic)
    complete: NDArray[np.bool_]  # the column's session has a complete market


def _condor_paths(
    mk: _Market,
    strikes: FloatArray,
    entry_mid: FloatArray,
    expiry_day: IntArray,
    expiry_idx: IntArray,
    pricing: PricingParams,
) -> _Paths:
    """Mark every candidate to model on each session of its life (cost to close, points)."""
    n, q = mk.n, pricing.div_yield
    life = int(np.max(np.minimum(expiry_idx, n - 1) - np.arange(n), initial=0))
    cols = np.arange(life + 1)
    s = np.arange(n)[:, None] + cols[None, :]  # (n, L+1)
    inside = (s < n) & (s <= expiry_idx[:, None])
    s_c = np.minimum(s, n - 1)
    T = np.maximum(expiry_day[:, None] - mk.day[s_c], 0) / DAYS_PER_YEAR
    S, r = mk.spot[s_c], mk.rate[s_c]
    term_s = _term_at(mk.term, s_c)
    sig_atm = atm_vol(T, term_s, pricing.atm_ratio)
    put_slope, call_slope = surface_slopes(term_s.vix, pricing)
    fwd = S * np.exp((r - q) * T)
    marks = np.zeros((n, life + 1))
    for leg in range(_N_CONDOR_LEGS):  # four legs, each a whole (n, L+1) array
        K = strikes[:, leg : leg + 1]
        iv = skew_vol(K, fwd, T, sig_atm, put_slope, call_slope, pricing.vol_floor)
        price = bsm(S, K, T, r, q, iv, CONDOR_IS_CALL[leg], greeks=False).price
        marks -= CONDOR_QTY[leg] * price  # cost to close = −Σ qty·price
    # the expiry session settles at intrinsic on the SPX close (last known on a gap day)
    at_expiry = inside & (s == expiry_idx[:, None])
    intrinsic = _condor_intrinsic(strikes, mk.spot_ffill[s_c])
    marks = np.where(at_expiry, intrinsic, marks)
    marks[:, 0] = entry_mid
    # an incomplete session keeps the last mark
    complete_s = mk.complete[s_c]
    marks = np.where(complete_s | at_expiry | (cols[None, :] == 0), marks, np.nan)
    marks[:, 0] = np.where(np.isfinite(entry_mid), entry_mid, 0.0)
    marks = _ffill_along_rows(marks)
    marks = np.where(inside, marks, np.nan)
    days_left = expiry_day[:, None] - mk.day[s_c]
    return _Paths(marks, cols, days_left, inside, at_expiry, complete_s)


def _condor_exits(
    path: _Paths, credit: FloatArray, side_cost: float, hist: HistoryParams
) -> tuple[IntArray, FloatArray, FloatArray, NDArray[np.object_]]:
    """Each candidate's first trigger from the session after the entry (module docstring).

    Returns the exit column (0 = still open at the end), the close cost ``X`` (points, NaN
    when open), the model mid at the exit and the exit reason.
    """
    marks, cols, at_expiry = path.marks, path.cols, path.at_expiry
    cost_to_close = marks + side_cost
    C = credit[:, None]
    live = path.inside & (cols[None, :] >= 1) & path.complete & ~at_expiry
    hit_target = live & (cost_to_close <= (1.0 - hist.profit_target) * C)
    hit_stop = live & (cost_to_close - C >= hist.stop_loss_mult * C)
    hit_dte = live & (path.days_left <= hist.exit_dte)
    hit_expiry = at_expiry & (cols[None, :] >= 1)
    trig = hit_target | hit_stop | hit_dte | hit_expiry
    has_exit = trig.any(axis=1)
    exit_col = np.where(has_exit, np.argmax(trig, axis=1), 0)
    rows = np.arange(len(marks))
    reason = np.select(
        [
            ~has_exit,
            hit_expiry[rows, exit_col],
            hit_target[rows, exit_col],
            hit_stop[rows, exit_col],
        ],
        ["open", "expiry", "profit_target", "stop"],
        default="dte",
    ).astype(object)
    exit_mid = np.where(has_exit, marks[rows, exit_col], np.nan)
    exit_cost = np.where(reason == "expiry", exit_mid, exit_mid + side_cost)
    exit_cost = np.where(has_exit, exit_cost, np.nan)
    return exit_col, exit_cost, exit_mid, reason


def _condor_intrinsic(strikes: FloatArray, S: FloatArray) -> FloatArray:
    """Cost to settle a short iron condor at ``S``: put spread + call spread intrinsic."""
    k_sp, k_lp, k_sc, k_lc = (strikes[:, i : i + 1] for i in range(_N_CONDOR_LEGS))
    put_spread = np.maximum(k_sp - S, 0.0) - np.maximum(k_lp - S, 0.0)
    call_spread = np.maximum(S - k_sc, 0.0) - np.maximum(S - k_lc, 0.0)
    return put_spread + call_spread


def _chain_trades(
    eligible: NDArray[np.bool_], exit_idx: IntArray, has_exit: NDArray[np.bool_]
) -> IntArray:
    """Entry sessions of one slot: open at the first eligible session, reopen the session after each exit.

    A loop over trades (a few hundred per slot over decades), not over sessions.
    """
    n = len(eligible)
    nxt = _next_true(eligible)
    entries = []
    pos = int(nxt[0]) if n else n
    while pos < n:
        entries.append(pos)
        if not has_exit[pos]:
            break  # still open at the end of the history
        after = int(exit_idx[pos]) + 1
        pos = int(nxt[after]) if after < n else n
    return np.asarray(entries, dtype=np.int64)


def _condor_history(
    mk: _Market, params: Params
) -> tuple[pd.DataFrame, FloatArray, FloatArray, FloatArray]:
    """Condor events, daily P&L, capital at risk and open count over all slots."""
    ladder, hist, pricing = params.ladder, params.history, params.pricing
    n = mk.n
    pnl, capital, count = np.zeros(n), np.zeros(n), np.zeros(n)
    frames = []
    commission_side = _N_CONDOR_LEGS * hist.commission_per_leg
    for slot in range(ladder.n_tranches):
        target = int(ladder.target_dtes[slot])
        cand = _condor_candidates(mk, target, ladder, pricing, hist)
        has_exit = cand.reason != "open"
        exit_idx = np.arange(n) + cand.exit_col
        entry = _chain_trades(cand.eligible, exit_idx, has_exit)
        if len(entry) == 0:
            continue
        closed = has_exit[entry]
        ex = exit_idx[entry]
        n_cols = np.where(closed, cand.exit_col[entry] + 1, n - entry)
        marks = cand.marks[entry][:, : int(n_cols.max())]
        C = cand.credit[entry]
        X = cand.exit_cost[entry]
        pnl += _scatter_position_pnl(
            n, entry, marks, n_cols, C, np.where(closed, -X, 0.0), closed, sign=-1.0
        )
        stop = np.where(closed, ex, n)
        capital += _open_span_sum(n, entry, stop, MULTIPLIER * (ladder.wing_width - C))
        count += _open_span_sum(n, entry, stop, np.ones(len(entry)))
        k = cand.strikes[entry]
        reason = cand.reason[entry]
        last_mark = marks[np.arange(len(entry)), n_cols - 1]
        frames.append(
            pd.DataFrame(
                {
                    "position_id": [f"condor-{slot}-{d:%Y%m%d}" for d in mk.dates[entry]],
                    "open_date": mk.dates[entry],
                    "close_date": np.where(
                        closed,
                        mk.dates.values[np.minimum(ex, n - 1)],
                        np.datetime64("NaT", "ns"),
                    ),
                    "contracts": 1,
                    "width": float(ladder.wing_width),
                    "credit": C,
                    "close_cost": np.where(closed, X, np.nan),
                    "slot": slot,
                    "expiry": pd.DatetimeIndex(cand.expiry_day[entry].astype("datetime64[D]")),
                    "k_long_put": k[:, 1],
                    "k_short_put": k[:, 0],
                    "k_short_call": k[:, 2],
                    "k_long_call": k[:, 3],
                    "exit_reason": reason,
                    # opening commissions always; closing ones unless cash-settled at expiry
                    "commissions": commission_side
                    * (1.0 + (closed & (reason != "expiry")).astype(float)),
                    "pnl": np.where(closed, MULTIPLIER * (C - X), np.nan),
                    "entry_mid": cand.entry_mid[entry],
                    "exit_mid": np.where(closed, cand.exit_mid[entry], last_mark),
                    "target_dte": target,
                }
            )
        )
    columns = list(CONDOR_EVENT_COLUMNS) + list(CONDOR_EXTRA_COLUMNS)
    events = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    )
    events = _normalise_dates(events, ("open_date", "close_date", "expiry"))
    events = events.sort_values(["open_date", "slot"], kind="stable").reset_index(drop=True)
    return events[columns], pnl, capital, count
