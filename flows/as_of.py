"""Which session a run sizes: the latest on which every required series is knowable.

A default run (``as_of`` omitted or ``'today'``) must not size a day the data cannot
price, and must say which series hold it back: the VIX-family files of the snapshot end a
month before the SPX closes, so "the latest date in the warehouse" is the wrong answer.
A requested day that cannot be priced fails here, naming the series, before any sizing.
"""

from __future__ import annotations

import pandas as pd

from tasks.market import calendar
from tasks.market.frame import market_frame
from warehouse import db

# what a session needs to be priced at all (tasks.market.frame.context_at) ...
PRICING_SERIES = ("spx", "vix", "tbill_3m")
# ... and, for the latest session, also the term-structure close the daily signals read
LATEST_SERIES = ("spx", "vix", "vix3m", "tbill_3m")


class AsOfUnavailable(ValueError):
    """The requested (or any) session cannot be priced from the data at hand."""


def _knowable(work_path: str, end: pd.Timestamp) -> tuple[pd.DataFrame, dict[str, pd.Timestamp]]:
    """Per session up to ``end``: is each series knowable at its close? And each one's last date."""
    con = db.connect(work_path, read_only=True)
    try:
        obs = db.read_observations(con, series_ids=LATEST_SERIES)
    finally:
        con.close()
    obs = obs.dropna(subset=["value"])
    spx = obs.loc[obs["series_id"] == "spx", "date"]
    if spx.empty:
        raise AsOfUnavailable("the warehouse holds no SPX closes: nothing to size")
    days = calendar.sessions(spx.min(), max(end, spx.max()))
    # market_frame applies the point-in-time rules (closes on their own session, the T-bill
    # rate from its publication and carried a few sessions), so "knowable" means the same
    # here as in sizing
    have = market_frame(obs, days)[list(LATEST_SERIES)].notna()
    last = {s: obs.loc[obs["series_id"] == s, "date"].max() for s in LATEST_SERIES}
    return have, last


def _ends(series: list[str], last: dict[str, pd.Timestamp]) -> str:
    def end(s: str) -> str:
        return "no data" if pd.isna(last[s]) else f"data ends {last[s].date()}"

    return ", ".join(f"{s} ({end(s)})" for s in series)


def resolve_session(
    work_path: str, requested: pd.Timestamp | None, today: pd.Timestamp
) -> tuple[pd.Timestamp, str]:
    """The session to size and a one-line note saying why it is that one.

    Parameters
    ----------
    work_path : the run's working copy of the warehouse (facts already loaded).
    requested : a session the user asked for, or None for the latest complete one.
    today : New York's date; a default run never picks a later session.

    Raises
    ------
    AsOfUnavailable
        ``requested`` lacks a required series (named, with where its data ends), or no
        session has them all.
    """
    today = pd.Timestamp(today).normalize()
    have, last = _knowable(work_path, requested if requested is not None else today)
    complete = have.all(axis=1)
    complete = complete[complete & (complete.index <= today)]
    latest = complete.index.max() if len(complete) else None
    hint = f"; the latest session with all of them is {latest.date()}" if latest else ""
    if requested is not None:
        missing = [s for s in PRICING_SERIES if not have.at[requested, s]]
        if missing:
            raise AsOfUnavailable(
                f"{requested.date()} cannot be priced: no point-in-time value for "
                f"{_ends(missing, last)}{hint}"
            )
        return requested, f"as_of {requested.date()}"
    if latest is None:
        raise AsOfUnavailable(
            f"no session up to {today.date()} has every required series: {_ends(list(LATEST_SERIES), last)}"
        )
    pos = have.index.get_loc(latest) + 1
    if pos == len(have) or have.index[pos] > today:  # nothing is missing: today is the bound
        return latest, f"as_of {latest.date()} (the latest session up to {today.date()})"
    limiting = [s for s in LATEST_SERIES if not have.iloc[pos][s]]
    others = [s for s in LATEST_SERIES if s not in limiting]
    note = f"as_of {latest.date()} (limited by {_ends(limiting, last)}"
    if others:
        note += "; " + ", ".join(f"{s} reaches {last[s].date()}" for s in others)
    return latest, note + ")"
