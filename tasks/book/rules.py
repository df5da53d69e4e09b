"""The book's trading rules at the close: condor exits (SPEC §8), free ladder slots (§7 step 1),
the hedge lifecycle (§10 step 5). Decisions only; :mod:`tasks.book.step` carries them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd

from schemas.config import BookParams, LadderParams
from tasks.book.positions import LegArrays, column
from tasks.market.expiries import days_to, nearest_expiry

# --------------------------------------------------------------------------- condor exits


@dataclass(frozen=True)
class Exit:
    """A position to close today and the rule that closes it (in words)."""

    position_id: str
    rule: str  # expiry | profit_target | stop | dte
    reason: str


def condor_exits(
    legs: pd.DataFrame | LegArrays, as_of: pd.Timestamp, rules: BookParams
) -> list[Exit]:
    """SPEC §8 at the close, per open condor, first rule that holds wins:

    1. expiry on or before ``as_of`` → settle at intrinsic (``expiry``);
    2. cost to close ``X ≤ (1 − profit_target)·C`` → ``profit_target``;
    3. loss ``X − C ≥ stop_loss_mult·C`` → ``stop``;
    4. calendar DTE ``≤ exit_dte`` → ``dte``.

    ``C`` = entry credit ``−Σ qty·entry_price``, ``X`` = ``−Σ qty·mark`` (points per
    contract), the same order of tests as the modelled history (``tasks.history``).
    """
    out: list[Exit] = []
    c = column(legs, "kind") == "condor"
    if not c.any():
        return out
    # the condor legs' arrays (no frame filter: this runs every session)
    pids = column(legs, "position_id")[c]
    qty = column(legs, "qty")[c]
    entry = qty * column(legs, "entry_price")[c]
    mark = qty * column(legs, "mark")[c]
    days = days_to(column(legs, "expiry")[c], as_of)
    for pid in sorted(set(pids)):  # a handful of tranches
        m = pids == pid
        dte = int(days[m].max())
        credit = float(-entry[m].sum())
        cost = float(-mark[m].sum())
        if dte <= 0:
            out.append(Exit(str(pid), "expiry", f"expiry: settled at intrinsic {cost:.2f}"))
        elif cost <= (1.0 - rules.profit_target) * credit:
            out.append(
                Exit(
                    str(pid),
                    "profit_target",
                    f"profit target: cost to close {cost:.2f} ≤ {1 - rules.profit_target:.0%} "
                    f"of the {credit:.2f} credit",
                )
            )
        elif cost - credit >= rules.stop_loss_mult * credit:
            out.append(
                Exit(
                    str(pid),
                    "stop",
                    f"stop: loss {cost - credit:.2f} ≥ {rules.stop_loss_mult:g} × the "
                    f"{credit:.2f} credit",
                )
            )
        elif dte <= rules.exit_dte:
            out.append(Exit(str(pid), "dte", f"DTE exit: {dte} days left ≤ {rules.exit_dte}"))
    return out


# --------------------------------------------------------------------------- ladder slots


@lru_cache(maxsize=4096)
def slot_expiry(as_of: pd.Timestamp, dte: int) -> pd.Timestamp:
    # a calendar lookup per slot per session adds up over a warm start or a backtest
    return nearest_expiry(as_of, dte)


@dataclass(frozen=True)
class Slot:
    """A free ladder slot: its target DTE and the SPX weekly expiry nearest it."""

    target_dte: int
    expiry: pd.Timestamp


def free_slots(
    legs: pd.DataFrame | LegArrays, as_of: pd.Timestamp, ladder: LadderParams
) -> list[Slot]:
    """The ladder slots a new tranche may fill today (SPEC §7 step 1, §10 step 4).

    At most ``n_tranches − (open condors)`` slots, never one whose expiry the book already
    holds. Slots are taken longest target DTE first: a ladder is refilled at its far end,
    so the held expiries stay staggered as they age (docs/method-notes.md).
    """
    condor = column(legs, "kind") == "condor"  # arrays: this runs every session
    room = ladder.n_tranches - len(set(column(legs, "position_id")[condor]))
    if room <= 0:
        return []  # a full ladder: most sessions
    # the held expiries as days (a ladder expiry is a date: the same test as normalised stamps)
    held = set(column(legs, "expiry")[condor].astype("datetime64[D]").tolist())
    as_of = pd.Timestamp(as_of)
    slots: list[Slot] = []
    for dte in sorted(ladder.target_dtes[: ladder.n_tranches], reverse=True):
        expiry = slot_expiry(as_of, int(dte))
        if expiry.date() not in held and all(s.expiry != expiry for s in slots):
            slots.append(Slot(int(dte), expiry))
    return slots[:room]


# --------------------------------------------------------------------------- hedge lifecycle


@dataclass(frozen=True)
class HedgePlan:
    """What to do with the hedge today (SPEC §10 step 5)."""

    monetise: bool  # close every unit (VIX ≥ monetise level)
    monetised: bool  # the state carried to the next session
    rolls: tuple[str, ...]  # position ids whose long leg has ≤ roll days left
    buy: int  # units of today's hedge unit to buy (beyond the rolls)
    sell: int  # units to sell, shortest time left first
    reason: str


class HeldUnits(NamedTuple):
    """Per hedge position held, shortest time left first: id, units, long leg's expiry."""

    position_id: np.ndarray
    units: np.ndarray  # int64
    long_expiry: np.ndarray  # datetime64[ns]


