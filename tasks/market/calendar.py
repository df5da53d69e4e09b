"""NYSE sessions and option expiries (SPEC §0 and §3.3), on ``exchange_calendars`` XNYS.

All dates are tz-naive ``pandas.Timestamp`` at midnight (session labels).
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd
from pandas.errors import Pandas4Warning, PerformanceWarning

CALENDAR_START = "1985-01-02"


@lru_cache(maxsize=1)
def nyse() -> xcals.ExchangeCalendar:
    """The XNYS calendar, from 1985 to two years past today (holidays are published ahead)."""
    end = (pd.Timestamp.today().normalize() + pd.DateOffset(years=2)).strftime("%Y-%m-%d")
    with warnings.catch_warnings():
        # exchange_calendars trips pandas 3.1 deprecation/performance warnings building its tables
        warnings.simplefilter("ignore", Pandas4Warning)
        warnings.simplefilter("ignore", PerformanceWarning)
        return xcals.get_calendar("XNYS", start=CALENDAR_START, end=end)


def _day(d: object) -> pd.Timestamp:
    return (
        pd.Timestamp(d).tz_localize(None).normalize()
        if pd.Timestamp(d).tzinfo
        else pd.Timestamp(d).normalize()
    )


def sessions(start: object, end: object) -> pd.DatetimeIndex:
    """NYSE sessions in ``[start, end]`` (both inclusive), tz-naive."""
    s = nyse().sessions_in_range(_day(start), _day(end))
    return pd.DatetimeIndex(s).tz_localize(None) if s.tz is not None else pd.DatetimeIndex(s)


def is_session(d: object) -> bool:
    return bool(nyse().is_session(_day(d)))


def session_on_or_after(d: object) -> pd.Timestamp:
    """The first session on or after ``d`` (used to roll release dates to sessions)."""
    return pd.Timestamp(nyse().date_to_session(_day(d), direction="next")).tz_localize(None)


def session_on_or_before(d: object) -> pd.Timestamp:
    return pd.Timestamp(nyse().date_to_session(_day(d), direction="previous")).tz_localize(None)


def roll_to_sessions(dates: pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Vectorised :func:`session_on_or_after` over many dates."""
    all_sessions = sessions(CALENDAR_START, nyse().last_session)
    idx = pd.DatetimeIndex(pd.to_datetime(dates)).normalize()
    pos = all_sessions.searchsorted(idx, side="left")
    if (pos >= len(all_sessions)).any():
        raise ValueError("date beyond the calendar's last session")
    return all_sessions[pos]


def previous_session(d: object) -> pd.Timestamp:
    return pd.Timestamp(nyse().previous_session(session_on_or_before(d))).tz_localize(None)


def next_session(d: object) -> pd.Timestamp:
    return pd.Timestamp(nyse().next_session(session_on_or_before(d))).tz_localize(None)
