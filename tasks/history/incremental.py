"""Extending a stored modelled history by new sessions without recomputing 36 years.

:func:`tasks.history.model_ladder` chains each tranche slot's trades ("reopen the first
eligible session after the exit") and rolls the hedge unit after unit, from the first
session of its window. Both chains are deterministic from any entry on: a trade opened on
session ``E`` has the same strikes, marks and exit whatever came before. So a run over a
short trailing window (``start = S``) and the full run, once they open a trade on the same
session ``E``, agree from ``E`` on. :func:`splice_history` finds that session per chain by
comparing the window's entries with the stored (full) history's, keeps the stored rows
before it and the window's rows after it — exactly the full run's rows, as long as the
market before the splice is the one the stored history saw (``valid_until``).

When a chain has no common entry (a window too short, a change of market data in the
past), the splice refuses (returns None) and the caller recomputes in full.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tasks.history.ladder import LadderHistory


@dataclass(frozen=True)
class Splice:
    """Where the window's rows replace the stored ones: per chain, and for the daily rows."""

    condor_from: dict[int, pd.Timestamp]  # slot → first shared entry
    hedge_from: pd.Timestamp
    daily_from: pd.Timestamp


def _first_shared(
    window: pd.Series, stored: pd.Series, before: pd.Timestamp
) -> pd.Timestamp | None:
    shared = sorted(set(pd.DatetimeIndex(window)) & set(pd.DatetimeIndex(stored)))
    shared = [d for d in shared if d < before]
    return shared[0] if shared else None


def find_splice(
    stored: LadderHistory,
    window: LadderHistory,
    valid_until: pd.Timestamp,
    base_sessions: int,
) -> Splice | None:
    """The splice sessions, or None when some chain of ``window`` never meets ``stored``.

    Parameters
    ----------
    stored : the full history of an earlier run (events with ``slot`` and ``open_date``,
        daily rows with ``as_of``).
    window : :func:`model_ladder` over a trailing window of the new market.
    valid_until : the first session whose market may differ from the one ``stored`` was
        computed on (new or revised closes, a rate published since); every splice
        session must come before it.
    base_sessions : ``HistoryParams.return_base_sessions``: a daily return divides by the
        capital at risk averaged over that many sessions, so the daily rows switch that
        many sessions after the last chain has met.
    """
    valid_until = pd.Timestamp(valid_until)
    slots = sorted(set(window.condor_events["slot"]) | set(stored.condor_events["slot"]))
    condor_from: dict[int, pd.Timestamp] = {}
    for slot in slots:
        w = window.condor_events.loc[window.condor_events["slot"] == slot, "open_date"]
        s = stored.condor_events.loc[stored.condor_events["slot"] == slot, "open_date"]
        day = _first_shared(w, s, valid_until)
        if day is None:
            return None
        condor_from[slot] = day
    hedge_from = _first_shared(
        window.hedge_events["open_date"], stored.hedge_events["open_date"], valid_until
    )
    if hedge_from is None:
        return None
    # a roll closes the old unit on the new unit's entry session: its P&L lands on that day
    met = max([*condor_from.values(), hedge_from])
    days = pd.DatetimeIndex(window.daily["as_of"])
    pos = int(np.searchsorted(days, met, side="left")) + 1 + int(base_sessions)
    if pos >= len(days) or days[pos] >= valid_until:
        return None
    return Splice(condor_from, hedge_from, days[pos])


def splice_history(stored: LadderHistory, window: LadderHistory, splice: Splice) -> LadderHistory:
    """The full history: ``stored`` rows before each splice session, ``window`` rows after.

    Columns are those of ``window`` (stored rows lack the ones the warehouse does not keep;
    they are NaN there).
    """
    cols = window.condor_events.columns
    parts = []
    for slot, day in splice.condor_from.items():
        s = stored.condor_events
        w = window.condor_events
        parts.append(s[(s["slot"] == slot) & (s["open_date"] < day)].reindex(columns=cols))
        parts.append(w[(w["slot"] == slot) & (w["open_date"] >= day)])
    condors = pd.concat(parts, ignore_index=True)
    condors = condors.sort_values(["open_date", "slot"], kind="stable").reset_index(drop=True)
    s, w = stored.hedge_events, window.hedge_events
    hedges = pd.concat(
        [
            s[s["open_date"] < splice.hedge_from].reindex(columns=w.columns),
            w[w["open_date"] >= splice.hedge_from],
        ],
        ignore_index=True,
    )
    sd, wd = stored.daily, window.daily
    daily = pd.concat(
        [
            sd[sd["as_of"] < splice.daily_from].reindex(columns=wd.columns),
            wd[wd["as_of"] >= splice.daily_from],
        ],
        ignore_index=True,
    )
    return LadderHistory(condor_events=condors, hedge_events=hedges, daily=daily)