_NO_UNITS = HeldUnits(
    np.array([], dtype=object), np.array([], dtype=np.int64), np.array([], dtype="datetime64[ns]")
)


def hedge_long_calls(legs: pd.DataFrame | LegArrays) -> np.ndarray:
    """Mask of each hedge position's long call: one leg per unit held (it carries the
    unit's expiry and contracts)."""
    kind = column(legs, "kind")
    if not len(kind):
        return np.zeros(0, dtype=bool)
    return (kind == "hedge") & (column(legs, "leg") == "long_call")


def hedge_units(legs: pd.DataFrame | LegArrays) -> int:
    """Hedge units held over every hedge position."""
    mask = hedge_long_calls(legs)
    if not len(mask):
        return 0
    return int(column(legs, "contracts")[mask].sum())


def hedge_units_held(legs: pd.DataFrame | LegArrays) -> HeldUnits:
    """Per hedge position: units and the expiry of its long leg, shortest first."""
    mask = hedge_long_calls(legs)
    if not mask.any():
        return _NO_UNITS
    # plain arrays, ordered in Python (a unit or two): this runs several times a session
    pid = column(legs, "position_id")[mask]
    units = column(legs, "contracts")[mask]
    expiry = column(legs, "expiry")[mask]
    if len(pid) > 1:
        order = sorted(range(len(pid)), key=lambda i: (expiry[i], pid[i]))
        pid, units, expiry = pid[order], units[order], expiry[order]
    return HeldUnits(pid, units, expiry)


def plan_hedge(
    legs: pd.DataFrame | LegArrays,
    as_of: pd.Timestamp,
    vix: float,
    target_units: int,
    was_monetised: bool,
    rules: BookParams,
    held: HeldUnits | None = None,
) -> HedgePlan:
    """The hedge decision of one close.

    - VIX ≥ ``monetise_vix``: close every unit; no buying until VIX closes below
      ``rebuy_vix`` (the flag is carried in the book).
    - Otherwise roll every unit whose long leg has ≤ ``hedge_roll_days`` left (close it, buy
      the same number of today's unit), then move toward ``target_units`` unless the gap is
      within ``hedge_dead_band`` units.

    ``held``: :func:`hedge_units_held` of ``legs``, when the caller has it already.
    """
    held = hedge_units_held(legs) if held is None else held  # the caller's, when it has it
    total = int(held.units.sum())
    if vix >= rules.monetise_vix:
        return HedgePlan(
            True, True, (), 0, 0,
            f"monetise: VIX {vix:.2f} ≥ {rules.monetise_vix:g}, every hedge unit sold; "
            f"none bought back until VIX < {rules.rebuy_vix:g}",
        )  # fmt: skip
    monetised = was_monetised and vix >= rules.rebuy_vix
    if monetised:
        return HedgePlan(
            False, True, (), 0, 0,
            f"hedge monetised: VIX {vix:.2f} not yet below {rules.rebuy_vix:g}, no units bought",
        )  # fmt: skip
    days_left = days_to(held.long_expiry, as_of)
    rolls = tuple(held.position_id[days_left <= rules.hedge_roll_days])
    gap = int(target_units) - total
    buy = sell = 0
    if abs(gap) <= rules.hedge_dead_band:
        reason = f"hedge: {total} held vs target {target_units}: within the dead band, hold"
    elif gap > 0:
        buy = gap
        reason = f"hedge: {total} held, target {target_units}: buy {gap}"
    else:
        sell = -gap
        reason = f"hedge: {total} held, target {target_units}: sell {-gap}"
    return HedgePlan(False, False, rolls, buy, sell, reason)
