"""DuckDB storage: migrations, run isolation, idempotent writes, point-in-time reads.

Design (why it looks like this)
-------------------------------
DuckDB allows one read-write process per file, and an idle reader blocks a writer
(see NOTES). So the published warehouse file is **never opened read-write in
place**. A run works on a private *working copy* of it; every task of the run
opens that copy, writes, and closes. When the run succeeds, the working copy is
checkpointed and atomically renamed over the published file (``os.replace``).
Consequences:

* a failed run leaves the warehouse exactly as it was (its working copy is
  discarded; only a ``runs`` row with ``status='failed'`` is recorded);
* SQL users can hold the published file open read-only at any time, even while
  a run writes (a reader keeps the inode it opened; the next open sees the new
  file);
* runs are serialised by an advisory lock file next to the warehouse.

Writes are idempotent: facts (``observations``, ``quarantine``) are
insert-if-absent on their keys, derived tables are replaced per ``as_of``
partition inside one transaction.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from tasks.market import calendar

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
DEFAULT_DB_PATH = Path("data/condorcap.duckdb")

# relative tolerance under which a re-fetched value is the same observation, not a revision
# (the snapshot's Yahoo closes carry float32 noise that other sources round away)
REVISION_RTOL = 1e-6


def default_db_path() -> Path:
    """The warehouse path: ``$CONDORCAP_DB`` or ``./data/condorcap.duckdb``."""
    return Path(os.environ.get("CONDORCAP_DB", DEFAULT_DB_PATH))


# --------------------------------------------------------------------------- connections


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=read_only)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT, or ROLLBACK and re-raise.

    DuckDB's COMMIT on an aborted transaction silently rolls back, so the
    rollback path must be explicit.
    """
    con.execute("BEGIN TRANSACTION").fetchall()
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK").fetchall()
        raise
    con.execute("COMMIT").fetchall()


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the versioned SQL migrations not yet applied; return their names."""
    _run(
        con,
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)",
    )
    done = {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.stem in done:
            continue
        with transaction(con):
            _run(con, path.read_text())
            _run(con, "INSERT INTO schema_migrations VALUES (?, ?)", [path.stem, _now()])
        applied.append(path.stem)
    return applied


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


# --------------------------------------------------------------------------- run isolation


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse lock."""


class RunWorkspace:
    """A run's private working copy of the warehouse, published atomically on success.

    Use as a context manager::

        with RunWorkspace(db_path) as ws:
            with ws.connect() as con: ...
            ws.publish()

    Leaving the block without :meth:`publish` (or by an exception) discards the copy.
    """

    def __init__(self, db_path: str | Path, flow: str = "", wait: bool = True) -> None:
        self.db_path = Path(db_path)
        self.flow = flow  # when set, a run that raises is logged in `runs` as failed
        self.as_of: object = None
        self.started_at = _now()
        self.wait = wait
        self.run_id = new_run_id()
        self.work_path = self.db_path.with_name(f".{self.db_path.name}.run-{self.run_id}")
        self._lock_file: object | None = None
        self.published = False

    def __enter__(self) -> RunWorkspace:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.db_path.with_name(f".{self.db_path.name}.lock")
        fh = open(lock_path, "w")  # held for the run's lifetime
        try:
            fcntl.flock(fh, fcntl.LOCK_EX if self.wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.close()
            raise WarehouseBusy(f"another condorcap run holds {lock_path}") from exc
        self._lock_file = fh
        if self.db_path.exists():
            shutil.copyfile(self.db_path, self.work_path)
        con = connect(self.work_path)
        try:
            migrate(con)
        finally:
            con.close()
        return self

    def connect(self) -> duckdb.DuckDBPyConnection:
        return connect(self.work_path)

    def publish(self) -> None:
        """Checkpoint the working copy and atomically replace the published warehouse."""
        con = connect(self.work_path)
        try:
            con.execute("CHECKPOINT").fetchall()
        finally:
            con.close()
        wal = self.work_path.with_name(self.work_path.name + ".wal")
        if wal.exists():  # a checkpointed, closed database has no WAL left to carry
            wal.unlink()
        os.replace(self.work_path, self.db_path)
        self.published = True

    def complete(self, rows_written: int, as_of: object = None) -> None:
        """Log the run as completed (in the working copy) and publish it."""
        con = self.connect()
        try:
            with transaction(con):
                record_run(
                    con,
                    self.run_id,
                    self.flow,
                    as_of if as_of is not None else self.as_of,
                    self.started_at,
                    "completed",
                    rows_written,
                )
        finally:
            con.close()
        self.publish()

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        for p in (self.work_path, self.work_path.with_name(self.work_path.name + ".wal")):
            if p.exists():
                p.unlink()
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)  # type: ignore[arg-type]
            self._lock_file.close()  # type: ignore[attr-defined]
            self._lock_file = None
        if exc is not None and self.flow and not self.published and isinstance(exc, Exception):
            # the data tables stay as they were; only the failure itself is recorded
            record_failed_run(
                self.db_path, self.run_id, self.flow, self.as_of, self.started_at, str(exc)
            )


