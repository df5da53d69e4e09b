"""The bundled snapshot: its manifest, its files as fetch results, and the parsed series.

A snapshot directory holds real provider files plus ``manifest.toml`` (one
``[[files]]`` entry per observation file, ``[[chains]]`` for option chains).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from schemas.series import spec
from tasks.ingest.parsers import parse
from tasks.ingest.result import FetchResult


def read_manifest(snapshot_dir: Path) -> dict[str, list[dict[str, object]]]:
    """The parsed ``manifest.toml`` of a snapshot directory."""
    path = Path(snapshot_dir) / "manifest.toml"
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _source_label(series_id: str) -> str:
    # the shipped calendar keeps its own label in raw_fetch / observations.source
    return "calendar" if spec(series_id).provider == "calendar" else "snapshot"


def read_snapshot(snapshot_dir: Path) -> list[FetchResult]:
    """One :class:`FetchResult` per ``[[files]]`` entry of ``manifest.toml``.

    ``source`` is ``'snapshot'`` (``'calendar'`` for the FOMC file), ``url`` the file
    path, ``status`` None, ``fetched_at`` the file's mtime (UTC). Results are ordered by
    series, then by the entry's ``snapshot_date`` ascending — so when one series has two
    files, the later result is the newer file (what :func:`combine_newest_wins` expects).
    ``[[chains]]`` entries (option chains) are not observation series and are skipped.
    """
    snapshot_dir = Path(snapshot_dir)
    manifest = read_manifest(snapshot_dir)
    entries = sorted(
        manifest.get("files", []),
        key=lambda e: (str(e["series_id"]), str(e.get("snapshot_date", ""))),
    )
    results = []
    for e in entries:
        path = snapshot_dir / str(e["path"])
        results.append(
            FetchResult(
                source=_source_label(str(e["series_id"])),
                series_id=str(e["series_id"]),
                url=str(path),
                status=None,
                raw=path.read_bytes(),
                fetched_at=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
                fmt=str(e["format"]),
                origin={k: str(v) for k, v in e.items()},
            )
        )
    return results


def combine_newest_wins(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Combine rows frames of one series given oldest first; on a date in several, the
    newest frame's row wins.

    The snapshot ships GDPC1 twice (a 1990–2025 fredgraph download of 2025-12 and a
    2000–2026Q1 API re-save of 2026-07); the newer download carries the newer vintage.
    Superseded rows are not lost: both raw files stay in the snapshot. Rows with an
    unparseable date are kept from every frame so validation quarantines them.
    """
    if not frames:
        raise ValueError("no frames to combine")
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    ranked = pd.concat([f.assign(_rank=i) for i, f in enumerate(frames)], ignore_index=True)
    newest = ranked.groupby("date", dropna=True)["_rank"].transform("max")
    keep = ranked["date"].isna() | (ranked["_rank"] == newest)
    out = ranked.loc[keep].drop(columns="_rank")
    # stable sort: within a date the surviving row keeps its file order
    order = np.argsort(out["date"].to_numpy(dtype="datetime64[ns]"), kind="stable")
    return out.iloc[order].reset_index(drop=True)


def parse_snapshot(snapshot_dir: Path) -> dict[str, pd.DataFrame]:
    """Parse every snapshot file and combine files of the same series (newest wins)."""
    by_series: dict[str, list[pd.DataFrame]] = {}
    for fetch in read_snapshot(snapshot_dir):
        by_series.setdefault(fetch.series_id, []).append(parse(fetch))
    return {sid: combine_newest_wins(frames) for sid, frames in by_series.items()}
