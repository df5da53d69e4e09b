"""One session of the book (SPEC §10): :func:`step_book`, shared by the daily run, the warm
start and the backtest.

Order of a close: carry (holdings, bills, cash, debt) → mark → exits (§8) → new tranches
in free slots, sized with the open book counted (§7, through ``sizing_fn``) → the hedge
(hold, roll, monetise, resize) → the account row. Every trade fills at the close's mid
moved by the slippage and pays the commission (:mod:`tasks.book.orders`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from schemas.config import Params
from tasks.book.account import account_frame, carry
from tasks.book.marks import close_marks
from tasks.book.orders import Costs, Fill, OrderBlock, order_block, orders_frame, trade
from tasks.book.positions import (
    BOOK_LEG_COLUMNS,
    BookState,
    LegArrays,
    capital_at_risk,
    condor_id,
    hedge_id,
)
from tasks.book.rules import (
    Slot,
    condor_exits,
    free_slots,
    hedge_units,
    hedge_units_held,
    plan_hedge,
)
from tasks.market.chain import Chain
from tasks.market.frame import MarketContext
from tasks.sizing import SizingResult
from tasks.sizing.inputs import portfolio_risk_frame
from tasks.structures import vol_of_vol

BOOK_COLUMNS: tuple[str, ...] = ("as_of", "portfolio_id", *BOOK_LEG_COLUMNS)
"""SPEC §9 ``book``: every leg held after the day's orders (plus ``underlying``, ``qty``, ``iv``)."""


@dataclass(frozen=True)
class MarketDay:
    """The market of one close as the book needs it."""

    ctx: MarketContext
    chain: Chain | None = None


@dataclass(frozen=True)
class NewCondor:
    """A tranche to open: its legs (``leg, put_call, strike, qty, expiry, model_price,
    pricing_source``; ``model_price`` = today's mid) and the contracts sized for it."""

    target_dte: int
    legs: pd.DataFrame
    contracts: int


@dataclass
class SizingDecision:
    """What the sizing (SPEC §7) says for the free slots and the hedge, given the open book."""

    condors: list[NewCondor]  # the tranches given contracts today (none: nothing opens)
    hedge_legs: pd.DataFrame  # today's hedge unit (same columns as a condor's legs)
    hedge_kind: str
    hedge_target: int  # total units the book should hold
    risk_row: dict[str, object] | None = None  # the portfolio_risk row, when a sizing ran
    sized: SizingResult | None = None  # the full sizing, when one ran today
    rationale: list[str] = field(default_factory=list)

    @property
    def risk(self) -> pd.DataFrame | None:
        """The ``portfolio_risk`` row as a one-row frame (None without a sizing)."""
        return None if self.risk_row is None else portfolio_risk_frame(self.risk_row)

    @property
    def daily_sizing(self) -> pd.DataFrame | None:
        """The sizing's ``daily_sizing`` rows (built when read; None without a sizing)."""
        return None if self.sized is None else self.sized.daily_sizing

    @property
    def positions(self) -> pd.DataFrame | None:
        """The sizing's one row per candidate position (None without a sizing)."""
        return None if self.sized is None else self.sized.positions


SizingFn = Callable[[BookState, MarketDay, list[Slot]], SizingDecision]


@dataclass
class StepResult:
    """A session's new state, its orders, its ``book`` rows and its ``account_daily`` row."""

    state: BookState
    order_blocks: list[OrderBlock]  # the day's orders, one block of rows each
    account_row: dict[str, object]  # the ``account_daily`` row (ACCOUNT_COLUMNS)
    decision: SizingDecision
    notes: list[str]

    @cached_property
    def orders(self) -> pd.DataFrame:
        """The session's ``orders`` rows (built when read: a backtest stacks every session's
        blocks once, :func:`tasks.book.orders.orders_frame`)."""
        return orders_frame(self.order_blocks)

    @property
    def account(self) -> pd.DataFrame:
        """The ``account_daily`` row as a one-row frame (built when read)."""
        return account_frame([self.account_row])

    @property
    def book(self) -> pd.DataFrame:
        """The ``book`` rows of the new state (built when read: a backtest never reads them)."""
        return book_rows(self.state)


