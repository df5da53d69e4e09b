"""Helpers shared by the ingest tests (on sys.path beside them: no tests package)."""

from __future__ import annotations

import csv
from datetime import date
from functools import lru_cache
from pathlib import Path

import exchange_calendars as xcals
import pandas as pd
from httpreplay import ReplayServer
from paths import FIXTURES

from schemas.config import SourceUrls

FIX = FIXTURES / "sources"
SECRET = "abcdef0123456789abcdef0123456789"


def _csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


@lru_cache(maxsize=1)
def _xnys() -> xcals.ExchangeCalendar:
    return xcals.get_calendar("XNYS", start="1985-01-02")


def _next_session(d: date | pd.Timestamp) -> pd.Timestamp:
    """Reference: first XNYS session on/after d, straight from exchange_calendars."""
    return pd.Timestamp(_xnys().date_to_session(pd.Timestamp(d), direction="next")).tz_localize(
        None
    )


def _urls(srv: ReplayServer, **kw: object) -> SourceUrls:
    base = {
        "cboe_index": srv.url + "/cboe",
        "fred_api": srv.url + "/fred",
        "fred_graph": srv.url + "/fredgraph.csv",
        "retries": 3,
        "backoff_factor": 0.0,
        "connect_timeout": 1.0,
        "read_timeout": 2.0,
    }
    base.update(kw)
    return SourceUrls(**base)
