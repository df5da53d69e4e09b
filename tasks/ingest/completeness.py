"""Is a source complete enough to trust? (issue 12, items 4 and 5)

Three refusals, each failing one source with a one-line message:

- too many rejected rows (:func:`check_rejections`): a valid file followed by a flood of
  junk must not complete a run, nor fill the quarantine table;
- a stale daily source (:func:`stale_sources`): a source whose newest row is sessions
  older than its peers' would silently move a default run's ``as_of`` back;
- a truncated body: in ``parsers.check_complete`` and ``http._get``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import date

import numpy as np
import pandas as pd

from schemas.config import IngestLimits
from schemas.series import SERIES, Availability, Frequency, spec
from tasks.ingest.errors import SourceRejectedError
from tasks.market.calendar import sessions

# Daily sources published daily: the peers of the staleness rule. DTWEXBGS (usd) has daily
# rows but is published weekly, so its newest row is legitimately a week or more behind.
_DAILY_RULES = (Availability.MARKET_CLOSE, Availability.NEXT_SESSION)


def too_many_rejected(n_rows: int, n_rejected: int, limits: IngestLimits) -> bool:
    """More than ``max_quarantined_fraction`` of the rows, or more than ``max_quarantined_rows``."""
    return n_rejected > limits.max_quarantined_rows or (
        n_rows > 0 and n_rejected > limits.max_quarantined_fraction * n_rows
    )


def check_rejections(
    n_rows: int, n_rejected: int, where: str, limits: IngestLimits, reasons: str = ""
) -> None:
    """Raise :class:`SourceRejectedError` when a fetch rejects too many of its rows.

    Parameters
    ----------
    n_rows, n_rejected : int
        Rows parsed from the fetch, and how many of them failed validation.
    where : str
        ``"<series> from <source> <url>"``, the start of the message.
    limits : IngestLimits
        The thresholds (``Params.ingest``).
    reasons : str
        The failed checks, for the message (e.g. ``"date_parseable, value_finite"``).
    """
    if not too_many_rejected(n_rows, n_rejected, limits):
        return
    share = n_rejected / n_rows if n_rows else 1.0
    because = f" ({reasons})" if reasons else ""
    raise SourceRejectedError(
        f"{where}: {n_rejected:,} of {n_rows:,} rows fail validation ({share:.1%}){because}, "
        f"above the limit of {limits.max_quarantined_fraction:.0%} or "
        f"{limits.max_quarantined_rows:,} rows: the source is refused, no row of it loads"
    )


def malformed_rows(rows: pd.DataFrame) -> int:
    """Rows no check can accept: an unparseable date, or a value neither finite nor missing.

    Counted right after parsing, so a flood of junk is refused before validating it.
    """
    value = rows["value"].to_numpy(dtype="float64")
    missing = rows["value_missing"].to_numpy(dtype=bool)
    bad = rows["date"].isna().to_numpy() | ~(missing | np.isfinite(value))
    return int(bad.sum())


def _sessions_between(older: pd.Timestamp, newer: pd.Timestamp) -> int:
    """NYSE sessions in ``(older, newer]``."""
    if newer <= older:
        return 0
    return len(sessions(older + pd.Timedelta(days=1), newer))


def stale_sources(
    newest_by_series: dict[str, date],
    max_lag_sessions: int = 5,
    fetched_together: Mapping[str, Hashable] | None = None,
) -> list[str]:
    """One message per daily source whose newest row is too far behind its peers'.

    Peers are the series of ``newest_by_series`` that are daily and published daily
    (market closes, next-session rates; the registry's availability rule); the others
    (monthly, quarterly, weekly-published, events) are ignored. A peer is stale when more
    than ``max_lag_sessions`` NYSE sessions lie between its newest row and the newest row
    of all peers.

    Parameters
    ----------
    newest_by_series : dict
        Series id → date of its newest accepted row.
    max_lag_sessions : int
        ``Params.ingest.stale_sessions``.
    fetched_together : mapping, optional
        Series id → the fetch it came in (a snapshot file's ``snapshot_date``). Peers are
        then only the series fetched together: a bundled snapshot assembles files
        downloaded on different days, and a file is stale against the files downloaded
        with it, not against one saved a month later. None (a live run): all are peers.

    Returns
    -------
    list of str
        ``"vix3m: newest row 2018-02-15 is 2,126 sessions behind spx (2026-07-22), more
        than 5: a stale or truncated source"``, sorted by series id; empty when none.
    """
    daily = {
        sid: pd.Timestamp(d).normalize()
        for sid, d in newest_by_series.items()
        if d is not None
        and not pd.isna(d)
        and spec(sid).frequency is Frequency.DAILY
        and spec(sid).availability in _DAILY_RULES
    }
    groups: dict[Hashable, dict[str, pd.Timestamp]] = {}
    for sid, d in daily.items():
        key = None if fetched_together is None else fetched_together.get(sid)
        groups.setdefault(key, {})[sid] = d
    out = []
    for peers in groups.values():
        if len(peers) < 2:
            continue
        newest = max(peers.values())
        # the peer named in messages: the first in registry order among those ending newest
        leader = next(sid for sid in SERIES if peers.get(sid) == newest)
        for sid, d in peers.items():
            behind = _sessions_between(d, newest)
            if behind > max_lag_sessions:
                out.append(
                    f"{sid}: newest row {d.date()} is {behind:,} sessions behind "
                    f"{leader} ({newest.date()}), more than {max_lag_sessions}: "
                    "a stale or truncated source"
                )
    return sorted(out)
