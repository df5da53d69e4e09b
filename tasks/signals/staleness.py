"""Staleness of a signal's input (SPEC §2 maximum ages).

An input is fresh while its age is at most the maximum age (``age <= max_age``; stale
from ``max_age + 1``). Daily age = NYSE sessions after ``input_date`` up to and including
``as_of``. Monthly/quarterly age = calendar days from the END of the observation period
(month end / quarter end) to ``as_of``, because observation dates are period starts:
measuring from the start would call a series stale roughly one period earlier than its
actual release rhythm warrants.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd

from schemas.config import SignalParams
from schemas.series import spec
from tasks.market.calendar import CALENDAR_START, nyse, sessions

NS = "datetime64[ns]"

Staleness = Callable[[pd.DataFrame, np.ndarray, SignalParams], np.ndarray]
"""(picked frame with ``input_date``, ``as_of`` sessions, params) → True where stale."""


@lru_cache(maxsize=1)
def session_array() -> np.ndarray:
    return np.asarray(sessions(CALENDAR_START, nyse().last_session).to_numpy().astype(NS))


def age_sessions(input_date: np.ndarray, as_of: np.ndarray) -> np.ndarray:
    """NYSE sessions after ``input_date`` up to and including ``as_of`` (NaN for NaT)."""
    s = session_array()
    age = np.searchsorted(s, as_of, side="right") - np.searchsorted(s, input_date, side="right")
    return np.where(np.isnat(input_date), np.nan, age.astype(float))


def age_days_after_period(
    input_date: np.ndarray, as_of: np.ndarray, period_end: pd.DateOffset
) -> np.ndarray:
    """Calendar days from the end of the observation period starting at ``input_date``."""
    end = (pd.DatetimeIndex(input_date) + period_end).astype(NS).to_numpy()
    days = (as_of - end) / np.timedelta64(1, "D")
    return np.where(np.isnat(input_date), np.nan, days)


def daily_stale(picked: pd.DataFrame, as_of: np.ndarray, p: SignalParams) -> np.ndarray:
    age = age_sessions(picked["input_date"].to_numpy(), as_of)
    return age > p.max_age.daily_sessions


def monthly_stale(picked: pd.DataFrame, as_of: np.ndarray, p: SignalParams) -> np.ndarray:
    age = age_days_after_period(picked["input_date"].to_numpy(), as_of, pd.offsets.MonthEnd(0))
    return age > p.max_age.monthly_days


def quarterly_stale(picked: pd.DataFrame, as_of: np.ndarray, p: SignalParams) -> np.ndarray:
    age = age_days_after_period(picked["input_date"].to_numpy(), as_of, pd.offsets.QuarterEnd(0))
    return age > p.max_age.quarterly_days


_AGE_UNITS = {"daily_sessions": "sessions", "monthly_days": "days", "quarterly_days": "days"}


def stale_series(freshness: pd.DataFrame, as_of: object, p: SignalParams) -> pd.DataFrame:
    """Every series whose newest value knowable at ``as_of`` is older than its maximum age.

    The same rule as a signal's input (SPEC §2 maximum ages, measured as above), applied
    to each series on its own — so a stale series is reported even when no signal reads it
    (VIX6M feeds only the VIX futures curve).

    Parameters
    ----------
    freshness : ``series_id, latest_date`` (the newest non-missing observation knowable
        at ``as_of``, e.g. :func:`warehouse.reads.series_freshness`).
    as_of : the session reported.
    p : the signal parameters (their ``max_age``).

    Returns
    -------
    pd.DataFrame
        ``series_id, latest_date, age, max_age, unit`` of the stale series only.
    """
    cols = ["series_id", "latest_date", "age", "max_age", "unit"]
    day = np.asarray([pd.Timestamp(as_of).normalize()], dtype=NS)
    ages: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "daily_sessions": lambda d: age_sessions(d, day),
        "monthly_days": lambda d: age_days_after_period(d, day, pd.offsets.MonthEnd(0)),
        "quarterly_days": lambda d: age_days_after_period(d, day, pd.offsets.QuarterEnd(0)),
    }
    rows = []
    for r in freshness.itertuples(index=False):
        try:
            rule = spec(str(r.series_id)).max_age
        except ValueError:  # a series the registry does not know has no maximum age
            continue
        if rule is None or pd.isna(r.latest_date):
            continue
        age = float(ages[rule](np.asarray([pd.Timestamp(r.latest_date)], dtype=NS))[0])
        limit = getattr(p.max_age, rule)
        if age > limit:
            rows.append(
                [r.series_id, pd.Timestamp(r.latest_date), int(age), limit, _AGE_UNITS[rule]]
            )
    return pd.DataFrame(rows, columns=cols)
