"""The series registry: one record per canonical series (SPEC §1.1–§1.3).

Each :class:`SeriesSpec` says where a series comes from (provider and symbol), how its
``available_at`` is derived (SPEC §1.2, the rule and which :class:`~schemas.config.ReleaseLags`
field holds its lag), its plausibility bounds and jump rule (SPEC §1.3), and how old its
newest value may be before a signal reading it is stale (which
:class:`~schemas.config.MaxAge` field, SPEC §2). Ingest (fetching, availability),
validation (``schemas/sources.py``) and signals read this table instead of keeping their
own lists. Numbers that are SPEC *defaults* (lags, maximum ages) stay in
``schemas/config.py``: a spec names the field, the run's ``Params`` give the value.

Pure data plus two small helpers (:func:`period_end`, :func:`series_with`); imports
nothing of ``tasks``, ``flows`` or ``warehouse``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd


class Availability(StrEnum):
    """How a row's ``available_at`` is derived (SPEC §1.2); see ``tasks.ingest.availability``."""

    MARKET_CLOSE = "market_close"  # the observation's own session
    NEXT_SESSION = "next_session"  # published the next business day (H.15, NY Fed)
    WEEKLY_PUBLISHED = "weekly_published"  # daily values published weekly (H.10)
    MONTH_END_LAG = "month_end_lag"  # month end + a release lag
    QUARTER_END_LAG = "quarter_end_lag"  # quarter end + a release lag
    FOMC_SCHEDULE = "fomc_schedule"  # scheduled meetings known a year ahead


class Frequency(StrEnum):
    """The observation period of one row."""

    DAILY = "daily"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    EVENT = "event"


@dataclass(frozen=True)
class Bounds:
    """Plausibility bounds of a series (SPEC §1.3), or a finite set of allowed values.

    ``lower_open`` / ``upper_open`` exclude the bound itself.
    """

    lower: float = -np.inf
    upper: float = np.inf
    lower_open: bool = False
    upper_open: bool = False
    allowed: tuple[float, ...] | None = None

    def contains(self, value: np.ndarray) -> np.ndarray:
        """Element-wise: is each value plausible?"""
        v = np.asarray(value, dtype="float64")
        if self.allowed is not None:
            return np.isin(v, self.allowed)
        lo = v > self.lower if self.lower_open else v >= self.lower
        hi = v < self.upper if self.upper_open else v <= self.upper
        return lo & hi

    def text(self) -> str:
        """``[1, 200]``, ``(0, 1e+06)`` or ``{0, 1}``: as quoted in quarantine details."""
        if self.allowed is not None:
            return "{" + ", ".join(f"{a:g}" for a in self.allowed) + "}"
        left = "(" if self.lower_open else "["
        right = ")" if self.upper_open else "]"
        return f"{left}{self.lower:g}, {self.upper:g}{right}"


# Bound sets by family (SPEC §1.3). VVIX's own floor and ceiling are explained in
# schemas/sources.py's module note (genuine 2006 bad prints; the 2020-03-16 close of 207.59).
VVIX_FLOOR = 40.0
VVIX_CEILING = 400.0
SPX_BOUNDS = Bounds(0.0, 1e6, lower_open=True, upper_open=True)
VIX_BOUNDS = Bounds(1.0, 200.0)
VVIX_BOUNDS = Bounds(VVIX_FLOOR, VVIX_CEILING)
RATE_BOUNDS = Bounds(-5.0, 30.0)
LEVEL_BOUNDS = Bounds(0.0, lower_open=True)
FOMC_VALUES = Bounds(allowed=(0.0, 1.0))


@dataclass(frozen=True)
class SeriesSpec:
    """One canonical series.

    Attributes
    ----------
    series_id : str
        Canonical id (SPEC §1.1).
    provider : str
        Default live source: ``'cboe'`` (index-history CSV), ``'fred'`` (API with a key,
        else fredgraph.csv) or ``'calendar'`` (the shipped FOMC file, no live endpoint).
    symbol : str
        The provider's name for it (``VIX3M``, ``DTB3``...; the file name for the calendar).
    frequency : Frequency
        The period one row covers.
    availability : Availability
        The SPEC §1.2 rule.
    lag : str | None
        Name of the ``ReleaseLags`` field holding the rule's lag in days, if it has one.
    family : str
        Validation family, names the pandera model in ``schemas/sources.py``.
    bounds : Bounds
        Plausibility bounds.
    jump : str | None
        Daily jump rule: ``'return'`` (SPX), ``'ratio'`` (VIX family) or None.
    max_age : str | None
        Name of the ``MaxAge`` field bounding the age of its newest value in a signal.
    """

    series_id: str
    provider: str
    symbol: str
    frequency: Frequency
    availability: Availability
    lag: str | None
    family: str
    bounds: Bounds
    jump: str | None
    max_age: str | None

    @property
    def is_market_close(self) -> bool:
        """A close, known at its own session (ALFRED vintages never delay it)."""
        return self.availability is Availability.MARKET_CLOSE


def _spec(
    series_id: str,
    provider: str,
    symbol: str,
    frequency: Frequency,
    availability: Availability,
    family: str,
    bounds: Bounds,
    *,
    lag: str | None = None,
    jump: str | None = None,
    max_age: str | None = None,
) -> SeriesSpec:
    return SeriesSpec(
        series_id, provider, symbol, frequency, availability, lag, family, bounds, jump, max_age
    )


