"""The ladder's time-shifted ALVH hedge (SPEC §8): one unit at a time, rolled when its life
falls to ``short_tenor_days``, with its events and P&L.

The rules are in :mod:`tasks.history.ladder`'s docstring."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.config import HedgeParams, HistoryParams, Params, PricingParams
from tasks.conventions import DAYS_PER_YEAR, MULTIPLIER
from tasks.history.accounting import (
    _normalise_dates,
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
from tasks.market.pricing import black76
from tasks.market.surface import vix_future
from tasks.risk.returns import HEDGE_EVENT_COLUMNS
from tasks.structures.hedge import hedge_unit

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
    F = vix_future(T, term_s, pricing.convexity_vol, pricing.convexity_mean_reversion)
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