class _Ledger:
    """Cash, commissions and realised P&L of one session's trades, per kind."""

    def __init__(self, as_of: pd.Timestamp, portfolio_id: str) -> None:
        self.as_of, self.portfolio_id = as_of, portfolio_id
        self.flow = {"condor": 0.0, "hedge": 0.0}
        self.commission = {"condor": 0.0, "hedge": 0.0}
        self.realised = 0.0
        self.orders: list[OrderBlock] = []

    def record(self, action: str, legs: LegArrays, fill: Fill, units: int,
               reason: str) -> None:  # fmt: skip
        kind = str(legs.kind[0])
        self.flow[kind] += fill.flow - fill.commission  # net: what the cash account sees
        self.commission[kind] += fill.commission
        oid = f"{self.as_of:%Y%m%d}-{self.portfolio_id}-{len(self.orders) + 1:02d}"
        self.orders.append(
            order_block(self.as_of, self.portfolio_id, oid, action, legs, fill, units, reason)
        )

    def close(self, legs: LegArrays, units: int, costs: Costs, action: str, reason: str,
              settle: bool = False) -> None:  # fmt: skip
        fill = trade(legs, units, opening=False, costs=costs, settle=settle)
        gain = 100.0 * legs.qty * units * (fill.price - legs.entry_price)
        self.realised += float(gain.sum()) - fill.commission
        self.record(action, legs, fill, units, reason)

    def open(self, legs: LegArrays, units: int, costs: Costs, action: str,
             reason: str) -> LegArrays:  # fmt: skip
        """Fill a new position's legs; they come back with the fill as their entry price."""
        fill = trade(legs, units, opening=True, costs=costs)
        self.realised -= fill.commission
        self.record(action, legs, fill, units, reason)
        return legs._replace(entry_price=fill.price)


def _new_position(legs: pd.DataFrame, pid: str, kind: str, underlying: str,
                  units: int) -> LegArrays:  # fmt: skip
    """The arrays of a position about to open, from its legs as priced today (``expiry, leg,
    put_call, strike, qty, model_price, pricing_source``): marked at today's price, the entry
    price left to the fill."""
    n = len(legs)
    return LegArrays(
        position_id=np.full(n, pid, dtype=object),
        kind=np.full(n, kind, dtype=object),
        underlying=np.full(n, underlying, dtype=object),
        expiry=legs["expiry"].to_numpy("datetime64[ns]"),
        leg=legs["leg"].to_numpy(object),
        put_call=legs["put_call"].to_numpy(object),
        strike=legs["strike"].to_numpy(float),
        qty=legs["qty"].to_numpy(float),
        contracts=np.full(n, units, dtype=np.int64),
        entry_price=np.full(n, np.nan),
        mark=legs["model_price"].to_numpy(float),
        pricing_source=legs["pricing_source"].to_numpy(object),
    )


def _position_frame(position: LegArrays, as_of: pd.Timestamp, iv: float) -> pd.DataFrame:
    """The book frame (:data:`BOOK_LEG_COLUMNS`) of a position opened on ``as_of``."""
    columns: dict[str, object] = {**position._asdict(), "opened_on": as_of, "iv": iv}
    return pd.DataFrame({c: columns[c] for c in BOOK_LEG_COLUMNS})


