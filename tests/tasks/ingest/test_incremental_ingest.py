"""tasks/ingest/incremental.py and the warehouse's fingerprint log: an unchanged payload is skipped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from schemas.config import IngestLimits, ReleaseLags
from tasks import ingest as sources
from warehouse.store import Warehouse


def _fetch(raw: bytes, series_id: str = "vix", url: str = "/snap/VIX_History.csv"):
    return sources.FetchResult(
        "snapshot", series_id, url, None, raw, datetime.now(UTC), "cboe_index"
    )


def test_equal_payload_and_parameters_are_unchanged_anything_else_is_parsed() -> None:
    lags, limits = ReleaseLags(), IngestLimits()
    old = _fetch(b"DATE,OPEN,HIGH,LOW,CLOSE\n01/02/1990,17,17,17,17.24\n")
    last = {sources.fetch_key(old): sources.fingerprint(old, lags, limits)}
    same = _fetch(old.raw)
    grown = _fetch(old.raw + b"01/03/1990,18,18,18,18.19\n")
    elsewhere = _fetch(old.raw, url="/other/VIX_History.csv")
    changed, unchanged, prints = sources.split_unchanged([same, elsewhere], last, lags, limits)
    assert unchanged == [same]
    assert changed == [elsewhere]
    assert sources.split_unchanged([grown], last, lags, limits)[:2] == ([grown], [])
    # a different release lag stamps other available_at dates: the rows would differ
    other_lags = ReleaseLags(cpi=lags.cpi + 1)
    assert sources.fingerprint(same, other_lags, limits) != prints[sources.fetch_key(same)]


def _log(run_id: str, fingerprint: str, series_id: str = "vix") -> pd.DataFrame:
    return pd.DataFrame([{
        "run_id": run_id, "source": "snapshot", "series_id": series_id, "url": "/snap/x.csv",
        "status": None, "bytes": 3, "sha256": "ab", "rows_parsed": 0, "rows_accepted": 0,
        "rows_quarantined": 0, "fetched_at": datetime(2026, 7, 22), "fingerprint": fingerprint,
        "unchanged": False,
    }])  # fmt: skip


def test_the_warehouse_returns_each_fetchs_latest_fingerprint(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.migrate()
    day, now = pd.Timestamp("2026-07-22"), datetime(2026, 7, 22)
    for run_id, fp in (("20260721T000000-aa", "old"), ("20260722T000000-bb", "new")):
        wh.load_facts([], _log(run_id, fp), run_id, day, now)
    assert wh.last_fingerprints() == {("snapshot", "vix", "/snap/x.csv"): "new"}
    # rows quarantined as not-yet-knowable may have become knowable: always re-validate
    with wh.write() as con:
        con.execute(
            "INSERT INTO quarantine VALUES ('snapshot', 'vix', 'x', 'future_date', '', 'r', ?)",
            [now],
        )
    assert wh.last_fingerprints() == {}
