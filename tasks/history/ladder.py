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

from schemas.config import Params, PricingParams
from tasks.conventions import DAYS_PER_YEAR
from tasks.history.condors import CONDOR_EXTRA_COLUMNS, _condor_history
from tasks.history.hedges import HEDGE_EXTRA_COLUMNS, _hedge_history
from tasks.history.sessions import (
    _TERM_COLUMNS,
    _market_arrays,
)
from tasks.market.surface import VolTerm, vix_future

__all__ = [
    "CONDOR_EXTRA_COLUMNS",
    "DAILY_COLUMNS",
    "HEDGE_EXTRA_COLUMNS",
    "LadderHistory",
    "model_ladder",
    "vix_future_series",
]


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
    fut = vix_future(
        int(tenor_days) / DAYS_PER_YEAR, term, pricing.convexity_vol,
        pricing.convexity_mean_reversion,
    )  # fmt: skip
    fut = np.where(np.isfinite(market["vix"].to_numpy(dtype=float)), fut, np.nan)
    return pd.Series(fut, index=market.index, name=f"vix_future_{int(tenor_days)}d")
