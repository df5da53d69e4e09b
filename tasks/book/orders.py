"""Orders and their shadow fills (SPEC §8 costs, §10 source of truth, §9 ``orders``).

An order is one action on one position; it has one row per leg. The shadow book takes
every order as filled at the close's mid (chain or model) moved against us by the
slippage per leg — buy at ``mid + s``, sell at ``mid − s`` — and pays the commission per
contract per leg. Settlement at expiry is not a trade: intrinsic value, no costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from tasks.book.positions import LegArrays, column
from tasks.conventions import MULTIPLIER
from tasks.structures.legs import FloatArray

ORDER_COLUMNS: tuple[str, ...] = (
    "as_of",
    "portfolio_id",
    "order_id",
    "action",
    "position_id",
    "kind",
    "expiry",
    "leg",
    "put_call",
    "strike",
    "contracts",
    "limit_price",
    "reason",
    "side",
    "qty",
    "mid",
    "commission",
)
"""SPEC §9 ``orders`` columns, then ``side`` (buy/sell), ``qty`` (per unit), ``mid`` and
``commission`` (USD). ``contracts`` = structure units traded (> 0); ``limit_price`` = the
shadow fill price per option (points)."""

ACTIONS = ("open", "close", "roll", "adjust")


@dataclass(frozen=True)
class Costs:
    """Per-leg trading costs: commission USD per contract, slippage points per option."""

    commission_per_leg: float
    slippage_per_leg: float


def fill_prices(mid: np.ndarray, signed_qty: np.ndarray, slippage: float) -> np.ndarray:
    """Fill per option: buy (``signed_qty > 0``) at ``mid + s``, sell at ``max(mid − s, 0)``."""
    buy = np.asarray(signed_qty, float) > 0
    mid = np.asarray(mid, float)
    return np.where(buy, mid + slippage, np.maximum(mid - slippage, 0.0))


class Fill(NamedTuple):
    """A filled order, per leg (``side``, ``price`` per option, ``commission`` USD) and in
    total (``flow``: USD, + received; ``commission``)."""

    side: np.ndarray
    price: FloatArray
    leg_commission: FloatArray
    flow: float
    commission: float


def trade(
    legs: pd.DataFrame | LegArrays,
    units: int,
    opening: bool,
    costs: Costs,
    settle: bool = False,
) -> Fill:
    """Fill ``units`` of a position (legs with ``qty`` per unit and ``mark`` = today's mid).

    Opening buys the longs and sells the shorts; closing the reverse. ``settle`` = expiry
    settlement at the mark, no slippage, no commission.
    """
    qty, mark = column(legs, "qty"), column(legs, "mark")
    traded = qty * (1.0 if opening else -1.0)  # signed per unit: + bought
    if settle:
        fill = mark
        comm = np.zeros(len(qty))
    else:
        fill = fill_prices(mark, traded, costs.slippage_per_leg)
        comm = np.full(len(qty), costs.commission_per_leg * units)
    flow = float(-(MULTIPLIER * traded * units * fill).sum())
    side = np.where(traded > 0, "buy", "sell").astype(object)
    return Fill(side, fill, comm, flow, float(comm.sum()))


OrderBlock = dict[str, np.ndarray]
"""One order's rows as one array per :data:`ORDER_COLUMNS` column (:func:`orders_frame`
stacks many: a session's, or a whole backtest's, in one constructor)."""


def order_block(
    as_of: pd.Timestamp,
    portfolio_id: str,
    order_id: str,
    action: str,
    legs: pd.DataFrame | LegArrays,
    fill: Fill,
    units: int,
    reason: str,
) -> OrderBlock:
    """The ``orders`` rows (one per leg of ``legs``, filled as ``fill``) of one order."""
    if action not in ACTIONS:
        raise ValueError(f"unknown order action {action!r}")
    position_id = column(legs, "position_id")
    n = len(position_id)

    def each(value: object) -> np.ndarray:
        return np.full(n, value, dtype=object)

    return {
        "as_of": np.full(n, np.datetime64(as_of, "ns")),
        "portfolio_id": each(portfolio_id),
        "order_id": each(order_id),
        "action": each(action),
        "position_id": position_id,
        "kind": column(legs, "kind"),
        "expiry": column(legs, "expiry"),
        "leg": column(legs, "leg"),
        "put_call": column(legs, "put_call"),
        "strike": column(legs, "strike"),
        "contracts": np.full(n, int(units), dtype=np.int64),
        "limit_price": fill.price,
        "reason": each(reason),
        "side": fill.side,
        "qty": column(legs, "qty"),
        "mid": column(legs, "mark"),
        "commission": fill.leg_commission,
    }


def orders_frame(blocks: list[OrderBlock]) -> pd.DataFrame:
    """The ``orders`` frame of ``blocks`` (:func:`order_block`), in their order."""
    if not blocks:
        return empty_orders()
    return pd.DataFrame(
        {c: np.concatenate([b[c] for b in blocks]) for c in ORDER_COLUMNS},
        columns=list(ORDER_COLUMNS),
    )


def _empty_orders() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in ORDER_COLUMNS})
    for c in ("strike", "limit_price", "qty", "mid", "commission"):
        frame[c] = frame[c].astype(float)
    frame["contracts"] = frame["contracts"].astype(np.int64)
    frame["as_of"] = frame["as_of"].astype("datetime64[ns]")
    frame["expiry"] = frame["expiry"].astype("datetime64[ns]")
    return frame


_EMPTY_ORDERS = _empty_orders()


def empty_orders() -> pd.DataFrame:
    """An ``orders`` frame with no rows (most sessions of a held ladder trade nothing)."""
    return _EMPTY_ORDERS.copy(deep=False)  # copy-on-write: a change never reaches the shared one