# --------------------------------------------------------------------------- writes


def _register(con: duckdb.DuckDBPyConnection, name: str, df: pd.DataFrame) -> None:
    con.register(name, df)


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> None:
    """Execute a statement and drain its result.

    DuckDB 2 refuses further work (``register``) on a connection with an
    undrained result, and DML returns one (the row count).
    """
    con.execute(sql, params or []).fetchall()


def insert_observations(
    con: duckdb.DuckDBPyConnection,
    obs: pd.DataFrame,
    revision_session: pd.Timestamp,
    vintaged: bool = False,
    ingested_at: datetime | None = None,
) -> int:
    """Insert observations, keeping revisions as new rows; return rows inserted.

    * A (series_id, date) not yet stored is inserted with its own ``available_at``.
    * A value equal (within :data:`REVISION_RTOL`) to *any* stored vintage of that
      (series_id, date) is a repeat and is skipped: reruns never duplicate, and
      re-ingesting an older source cannot roll a newer revision back.
    * Any other value is a *revision*, inserted as a new row knowable from the latest of
      its own ``available_at``, ``revision_session`` (the session we first saw it) and
      the session after the newest stored vintage — so a same-day correction is kept,
      not lost on the key, and earlier values stay for point-in-time reads.

    With ``vintaged`` (FRED ALFRED rows that carry their own ``realtime_start``) rows are
    inserted by key.
    """
    if obs.empty:
        return 0
    ingested_at = ingested_at or _now()
    df = obs[["series_id", "date", "value", "available_at", "source"]].copy()
    df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    df["available_at"] = pd.to_datetime(df["available_at"]).astype("datetime64[ns]")
    if not vintaged:
        df = _new_and_revised(con, df, pd.Timestamp(revision_session))
        if df.empty:
            return 0
    df["date"] = df["date"].dt.date
    df["available_at"] = df["available_at"].dt.date
    _register(con, "incoming_obs", df)
    before = con.execute("SELECT count(*) FROM observations").fetchall()[0][0]
    _run(
        con,
        """
        INSERT INTO observations
        SELECT series_id, date, value, available_at, source, ?::TIMESTAMP FROM incoming_obs
        ON CONFLICT DO NOTHING
        """,
        [ingested_at],
    )
    con.unregister("incoming_obs")
    return con.execute("SELECT count(*) FROM observations").fetchall()[0][0] - before


def _new_and_revised(
    con: duckdb.DuckDBPyConnection, df: pd.DataFrame, revision_session: pd.Timestamp
) -> pd.DataFrame:
    """The incoming rows that are new or revisions, revisions re-stamped (see insert_observations)."""
    _register(con, "incoming_keys", df[["series_id", "date"]].drop_duplicates())
    stored = con.execute(
        """
        SELECT o.series_id, o.date, o.value AS stored_value, o.available_at AS stored_at
        FROM observations o JOIN incoming_keys k USING (series_id, date)
        """
    ).df()
    con.unregister("incoming_keys")
    if stored.empty:
        return df
    stored["date"] = pd.to_datetime(stored["date"]).astype("datetime64[ns]")
    stored["stored_at"] = pd.to_datetime(stored["stored_at"]).astype("datetime64[ns]")
    pairs = df.reset_index().merge(stored, on=["series_id", "date"], how="inner")
    same = (pairs["value"].isna() & pairs["stored_value"].isna()) | (
        (pairs["value"] - pairs["stored_value"]).abs()
        <= REVISION_RTOL * np.maximum(1.0, pairs["stored_value"].abs())
    )
    per_row = (
        pairs.assign(same=same)
        .groupby("index")
        .agg(seen=("same", "any"), newest=("stored_at", "max"))
    )
    out = df.join(per_row)
    out = out[~out["seen"].fillna(False).astype(bool)].copy()
    revised = out["newest"].notna()
    if revised.any():
        after_newest = pd.DatetimeIndex(
            calendar.roll_to_sessions(out.loc[revised, "newest"] + pd.Timedelta(days=1))
        )
        stamp = np.maximum(
            np.maximum(out.loc[revised, "available_at"].to_numpy(), after_newest.to_numpy()),
            np.datetime64(revision_session.normalize(), "ns"),
        )
        out.loc[revised, "available_at"] = stamp
    return out.drop(columns=["seen", "newest"])


