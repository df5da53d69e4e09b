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
from tasks.book.marks import mark_book
from tasks.book.orders import Costs, Fill, OrderBlock, order_block, orders_frame, trade
from tasks.book.positions import (
    BOOK_LEG_COLUMNS,
    BookState,
    capital_at_risk,
    condor_id,
    hedge_id,
    leg_values,
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

    def record(self, action: str, legs: pd.DataFrame, fill: Fill, units: int,
               reason: str) -> None:  # fmt: skip
        kind = str(legs["kind"].iloc[0])
        self.flow[kind] += fill.flow - fill.commission  # net: what the cash account sees
        self.commission[kind] += fill.commission
        oid = f"{self.as_of:%Y%m%d}-{self.portfolio_id}-{len(self.orders) + 1:02d}"
        self.orders.append(
            order_block(self.as_of, self.portfolio_id, oid, action, legs, fill, units, reason)
        )

    def close(self, legs: pd.DataFrame, units: int, costs: Costs, action: str, reason: str,
              settle: bool = False) -> None:  # fmt: skip
        fill = trade(legs, units, opening=False, costs=costs, settle=settle)
        qty, entry = legs["qty"].to_numpy(float), legs["entry_price"].to_numpy(float)
        gain = 100.0 * qty * units * (fill.price - entry)
        self.realised += float(gain.sum()) - fill.commission
        self.record(action, legs, fill, units, reason)

    def open(self, legs: pd.DataFrame, units: int, costs: Costs, action: str,
             reason: str) -> pd.DataFrame:  # fmt: skip
        fill = trade(legs, units, opening=True, costs=costs)
        self.realised -= fill.commission
        self.record(action, legs, fill, units, reason)
        return legs.assign(entry_price=fill.price)


def _new_position(legs: pd.DataFrame, pid: str, kind: str, underlying: str, units: int,
                  as_of: pd.Timestamp, iv: float) -> pd.DataFrame:  # fmt: skip
    return pd.DataFrame(
        {
            "position_id": pid,
            "kind": kind,
            "underlying": underlying,
            "expiry": pd.DatetimeIndex(legs["expiry"]).astype("datetime64[ns]"),
            "leg": legs["leg"].to_numpy(),
            "put_call": legs["put_call"].to_numpy(),
            "strike": legs["strike"].to_numpy(float),
            "qty": legs["qty"].to_numpy(float),
            "contracts": np.int64(units),
            "opened_on": as_of,
            "entry_price": np.nan,
            "mark": legs["model_price"].to_numpy(float),
            "iv": iv,
            "pricing_source": legs["pricing_source"].to_numpy(),
        }
    )[list(BOOK_LEG_COLUMNS)]


def _apply_exits(legs: pd.DataFrame, as_of: pd.Timestamp, params: Params, costs: Costs,
                 ledger: _Ledger) -> pd.DataFrame:  # fmt: skip
    if legs.empty:
        return legs
    # masks on plain arrays, one filter at the end: this runs every session
    pid = legs["position_id"].to_numpy(object)
    closed = np.zeros(len(legs), dtype=bool)
    for ex in condor_exits(legs, as_of, params.book):
        m = pid == ex.position_id
        g = legs[m]
        ledger.close(g, int(g["contracts"].iloc[0]), costs, "close", ex.reason,
                     settle=ex.rule == "expiry")  # fmt: skip
        closed |= m
    # expired hedge legs settle too (a unit is normally rolled long before)
    expired = (
        (legs["kind"].to_numpy(object) == "hedge")
        & (legs["expiry"].to_numpy("datetime64[ns]") <= np.datetime64(as_of, "ns"))
        & ~closed
    )
    for p in sorted(set(pid[expired])):
        m = pid == p
        g = legs[m]
        ledger.close(g, int(g["contracts"].iloc[0]), costs, "close", "expiry: settled", True)
        closed |= m
    return legs[~closed] if closed.any() else legs


def _open_condors(legs: pd.DataFrame, decision: SizingDecision, slots: list[Slot],
                  as_of: pd.Timestamp, costs: Costs, ledger: _Ledger) -> pd.DataFrame:  # fmt: skip
    if not any(nc.contracts > 0 for nc in decision.condors):
        return legs  # most sessions open nothing
    condor = legs["kind"].to_numpy(object) == "condor"
    held = set(pd.DatetimeIndex(legs["expiry"].to_numpy("datetime64[ns]")[condor]))
    by_dte = {s.target_dte: s for s in slots}
    for nc in decision.condors:
        expiry = pd.Timestamp(nc.legs["expiry"].iloc[0])
        # defence in depth: only the free slots, never an expiry already held (SPEC §7 step 1)
        if nc.contracts <= 0 or nc.target_dte not in by_dte or expiry in held:
            continue
        pid = condor_id(nc.legs)
        new = _new_position(nc.legs, pid, "condor", "SPX", nc.contracts, as_of, np.nan)
        reason = f"free ladder slot {nc.target_dte} DTE: new tranche, {nc.contracts} contracts"
        new = ledger.open(new, nc.contracts, costs, "open", reason)
        legs = pd.concat([legs, new], ignore_index=True) if len(legs) else new
        held.add(expiry)
    return legs


def _of(legs: pd.DataFrame, pid: str) -> np.ndarray:
    """Mask of the legs of position ``pid``."""
    return legs["position_id"].to_numpy(object) == pid


def _buy_hedge(legs: pd.DataFrame, unit: pd.DataFrame, units: int, action: str, reason: str,
               as_of: pd.Timestamp, iv: float, costs: Costs, ledger: _Ledger,
               kind: str) -> pd.DataFrame:  # fmt: skip
    pid = hedge_id(unit, kind)
    new = _new_position(unit, pid, "hedge", "VIX", units, as_of, iv)
    new = ledger.open(new, units, costs, action, reason)
    mine = _of(legs, pid)
    if not mine.any():
        return pd.concat([legs, new], ignore_index=True) if len(legs) else new
    # adding to a unit already held: one position, contract-weighted entry price
    old = legs[mine].reset_index(drop=True)
    n0 = old["contracts"].to_numpy(float)
    entry = (
        old["entry_price"].to_numpy(float) * n0 + new["entry_price"].to_numpy(float) * units
    ) / (n0 + units)
    merged = old.assign(contracts=(n0 + units).astype(np.int64), entry_price=entry,
                        mark=new["mark"].to_numpy(float))  # fmt: skip
    return pd.concat([legs[~mine], merged], ignore_index=True)


def _manage_hedge(legs: pd.DataFrame, state: BookState, day: MarketDay, decision: SizingDecision,
                  params: Params, costs: Costs, ledger: _Ledger,
                  vov: float) -> tuple[pd.DataFrame, bool, str]:  # fmt: skip
    as_of = day.ctx.as_of
    held = hedge_units_held(legs)
    plan = plan_hedge(legs, as_of, day.ctx.vix, decision.hedge_target, state.monetised,
                      params.book, held)  # fmt: skip
    unit = decision.hedge_legs
    if plan.monetise:
        for pid in held.position_id:
            g = legs[_of(legs, pid)]
            ledger.close(g, int(g["contracts"].iloc[0]), costs, "close", plan.reason)
            legs = legs[~_of(legs, pid)]
        return legs, plan.monetised, plan.reason
    for pid in plan.rolls:
        g = legs[_of(legs, pid)]
        n = int(g["contracts"].iloc[0])
        days = int((pd.Timestamp(g["expiry"].max()) - as_of).days)
        why = f"roll: {days} days left on the long leg ≤ {params.book.hedge_roll_days}"
        ledger.close(g, n, costs, "roll", why)
        legs = legs[~_of(legs, pid)]
        legs = _buy_hedge(legs, unit, n, "roll", why, as_of, vov, costs, ledger,
                          decision.hedge_kind)  # fmt: skip
    to_sell = plan.sell
    for pid in hedge_units_held(legs).position_id if to_sell > 0 else ():  # shortest first
        if to_sell <= 0:
            break
        g = legs[_of(legs, pid)]
        n = int(g["contracts"].iloc[0])
        k = min(n, to_sell)
        ledger.close(g, k, costs, "close" if k == n else "adjust", plan.reason)
        if k == n:
            legs = legs[~_of(legs, pid)]
        else:
            legs = legs.assign(contracts=np.where(_of(legs, pid), n - k, legs["contracts"]))
        to_sell -= k
    if plan.buy > 0 and not unit.empty:
        held_ids = legs["position_id"].to_numpy(object)
        action = "adjust" if (held_ids == hedge_id(unit, decision.hedge_kind)).any() else "open"
        legs = _buy_hedge(legs, unit, plan.buy, action, plan.reason, as_of, vov, costs, ledger,
                          decision.hedge_kind)  # fmt: skip
    return legs, plan.monetised, plan.reason


def _condor_contracts(legs: pd.DataFrame) -> int:
    """Contracts held over all condor positions (each position counted once)."""
    kind = legs["kind"].to_numpy(object)
    per = dict(zip(legs["position_id"].to_numpy(object)[kind == "condor"],
                   legs["contracts"].to_numpy(np.int64)[kind == "condor"], strict=True))  # fmt: skip
    return int(sum(per.values()))


def _kind_values(legs: pd.DataFrame) -> dict[str, float]:
    """The marked value of the condor legs, of the hedge legs and of all (``options_value``),
    from one valuation of the legs."""
    if not len(legs):
        return {"condor": 0.0, "hedge": 0.0, "all": 0.0}
    values, kind = leg_values(legs), legs["kind"].to_numpy()
    out = {k: float(values[kind == k].sum()) for k in ("condor", "hedge")}
    out["all"] = float(values.sum())
    return out


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
    prev_value = _kind_values(state.legs)

    # (2) mark, (3) exits
    ledger = _Ledger(as_of, state.portfolio_id)
    legs = mark_book(state.legs, ctx, day.chain, pr.div_yield, vov, pr)
    legs = _apply_exits(legs, as_of, params, costs, ledger)
    cash = state.cash + c.cash_interest - c.debt_cost + sum(ledger.flow.values())
    interim = state.with_(as_of=as_of, legs=legs, cash=cash, tbills=c.tbills,
                          holdings=c.holdings, spot=ctx.spot)  # fmt: skip

    # (4) new tranches in the free slots, sized with the open book counted
    slots = free_slots(legs, as_of, params.ladder)
    decision = sizing_fn(interim, day, slots)
    legs = _open_condors(legs, decision, slots, as_of, costs, ledger)

    # (5) the hedge
    legs, monetised, hedge_note = _manage_hedge(legs, state, day, decision, params, costs,
                                                ledger, vov)  # fmt: skip
    notes.append(hedge_note)

    # (6) the account
    legs = legs.reset_index(drop=True)
    flows = sum(ledger.flow.values())
    cash = state.cash + c.cash_interest - c.debt_cost + flows
    value = _kind_values(legs)
    mv = value["all"]  # = options_value(legs)
    kind_pnl = {k: value[k] - prev_value[k] + ledger.flow[k] for k in ("condor", "hedge")}
    sleeve = kind_pnl["condor"] + kind_pnl["hedge"]
    pnl = sleeve + c.holdings_pnl + c.carry_pnl
    holdings_value = float(sum(v for v, _ in c.holdings))
    nav = cash + c.tbills + holdings_value + mv + state.other - state.margin_debt - state.box_debt
    peak = max(state.peak_nav, nav)
    new_state = state.with_(as_of=as_of, legs=legs, cash=cash, tbills=c.tbills,
                            holdings=c.holdings, nav=nav, peak_nav=peak, spot=ctx.spot,
                            monetised=monetised)  # fmt: skip
    row = {
        "as_of": as_of,
        "portfolio_id": state.portfolio_id,
        "nav": nav,
        "cash": cash,
        "capital_at_risk": capital_at_risk(legs),
        "pnl": pnl,
        "realised_pnl": ledger.realised,
        "unrealised_pnl": sleeve - ledger.realised,
        "condor_pnl": kind_pnl["condor"],
        "hedge_pnl": kind_pnl["hedge"],
        "drawdown": nav / peak - 1.0 if peak > 0 else 0.0,
        "tbills": c.tbills,
        "holdings_value": holdings_value,
        "options_value": mv,
        "holdings_pnl": c.holdings_pnl,
        "carry_pnl": c.carry_pnl,
        "commissions": sum(ledger.commission.values()),
        "condor_contracts": _condor_contracts(legs),
        "hedge_units": hedge_units(legs),
    }
    return StepResult(new_state, ledger.orders, row, decision, notes)


def book_rows(state: BookState) -> pd.DataFrame:
    """The ``book`` table rows of a state (one per leg held)."""
    out = state.legs.assign(as_of=state.as_of, portfolio_id=state.portfolio_id)
    out["as_of"] = pd.to_datetime(out["as_of"]).astype("datetime64[ns]")
    return out[list(BOOK_COLUMNS)].reset_index(drop=True)
