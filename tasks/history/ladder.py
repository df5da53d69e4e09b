"""The modelled strategy history (SPEC §8): the condor ladder and its ALVH hedge, traded like an account.

:func:`model_ladder` runs the ladder of SPEC §4 over a market frame
(:func:`tasks.market.market_frame`) and returns every trade (open/close events in the
layout :mod:`tasks.risk` consumes for the IRR) and a daily mark-to-model P&L.
:func:`vix_future_series` is the constant-maturity modelled VIX future of SPEC §3.2, one
of the assets of the ``betas`` table (SPEC §5).

How the ladder trades
---------------------
- ``LadderParams.n_tranches`` independent *slots*; slot k targets ``target_dtes[k]``. When
  a slot is free on a session whose market is complete (SPX, VIX and the rate known), it
  sells one iron condor (1 contract) at the SPX weekly expiry nearest the target DTE
  (:func:`tasks.market.expiries.nearest_expiry`'s rule), short strikes at ±``short_delta`` on the
  model surface, wings ``wing_width`` further out (:func:`tasks.structures.model_condor_arrays`).
- Entry fill: credit = model mid − ``slippage_per_leg`` × 4 − commissions (4 legs ×
  ``commission_per_leg`` USD, expressed in points, /100). This *net* credit ``C`` is the
  ``credit`` of the event frame; the max loss is ``100·(W − C)``.
- On every later session with a complete market the cost to close is
  ``X = model mid + 4·slippage + 4·commission/100`` (what buying it back would really cost),
  and the position closes on the first session where

  1. ``X ≤ (1 − profit_target)·C``  → ``profit_target``,
  2. ``X − C ≥ stop_loss_mult·C``   → ``stop``,
  3. calendar DTE ``≤ exit_dte``     → ``dte``,

  checked in that order (1 and 2 cannot both hold). The triggers compare the all-in
  cost to close with the net credit, i.e. they act on the P&L the account would realise.
- A position that reaches its expiry session without a trigger settles at intrinsic value
  on that session's SPX close, with no slippage and no exit commission (cash settlement;
  reason ``expiry``). Settlement takes precedence over the other triggers on that session.
  With the default ``exit_dte`` = 7 this only happens when every session of the last week
  lacked a complete market.
- The slot reopens on the **next** session after a close (never the same session), so a
  slot holds at most one position on any session and the chain of trades is simply
  "next entry = first eligible session after the exit".
- An entry whose net credit is not positive (costs above the model credit, e.g. a tiny
  index level against a fixed wing) is skipped: a real account would not pay to sell a
  condor. The slot tries again on the next session.

Marks, P&L and missing data
---------------------------
Every open position is marked to model every session: daily P&L (USD) is the change in
its model value plus realised costs, so over a trade's life the daily P&L sums exactly to
the trade's P&L ``100·(C − X)``. On a session where VIX, SPX or the rate is missing no
position opens and no trigger is checked; open positions keep their last mark (zero P&L
that day) and the next complete session takes the whole change. Trailing sessions after
the last complete market (e.g. SPX closes printed after the VIX history ends) are dropped:
nothing could be marked on them, so the history ends at the last complete session.

The hedge
---------
One ALVH hedge unit (``HedgeParams.kind``) per ladder, built by
:func:`tasks.structures.hedge_unit` (VIX expiry nearest ``tenor_days``, strike
``round(moneyness·F_VIX(T))``, Black-76 on the modelled ``F_VIX(T)``, vol of vol
``VVIX/100`` or ``vol_of_vol_default``). It is *time-shifted* as in the practitioner text:
held while its long leg has more than ``short_tenor_days`` to expiry and rolled on the first
complete session where its remaining life falls to ``short_tenor_days`` or less — sold at
model value and a new unit bought on the **same** session (a roll leaves no unhedged day).
Daily marks use that session's vol of vol. SPEC §8 charges commissions and slippage "on
every trade", so hedge trades pay ``slippage_per_leg`` and ``commission_per_leg`` per leg
too: ``premium`` is the net debit including them, ``close_value`` the proceeds net of them,
floored at 0 (a unit worth less than its closing costs is left to expire worthless). A
calendar's short leg that expires inside the unit's life settles at intrinsic on the VIX
close (``F_VIX(0) = VIX``) and its value stays frozen at that settlement.

Notes
-----
- ``strategy_return`` divides the session's P&L by the capital at risk averaged over the
  ``HistoryParams.return_base_sessions`` sessions up to the previous one (causal). A
  one-day base would collapse after a crash day's stops (every slot closed at once), turning the
  reopening costs and the hedge's move into returns beyond ±100%, which would dominate
  the strategy's rolling beta.
- Weekly SPX expiries are assumed to exist over the whole history (they were listed from
  2005); before that the model trades synthetic weeklies, as SPEC §3.3 prescribes.
- Slots are independent, so two slots may occasionally hold the same expiry.
- All SPX expiries settle on the expiry session's close (PM settlement).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from schemas.config import HedgeParams, HistoryParams, LadderParams, Params, PricingParams
from tasks.conventions import CONDOR_IS_CALL, CONDOR_LEGS, CONDOR_QTY, DAYS_PER_YEAR, MULTIPLIER
from tasks.market.expiries import spx_weekly_expiries
from tasks.market.pricing import black76, bsm
from tasks.market.surface import VolTerm, atm_vol, skew_vol, vix_future
from tasks.risk.returns import CONDOR_EVENT_COLUMNS, HEDGE_EVENT_COLUMNS
from tasks.structures.condor import model_condor_arrays
from tasks.structures.hedge import hedge_unit

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_N_CONDOR_LEGS = len(CONDOR_LEGS)
_TERM_COLUMNS = ("vix9d", "vix", "vix3m", "vix6m")

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
HEDGE_EXTRA_COLUMNS: tuple[str, ...] = (
    "kind",
    "expiry",
    "strike",
    "exit_reason",
    "commissions",
    "pnl",
    "entry_mid",
    "exit_mid",
)
DAILY_COLUMNS: tuple[str, ...] = (
    "as_of",
    "pnl",
    "condor_pnl",
    "hedge_pnl",
    "capital_at_risk",
    "strategy_return",
    "open_condors",
    "open_hedges",
)


@dataclass
class LadderHistory:
    """The modelled ladder's trades and daily P&L (SPEC §8).

    Attributes
    ----------
    condor_events : DataFrame
        One row per condor trade (1 contract): :data:`tasks.risk.CONDOR_EVENT_COLUMNS`
        (``credit`` net of opening costs, ``close_cost`` including closing costs, points)
        plus :data:`CONDOR_EXTRA_COLUMNS` (``commissions`` and ``pnl`` in USD,
        ``entry_mid``/``exit_mid`` the model mids in points; ``exit_reason`` one of
        ``profit_target``, ``stop``, ``dte``, ``expiry``, ``open``). Trades still open at the
        end have ``close_date`` NaT, ``close_cost`` NaN and ``exit_mid`` their last mark.
    hedge_events : DataFrame
        One row per hedge-unit trade: :data:`tasks.risk.HEDGE_EVENT_COLUMNS` plus
        :data:`HEDGE_EXTRA_COLUMNS` (``expiry``/``strike`` of the long call; ``exit_reason``
        ``roll``, ``expiry`` or ``open``).
    daily : DataFrame
        One row per session: :data:`DAILY_COLUMNS`. ``pnl`` (USD) = ``condor_pnl`` +
        ``hedge_pnl``; ``capital_at_risk`` (USD) = Σ max loss of the condors open at the
        session's close + Σ premium of the open hedge units; ``strategy_return`` = pnl /
        the capital at risk averaged over the ``HistoryParams.return_base_sessions``
        sessions up to the previous one (NaN when that is zero).
    """

    condor_events: pd.DataFrame
    hedge_events: pd.DataFrame
    daily: pd.DataFrame


# --------------------------------------------------------------------------- market arrays


@dataclass(frozen=True)
class _Market:
    """The market frame as arrays, one entry per session."""

    dates: pd.DatetimeIndex
    day: IntArray  # calendar day numbers (days since 1970-01-01)
    spot: FloatArray
    spot_ffill: FloatArray  # last known SPX close (expiry settlement on a gap day)
    rate: FloatArray
    term: VolTerm  # fields of shape (n,)
    vix_ffill: FloatArray
    vvix: FloatArray
    complete: NDArray[np.bool_]  # SPX, VIX and the rate all known

    @property
    def n(self) -> int:
        return len(self.dates)


def _market_arrays(market: pd.DataFrame, start: object, end: object) -> _Market:
    frame = market.sort_index()
    frame = frame.loc[
        (pd.Timestamp(start) if start is not None else frame.index.min()) : (
            pd.Timestamp(end) if end is not None else frame.index.max()
        )
    ]
    col = {c: frame[c].to_numpy(dtype=float) for c in ("spx", "vix", "r", *_TERM_COLUMNS, "vvix")}
    complete = np.isfinite(col["spx"]) & np.isfinite(col["vix"]) & np.isfinite(col["r"])
    # drop trailing sessions without a complete market: nothing can be marked on them
    last = np.flatnonzero(complete)
    frame = frame.iloc[: (last[-1] + 1 if len(last) else 0)]
    col = {k: v[: len(frame)] for k, v in col.items()}
    complete = complete[: len(frame)]
    dates = pd.DatetimeIndex(frame.index).normalize()
    return _Market(
        dates=dates,
        day=_day_numbers(dates),
        spot=col["spx"],
        spot_ffill=pd.Series(col["spx"]).ffill().to_numpy(),
        rate=col["r"],
        term=VolTerm(col["vix9d"], col["vix"], col["vix3m"], col["vix6m"]),
        vix_ffill=pd.Series(col["vix"]).ffill().to_numpy(),
        vvix=col["vvix"],
        complete=complete,
    )


def _day_numbers(dates: pd.DatetimeIndex | pd.Series) -> IntArray:
    """Calendar day numbers, so DTE arithmetic is integer subtraction."""
    return np.asarray(pd.DatetimeIndex(dates).values.astype("datetime64[D]").astype(np.int64))


def _term_at(term: VolTerm, idx: NDArray[np.integer]) -> VolTerm:
    return term.map(lambda v: v[idx])


def _ffill_along_rows(values: FloatArray) -> FloatArray:
    """Forward-fill NaNs along axis 1 (column 0 must be finite)."""
    ok = np.isfinite(values)
    pos = np.where(ok, np.arange(values.shape[1])[None, :], 0)
    np.maximum.accumulate(pos, axis=1, out=pos)
    return np.take_along_axis(values, pos, axis=1)


def _next_true(mask: NDArray[np.bool_]) -> IntArray:
    """``out[j]`` = the first index ``i >= j`` with ``mask[i]``; ``len(mask)`` when none."""
    n = len(mask)
    idx = np.where(mask, np.arange(n), n)
    return np.minimum.accumulate(idx[::-1])[::-1] if n else idx.astype(np.int64)


# --------------------------------------------------------------------------- expiries


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


# --------------------------------------------------------------------------- condor candidates


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
    sig_atm = atm_vol(T, _term_at(mk.term, s_c), pricing.atm_ratio)
    fwd = S * np.exp((r - q) * T)
    marks = np.zeros((n, life + 1))
    for leg in range(_N_CONDOR_LEGS):  # four legs, each a whole (n, L+1) array
        K = strikes[:, leg : leg + 1]
        iv = skew_vol(K, fwd, T, sig_atm, pricing.put_slope, pricing.call_slope, pricing.vol_floor)
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


# --------------------------------------------------------------------------- scatter helpers


def _scatter_position_pnl(
    n: int,
    entry: IntArray,
    marks: FloatArray,
    n_cols: IntArray,
    open_cash: FloatArray,
    close_cash: FloatArray,
    closed: NDArray[np.bool_],
    sign: float,
) -> FloatArray:
    """Daily P&L (USD) of many positions onto the session axis.

    ``marks[k, j]`` is position k's model value (points, per unit) at session
    ``entry[k] + j`` for ``j < n_cols[k]`` (the exit session is column ``n_cols[k] − 1`` when
    ``closed``). ``sign`` = −1 for a liability (a short condor: value is the cost to close),
    +1 for an asset (a hedge). ``open_cash`` / ``close_cash`` are the signed cash flows in
    points (e.g. +C and −X for a condor).

    Entry session: ``open_cash + sign·mark_0``; later sessions ``sign·(mark_j − mark_{j−1})``;
    exit session: ``close_cash − sign·mark_{j−1}``.
    """
    pnl = np.zeros(n)
    if len(entry) == 0:
        return pnl
    cols = np.arange(marks.shape[1])[None, :]
    prev = np.concatenate([np.zeros((len(entry), 1)), marks[:, :-1]], axis=1)
    step = sign * (marks - prev)
    step[:, 0] = open_cash + sign * marks[:, 0]
    last = n_cols - 1
    rows = np.arange(len(entry))
    exit_step = close_cash - sign * prev[rows, last]
    step[rows[closed], last[closed]] = exit_step[closed]
    valid = cols < n_cols[:, None]
    sess = entry[:, None] + cols
    np.add.at(pnl, sess[valid], MULTIPLIER * step[valid])
    return pnl


def _open_span_sum(n: int, entry: IntArray, stop: IntArray, amount: FloatArray) -> FloatArray:
    """Σ amount over positions open at the close of each session: ``entry <= t < stop``."""
    acc = np.zeros(n + 1)
    np.add.at(acc, entry, amount)
    np.add.at(acc, stop, -amount)
    return np.cumsum(acc)[:n]


# --------------------------------------------------------------------------- condors


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


def _normalise_dates(frame: pd.DataFrame, cols: tuple[str, ...]) -> pd.DataFrame:
    for c in cols:
        frame[c] = pd.to_datetime(frame[c]).astype("datetime64[ns]")
    return frame


# --------------------------------------------------------------------------- hedge


def _hedge_history(
    mk: _Market, params: Params
) -> tuple[pd.DataFrame, FloatArray, FloatArray, FloatArray]:
    """The rolled ALVH hedge: events, daily P&L, premium at risk and open count.

    A loop over hedge units (one every ~2 months), each unit's path priced at once.
    """
    hedge, hist, pricing = params.hedge, params.history, params.pricing
    n = mk.n
    pnl, capital, count = np.zeros(n), np.zeros(n), np.zeros(n)
    records = []
    nxt = _next_true(mk.complete)
    pos = int(nxt[0]) if n else n
    while pos < n:
        rec, marks, n_cols = _one_hedge(mk, pos, hedge, hist, pricing)
        records.append(rec)
        closed = rec["exit_reason"] != "open"
        entry = np.array([pos])
        pnl += _scatter_position_pnl(
            n,
            entry,
            marks[None, :],
            np.array([n_cols]),
            np.array([-rec["premium"]]),
            np.array([rec["close_value"] if closed else 0.0]),
            np.array([closed]),
            sign=1.0,
        )
        stop = pos + n_cols - 1 if closed else n
        capital[pos:stop] += MULTIPLIER * rec["premium"]
        count[pos:stop] += 1.0
        if not closed:
            break
        # a roll re-buys on the same session; after a settlement on a gap day, the next
        # complete session
        pos = int(nxt[stop])
    columns = list(HEDGE_EVENT_COLUMNS) + list(HEDGE_EXTRA_COLUMNS)
    events = pd.DataFrame(records, columns=columns)
    events = _normalise_dates(events, ("open_date", "close_date", "expiry"))
    return events, pnl, capital, count


def _hedge_marks(
    mk: _Market, s: IntArray, legs: pd.DataFrame, leg_exp: IntArray, pricing: PricingParams
) -> FloatArray:
    """A hedge unit's model value (points) on sessions ``s`` (entry first, at its entry price).

    Black-76 on each session's modelled VIX futures at that session's vol of vol; an
    incomplete session keeps the last value.
    """
    K = legs["strike"].to_numpy(dtype=float)
    qty = legs["qty"].to_numpy(dtype=float)
    T = np.maximum(leg_exp[None, :] - mk.day[s][:, None], 0) / DAYS_PER_YEAR  # (m, legs)
    # every leg settles on the VIX close of its expiry session (F_VIX(0) = VIX)
    term_s = _term_at(mk.term, s).expand()
    F = vix_future(T, term_s, pricing.convexity_vol)
    vov = np.where(np.isfinite(mk.vvix[s]), mk.vvix[s] / 100.0, pricing.vol_of_vol_default)
    price = black76(F, K[None, :], T, mk.rate[s][:, None], vov[:, None], True).price
    price[0] = legs["model_price"].to_numpy(dtype=float)
    ok = mk.complete[s]
    ok[0] = True
    price = _ffill_along_rows(np.where(ok[:, None], price, np.nan).T).T
    # an expired leg's value stays frozen at its settlement (its cash changed hands)
    leg_exp_idx = np.searchsorted(mk.day, leg_exp, side="left")
    for j in range(len(K)):  # one to two legs
        settle_row = leg_exp_idx[j] - s[0]
        if 0 < settle_row < len(s):
            intrinsic = max(mk.vix_ffill[leg_exp_idx[j]] - K[j], 0.0)
            price[settle_row:, j] = intrinsic
    return price @ qty


def _one_hedge(
    mk: _Market, pos: int, hedge: HedgeParams, hist: HistoryParams, pricing: PricingParams
) -> tuple[dict[str, object], FloatArray, int]:
    """Open one hedge unit at session ``pos``, price its path and find its roll.

    Returns the event record, the unit's marks (points, from the entry session through the
    exit or the end) and the number of mark columns.
    """
    n = mk.n
    term0 = _term_at(mk.term, np.array(pos))
    vvix0 = float(mk.vvix[pos]) if np.isfinite(mk.vvix[pos]) else None
    unit = hedge_unit(mk.dates[pos], term0, float(mk.rate[pos]), pricing, hedge, vvix0)
    legs = unit.legs
    leg_exp = _day_numbers(pd.DatetimeIndex(legs["expiry"]))
    K = legs["strike"].to_numpy(dtype=float)
    long_i = int(np.flatnonzero(legs["leg"].to_numpy() == "long_call")[0])
    long_exp = int(leg_exp[long_i])
    long_exp_idx = int(np.searchsorted(mk.day, long_exp, side="left"))

    s = np.arange(pos, min(long_exp_idx, n - 1) + 1)
    value = _hedge_marks(mk, s, unit.legs, leg_exp, pricing)

    remaining = long_exp - mk.day[s]
    roll = (remaining <= hedge.short_tenor_days) & mk.complete[s]
    roll[0] = False
    at_expiry = s == long_exp_idx
    trig = roll | at_expiry
    leg_cost = hist.slippage_per_leg + hist.commission_per_leg / MULTIPLIER
    premium = unit.premium + len(K) * leg_cost
    base = {
        "position_id": f"hedge-{mk.dates[pos]:%Y%m%d}",
        "open_date": mk.dates[pos],
        "units": 1,
        "premium": premium,
        "kind": hedge.kind,
        "expiry": pd.Timestamp(np.datetime64(long_exp, "D")),
        "strike": float(K[long_i]),
        "entry_mid": unit.premium,
    }
    if not trig.any():
        n_cols = len(s)
        rec = base | {
            "close_date": pd.NaT,
            "close_value": np.nan,
            "exit_reason": "open",
            "commissions": len(K) * hist.commission_per_leg,
            "pnl": np.nan,
            "exit_mid": float(value[-1]),
        }
        return rec, value[:n_cols], n_cols
    j = int(np.argmax(trig))
    day_j = mk.day[s[j]]
    if at_expiry[j]:
        reason, close_value, n_close = "expiry", float(value[j]), 0
    else:
        n_close = int((leg_exp > day_j).sum())  # legs still alive are sold
        reason = "roll"
        close_value = max(float(value[j]) - n_close * leg_cost, 0.0)
        if float(value[j]) - n_close * leg_cost <= 0.0:
            n_close = 0  # left to expire worthless: no closing trade
    rec = base | {
        "close_date": mk.dates[s[j]],
        "close_value": close_value,
        "exit_reason": reason,
        "commissions": (len(K) + n_close) * hist.commission_per_leg,
        "pnl": MULTIPLIER * (close_value - premium),
        "exit_mid": float(value[j]),
    }
    return rec, value[: j + 1], j + 1


# --------------------------------------------------------------------------- public API


def model_ladder(
    market: pd.DataFrame, params: Params, start: object = None, end: object = None
) -> LadderHistory:
    """Run the modelled condor ladder and its ALVH hedge over a market frame (SPEC §8).

    Parameters
    ----------
    market : DataFrame
        :func:`tasks.market.market_frame` output, indexed by session: ``spx, vix9d, vix,
        vix3m, vix6m, vvix, r`` are used (NaN where unknown, point-in-time).
    params : Params
        ``ladder`` (slots, δ, W, target DTEs), ``history`` (exits and costs), ``pricing``
        (surface, grids), ``hedge`` (the ALVH unit).
    start, end : date-like, optional
        Window (inclusive); default the whole frame. Trailing sessions without a complete
        market are dropped (see the module docstring).

    Returns
    -------
    LadderHistory
        Condor and hedge events and the daily mark-to-model P&L.

    Notes
    -----
    Vectorised: for each slot every session is priced as a candidate entry together with
    its whole path to expiry (an ``(n_sessions × life)`` BSM array per leg), exits are found
    with one ``argmax`` per candidate, and the chosen trades are chained by following
    "next entry = first eligible session after the exit". Decades of sessions take seconds
    (``benchmarks/bench_history.py``).
    """
    mk = _market_arrays(market, start, end)
    condors, c_pnl, c_cap, c_count = _condor_history(mk, params)
    hedges, h_pnl, h_cap, h_count = _hedge_history(mk, params)
    pnl = c_pnl + h_pnl
    capital = c_cap + h_cap
    # the return base is the capital at risk averaged over the trailing month, up to the
    # previous session: a single day's base collapses when every slot stops out at once
    base = (
        pd.Series(capital)
        .rolling(params.history.return_base_sessions, min_periods=1)
        .mean()
        .to_numpy()
    )
    prev_cap = np.concatenate([[0.0], base[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.where(prev_cap > 0, pnl / np.where(prev_cap > 0, prev_cap, 1.0), np.nan)
    daily = pd.DataFrame(
        {
            "as_of": pd.DatetimeIndex(mk.dates).astype("datetime64[ns]"),
            "pnl": pnl,
            "condor_pnl": c_pnl,
            "hedge_pnl": h_pnl,
            "capital_at_risk": capital,
            "strategy_return": ret,
            "open_condors": np.rint(c_count).astype("int64"),
            "open_hedges": np.rint(h_count).astype("int64"),
        }
    )
    return LadderHistory(condor_events=condors, hedge_events=hedges, daily=daily)


def vix_future_series(market: pd.DataFrame, tenor_days: int, pricing: PricingParams) -> pd.Series:
    """The constant-maturity modelled VIX future ``F_VIX(T)``, ``T = tenor_days/365`` (SPEC §3.2).

    One value per session of ``market`` (a :func:`tasks.market.market_frame`), from that
    session's VIX9D/VIX/VIX3M/VIX6M closes (optional knots NaN drop out) and
    ``pricing.convexity_vol``; NaN where the VIX is missing. Named ``vix_future_{tenor}d``,
    the asset name for the ``betas`` table.
    """
    term = VolTerm(*(market[c].to_numpy(dtype=float) for c in _TERM_COLUMNS))
    fut = vix_future(int(tenor_days) / DAYS_PER_YEAR, term, pricing.convexity_vol)
    fut = np.where(np.isfinite(market["vix"].to_numpy(dtype=float)), fut, np.nan)
    return pd.Series(fut, index=market.index, name=f"vix_future_{int(tenor_days)}d")