def insert_quarantine(
    con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, run_id: str, at: datetime | None = None
) -> int:
    """Record quarantined rows; a row already quarantined for the same check is kept as first seen."""
    if rows.empty:
        return 0
    df = rows[["source", "series_id", "raw", "check_name", "detail"]].copy()
    df["raw"] = df["raw"].astype(str)
    _register(con, "incoming_q", df)
    before = con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0]
    _run(
        con,
        """
        INSERT INTO quarantine
        SELECT DISTINCT ON (source, series_id, raw, check_name)
               source, series_id, raw, check_name, detail, ?, ?::TIMESTAMP
        FROM incoming_q
        ON CONFLICT DO NOTHING
        """,
        [run_id, at or _now()],
    )
    con.unregister("incoming_q")
    return con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0] - before


def append_rows(con: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame) -> int:
    """Append a frame to a log table (``raw_fetch``), matching columns by name."""
    if rows.empty:
        return 0
    cols = ", ".join(rows.columns)
    _register(con, "incoming_rows", rows)
    _run(con, f"INSERT INTO {table} ({cols}) SELECT {cols} FROM incoming_rows")
    con.unregister("incoming_rows")
    return len(rows)


def replace_partitions(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: pd.DataFrame,
    partition: Sequence[str] = ("as_of",),
    partitions: pd.DataFrame | None = None,
) -> int:
    """Replace the rows of ``table`` in the partitions present in ``rows``.

    Deletes every row whose ``partition`` columns match a distinct value of
    ``partitions`` (default: those in ``rows``), then inserts ``rows``. Call it
    inside :func:`transaction` so a rerun swaps a date's rows atomically.
    """
    keys = (partitions if partitions is not None else rows)[list(partition)].drop_duplicates()
    if keys.empty:
        return 0
    keys = keys.copy()
    for c in keys.columns:
        if pd.api.types.is_datetime64_any_dtype(keys[c]):
            keys[c] = keys[c].dt.date
    _register(con, "partition_keys", keys)
    cond = " AND ".join(f"t.{c} = k.{c}" for c in partition)
    _run(con, f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM partition_keys k WHERE {cond})")
    con.unregister("partition_keys")
    if rows.empty:
        return 0
    return append_rows(con, table, rows)


def record_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    flow: str,
    as_of: object,
    started_at: datetime,
    status: str,
    rows_written: int,
    message: str | None = None,
) -> None:
    _run(
        con,
        "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            flow,
            None if as_of is None else pd.Timestamp(as_of).date(),
            started_at,
            _now(),
            status,
            rows_written,
            message,
        ],
    )


def record_failed_run(
    db_path: str | Path, run_id: str, flow: str, as_of: object, started_at: datetime, message: str
) -> None:
    """Log a failed run without touching any other table (a small isolated publish)."""
    with RunWorkspace(db_path) as ws:
        con = ws.connect()
        try:
            with transaction(con):
                record_run(con, run_id, flow, as_of, started_at, "failed", 0, message[:2000])
        finally:
            con.close()
        ws.publish()


# --------------------------------------------------------------------------- reads


def read_observations(
    con: duckdb.DuckDBPyConnection,
    as_of: object | None = None,
    series_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Observations knowable at ``as_of``'s close (``available_at <= as_of``), all vintages."""
    sql = "SELECT series_id, date, value, available_at, source FROM observations WHERE TRUE"
    params: list[object] = []
    if as_of is not None:
        sql += " AND available_at <= ?"
        params.append(pd.Timestamp(as_of).date())
    if series_ids:
        sql += f" AND series_id IN ({', '.join('?' for _ in series_ids)})"
        params.extend(series_ids)
    df = con.execute(sql + " ORDER BY series_id, date, available_at", params).df()
    for c in ("date", "available_at"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    return df


def query(db_path: str | Path, sql: str) -> pd.DataFrame:
    """Run one SQL statement against the published warehouse, read-only."""
    path = Path(db_path)
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `condorcap run` first")
    con = connect(path, read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()
