"""SPX weekly and VIX monthly expiry calendars (SPEC §3.3), on the NYSE sessions of ``tasks.market.calendar``.

- SPX: weekly Friday expirations; when the Friday is not a session (e.g. Good Friday) the
  expiry moves to the previous session.
- VIX (CBOE VX futures and VIX options): the Wednesday 30 calendar days before the third
  Friday of the following month. CBOE's rule has two holiday clauses, both applied here:
  when that third Friday is a holiday the count starts from the session before it, and
  when the resulting Wednesday is a holiday the expiry is the session before it
  (e.g. March 2025: Good Friday 2025-04-18 → Thu 04-17 − 30 days = Tue 2025-03-18).

All returned dates are tz-naive midnight ``Timestamp``/``DatetimeIndex``.

Notes
-----
The CBOE exchange calendar differs from NYSE only in rare closures; NYSE sessions are
used for both (SPEC §0).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from tasks.market.calendar import CALENDAR_START, nyse, sessions

VIX_SETTLEMENT_LAG_DAYS = 30  # the VIX futures' final settlement is 30 days before the SPX expiry


@lru_cache(maxsize=1)
def _all_sessions() -> np.ndarray:
    # every session of the calendar once, as datetime64[ns]: a range query of
    # exchange_calendars per call was most of a slot's or a hedge unit's expiry lookup
    return sessions(CALENDAR_START, nyse().last_session).to_numpy("datetime64[ns]")


def _roll_back_to_sessions(days: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Each date, or the previous NYSE session when it is not one (vectorised)."""
    if len(days) == 0:
        return pd.DatetimeIndex([])
    all_s = _all_sessions()
    d = days.to_numpy("datetime64[ns]")
    if d.min() - np.timedelta64(15, "D") < all_s[0] or d.max() > all_s[-1]:
        # outside the calendar's table: ask it (it raises a clear error past its end)
        all_s = sessions(days.min() - pd.Timedelta(days=15), days.max()).to_numpy("datetime64[ns]")
    pos = all_s.searchsorted(d, side="right") - 1
    return pd.DatetimeIndex(all_s[pos])


def days_to(expiry: object, as_of: object) -> np.ndarray:
    """Calendar days from ``as_of`` to each date of ``expiry`` (int64; ≤ 0 once expired).

    On plain arrays: the book, the marks and every scenario revaluation ask it each session.
    """
    exp = np.asarray(expiry, dtype="datetime64[ns]").astype("datetime64[D]")
    return (exp - np.datetime64(pd.Timestamp(as_of).date(), "D")).astype(np.int64)


def spx_weekly_expiries(as_of: object, horizon_days: int) -> pd.DatetimeIndex:
    """SPX weekly expiries strictly after ``as_of`` and at most ``horizon_days`` calendar days later.

    A Friday that is not a session (Good Friday, a Friday holiday) expires on the previous
    session. An expiry on ``as_of`` itself is excluded (T = 0 is not a tradable tranche).
    """
    start = pd.Timestamp(as_of).normalize()
    return pd.DatetimeIndex(_weekly_after(np.datetime64(start, "ns"), int(horizon_days)))


_DAY = np.timedelta64(1, "D")


def _weekly_after(start: np.datetime64, horizon_days: int) -> np.ndarray:
    """:func:`spx_weekly_expiries` as a datetime64[ns] array (``start`` a midnight)."""
    end = start + horizon_days * _DAY
    fridays, rolled = _weekly_table()
    if start + _DAY >= fridays[0] and end <= fridays[-1]:
        # every slot, tranche and sizing of a backtest asks: the calendar's Fridays are
        # rolled to sessions once and sliced here
        i = fridays.searchsorted(start + _DAY, side="left")
        j = fridays.searchsorted(end, side="right")
        exp = rolled[i:j]
    else:
        exp = _roll_back_to_sessions(
            pd.date_range(pd.Timestamp(start + _DAY), pd.Timestamp(end), freq="W-FRI")
        ).to_numpy("datetime64[ns]")
    return exp[exp > start]


@lru_cache(maxsize=1)
def _weekly_table() -> tuple[np.ndarray, np.ndarray]:
    """Every Friday the calendar covers (after its first two weeks) and its expiry session."""
    s = _all_sessions()
    fridays = pd.date_range(pd.Timestamp(s[0]) + pd.Timedelta(days=15), pd.Timestamp(s[-1]),
                            freq="W-FRI")  # fmt: skip
    return fridays.to_numpy("datetime64[ns]"), _roll_back_to_sessions(fridays).to_numpy(
        "datetime64[ns]"
    )


