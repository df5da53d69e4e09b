"""The daily flow: ingest → validate → load → signals → size → publish."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
from prefect import flow
from prefect.logging import get_run_logger

from schemas.config import Params, SourceUrls
from tasks import calendar, sources, steps
from warehouse import db

SNAPSHOT_DIR = Path(__file__).resolve().parent.parent / "warehouse" / "snapshot"
LIVE_SERIES = tuple(sources.LIVE_SOURCES)


@dataclass
class DailyResult:
    """What a daily run did; the CLI prints it, the artifacts show it."""

    run_id: str
    as_of: pd.Timestamp | None
    status: str
    message: str = ""
    loaded: dict[str, int] = field(default_factory=dict)
    quarantined: pd.DataFrame = field(default_factory=pd.DataFrame)
    signals: pd.DataFrame = field(default_factory=pd.DataFrame)
    rows_written: int = 0
    seconds: float = 0.0


def ingest(
    source: str, snapshot_dir: str | None, urls: SourceUrls, params: Params
) -> list[steps.IngestedSource]:
    """Acquire every source (snapshot files or live endpoints) and validate each one."""
    if source == "snapshot":
        fetches = steps.read_snapshot(str(snapshot_dir or SNAPSHOT_DIR))
    elif source == "live":
        futures = [steps.fetch_live.submit(s, urls) for s in LIVE_SERIES]
        fetches = [f.result() for f in futures]
        # the FOMC calendar is shipped with the project, refreshed by updating the snapshot
        fetches += [
            f
            for f in steps.read_snapshot(str(snapshot_dir or SNAPSHOT_DIR))
            if f.series_id == "fomc"
        ]
    else:
        raise ValueError(f"source must be 'snapshot' or 'live', not {source!r}")
    futures = [steps.ingest_source.submit(f, params.release_lags) for f in fetches]
    return [f.result() for f in futures]


@flow(name="daily", log_prints=True)
def daily_flow(
    as_of: date | str | None = None,
    source: str = "snapshot",
    snapshot_dir: str | None = None,
    db_path: str | None = None,
    config_path: str | None = None,
) -> DailyResult:
    """Run the day's pipeline for ``as_of`` (default: the latest session with complete data)."""
    logger = get_run_logger()
    started = time.perf_counter()
    started_at = datetime.now(UTC).replace(tzinfo=None)
    db_file = Path(db_path) if db_path else db.default_db_path()
    params = Params()
    urls = SourceUrls()

    if as_of is not None and not calendar.is_session(as_of):
        msg = f"{pd.Timestamp(as_of).date()} is not an NYSE session: nothing to size"
        logger.info(msg)
        return DailyResult(run_id="", as_of=pd.Timestamp(as_of), status="skipped", message=msg)

    with db.RunWorkspace(db_file) as ws:
        try:
            ingested = ingest(source, snapshot_dir, urls, params)
            loaded = steps.load_facts(str(ws.work_path), ingested, ws.run_id)
            day = (
                pd.Timestamp(as_of)
                if as_of is not None
                else steps.latest_complete_session(str(ws.work_path))
            )
            sig = steps.signal_states(str(ws.work_path), [day], params.signals)
            derived = {"signal_states": sig}
            written = steps.write_derived(
                str(ws.work_path), derived, pd.DataFrame({"as_of": [day]})
            )
            rows_written = written + sum(loaded.values())
            con = ws.connect()
            try:
                with db.transaction(con):
                    db.record_run(
                        con, ws.run_id, "daily", day, started_at, "completed", rows_written
                    )
            finally:
                con.close()
            ws.publish()
        except Exception as exc:
            db_exc = exc
        else:
            db_exc = None
    if db_exc is not None:
        db.record_failed_run(db_file, ws.run_id, "daily", as_of, started_at, str(db_exc))
        raise db_exc

    quarantined = pd.concat([i.quarantine for i in ingested], ignore_index=True)
    return DailyResult(
        run_id=ws.run_id,
        as_of=day,
        status="completed",
        loaded=loaded,
        quarantined=quarantined,
        signals=sig,
        rows_written=rows_written,
        seconds=time.perf_counter() - started,
    )
