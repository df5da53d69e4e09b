"""The position model of the book (SPEC §10): one row per leg held, ids stable for a position's life.

A book leg frame has the columns of :data:`BOOK_LEG_COLUMNS`:

============== =======================================================================
column         meaning
============== =======================================================================
position_id    ``IC-<expiry>-<short put>-<short call>`` (condor) or
               ``HV-<long expiry>-<long strike>`` (hedge unit; ``HS``/``HC`` for a VIX
               call spread / calendar) — fixed when the position opens
kind           ``condor`` or ``hedge``
underlying     ``SPX`` or ``VIX``
expiry         the leg's expiry
leg            ``short_put`` … ``long_call`` (condor), ``long_call``/``short_call`` (hedge)
put_call       ``P`` or ``C``
strike         strike, index points
qty            signed quantity per structure unit (+1 long, −1 short)
contracts      structure units held (condors: contracts; hedges: units), ≥ 0
opened_on      session the position was opened (the first fill)
entry_price    fill price per option, points (mid ∓ slippage; contract-weighted when added to)
mark           today's price per option, points (chain mid when quoted, else the model)
iv             the vol the model mark used (VIX legs: vol of vol; SPX legs: NaN = surface)
pricing_source ``chain`` or ``model`` (of ``mark``)
============== =======================================================================

Money per leg is ``100 · qty · contracts · price`` (a short leg's value is negative).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from tasks.conventions import MULTIPLIER
from tasks.structures.legs import FloatArray

BOOK_LEG_COLUMNS: tuple[str, ...] = (
    "position_id",
    "kind",
    "underlying",
    "expiry",
    "leg",
    "put_call",
    "strike",
    "qty",
    "contracts",
    "opened_on",
    "entry_price",
    "mark",
    "iv",
    "pricing_source",
)

_HEDGE_PREFIX = {"vix_call": "HV", "vix_call_spread": "HS", "vix_call_calendar": "HC"}


def empty_legs() -> pd.DataFrame:
    """A book leg frame with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "position_id": pd.Series(dtype=object),
            "kind": pd.Series(dtype=object),
            "underlying": pd.Series(dtype=object),
            "expiry": pd.Series(dtype="datetime64[ns]"),
            "leg": pd.Series(dtype=object),
            "put_call": pd.Series(dtype=object),
            "strike": pd.Series(dtype=float),
            "qty": pd.Series(dtype=float),
            "contracts": pd.Series(dtype=np.int64),
            "opened_on": pd.Series(dtype="datetime64[ns]"),
            "entry_price": pd.Series(dtype=float),
            "mark": pd.Series(dtype=float),
            "iv": pd.Series(dtype=float),
            "pricing_source": pd.Series(dtype=object),
        }
    )


def _fmt_strike(k: float) -> str:
    return f"{float(k):g}"


def condor_id(legs: pd.DataFrame) -> str:
    """``IC-<expiry>-<short put>-<short call>``: what a trader calls the tranche."""
    k = dict(zip(legs["leg"].tolist(), legs["strike"].tolist(), strict=True))
    expiry = pd.Timestamp(legs["expiry"].to_numpy()[0]).date()
    return f"IC-{expiry}-{_fmt_strike(k['short_put'])}-{_fmt_strike(k['short_call'])}"


def hedge_id(legs: pd.DataFrame, kind: str = "vix_call") -> str:
    """``HV-<long leg expiry>-<long strike>`` (``HS``/``HC`` for a spread/calendar)."""
    i = int(np.flatnonzero(legs["leg"].to_numpy(object) == "long_call")[0])
    prefix = _HEDGE_PREFIX.get(kind, "HV")
    expiry = pd.Timestamp(legs["expiry"].to_numpy()[i]).date()
    return f"{prefix}-{expiry}-{_fmt_strike(legs['strike'].to_numpy(float)[i])}"


class LegArrays(NamedTuple):
    """The columns of a book leg frame that a close's rules read, as arrays.

    The marks, the exits, the free slots, the hedge plan and the account row all read the
    same few columns of a book of a few dozen legs; a column read off a frame costs more
    than the arithmetic done on it, so a session reads them once (:attr:`BookState.leg_arrays`).
    """

    position_id: np.ndarray  # object
    kind: np.ndarray  # object
    underlying: np.ndarray  # object
    expiry: np.ndarray  # datetime64[ns]
    leg: np.ndarray  # object
    put_call: np.ndarray  # object
    strike: FloatArray
    qty: FloatArray
    contracts: np.ndarray  # int64
    entry_price: FloatArray
    mark: FloatArray
    pricing_source: np.ndarray  # object

    @classmethod
    def of(cls, legs: pd.DataFrame) -> LegArrays:
        """The arrays of a book leg frame (:data:`BOOK_LEG_COLUMNS`)."""
        return cls(*(legs[c].to_numpy(_ARRAY_DTYPES[c]) for c in cls._fields))

    def select(self, mask: np.ndarray) -> LegArrays:
        """The arrays of the legs where ``mask`` holds (a frame filtered by the same mask)."""
        return LegArrays(*(a[mask] for a in self))

    @classmethod
    def stacked(cls, parts: list[LegArrays]) -> LegArrays:
        """The arrays of frames stacked in the order of ``parts`` (``pd.concat`` of them)."""
        return cls(*(np.concatenate(columns) for columns in zip(*parts, strict=True)))


