"""Point in time: the first session each row was knowable, ``available_at`` (SPEC §1.2).

The rule of each series is its :class:`~schemas.series.SeriesSpec` ``availability``;
lags come from :class:`~schemas.config.ReleaseLags` through the spec's ``lag`` field name.
"""

from __future__ import annotations

import pandas as pd

from schemas.config import ReleaseLags
from schemas.series import Availability, SeriesSpec, spec
from tasks.market.calendar import CALENDAR_START, nyse, roll_to_sessions


def _roll(dates: pd.Series) -> pd.Series:
    """Roll to the first session on/after each date; NaT stays NaT, so does a date past
    the calendar's end (validation then quarantines it as 'available_at_known').

    Dates before the calendar's first session roll to that session: later than the truth,
    hence still free of look-ahead.
    """
    d = pd.to_datetime(dates).astype("datetime64[ns]")
    last = pd.Timestamp(nyse().last_session).tz_localize(None)
    ok = d.notna() & (d <= last)
    out = pd.Series(pd.NaT, index=d.index, dtype="datetime64[ns]")
    if ok.any():
        out[ok] = roll_to_sessions(d[ok].clip(lower=pd.Timestamp(CALENDAR_START)))
    return out


def lag_days(s: SeriesSpec, lags: ReleaseLags) -> int:
    """The release lag of a series in calendar days (0 when its rule has none)."""
    return int(getattr(lags, s.lag)) if s.lag else 0


def _base_date(out: pd.DataFrame, s: SeriesSpec, lags: ReleaseLags) -> pd.Series:
    """The unrolled date from which a row is knowable, by the series' rule."""
    d = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    days = pd.to_timedelta(lag_days(s, lags), unit="D")
    rule = s.availability
    if rule is Availability.MARKET_CLOSE:
        return d
    if rule is Availability.NEXT_SESSION:
        return d + pd.to_timedelta(1, unit="D")
    if rule is Availability.WEEKLY_PUBLISHED:
        return d + days
    if rule is Availability.MONTH_END_LAG:
        return d + pd.offsets.MonthEnd(0) + days
    if rule is Availability.QUARTER_END_LAG:
        return d + pd.offsets.QuarterEnd(0) + days
    if rule is Availability.FOMC_SCHEDULE:
        value = pd.to_numeric(out["value"], errors="coerce")
        publication = pd.to_datetime(
            {"year": d.dt.year - 1, "month": 7, "day": 1}, errors="coerce"
        ).astype("datetime64[ns]")
        return d.where(value != 1.0, publication)
    raise ValueError(f"no availability rule for series {s.series_id!r}")  # pragma: no cover


def assign_available_at(rows: pd.DataFrame, series_id: str, lags: ReleaseLags) -> pd.DataFrame:
    """Stamp each row with ``available_at``, the first session it was knowable (SPEC §1.2).

    Rules (all rolled to the next NYSE session with ``tasks.market.calendar.roll_to_sessions``):

    - ``spx``, VIX family: the observation's own session (a close is known at the close).
    - ``tbill_3m``, ``fed_funds``: the session *after* the observation date. H.15 (DTB3)
      and the NY Fed (EFFR/DFF) publish the next business day, so a same-day stamp would
      be look-ahead. Conservative.
    - ``usd`` (DTWEXBGS, daily values published weekly by the Fed's H.10): observation
      date + ``lags.weekly_publication_days`` (7) calendar days. Conservative upper bound
      on the weekly publication delay.
    - ``cpi``, ``ppi``, ``ppi_all``: month end + ``lags.cpi`` / ``lags.ppi`` days;
      ``gdp_real``: quarter end + ``lags.gdp_real``; ``usd_real``: month end +
      ``lags.usd_monthly``. (``ppi_all`` uses the PPI lag: same BLS release.)
    - ``fomc``: scheduled meetings (value 1) are known from the first session on/after
      July 1 of the preceding year (the Fed publishes next year's schedule around
      mid-year); unscheduled actions (value 0) only on their own date.
    - Rows with a non-null ``realtime_start`` (ALFRED vintages): that vintage date, except
      for market closes (``spx``), which stay on their own session.

    Parameters
    ----------
    rows : DataFrame
        A rows frame from a parser.
    series_id : str
        Canonical series id; its registry record decides the rule.
    lags : ReleaseLags
        Release lags from the configuration.

    Returns
    -------
    DataFrame
        A copy of ``rows`` with an ``available_at`` datetime64 column (NaT when the date is
        unparseable).
    """
    try:
        s = spec(series_id)
    except ValueError:
        raise ValueError(f"no availability rule for series {series_id!r}") from None
    out = rows.copy()
    base = _base_date(out, s, lags)
    if "realtime_start" in out.columns and not s.is_market_close:
        # a market close is known at its own close, whenever FRED's vintage says it was
        # posted (SP500's realtime_start is the next day): keep the SPEC §1.2 rule for them
        rt = pd.to_datetime(out["realtime_start"]).astype("datetime64[ns]")
        base = base.where(rt.isna(), rt)
    out["available_at"] = _roll(pd.Series(base, index=out.index))
    return out
