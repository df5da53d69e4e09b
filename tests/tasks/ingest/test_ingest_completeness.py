"""Tests of tasks/ingest/completeness.py: rejection limits and stale daily sources."""

from __future__ import annotations

from datetime import date

import exchange_calendars as xcals
import pandas as pd
import pytest
from paths import SNAPSHOT

from schemas.config import IngestLimits, Params
from tasks.ingest import (
    SourceRejectedError,
    check_rejections,
    malformed_rows,
    parse_cboe_index,
    parse_snapshot,
    read_manifest,
    stale_sources,
    too_many_rejected,
)

LIMITS = IngestLimits()


def test_limits_are_params_fields_with_the_issue_defaults() -> None:
    assert Params().ingest == LIMITS
    assert (LIMITS.max_quarantined_fraction, LIMITS.max_quarantined_rows) == (0.01, 100)
    assert LIMITS.stale_sessions == 5


@pytest.mark.parametrize(
    ("n_rows", "n_rejected", "refused"),
    [
        (9234, 6, False),  # VVIX's six 2006 bad prints in a full file
        (1000, 10, False),  # exactly 1 %: not more than
        (1000, 11, True),  # more than 1 %
        (50_000, 100, False),  # 0.2 % and exactly 100 rows
        (50_000, 101, True),  # more than 100 rows, whatever the share
        (24, 1, True),  # one bad row of a 24-row file is 4 %
        (0, 0, False),
    ],
)
def test_rejection_threshold(n_rows: int, n_rejected: int, refused: bool) -> None:
    assert too_many_rejected(n_rows, n_rejected, LIMITS) is refused


def test_a_flood_of_junk_is_refused_with_the_count() -> None:
    good = (SNAPSHOT / "cboe_VVIX_History.csv").read_text()
    junk = "".join(f"junk line {i} \x00\xff\n" for i in range(20_000))
    rows = parse_cboe_index((good + junk).encode(), "vvix")
    n_bad = malformed_rows(rows)
    assert n_bad == 20_000 and len(rows) == 5066 + 20_000
    with pytest.raises(SourceRejectedError) as err:
        check_rejections(len(rows), n_bad, "vvix from cboe https://x.test/VVIX_History.csv", LIMITS)
    msg = str(err.value)
    assert "vvix from cboe https://x.test/VVIX_History.csv" in msg
    assert "20,000 of 25,066 rows" in msg and "79.8%" in msg
    # the same file without the junk passes, and custom limits are honoured
    clean = parse_cboe_index(good.encode(), "vvix")
    assert malformed_rows(clean) == 0
    check_rejections(len(rows), n_bad, "x", IngestLimits(max_quarantined_fraction=1.0,
                                                         max_quarantined_rows=20_000))  # fmt: skip


def _sessions_between(a: str, b: str) -> int:
    cal = xcals.get_calendar("XNYS", start="2017-01-01")
    return len(cal.sessions_in_range(pd.Timestamp(a) + pd.Timedelta(days=1), pd.Timestamp(b)))


def test_a_truncated_vix3m_is_stale_against_its_peers() -> None:
    newest = {"spx": date(2026, 7, 22), "vix": date(2026, 7, 22), "vix3m": date(2018, 2, 15),
              "tbill_3m": date(2026, 7, 21), "cpi": date(2026, 6, 1), "usd": date(2026, 7, 10),
              "fomc": date(2026, 12, 9)}  # fmt: skip
    (msg,) = stale_sources(newest)
    behind = _sessions_between("2018-02-15", "2026-07-22")
    assert msg == (
        f"vix3m: newest row 2018-02-15 is {behind:,} sessions behind spx (2026-07-22), "
        "more than 5: a stale or truncated source"
    )
    assert behind > 2000


def test_staleness_counts_sessions_not_days() -> None:
    # Fri 2026-07-17 -> Fri 2026-07-24 is 5 sessions: allowed; one more session is not
    ok = {"spx": date(2026, 7, 24), "vix": date(2026, 7, 17)}
    assert stale_sources(ok) == []
    assert stale_sources({"spx": date(2026, 7, 27), "vix": date(2026, 7, 17)}) != []
    assert stale_sources(ok, max_lag_sessions=4) != []
    # only daily, daily-published series are peers: monthly, weekly and events never are
    assert stale_sources({"spx": date(2026, 7, 24), "cpi": date(2020, 1, 1),
                          "usd": date(2026, 7, 1), "fomc": date(2030, 1, 1)}) == []  # fmt: skip


def test_the_bundled_snapshot_ends_are_what_the_rule_sees() -> None:
    """What a default run on the snapshot would be told (the lead decides where to call it)."""
    frames = parse_snapshot(SNAPSHOT)
    newest = {sid: rows["date"].max().date() for sid, rows in frames.items()}
    stale = {m.split(":")[0] for m in stale_sources(newest)}
    # SPX's Yahoo re-save runs to 2026-08-21, a month past the CBOE and FRED files
    assert newest["spx"] == date(2026, 8, 21) and newest["vix"] == date(2026, 7, 22)
    assert stale == {"fed_funds", "vix", "vix3m", "vix6m", "vix9d", "vvix"}
    # judged against the files downloaded with them (the manifest's snapshot_date), the
    # bundled files are complete: none ends more than 5 sessions before its batch
    together = {e["series_id"]: e["snapshot_date"] for e in read_manifest(SNAPSHOT)["files"]}
    assert stale_sources(newest, fetched_together=together) == []


def test_a_file_is_stale_against_the_files_fetched_with_it() -> None:
    newest = {"spx": date(2026, 8, 21), "vix": date(2026, 7, 22), "vix3m": date(2018, 2, 15)}
    together = {"spx": "2026-08-22", "vix": "2026-07-23", "vix3m": "2026-07-23"}
    (msg,) = stale_sources(newest, fetched_together=together)
    assert msg.startswith("vix3m: newest row 2018-02-15 is ") and "behind vix (2026-07-22)" in msg
