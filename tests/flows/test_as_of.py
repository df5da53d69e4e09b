"""flows/as_of.py: which session a run sizes, read from a real warehouse of the snapshot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flows.as_of import AsOfUnavailable, resolve_session

TODAY = pd.Timestamp("2026-12-02")


def test_the_latest_complete_session_is_limited_by_the_vix_files(daily_db: Path) -> None:
    # the snapshot's VIX-family files end 2026-07-22, SPX 2026-08-21, DTB3 2026-08-19
    day, note = resolve_session(str(daily_db), None, today=TODAY)
    assert day == pd.Timestamp("2026-07-22")
    assert note == (
        "as_of 2026-07-22 (limited by vix (data ends 2026-07-22), vix3m (data ends 2026-07-22); "
        "spx reaches 2026-08-21, tbill_3m reaches 2026-08-19)"
    )


def test_a_default_run_never_picks_a_session_after_today(daily_db: Path) -> None:
    day, note = resolve_session(str(daily_db), None, today=pd.Timestamp("2026-06-30"))
    assert day == pd.Timestamp("2026-06-30")
    assert note == "as_of 2026-06-30 (the latest session up to 2026-06-30)"


def test_a_requested_day_after_the_vix_data_names_the_series(daily_db: Path) -> None:
    with pytest.raises(AsOfUnavailable) as err:
        resolve_session(str(daily_db), pd.Timestamp("2026-08-20"), today=TODAY)
    assert str(err.value) == (
        "2026-08-20 cannot be priced: no point-in-time value for vix (data ends 2026-07-22); "
        "the latest session with all of them is 2026-07-22"
    )


def test_a_requested_day_past_every_series_names_them_all(daily_db: Path) -> None:
    # 2026-09-01: SPX ends 08-21 and the T-bill print of 08-19 is older than its carry
    with pytest.raises(AsOfUnavailable, match=r"spx \(data ends 2026-08-21\), vix .*tbill_3m"):
        resolve_session(str(daily_db), pd.Timestamp("2026-09-01"), today=TODAY)


def test_a_requested_day_with_every_series_is_kept(daily_db: Path) -> None:
    day, note = resolve_session(str(daily_db), pd.Timestamp("2025-01-06"), today=TODAY)
    assert (day, note) == (pd.Timestamp("2025-01-06"), "as_of 2025-01-06")
