"""Thin Prefect task wrappers over the pure method and the warehouse.

Each task does one step of the daily/backfill flows. Tasks receive and return
plain values (paths, DataFrames, dataclasses) — never a DuckDB connection,
which Prefect can neither hash nor pickle — and open the run's working copy of
the warehouse only for as long as they read or write it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger

from schemas.config import Params, ReleaseLags, SignalParams, SourceUrls
from schemas.sources import SchemaLevelError, validate
from tasks import calendar, sources
from tasks.signals import compute_signals
from warehouse import db

DAILY_MARKET_SERIES = ("spx", "vix", "vix3m")


@dataclass
class IngestedSource:
    """What one source produced: validated rows, quarantined rows and its fetch log row."""

    fetch: sources.FetchResult
    observations: pd.DataFrame
    quarantine: pd.DataFrame
    rows_parsed: int
    rows_accepted: int
    rows_quarantined: int
    vintaged: bool = False


# --------------------------------------------------------------------------- ingest


@task(name="read-snapshot", cache_policy=NO_CACHE)
def read_snapshot(snapshot_dir: str) -> list[sources.FetchResult]:
    return sources.read_snapshot(Path(snapshot_dir))


def fred_api_key() -> str | None:
    """The FRED API key from ``FRED_API_KEY`` or the Prefect Secret block ``fred-api-key``."""
    key = sources.fred_api_key_from_env()
    if key:
        return key
    try:
        from prefect.blocks.system import Secret

        return Secret.load("fred-api-key").get()
    except Exception:  # no block configured (or no server): fall back to fredgraph.csv
        return None


@task(name="fetch-live", cache_policy=NO_CACHE)
def fetch_live(series_id: str, urls: SourceUrls, vintages: bool = False) -> sources.FetchResult:
    """Fetch one series from its default live source (retries happen in the HTTP session)."""
    session = sources.make_session(urls)
    kind, _symbol = sources.LIVE_SOURCES[series_id]
    if kind == "cboe":
        return sources.fetch_cboe(series_id, session, urls)
    key = fred_api_key()
    if key:
        return sources.fetch_fred_api(series_id, session, urls, key, vintages=vintages)
    return sources.fetch_fred_graph(series_id, session, urls)


@task(name="validate-source", cache_policy=NO_CACHE)
def ingest_source(fetch: sources.FetchResult, lags: ReleaseLags) -> IngestedSource:
    """Parse → point-in-time stamp → validate one source. Unparseable input fails the task."""
    logger = get_run_logger()
    rows = sources.parse(fetch)
    rows = sources.assign_available_at(rows, fetch.series_id, lags)
    try:
        result = validate(rows, fetch.source, fetch.series_id)
    except SchemaLevelError as exc:
        raise SchemaLevelError(f"{fetch.series_id} from {fetch.url}: {exc}") from exc
    if result.rows_quarantined:
        logger.warning(
            "%s: quarantined %d of %d rows (%s)",
            fetch.series_id,
            result.rows_quarantined,
            result.rows_parsed,
            ", ".join(sorted(set(result.quarantine["check_name"]))),
        )
    return IngestedSource(
        fetch=fetch,
        observations=result.observations,
        quarantine=result.quarantine,
        rows_parsed=result.rows_parsed,
        rows_accepted=result.rows_accepted,
        rows_quarantined=result.rows_quarantined,
        vintaged="realtime_start" in rows.columns,
    )


@task(name="load-facts", cache_policy=NO_CACHE)
def load_facts(work_path: str, ingested: list[IngestedSource], run_id: str) -> dict[str, int]:
    """Write observations, quarantine and the raw_fetch log in one transaction."""
    revision_session = calendar.session_on_or_after(pd.Timestamp.now(tz="UTC").tz_localize(None))
    now = datetime.now(UTC).replace(tzinfo=None)
    log = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "source": i.fetch.source,
                "series_id": i.fetch.series_id,
                "url": i.fetch.url,
                "status": i.fetch.status,
                "bytes": len(i.fetch.raw),
                "sha256": i.fetch.sha256,
                "rows_parsed": i.rows_parsed,
                "rows_accepted": i.rows_accepted,
                "rows_quarantined": i.rows_quarantined,
                "fetched_at": i.fetch.fetched_at.replace(tzinfo=None),
            }
            for i in ingested
        ]
    )
    counts = {"observations": 0, "quarantine": 0, "raw_fetch": 0}
    con = db.connect(work_path)
    try:
        with db.transaction(con):
            for i in ingested:
                counts["observations"] += db.insert_observations(
                    con, i.observations, revision_session, vintaged=i.vintaged, ingested_at=now
                )
                counts["quarantine"] += db.insert_quarantine(con, i.quarantine, run_id, now)
            counts["raw_fetch"] = db.append_rows(con, "raw_fetch", log)
    finally:
        con.close()
    return counts


# --------------------------------------------------------------------------- as_of


def latest_complete_session(work_path: str) -> pd.Timestamp:
    """The latest session on which every daily market series has a close."""
    con = db.connect(work_path, read_only=True)
    try:
        row = con.execute(
            f"""
            SELECT max(date) FROM (
                SELECT date FROM observations
                WHERE series_id IN ({", ".join(repr(s) for s in DAILY_MARKET_SERIES)})
                  AND value IS NOT NULL
                GROUP BY date HAVING count(DISTINCT series_id) = {len(DAILY_MARKET_SERIES)})
            """
        ).fetchall()
    finally:
        con.close()
    if row[0][0] is None:
        raise ValueError("the warehouse holds no session with SPX, VIX and VIX3M closes")
    return pd.Timestamp(row[0][0])


# --------------------------------------------------------------------------- signals


@task(name="signals", cache_policy=NO_CACHE)
def signal_states(work_path: str, as_of: list[pd.Timestamp], params: SignalParams) -> pd.DataFrame:
    """Signal states for each as_of, from observations knowable by the last of them."""
    con = db.connect(work_path, read_only=True)
    try:
        obs = db.read_observations(con, as_of=max(as_of))
    finally:
        con.close()
    return compute_signals(obs, pd.DatetimeIndex(as_of), params)


# --------------------------------------------------------------------------- derived writes


@task(name="write-derived", cache_policy=NO_CACHE)
def write_derived(
    work_path: str, tables: dict[str, pd.DataFrame], partitions: pd.DataFrame | None = None
) -> int:
    """Replace the as_of partitions of every derived table in ONE transaction."""
    written = 0
    con = db.connect(work_path)
    try:
        with db.transaction(con):
            for name, rows in tables.items():
                written += db.replace_partitions(con, name, rows, partitions=partitions)
    finally:
        con.close()
    return written


def params_default() -> Params:
    return Params()


def first_session(work_path: str) -> pd.Timestamp:
    """The first session with an SPX close on file (the start of a default backfill)."""
    con = db.connect(work_path, read_only=True)
    try:
        row = con.execute(
            "SELECT min(date) FROM observations WHERE series_id = 'spx' AND value IS NOT NULL"
        ).fetchall()
    finally:
        con.close()
    if row[0][0] is None:
        raise ValueError("the warehouse holds no SPX closes")
    return calendar.session_on_or_after(row[0][0])