def nearest_expiry(as_of: object, target_dte: int) -> pd.Timestamp:
    """The SPX weekly expiry nearest ``as_of + target_dte`` calendar days (ties: the earlier)."""
    return _nearest_expiry(pd.Timestamp(as_of).normalize(), int(target_dte))


# a session's expiries are asked for by every tranche, slot and sizing of a backtest
@lru_cache(maxsize=1 << 16)
def _nearest_expiry(start: pd.Timestamp, target_dte: int) -> pd.Timestamp:
    day = np.datetime64(start, "ns")
    exp = _weekly_after(day, int(target_dte) + 14)
    dist = np.abs((exp - (day + int(target_dte) * _DAY)) // _DAY)
    return pd.Timestamp(exp[int(np.argmin(dist))])


def third_fridays(months: pd.PeriodIndex) -> pd.DatetimeIndex:
    """The third Friday of each month (calendar date, not rolled)."""
    first = months.to_timestamp(how="start")
    # weekday(): Monday 0 … Friday 4; days to the first Friday, then two weeks more
    offset = (4 - first.day_of_week) % 7 + 14
    return pd.DatetimeIndex(first + pd.to_timedelta(offset, unit="D"))


def vix_expiry_for_month(months: pd.PeriodIndex) -> pd.DatetimeIndex:
    """The VIX expiry of each contract month (CBOE rule, both holiday clauses; vectorised)."""
    spx_friday = _roll_back_to_sessions(third_fridays(months + 1))
    wednesday = spx_friday - pd.Timedelta(days=VIX_SETTLEMENT_LAG_DAYS)
    return _roll_back_to_sessions(pd.DatetimeIndex(wednesday))


def vix_expiries(as_of: object, n: int) -> pd.DatetimeIndex:
    """The next ``n`` VIX expiries strictly after ``as_of``.

    A contract month's expiry always falls inside that month, so the months from
    ``as_of``'s month onwards are enough.
    """
    start = pd.Timestamp(as_of).normalize()
    table = _vix_table()
    i = int(table.searchsorted(np.datetime64(start, "ns"), side="right"))
    if i > 0 and i + int(n) < len(table):
        # every hedge unit of a backtest asks: the calendar's expiries computed once, sliced
        return pd.DatetimeIndex(table[i : i + int(n)])
    months = pd.period_range(start.to_period("M"), periods=int(n) + 2, freq="M")
    exp = vix_expiry_for_month(months)
    return exp[exp > start][: int(n)]


@lru_cache(maxsize=1)
def _vix_table() -> np.ndarray:
    """The VIX expiry of every contract month inside the calendar (datetime64[ns], sorted:
    each month's expiry falls in that month)."""
    s = _all_sessions()
    # (a month's rule reads the next month's third Friday: the last two months are left out)
    months = pd.period_range(pd.Timestamp(s[0]), pd.Timestamp(s[-1]), freq="M")[1:-2]
    return vix_expiry_for_month(months).to_numpy("datetime64[ns]")


def nearest_vix_expiry(
    as_of: object, target_days: int, exclude: object | None = None
) -> pd.Timestamp:
    """The VIX expiry nearest ``as_of + target_days`` (ties: the earlier); ``exclude`` skips one date."""
    skip = None if exclude is None else pd.Timestamp(exclude).normalize()
    return _nearest_vix_expiry(pd.Timestamp(as_of).normalize(), int(target_days), skip)


@lru_cache(maxsize=1 << 16)
def _nearest_vix_expiry(
    start: pd.Timestamp, target_days: int, exclude: pd.Timestamp | None
) -> pd.Timestamp:
    # datetime64 arithmetic, not DatetimeIndex: every sizing's hedge unit asks, a new day each
    exp = vix_expiries(start, int(target_days) // 28 + 4).to_numpy("datetime64[ns]")
    if exclude is not None:
        exp = exp[exp != np.datetime64(exclude, "ns")]
    target = np.datetime64(start, "ns") + int(target_days) * _DAY
    dist = np.abs((exp - target) // _DAY)
    return pd.Timestamp(exp[int(np.argmin(dist))])
