"""Cboe's CNDR index: its history file, its roll calendar and its monthly excess return (SPEC §12).

CNDR (the Cboe S&P 500 Iron Condor Index) sells a ≈ 20-delta SPX put and call and buys a
≈ 5-delta put and call of the next monthly expiry on each third-Friday roll, holds them to
expiry and keeps the rest in one-month T-bills. Its month-by-month return in excess of the
bills is a real-market record of what such condors earned; :mod:`tasks.validation.replication`
prices the same condors with the model surface and :mod:`tasks.validation.fit` compares them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.conventions import DAYS_PER_YEAR
from tasks.ingest import SourceParseError, parse_cboe_index
from tasks.market import calendar
from tasks.market.expiries import third_fridays


class CndrFormatError(ValueError):
    """A CNDR history file that cannot be used (the message is one line that says why)."""


def parse_cndr(raw: bytes, origin: str = "<bytes>") -> pd.Series:
    """Index closes from Cboe's ``CNDR_History.csv`` (``DATE,CNDR``, dates ``MM/DD/YYYY``).

    Parameters
    ----------
    raw : the file's bytes.
    origin : where they came from (named in errors).

    Returns
    -------
    Series
        CNDR closes (index points) on a sorted, unique ``DatetimeIndex`` named ``date``.

    Raises
    ------
    CndrFormatError
        Not a CBOE index file, no rows, or any row that does not parse to a date and a
        positive number (the first bad line is quoted), or a date listed twice. Unlike the
        daily ingest, which quarantines a bad row and goes on, a validation against a file
        with holes would silently compare different months: the whole file is refused.
    """
    try:
        rows = parse_cboe_index(raw, "cndr", origin)
    except SourceParseError as exc:
        raise CndrFormatError(str(exc)) from exc
    except (IndexError, UnicodeDecodeError) as exc:  # no lines at all
        raise CndrFormatError(f"{origin}: not a CNDR history file ({exc})") from exc
    if rows.empty:
        raise CndrFormatError(f"{origin}: no data rows")
    bad = rows["date"].isna() | ~(rows["value"] > 0)
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise CndrFormatError(
            f"{origin}: {int(bad.sum())} malformed row(s); line {first + 2}: "
            f"{rows['raw'].iloc[first][:60]!r} is not 'MM/DD/YYYY,<positive number>'"
        )
    dupes = rows["date"].duplicated()
    if dupes.any():
        day = pd.Timestamp(rows.loc[dupes, "date"].iloc[0]).date()
        raise CndrFormatError(f"{origin}: date {day} is listed more than once")
    series = rows.set_index("date")["value"].sort_index()
    series.index = pd.DatetimeIndex(series.index, name="date").astype("datetime64[ns]")
    return series.rename("cndr")


def monthly_expiries(start: object, end: object) -> pd.DatetimeIndex:
    """SPX monthly expiry sessions (third Friday, or the session before it) in ``[start, end]``.

    These are CNDR's roll dates: each month's condor is opened on one and expires on the
    next (SPEC §12).
    """
    start_ts, end_ts = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    months = pd.period_range(start_ts.to_period("M"), end_ts.to_period("M"), freq="M")
    fridays = third_fridays(months)
    # a third Friday that is a holiday (Good Friday) expires on the session before it
    all_s = calendar.sessions(fridays.min() - pd.Timedelta(days=10), fridays.max())
    rolled = all_s[all_s.searchsorted(fridays, side="right") - 1]
    out = pd.DatetimeIndex(rolled)
    return out[(out >= start_ts) & (out <= end_ts)]


def index_on(cndr: pd.Series, days: pd.DatetimeIndex) -> np.ndarray:
    """The CNDR close of each day, or of the last listed day before it (the file has gaps).

    NaN before the file's first row or more than five calendar days after the last listed
    close (a roll day the file does not cover is not papered over).
    """
    idx = cndr.index
    pos = idx.searchsorted(days, side="right") - 1
    ok = pos >= 0
    safe = np.where(ok, pos, 0)
    gap = (days - idx[safe]).days.to_numpy()
    ok &= gap <= 5
    return np.where(ok, cndr.to_numpy()[safe], np.nan)


def index_excess_returns(
    cndr: pd.Series, entry: pd.DatetimeIndex, expiry: pd.DatetimeIndex, rate: np.ndarray
) -> pd.DataFrame:
    """CNDR's return over each roll month, and that return in excess of the bills.

    Parameters
    ----------
    cndr : closes from :func:`parse_cndr`.
    entry, expiry : each month's roll sessions.
    rate : continuously compounded bill rate known at each entry (``r`` of the market frame;
        the 3-month bill stands in for the one-month bill CNDR holds — the warehouse has no
        one-month series, and the two differ by a few bp a year, far below the condor P&L).

    Returns
    -------
    DataFrame
        ``index_return`` (decimal), ``bill_return`` ``= e^{r·days/365} − 1`` and
        ``index_excess`` = the difference, one row per month.
    """
    days = (expiry - entry).days.to_numpy()
    v0 = index_on(cndr, entry)
    v1 = index_on(cndr, expiry)
    index_return = v1 / v0 - 1.0
    bill_return = np.expm1(np.asarray(rate, dtype=float) * days / DAYS_PER_YEAR)
    return pd.DataFrame(
        {
            "index_return": index_return,
            "bill_return": bill_return,
            "index_excess": index_return - bill_return,
        }
    )
