"""DuckDB storage, connection level: migrations, idempotent writes, point-in-time reads.

The functions here take an open connection; :mod:`warehouse.store` wraps them in the
warehouse object the rest of the project uses (context-managed connections, named
reads and writes, the run's working copy and its publish).

Design (why it looks like this)
-------------------------------
DuckDB allows one read-write process per file, and an idle read-only holder blocks
a writer (measured with DuckDB 2.0: the writer's open fails at once with "Could not
set lock on file"). So the published warehouse file is **never opened read-write in
place**. A run works on a private *working copy* of it; every task of the run
opens that copy, writes, and closes. When the run succeeds, the working copy is
checkpointed, fsynced and atomically renamed over the published file
(``os.replace``, then an fsync of the folder). Consequences:

* a failed run leaves the warehouse exactly as it was (its working copy is
  discarded; only a ``runs`` row with ``status='failed'`` is recorded);
* SQL users can hold the published file open read-only at any time, even while
  a run writes (a reader keeps the inode it opened; the next open sees the new
  file);
* runs are serialised by an advisory lock file next to the warehouse; a later run
  deletes the working copies of killed runs and logs them as ``crashed``.

Writes are idempotent: facts (``observations``, ``quarantine``) are
insert-if-absent on their keys, derived tables are replaced per ``as_of``
partition inside one transaction.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
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
    """A raw connection (the caller closes it; prefer :class:`warehouse.store.Warehouse`)."""
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
        try:
            con.execute("ROLLBACK").fetchall()
        except duckdb.Error:  # a failed rollback must not hide why the block failed
            pass
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
            _run(con, "INSERT INTO schema_migrations VALUES (?, ?)", [path.stem, now()])
        applied.append(path.stem)
    return applied


def now() -> datetime:
    """Naive UTC now (the warehouse's TIMESTAMP convention)."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


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
    ingested_at = ingested_at or now()
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
        [run_id, at or now()],
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


def delete_all(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Empty ``table`` (a table replaced whole, e.g. the modelled ladder)."""
    _run(con, f"DELETE FROM {table}")


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
            now(),
            status,
            rows_written,
            message,
        ],
    )


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
    """Run the project's own (trusted) SQL against a warehouse file, read-only.

    Not for user input: ``condorcap sql`` goes through the sandbox of :mod:`warehouse.sql`.
    """
    path = Path(db_path)
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `condorcap run` first")
    with closing(connect(path, read_only=True)) as con:
        return con.execute(sql).df()