_ARRAY_DTYPES: dict[str, object] = {
    "position_id": object,
    "kind": object,
    "underlying": object,
    "expiry": "datetime64[ns]",
    "leg": object,
    "put_call": object,
    "strike": float,
    "qty": float,
    "contracts": np.int64,
    "entry_price": float,
    "mark": float,
    "pricing_source": object,
}


def column(legs: pd.DataFrame | LegArrays, name: str) -> np.ndarray:
    """Column ``name`` of a book leg frame, or of its :class:`LegArrays` already read.

    The rules take either: the step hands them the arrays it has read, any other caller a
    frame (of which only the columns a rule needs are then read).
    """
    if isinstance(legs, LegArrays):
        return getattr(legs, name)  # type: ignore[no-any-return]
    return legs[name].to_numpy(_ARRAY_DTYPES[name])


class KindValues(NamedTuple):
    """The marked value (USD) of a book's condor legs, of its hedge legs and of all of them."""

    condor: float
    hedge: float
    total: float  # = options_value


def kind_values(legs: pd.DataFrame | LegArrays) -> KindValues:
    """:class:`KindValues` of ``legs``, from one valuation of the legs."""
    kind = column(legs, "kind")
    if not len(kind):
        return KindValues(0.0, 0.0, 0.0)
    values = leg_values(legs)
    return KindValues(
        float(values[kind == "condor"].sum()),
        float(values[kind == "hedge"].sum()),
        float(values.sum()),
    )


@dataclass(frozen=True)
class BookState:
    """A portfolio's book and account at one session's close (after that session's orders).

    Money in USD. ``other`` is the part of the starting equity that the portfolio file does
    not itemise (``equity − cash − tbills − holdings + debt``); it is held constant so the
    first NAV equals the file's ``equity`` (docs/method-notes.md).
    """

    portfolio_id: str
    as_of: pd.Timestamp | None  # None: not yet run (the portfolio file's starting point)
    legs: pd.DataFrame
    cash: float
    tbills: float
    holdings: tuple[tuple[float, float], ...]  # (market value USD, beta to SPX)
    margin_debt: float
    margin_rate: float
    box_debt: float
    other: float
    nav: float
    peak_nav: float
    spot: float  # SPX close of ``as_of`` (NaN before the first session)
    monetised: bool = False  # hedge sold at VIX ≥ monetise level, not yet rebought

    def with_(self, **changes: object) -> BookState:
        """A copy with ``changes``; what was read off the legs (:attr:`leg_arrays`,
        :attr:`marked_values`) is kept when the legs are not among them."""
        new = replace(self, **changes)  # type: ignore[arg-type]
        if "legs" not in changes:
            for name in _READ_OFF_LEGS:  # a cached_property keeps its value in the instance dict
                if name in self.__dict__:
                    new.__dict__[name] = self.__dict__[name]
        return new

    def with_legs(self, legs: pd.DataFrame, arrays: LegArrays, **changes: object) -> BookState:
        """:meth:`with_` new ``legs`` whose arrays the caller holds already
        (``arrays`` = ``LegArrays.of(legs)``: a step keeps the two in step as it trades, so
        the next step starts without reading the frame again)."""
        new = self.with_(legs=legs, **changes)
        new.__dict__["leg_arrays"] = arrays  # where the cached_property keeps its value
        return new

    @property
    def holdings_value(self) -> float:
        return float(sum(v for v, _ in self.holdings))

    # Read off ``legs`` once per state, when first asked (a state's legs are never changed in
    # place: a step makes a new state). A step hands the state it makes the arrays it kept
    # in step as it traded (with_legs) and reads the marked values for its account row; the
    # next step starts from both.

    @cached_property
    def leg_arrays(self) -> LegArrays:
        """The legs' columns as arrays (:class:`LegArrays`)."""
        return LegArrays.of(self.legs)

    @cached_property
    def marked_values(self) -> KindValues:
        """The marked value of the legs by kind: the P&L of the next close starts from it."""
        return kind_values(self.leg_arrays)


_READ_OFF_LEGS = ("leg_arrays", "marked_values")


def start_state(
    portfolio_id: str,
    equity: float,
    cash: float,
    tbills: float,
    holdings: list[tuple[float, float]],
    margin_debt: float = 0.0,
    margin_rate: float = 0.0,
    box_debt: float = 0.0,
) -> BookState:
    """The state before a portfolio's first session: no options, NAV = ``equity``."""
    held = tuple((float(v), float(b)) for v, b in holdings)
    other = equity - cash - tbills - sum(v for v, _ in held) + margin_debt + box_debt
    return BookState(
        portfolio_id=portfolio_id,
        as_of=None,
        legs=empty_legs(),
        cash=float(cash),
        tbills=float(tbills),
        holdings=held,
        margin_debt=float(margin_debt),
        margin_rate=float(margin_rate),
        box_debt=float(box_debt),
        other=float(other),
        nav=float(equity),
        peak_nav=float(equity),
        spot=float("nan"),
    )


