"""The bundled snapshot's market observations over a window, as the warehouse stores them
(parsed, point-in-time ``available_at``), for tests that need real history without a run."""

from __future__ import annotations

import pandas as pd
from paths import SNAPSHOT

from schemas.config import ReleaseLags
from tasks import ingest

MARKET = ("spx", "vix", "vix9d", "vix3m", "vix6m", "tbill_3m")


def snapshot_observations(start: str, end: str, series: tuple[str, ...] = MARKET) -> pd.DataFrame:
    """``series_id, date, value, available_at`` of ``series`` dated ``start``…``end``."""
    parts = []
    for fetch in ingest.read_snapshot(SNAPSHOT):
        if fetch.series_id not in series:
            continue
        rows = ingest.parse(fetch)
        rows = rows[(rows["date"] >= start) & (rows["date"] <= end)]
        rows = ingest.assign_available_at(rows.dropna(subset=["value"]), fetch.series_id,
                                          ReleaseLags())  # fmt: skip
        parts.append(
            rows.assign(series_id=fetch.series_id)[["series_id", "date", "value", "available_at"]]
        )
    obs = pd.concat(parts, ignore_index=True)
    return obs.assign(date=pd.to_datetime(obs["date"]).astype("datetime64[ns]"),
                      available_at=pd.to_datetime(obs["available_at"]).astype("datetime64[ns]"))  # fmt: skip