_D, _M, _Q, _E = Frequency.DAILY, Frequency.MONTHLY, Frequency.QUARTERLY, Frequency.EVENT
_A = Availability

# The table (SPEC §1.1). Order is the SPEC's; iteration order of SERIES follows it.
SERIES: dict[str, SeriesSpec] = {
    s.series_id: s
    for s in (
        _spec("spx", "fred", "SP500", _D, _A.MARKET_CLOSE, "spx", SPX_BOUNDS,
              jump="return", max_age="daily_sessions"),
        _spec("vix", "cboe", "VIX", _D, _A.MARKET_CLOSE, "vix", VIX_BOUNDS,
              jump="ratio", max_age="daily_sessions"),
        _spec("vix3m", "cboe", "VIX3M", _D, _A.MARKET_CLOSE, "vix", VIX_BOUNDS,
              jump="ratio", max_age="daily_sessions"),
        _spec("vix9d", "cboe", "VIX9D", _D, _A.MARKET_CLOSE, "vix", VIX_BOUNDS,
              jump="ratio", max_age="daily_sessions"),
        _spec("vix6m", "cboe", "VIX6M", _D, _A.MARKET_CLOSE, "vix", VIX_BOUNDS,
              jump="ratio", max_age="daily_sessions"),
        _spec("vvix", "cboe", "VVIX", _D, _A.MARKET_CLOSE, "vvix", VVIX_BOUNDS,
              jump="ratio", max_age="daily_sessions"),
        _spec("tbill_3m", "fred", "DTB3", _D, _A.NEXT_SESSION, "rate", RATE_BOUNDS,
              max_age="daily_sessions"),
        _spec("fed_funds", "fred", "DFF", _D, _A.NEXT_SESSION, "rate", RATE_BOUNDS,
              max_age="daily_sessions"),
        _spec("cpi", "fred", "CPIAUCSL", _M, _A.MONTH_END_LAG, "level", LEVEL_BOUNDS,
              lag="cpi", max_age="monthly_days"),
        _spec("ppi", "fred", "PPIFIS", _M, _A.MONTH_END_LAG, "level", LEVEL_BOUNDS,
              lag="ppi", max_age="monthly_days"),
        # the all-commodities index of the same BLS release: the PPI lag
        _spec("ppi_all", "fred", "PPIACO", _M, _A.MONTH_END_LAG, "level", LEVEL_BOUNDS,
              lag="ppi", max_age="monthly_days"),
        _spec("gdp_real", "fred", "GDPC1", _Q, _A.QUARTER_END_LAG, "level", LEVEL_BOUNDS,
              lag="gdp_real", max_age="quarterly_days"),
        _spec("usd", "fred", "DTWEXBGS", _D, _A.WEEKLY_PUBLISHED, "level", LEVEL_BOUNDS,
              lag="weekly_publication_days", max_age="daily_sessions"),
        _spec("usd_real", "fred", "RBUSBIS", _M, _A.MONTH_END_LAG, "level", LEVEL_BOUNDS,
              lag="usd_monthly", max_age="monthly_days"),
        _spec("fomc", "calendar", "fomc_calendar.csv", _E, _A.FOMC_SCHEDULE, "fomc",
              FOMC_VALUES),
    )
}  # fmt: skip


# Optional sources outside the SPEC §1.1 table: fetched live when reachable, never required
# (a failed fetch is a warning, not a failed run), not shipped in the snapshot. CNDR, Cboe's
# S&P 500 Iron Condor Index (same CBOE endpoint and wire format as VIX_History.csv, header
# ``DATE,CNDR``), feeds the daily model-health line (SPEC §12).
OPTIONAL_SERIES: dict[str, SeriesSpec] = {
    s.series_id: s
    for s in (
        _spec("cndr", "cboe", "CNDR", _D, _A.MARKET_CLOSE, "level", LEVEL_BOUNDS),
    )
}  # fmt: skip


def spec(series_id: str) -> SeriesSpec:
    """The record of ``series_id`` (SPEC table or optional); ValueError naming it when unknown."""
    try:
        return SERIES[series_id] if series_id in SERIES else OPTIONAL_SERIES[series_id]
    except KeyError:
        raise ValueError(f"unknown series {series_id!r}") from None


def series_with(**fields: object) -> tuple[str, ...]:
    """Ids of the series whose spec has every given field value, in registry order.

    ``series_with(availability=Availability.MARKET_CLOSE)`` → ``('spx', 'vix', ...)``.
    """
    return tuple(
        sid
        for sid, s in SERIES.items()
        if all(getattr(s, name) == value for name, value in fields.items())
    )


def period_end(dates: pd.Series, frequency: Frequency) -> pd.Series:
    """The last day of the period each row covers (the day itself for daily and event rows).

    A monthly row dated 2026-11-01 covers November: its period ends 2026-11-30. Used to
    tell a row that cannot have been published yet (its period has not ended) from one
    that merely is not knowable yet (within its release lag).
    """
    d = pd.to_datetime(dates).astype("datetime64[ns]")
    if frequency is Frequency.MONTHLY:
        return (d + pd.offsets.MonthEnd(0)).astype("datetime64[ns]")
    if frequency is Frequency.QUARTERLY:
        return (d + pd.offsets.QuarterEnd(0)).astype("datetime64[ns]")
    return d