def leg_values(legs: pd.DataFrame | LegArrays, price_col: str = "mark") -> np.ndarray:
    """USD value of each leg held: ``100 · qty · contracts · price`` (``price_col``:
    ``mark`` or ``entry_price``)."""
    qty, contracts = column(legs, "qty"), column(legs, "contracts").astype(float)
    return MULTIPLIER * qty * contracts * column(legs, price_col)


def options_value(legs: pd.DataFrame | LegArrays) -> float:
    """Marked value of every option held (USD; net short condors are negative)."""
    return float(leg_values(legs).sum()) if len(column(legs, "kind")) else 0.0


def capital_at_risk(legs: pd.DataFrame | LegArrays) -> float:
    """SPEC §6: Σ condor max loss ``100·(W − C)·contracts`` + Σ hedge premium paid (USD).

    ``C`` is the entry credit per contract, ``W`` the wider wing; a hedge's premium paid is
    ``100·Σ qty·entry_price·units``.
    """
    pid = column(legs, "position_id")
    if not len(pid):
        return 0.0
    # per leg, then summed per position (numpy: this runs every session)
    codes, uniq = pd.factorize(pid)
    n = column(legs, "contracts").astype(float)
    paid = np.bincount(codes, column(legs, "qty") * column(legs, "entry_price"), len(uniq))
    units = np.zeros(len(uniq))
    units[codes] = n
    is_condor = np.zeros(len(uniq), bool)
    is_condor[codes] = column(legs, "kind") == "condor"
    leg = column(legs, "leg")
    k = column(legs, "strike")
    width = np.zeros(len(uniq))
    for lo, hi in (("long_put", "short_put"), ("short_call", "long_call")):
        # wing width of each side, the higher strike less the lower; the wider side counts
        side = np.bincount(
            codes, np.where(leg == hi, k, 0.0) - np.where(leg == lo, k, 0.0), len(uniq)
        )
        width = np.maximum(width, side)
    condor = MULTIPLIER * (width + paid) * units
    hedge = MULTIPLIER * np.maximum(paid, 0.0) * units
    return float(np.where(is_condor, condor, hedge).sum())


def positions_summary(legs: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per position: kind, expiry (latest leg), DTE, contracts, entry and mark (points)."""
    if legs.empty:
        return pd.DataFrame(
            columns=["position_id", "kind", "expiry", "dte", "contracts", "entry", "mark"]
        )
    g = legs.assign(
        _entry=legs["qty"] * legs["entry_price"], _mark=legs["qty"] * legs["mark"]
    ).groupby("position_id", sort=False)
    out = pd.DataFrame(
        {
            "kind": g["kind"].first(),
            "expiry": g["expiry"].max(),
            "contracts": g["contracts"].first(),
            "entry": g["_entry"].sum(),
            "mark": g["_mark"].sum(),
        }
    ).reset_index()
    out["dte"] = (pd.DatetimeIndex(out["expiry"]) - as_of).days
    return out[["position_id", "kind", "expiry", "dte", "contracts", "entry", "mark"]]


def state_record(state: BookState) -> dict[str, object]:
    """The scalars of a state as one ``book_state`` row (holdings as JSON ``[[value, beta]]``)."""
    return {
        "as_of": state.as_of,
        "portfolio_id": state.portfolio_id,
        "cash": state.cash,
        "tbills": state.tbills,
        "holdings": json.dumps([[v, b] for v, b in state.holdings]),
        "margin_debt": state.margin_debt,
        "margin_rate": state.margin_rate,
        "box_debt": state.box_debt,
        "other": state.other,
        "nav": state.nav,
        "peak_nav": state.peak_nav,
        "spot": state.spot,
        "monetised": bool(state.monetised),
    }


def state_from_record(record: Mapping[str, Any], legs: pd.DataFrame) -> BookState:
    """The inverse of :func:`state_record`, with the stored legs of the same close."""
    legs = legs[list(BOOK_LEG_COLUMNS)].reset_index(drop=True) if len(legs) else empty_legs()
    return BookState(
        portfolio_id=str(record["portfolio_id"]),
        as_of=pd.Timestamp(record["as_of"]),
        legs=legs.astype({"contracts": np.int64}),
        cash=float(record["cash"]),
        tbills=float(record["tbills"]),
        holdings=tuple((float(v), float(b)) for v, b in json.loads(str(record["holdings"]))),
        margin_debt=float(record["margin_debt"]),
        margin_rate=float(record["margin_rate"]),
        box_debt=float(record["box_debt"]),
        other=float(record["other"]),
        nav=float(record["nav"]),
        peak_nav=float(record["peak_nav"]),
        spot=float(record["spot"]),
        monetised=bool(record["monetised"]),
    )
