"""Tests of tasks/ingest/snapshot.py: the bundled snapshot loads whole, newest file wins."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
from paths import SNAPSHOT

from schemas.config import ReleaseLags
from schemas.sources import validate
from tasks.ingest import (
    LIVE_SOURCES,
    FetchResult,
    assign_available_at,
    combine_newest_wins,
    parse,
    parse_fred_graph,
    parse_snapshot,
    read_snapshot,
)

# --------------------------------------------------------------------------- snapshot


def _manifest() -> dict:
    with (SNAPSHOT / "manifest.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_read_snapshot_covers_every_manifest_entry() -> None:
    manifest = _manifest()
    fetches = read_snapshot(SNAPSHOT)
    assert sorted(Path(f.url).name for f in fetches) == sorted(
        Path(e["path"]).name for e in manifest["files"]
    )
    for f in fetches:
        assert f.raw == Path(f.url).read_bytes()
        assert f.source in {"snapshot", "calendar"} and f.status is None
        assert f.sha256 == hashlib.sha256(f.raw).hexdigest()
    for c in manifest["chains"]:
        assert (SNAPSHOT / c["path"]).exists()


def test_manifest_ranges_match_files() -> None:
    for e in _manifest()["files"]:
        rows = parse(
            FetchResult("snapshot", e["series_id"], str(SNAPSHOT / e["path"]), None,
                        (SNAPSHOT / e["path"]).read_bytes(), pd.Timestamp.now(tz="UTC"), e["format"])
        )  # fmt: skip
        assert len(rows) == e["rows"], e["path"]
        assert rows["date"].min() == pd.Timestamp(e["first"]), e["path"]
        assert rows["date"].max() == pd.Timestamp(e["last"]), e["path"]
        cutoff = (
            "1990-01-01"
            if e["series_id"] not in {"cpi", "ppi", "ppi_all", "gdp_real", "usd_real"}
            else "1988-01-01"
        )
        assert rows["date"].min() >= pd.Timestamp(cutoff) or e["series_id"] == "fomc"


def test_every_snapshot_series_parses_and_validates() -> None:
    frames = parse_snapshot(SNAPSHOT)
    assert set(frames) == {sid for sid in LIVE_SOURCES}
    for sid, rows in frames.items():
        res = validate(assign_available_at(rows, sid, ReleaseLags()), "snapshot", sid)
        assert res.rows_parsed == len(rows) > 0
        assert res.rows_quarantined < 0.01 * res.rows_parsed, (sid, res.quarantine.head())
        assert res.rows_accepted + res.rows_quarantined == res.rows_parsed


def test_snapshot_gdp_is_the_union_with_newest_winning() -> None:
    old = parse_fred_graph((SNAPSHOT / "fredgraph_GDPC1_1990_2025.csv").read_bytes(), "gdp_real")
    new = parse_fred_graph((SNAPSHOT / "fred_GDPC1.csv").read_bytes(), "gdp_real")
    gdp = parse_snapshot(SNAPSHOT)["gdp_real"]
    assert gdp["date"].is_unique and gdp["date"].is_monotonic_increasing
    assert set(gdp["date"]) == set(old["date"]) | set(new["date"])
    merged = gdp.set_index("date")["value"]
    for d, v in zip(new["date"], new["value"], strict=True):
        assert merged[d] == v
    assert merged[pd.Timestamp("1990-01-01")] == 10047.386  # only in the older file


def test_combine_newest_wins_on_conflicts() -> None:
    def frame(dates: list[str | None], values: list[float], tag: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "series_id": "cpi",
                "date": pd.to_datetime(dates),
                "value": values,
                "value_missing": False,
                "raw": [f"{tag}{i}" for i in range(len(dates))],
            }
        )

    older = frame(["2021-01-01", "2021-02-01", "2021-03-01", None], [1.0, 2.0, 3.0, np.nan], "old")
    newer = frame(["2021-02-01", "2021-03-01", "2021-04-01"], [20.0, 30.0, 40.0], "new")
    out = combine_newest_wins([older, newer])
    valid = out.dropna(subset=["date"])
    assert valid["value"].tolist() == [1.0, 20.0, 30.0, 40.0]
    assert out["date"].isna().sum() == 1  # the malformed row survives for quarantine


def test_snapshot_fomc_calendar_is_corrected() -> None:
    text = (SNAPSHOT / "fomc_calendar.csv").read_text().splitlines()
    assert text[0] == "date,kind"
    assert "2026-04-29,scheduled" in text and not any(t.startswith("2026-05-06") for t in text)
    assert sum(t.endswith(",unscheduled") for t in text) == 8


def test_snapshot_keeps_provider_formats() -> None:
    # the VIX file is untrimmed (starts 1990) and must be CBOE's bytes: MM/DD/YYYY, 6 decimals
    lines = (SNAPSHOT / "cboe_VIX_History.csv").read_bytes().split(b"\n")
    assert lines[0] == b"DATE,OPEN,HIGH,LOW,CLOSE"
    assert lines[1] == b"01/02/1990,17.240000,17.240000,17.240000,17.240000"
    dff = (SNAPSHOT / "fred_DFF.csv").read_text().splitlines()
    assert dff[0] == "date,value" and dff[-1] == "2026-07-22,3.6300000000"
