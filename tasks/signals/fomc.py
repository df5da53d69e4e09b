"""``fomc_window`` (SPEC §2): NYSE sessions until the next known FOMC decision.

Not a threshold signal over a series path: each calendar row is an event of its own, so
it is evaluated here rather than through :mod:`tasks.signals.specs`.

``value`` = NYSE sessions from ``as_of`` to the next decision date on or after it (0 on
the day; a decision on a non-session day, such as the Sunday 2020-03-15 cut, counts to
the next session), among decision dates whose row is available by ``as_of``;
``input_date`` is that decision date. No known future date: ``stale``, ``value`` NaN,
``input_date`` the last known decision date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.config import SignalParams
from tasks.conventions import SignalState
from tasks.signals.rows import finish, params_json
from tasks.signals.staleness import NS, session_array


def sessions_to_next_decision(
    groups: dict[str, pd.DataFrame], as_of: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """Sessions until the next known FOMC decision; returns (picked frame, has_future).

    Each calendar row speaks for its date from its ``available_at`` until the next version
    of the same date; a version whose value is NaN withdraws the date (a cancelled
    meeting). Dates are independent events, so unlike :func:`tasks.signals.point_in_time.pick` a newly announced date
    does not wait for earlier ones. Evaluated as an (as_of × calendar row) boolean matrix,
    in blocks to bound memory.
    """
    n = len(as_of)
    no_date = np.iinfo(np.int64).min  # the int64 of NaT: "no date" in a max
    next_i8 = np.full(n, np.iinfo(np.int64).max)
    last_i8 = np.full(n, no_date)
    f = groups.get("fomc")
    if f is not None and not f.empty:
        dates = f["date"].to_numpy().astype(NS).view("i8")
        avail = f["available_at"].to_numpy().astype(NS).view("i8")
        next_version = np.r_[dates[1:] == dates[:-1], False]
        until = np.where(next_version, np.r_[avail[1:], 0], np.iinfo(np.int64).max)
        decision = ~np.isnan(f["value"].to_numpy(dtype=float))
        a_all = as_of.view("i8")
        block = 2048
        for start in range(0, n, block):
            a = a_all[start : start + block, None]
            live = (avail <= a) & (a < until) & decision
            next_i8[start : start + block] = np.where(
                live & (dates >= a), dates, np.iinfo(np.int64).max
            ).min(axis=1)
            last_i8[start : start + block] = np.where(live & (dates < a), dates, no_date).max(
                axis=1
            )
    has_future = next_i8 != np.iinfo(np.int64).max
    next_date = np.where(has_future, next_i8, no_date).view(NS)
    s = session_array()
    # searchsorted "left" maps a non-session decision date to the next session
    count = np.searchsorted(s, next_date, side="left") - np.searchsorted(s, as_of, side="left")
    value = np.where(has_future, count.astype(float), np.nan)
    input_date = np.where(has_future, next_date, last_i8.view(NS))
    return pd.DataFrame({"input_date": input_date, "value": value}), has_future


def fomc_window(
    groups: dict[str, pd.DataFrame], as_of: np.ndarray, p: SignalParams
) -> pd.DataFrame:
    """The ``fomc_window`` rows: ``event`` within ``p.fomc_event_sessions`` of a decision."""
    picked, has_future = sessions_to_next_decision(groups, as_of)
    v = picked["value"].to_numpy()
    frame = finish(
        as_of,
        "fomc_window",
        picked,
        v,
        np.where(v <= p.fomc_event_sessions, SignalState.EVENT, SignalState.CLEAR),
        ~has_future,
        params_json(event=p.fomc_event_sessions, series="fomc"),
    )
    # no known future decision is `stale` (SPEC), not a short history
    frame.loc[~has_future, "state"] = SignalState.STALE.value
    return frame
