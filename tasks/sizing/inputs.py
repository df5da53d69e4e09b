"""What the sizing of one day reads and returns, and the rule switches read from the signals.

:class:`SizingInputs` is the market side (point-in-time for ``ctx.as_of``), :class:`MarketBook`
the portfolio-independent pieces priced from it once a day, :class:`Rules` the SPEC §7 rule
switches the day's ``signal_states`` fire, :class:`SizingResult` the SPEC §9 rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tasks import risk
from tasks.conventions import SignalState
from tasks.market.chain import Chain
from tasks.market.frame import MarketContext
from tasks.structures import HedgeUnit

if TYPE_CHECKING:  # the ladder module imports Rules from here
    from tasks.sizing.ladder import Tranche


@dataclass(frozen=True)
class MarketBook:
    """What a day's sizing prices before any portfolio is looked at (steps 1 and 3's P&L).

    Built by :func:`tasks.sizing.market.market_book`; every per-unit number the steps multiply
    by contracts lives here, so a step never reprices the market.
    """

    chain: Chain | None
    chain_note: str | None
    tranches: list[Tranche]
    legs: pd.DataFrame
    hedge: HedgeUnit
    hedge_legs: pd.DataFrame  # the unit's legs tagged with ``hedge_id`` (as its stress read them)
    condor_stress: pd.DataFrame  # (scenario × tranche) USD per contract
    hedge_stress: pd.Series  # per hedge unit
    scenario_pnl: np.ndarray | None  # (historical scenario × tranche) USD per contract
    box_rate: float
    box_source: str

    @property
    def hedge_id(self) -> str:
        """Position id of the hedge unit (``ALVH-<expiry of its longest leg>``, given by
        :func:`tasks.sizing.market.market_book` to its legs)."""
        return str(self.hedge_legs["position_id"].iloc[0])


@dataclass(frozen=True)
class SizingInputs:
    """Everything the sizing of one ``as_of`` reads (all point-in-time for ``ctx.as_of``).

    ``spx_returns``/``vix_ratios``: the last ``hist_window`` joint daily pairs
    (``risk.joint_scenarios``). ``hedge_beta_F``: rolling β of the hedge tenor's modelled
    ``F_VIX`` returns on SPX (NaN when unknown: see the package notes for the fallback).
    ``irr``: the trailing IRR of the modelled ladder or a fills file (None = unknown).
    ``chain``: a quoted SPX chain of ``as_of`` when one exists.
    """

    ctx: MarketContext
    signals: pd.DataFrame
    spx_returns: np.ndarray
    vix_ratios: np.ndarray
    hedge_beta_F: float
    irr: risk.IrrResult | None
    chain: Chain | None = None
    # portfolio-independent pieces (ladder, hedge unit, scenario and stress P&L), memoised per
    # parameter set so sizing many portfolios on one day prices the market once (the dict is
    # filled in place: the inputs themselves never change)
    cache: dict[str, MarketBook | Rules] = field(default_factory=dict, repr=False, compare=False)


def portfolio_risk_frame(row: dict[str, object]) -> pd.DataFrame:
    """A ``portfolio_risk`` row (:func:`tasks.sizing.output.portfolio_risk_row`) as the
    one-row frame the warehouse stores."""
    prisk = pd.DataFrame({k: [v] for k, v in row.items()})  # ~5× a list of one dict
    prisk["as_of"] = prisk["as_of"].astype("datetime64[ns]")
    return prisk


class LazyRows:
    """The ``daily_sizing`` and positions frames of a sizing, built when first read.

    A backtest sizes thousands of sessions and reads neither (building them was ~15 % of
    its time); the daily run, the report and the warehouse read them. Pickling (a Dask
    worker's result) builds them first, so nothing unpicklable travels.
    """

    def __init__(self, build: Callable[[], tuple[pd.DataFrame, pd.DataFrame]]) -> None:
        self._build: Callable[[], tuple[pd.DataFrame, pd.DataFrame]] | None = build
        self._rows: tuple[pd.DataFrame, pd.DataFrame] | None = None

    @classmethod
    def of(cls, daily_sizing: pd.DataFrame, positions: pd.DataFrame) -> LazyRows:
        out = cls(lambda: (daily_sizing, positions))
        out.get()
        return out

    def get(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        if self._rows is None:
            assert self._build is not None
            self._rows, self._build = self._build(), None
        return self._rows

    def __getstate__(self) -> dict[str, object]:
        return {"_build": None, "_rows": self.get()}


@dataclass(frozen=True)
class SizingResult:
    """The day's recommendation: SPEC §9 rows plus one row per position and the rationale.

    ``tranches``/``contracts`` (one per tranche, in ladder order), ``hedge_legs`` and
    ``hedge_units`` are the decision itself; ``daily_sizing`` and ``positions`` are its
    rows, built on first read (:class:`LazyRows`).
    """

    risk_row: dict[str, object]  # the portfolio_risk row (SPEC §9 columns, then extras)
    rationale: list[str]
    rows: LazyRows = field(repr=False, compare=False)
    tranches: list[Tranche] = field(default_factory=list, repr=False)
    contracts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    hedge_legs: pd.DataFrame | None = field(default=None, repr=False)
    hedge_units: int = 0

    @cached_property
    def portfolio_risk(self) -> pd.DataFrame:
        """The one-row ``portfolio_risk`` frame (built when read)."""
        return portfolio_risk_frame(self.risk_row)

    @property
    def daily_sizing(self) -> pd.DataFrame:
        return self.rows.get()[0]

    @property
    def positions(self) -> pd.DataFrame:
        return self.rows.get()[1]


# =========================================================================== signals → rules


@dataclass(frozen=True)
class Rules:
    """Which SPEC §7 rules fire today, read from the signal states (stale fires nothing)."""

    risk_off: bool
    macro: bool  # usd_strength strong and ppi_surprise hot
    fomc_event: bool
    fomc_sessions: float
    risk_rules: tuple[str, ...]  # the risk_state rules that fired (from its params)
    notes: tuple[str, ...]  # stale / missing signals, in words


SignalRows = dict[str, dict[str, object]]


def _signal_rows(signals: pd.DataFrame | None) -> SignalRows:
    """The last row of each signal, as plain dicts (one pass over the day's rows)."""
    if signals is None or signals.empty or "signal" not in signals.columns:
        return {}
    # columns read once and zipped: ``to_dict("records")`` costs 3× as much per sizing day
    cols = [str(c) for c in signals.columns]
    values = zip(*(signals[c].tolist() for c in cols), strict=True)
    return {str(r["signal"]): r for r in (dict(zip(cols, v, strict=True)) for v in values)}


def _newest(row: dict[str, object]) -> str:
    d = row.get("input_date")
    if d is None or pd.isna(d):
        return "unknown"
    return str(pd.Timestamp(d).date())


def _usable_state(signals: SignalRows, name: str, rule: str, notes: list[str]) -> str | None:
    """The state of signal ``name``, or None (with a note) when it can fire no rule."""
    row = signals.get(name)
    if row is None:
        notes.append(f"{name} not available: {rule} not applied")
        return None
    st = str(row["state"])
    if st == SignalState.STALE:
        notes.append(f"{name} is stale (newest {_newest(row)}): {rule} not applied")
        return None
    if st == SignalState.INSUFFICIENT:
        notes.append(f"{name} has insufficient history: {rule} not applied")
        return None
    return st


def _risk_state_rules(signals: SignalRows, notes: list[str]) -> tuple[str, ...]:
    """The rules ``risk_state`` fired and its stale/insufficient inputs (from its params)."""
    row = signals.get("risk_state")
    if row is None or not isinstance(row.get("params"), str):
        return ()
    try:
        p = json.loads(row["params"])
    except ValueError:
        p = {}
    for kind in ("stale", "insufficient"):
        if p.get(kind):
            notes.append(
                f"risk_state inputs {kind}: {', '.join(p[kind])} (they fired no risk rule)"
            )
    return tuple(p.get("rules", ()))


def day_rules(inputs: SizingInputs) -> Rules:
    """:func:`read_rules` of ``inputs.signals``, read once per day's inputs (every portfolio
    and variant of a day, and every session of a backtest sharing them, read the same rows)."""
    hit = inputs.cache.get("rules")
    if not isinstance(hit, Rules):
        hit = inputs.cache["rules"] = read_rules(inputs.signals)
    return hit


def read_rules(signals: pd.DataFrame) -> Rules:
    """The rule switches of SPEC §7 steps 1, 4 and 5 from the ``signal_states`` rows of ``as_of``.

    A signal whose state is ``stale`` (or ``insufficient_history``, or absent) fires no
    rule; a note names it and its newest input date so the rationale can say so.
    """
    notes: list[str] = []
    rows = _signal_rows(signals)
    rs = _usable_state(rows, "risk_state", "risk-off rule", notes)
    risk_rules = _risk_state_rules(rows, notes)
    usd = _usable_state(rows, "usd_strength", "macro rule", notes)
    ppi = _usable_state(rows, "ppi_surprise", "macro rule", notes)
    fomc = _usable_state(rows, "fomc_window", "FOMC rule", notes)
    fomc_row = rows.get("fomc_window")
    fomc_sessions = float(fomc_row["value"]) if fomc_row is not None else float("nan")
    return Rules(
        risk_off=rs == SignalState.RISK_OFF,
        macro=usd == SignalState.STRONG and ppi == SignalState.HOT,
        fomc_event=fomc == SignalState.EVENT,
        fomc_sessions=fomc_sessions,
        risk_rules=risk_rules,
        notes=tuple(notes),
    )