def _stack(legs: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The legs held with new positions' legs after them (an empty book: the new legs)."""
    return pd.concat([legs, new], ignore_index=True) if len(legs) else new


def _apply_exits(legs: pd.DataFrame, arrays: LegArrays, as_of: pd.Timestamp, params: Params,
                 costs: Costs, ledger: _Ledger) -> tuple[pd.DataFrame, LegArrays]:  # fmt: skip
    if not len(arrays.kind):
        return legs, arrays
    # masks on plain arrays, one filter at the end: this runs every session
    pid = arrays.position_id
    closed = np.zeros(len(pid), dtype=bool)
    for ex in condor_exits(arrays, as_of, params.book):
        m = pid == ex.position_id
        g = arrays.select(m)
        ledger.close(g, int(g.contracts[0]), costs, "close", ex.reason,
                     settle=ex.rule == "expiry")  # fmt: skip
        closed |= m
    # expired hedge legs settle too (a unit is normally rolled long before)
    expired = (arrays.kind == "hedge") & (arrays.expiry <= np.datetime64(as_of, "ns")) & ~closed
    for p in sorted(set(pid[expired])):
        m = pid == p
        g = arrays.select(m)
        ledger.close(g, int(g.contracts[0]), costs, "close", "expiry: settled", True)
        closed |= m
    if not closed.any():
        return legs, arrays
    return legs[~closed], arrays.select(~closed)


def _open_condors(legs: pd.DataFrame, arrays: LegArrays, decision: SizingDecision,
                  slots: list[Slot], as_of: pd.Timestamp, costs: Costs,
                  ledger: _Ledger) -> tuple[pd.DataFrame, LegArrays]:  # fmt: skip
    if not any(nc.contracts > 0 for nc in decision.condors):
        return legs, arrays  # most sessions open nothing
    condor = arrays.kind == "condor"
    held = set(pd.DatetimeIndex(arrays.expiry[condor]))
    by_dte = {s.target_dte: s for s in slots}
    opened: list[LegArrays] = []
    for nc in decision.condors:
        expiry = pd.Timestamp(nc.legs["expiry"].iloc[0])
        # defence in depth: only the free slots, never an expiry already held (SPEC §7 step 1)
        if nc.contracts <= 0 or nc.target_dte not in by_dte or expiry in held:
            continue
        new = _new_position(nc.legs, condor_id(nc.legs), "condor", "SPX", nc.contracts)
        reason = f"free ladder slot {nc.target_dte} DTE: new tranche, {nc.contracts} contracts"
        opened.append(ledger.open(new, nc.contracts, costs, "open", reason))
        held.add(expiry)
    if not opened:
        return legs, arrays
    new = LegArrays.stacked(opened)  # one frame for the day's tranches
    return _stack(legs, _position_frame(new, as_of, np.nan)), LegArrays.stacked([arrays, new])


def _buy_hedge(legs: pd.DataFrame, arrays: LegArrays, unit: pd.DataFrame, units: int,
               action: str, reason: str, as_of: pd.Timestamp, iv: float, costs: Costs,
               ledger: _Ledger, kind: str) -> tuple[pd.DataFrame, LegArrays]:  # fmt: skip
    pid = hedge_id(unit, kind)
    new = ledger.open(_new_position(unit, pid, "hedge", "VIX", units), units, costs, action,
                      reason)  # fmt: skip
    mine = arrays.position_id == pid
    if not mine.any():
        return _stack(legs, _position_frame(new, as_of, iv)), LegArrays.stacked([arrays, new])
    # adding to a unit already held: one position, contract-weighted entry price
    old = arrays.select(mine)
    n0 = old.contracts.astype(float)
    merged = old._replace(
        contracts=(n0 + units).astype(np.int64),
        entry_price=(old.entry_price * n0 + new.entry_price * units) / (n0 + units),
        mark=new.mark,
    )
    changed = {"contracts": merged.contracts, "entry_price": merged.entry_price,
               "mark": merged.mark}  # fmt: skip
    frame = legs[mine].reset_index(drop=True).assign(**changed)
    legs = pd.concat([legs[~mine], frame], ignore_index=True)
    return legs, LegArrays.stacked([arrays.select(~mine), merged])


def _manage_hedge(legs: pd.DataFrame, arrays: LegArrays, state: BookState, day: MarketDay,
                  decision: SizingDecision, params: Params, costs: Costs, ledger: _Ledger,
                  vov: float) -> tuple[pd.DataFrame, LegArrays, bool, str]:  # fmt: skip
    as_of = day.ctx.as_of
    held = hedge_units_held(arrays)
    plan = plan_hedge(arrays, as_of, day.ctx.vix, decision.hedge_target, state.monetised,
                      params.book, held)  # fmt: skip
    unit = decision.hedge_legs
    if plan.monetise:
        for pid in held.position_id:
            mine = arrays.position_id == pid
            ledger.close(arrays.select(mine), int(arrays.contracts[mine][0]), costs, "close",
                         plan.reason)  # fmt: skip
            legs, arrays = legs[~mine], arrays.select(~mine)
        return legs, arrays, plan.monetised, plan.reason
    for pid in plan.rolls:
        mine = arrays.position_id == pid
        g = arrays.select(mine)
        n = int(g.contracts[0])
        days = int((pd.Timestamp(g.expiry.max()) - as_of).days)
        why = f"roll: {days} days left on the long leg ≤ {params.book.hedge_roll_days}"
        ledger.close(g, n, costs, "roll", why)
        legs, arrays = legs[~mine], arrays.select(~mine)
        legs, arrays = _buy_hedge(legs, arrays, unit, n, "roll", why, as_of, vov, costs, ledger,
                                  decision.hedge_kind)  # fmt: skip
    to_sell = plan.sell
    for pid in hedge_units_held(arrays).position_id if to_sell > 0 else ():  # shortest first
        if to_sell <= 0:
            break
        mine = arrays.position_id == pid
        g = arrays.select(mine)
        n = int(g.contracts[0])
        k = min(n, to_sell)
        ledger.close(g, k, costs, "close" if k == n else "adjust", plan.reason)
        if k == n:
            legs, arrays = legs[~mine], arrays.select(~mine)
        else:
            contracts = np.where(mine, n - k, arrays.contracts)
            legs, arrays = legs.assign(contracts=contracts), arrays._replace(contracts=contracts)
        to_sell -= k
    if plan.buy > 0 and not unit.empty:
        held_ids = arrays.position_id
        action = "adjust" if (held_ids == hedge_id(unit, decision.hedge_kind)).any() else "open"
        legs, arrays = _buy_hedge(legs, arrays, unit, plan.buy, action, plan.reason, as_of, vov,
                                  costs, ledger, decision.hedge_kind)  # fmt: skip
    return legs, arrays, plan.monetised, plan.reason


def _condor_contracts(legs: LegArrays) -> int:
    """Contracts held over all condor positions (each position counted once)."""
    condor = legs.kind == "condor"
    per = dict(zip(legs.position_id[condor], legs.contracts[condor], strict=True))
    return int(sum(per.values()))


def step_book(state: BookState, day: MarketDay, sizing_fn: SizingFn, params: Params) -> StepResult:
    """Run one close of the book (SPEC §10 steps 1–6) and return the new state and its rows.

    Parameters
    ----------
    state : the book after the previous session's orders (or :func:`start_state`).
    day : the close's market (and the chain of that session, when one exists).
    sizing_fn : ``(book after exits, day, free slots) → SizingDecision``; SPEC §7 sized with
        the open book counted (``tasks.book.sizing.sizing_with_book`` in production).
    params : the portfolio's parameters (costs from ``history``, rules from ``book``).
    """
    ctx, as_of = day.ctx, day.ctx.as_of
    if state.as_of is not None and as_of <= state.as_of:
        raise ValueError(f"book of {state.as_of.date()} cannot step to {as_of.date()}")
    costs = Costs(params.history.commission_per_leg, params.history.slippage_per_leg)
    pr = params.pricing
    vov = vol_of_vol(ctx.vvix, pr)
    notes: list[str] = []

    # (1) carry since the previous close
    days = 0 if state.as_of is None else int((as_of - state.as_of).days)
    r_spx = ctx.spot / state.spot - 1.0 if np.isfinite(state.spot) and state.spot > 0 else 0.0
    box_rate = ctx.risk_free + params.risk.box_spread
    c = carry(days, r_spx, state.holdings, state.cash, state.tbills, ctx.risk_free,
              params.risk.r_sweep, state.margin_debt, state.margin_rate, state.box_debt,
              box_rate)  # fmt: skip
    prev_value = state.marked_values  # read when the previous step made the state

    # (2) mark, (3) exits; the legs' columns read once (the previous step read them already)
    ledger = _Ledger(as_of, state.portfolio_id)
    legs, arrays = state.legs, state.leg_arrays
    if len(arrays.kind):
        marks = close_marks(arrays, ctx, day.chain, pr.div_yield, vov, pr)
        legs, arrays = marks.on_frame(legs), marks.on_arrays(arrays)
    legs, arrays = _apply_exits(legs, arrays, as_of, params, costs, ledger)
    cash = state.cash + c.cash_interest - c.debt_cost + sum(ledger.flow.values())
    interim = state.with_legs(legs, arrays, as_of=as_of, cash=cash, tbills=c.tbills,
                              holdings=c.holdings, spot=ctx.spot)  # fmt: skip

    # (4) new tranches in the free slots, sized with the open book counted
    slots = free_slots(arrays, as_of, params.ladder)
    decision = sizing_fn(interim, day, slots)
    legs, arrays = _open_condors(legs, arrays, decision, slots, as_of, costs, ledger)

    # (5) the hedge
    legs, arrays, monetised, hedge_note = _manage_hedge(legs, arrays, state, day, decision,
                                                        params, costs, ledger, vov)  # fmt: skip
    notes.append(hedge_note)

    # (6) the account
    if not legs.index.equals(pd.RangeIndex(len(legs))):  # a position closed: renumber the rows
        legs = legs.reset_index(drop=True)
    flows = sum(ledger.flow.values())
    cash = state.cash + c.cash_interest - c.debt_cost + flows
    held = state.with_legs(legs, arrays, as_of=as_of, cash=cash, tbills=c.tbills,
                           holdings=c.holdings, spot=ctx.spot, monetised=monetised)  # fmt: skip
    value = held.marked_values  # kept with the state: the next close starts from it
    mv = value.total  # = options_value(legs)
    condor_pnl = value.condor - prev_value.condor + ledger.flow["condor"]
    hedge_pnl = value.hedge - prev_value.hedge + ledger.flow["hedge"]
    sleeve = condor_pnl + hedge_pnl
    pnl = sleeve + c.holdings_pnl + c.carry_pnl
    holdings_value = float(sum(v for v, _ in c.holdings))
    nav = cash + c.tbills + holdings_value + mv + state.other - state.margin_debt - state.box_debt
    peak = max(state.peak_nav, nav)
    new_state = held.with_(nav=nav, peak_nav=peak)  # the legs' arrays and values go with it
    row = {
        "as_of": as_of,
        "portfolio_id": state.portfolio_id,
        "nav": nav,
        "cash": cash,
        "capital_at_risk": capital_at_risk(arrays),
        "pnl": pnl,
        "realised_pnl": ledger.realised,
        "unrealised_pnl": sleeve - ledger.realised,
        "condor_pnl": condor_pnl,
        "hedge_pnl": hedge_pnl,
        "drawdown": nav / peak - 1.0 if peak > 0 else 0.0,
        "tbills": c.tbills,
        "holdings_value": holdings_value,
        "options_value": mv,
        "holdings_pnl": c.holdings_pnl,
        "carry_pnl": c.carry_pnl,
        "commissions": sum(ledger.commission.values()),
        "condor_contracts": _condor_contracts(arrays),
        "hedge_units": hedge_units(arrays),
    }
    return StepResult(new_state, ledger.orders, row, decision, notes)


def book_rows(state: BookState) -> pd.DataFrame:
    """The ``book`` table rows of a state (one per leg held)."""
    out = state.legs.assign(as_of=state.as_of, portfolio_id=state.portfolio_id)
    out["as_of"] = pd.to_datetime(out["as_of"]).astype("datetime64[ns]")
    return out[list(BOOK_COLUMNS)].reset_index(drop=True)
