"""The warehouse object: context-managed connections, named reads and writes, crash-safe publish.

Every flow, the report and the CLI reach DuckDB through this module (and the low-level
helpers of :mod:`warehouse.db` it builds on), so SQL lives in ``warehouse/`` only.

:class:`Warehouse` wraps one DuckDB file, in the spirit of Dagster's ``DuckDBResource``:

    wh = Warehouse(path)
    with wh.read() as con: ...     # read-only, closed on exit
    with wh.write() as con: ...    # BEGIN … COMMIT, or ROLLBACK and re-raise; closed on exit

and names the reads and writes the pipeline does (:meth:`Warehouse.latest_complete_session`,
:meth:`Warehouse.load_facts`, :meth:`Warehouse.write_derived`, …). Derived tables are
checked against their pandera contracts (:mod:`schemas.tables`) before they are written.

:class:`RunWorkspace` is a run's private working copy of the published file, published
by ``os.replace`` on success (see :mod:`warehouse.db` for why), with crash hygiene:
working copies left by killed runs are removed and logged as ``crashed`` runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import IO

import duckdb
import pandas as pd

from schemas.tables import RUN_STATUSES, check_table
from tasks.market import calendar
from warehouse import db

#: the daily market series a session needs before it can be sized (SPX, VIX, VIX3M closes)
DAILY_MARKET_SERIES: tuple[str, ...] = ("spx", "vix", "vix3m")
#: the ladder tables the modelled history replaces whole on every run
HISTORY_TABLES: tuple[str, ...] = ("ladder_events", "hedge_events", "ladder_daily")


@dataclass(frozen=True)
class FactBatch:
    """One source's validated facts: observations, quarantined rows, and whether rows are vintaged."""

    observations: pd.DataFrame
    quarantine: pd.DataFrame
    vintaged: bool = False


class Warehouse:
    """One DuckDB warehouse file: connections, named reads and idempotent writes.

    Parameters
    ----------
    path : the DuckDB file (the published warehouse, or a run's working copy).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r})"

    # ----------------------------------------------------------------------- connections

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection, closed when the block ends."""
        if not self.path.exists():
            raise FileNotFoundError(f"no warehouse at {self.path}: run `condorcap run` first")
        con = db.connect(self.path, read_only=True)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection inside one transaction, closed when the block ends.

        The block's work is committed when it ends normally and rolled back when it
        raises (explicitly: DuckDB's COMMIT on an aborted transaction rolls back silently).
        """
        con = db.connect(self.path)
        try:
            with db.transaction(con):
                yield con
        finally:
            con.close()

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection with no transaction of its own (migrations, CHECKPOINT)."""
        con = db.connect(self.path)
        try:
            yield con
        finally:
            con.close()

    def migrate(self) -> list[str]:
        """Apply the pending migrations; return their names."""
        with self.connect() as con:
            return db.migrate(con)

    # ----------------------------------------------------------------------- reads

    def query(self, sql: str, params: Sequence[object] | None = None) -> pd.DataFrame:
        """A trusted query (the project's own SQL) as a DataFrame. Users go through ``sql.py``."""
        with self.read() as con:
            return con.execute(sql, list(params or [])).df()

    def observations(
        self, as_of: object | None = None, series_ids: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Observations knowable at ``as_of``'s close, every vintage (see :func:`db.read_observations`)."""
        with self.read() as con:
            return db.read_observations(con, as_of=as_of, series_ids=series_ids)

    def latest_complete_session(self, series: Sequence[str] = DAILY_MARKET_SERIES) -> pd.Timestamp:
        """The latest date on which every one of ``series`` has a (non-missing) close."""
        marks = ", ".join("?" for _ in series)
        day = self._scalar(
            f"""
            SELECT max(date) FROM (
                SELECT date FROM observations
                WHERE series_id IN ({marks}) AND value IS NOT NULL
                GROUP BY date HAVING count(DISTINCT series_id) = ?)
            """,
            [*series, len(series)],
        )
        if day is None:
            upper = [s.upper() for s in series]
            names = " and ".join([", ".join(upper[:-1]), upper[-1]] if len(upper) > 1 else upper)
            raise ValueError(f"the warehouse holds no session with {names} closes")
        return pd.Timestamp(day)

    def first_session(self, series_id: str = "spx") -> pd.Timestamp:
        """The first session on or after the first close of ``series_id`` on file."""
        day = self._scalar(
            "SELECT min(date) FROM observations WHERE series_id = ? AND value IS NOT NULL",
            [series_id],
        )
        if day is None:
            raise ValueError(f"the warehouse holds no {series_id.upper()} closes")
        return calendar.session_on_or_after(day)

    def last_fingerprints(self) -> dict[tuple[str, str, str], str]:
        """The fingerprint last logged per fetch ``(source, series_id, url)`` (incremental ingest).

        A series with rows quarantined as ``future_date`` is left out: those rows may have
        become knowable since, so its payload must be validated again even if unchanged.
        """
        if not self.path.exists():
            return {}
        rows = self.query(
            """
            SELECT source, series_id, url, arg_max(fingerprint, run_id)
            FROM raw_fetch
            WHERE series_id IS NOT NULL AND series_id NOT IN (
                SELECT series_id FROM quarantine WHERE check_name = 'future_date')
            GROUP BY source, series_id, url
            """
        )
        return {
            (r[0], r[1], r[2]): r[3] for r in rows.itertuples(index=False) if isinstance(r[3], str)
        }

    def stored_history(self) -> StoredHistory | None:
        """The modelled ladder tables as stored by the newest run (None when empty or pre-013)."""
        with self.read() as con:
            head = con.execute(
                "SELECT max(computed_as_of), any_value(params_fingerprint) FROM ladder_daily"
            ).fetchall()[0]
            if head[0] is None or head[1] is None:
                return None
            frames = {t: _dates_ns(con.execute(f"SELECT * FROM {t}").df()) for t in HISTORY_TABLES}
        return StoredHistory(
            frames["ladder_events"], frames["hedge_events"],
            frames["ladder_daily"].sort_values("as_of").reset_index(drop=True),
            pd.Timestamp(head[0]), str(head[1]),
        )  # fmt: skip

    def first_new_date(
        self, series: Sequence[str], after: pd.Timestamp, until: pd.Timestamp
    ) -> pd.Timestamp | None:
        """The earliest observation date of ``series`` that became knowable in ``(after, until]``.

        Everything dated before it was knowable, with the same values, at ``after``'s close.
        """
        marks = ", ".join("?" for _ in series)
        day = self._scalar(
            f"SELECT min(date) FROM observations WHERE series_id IN ({marks}) "
            "AND available_at > ? AND available_at <= ?",
            [*series, pd.Timestamp(after).date(), pd.Timestamp(until).date()],
        )
        return None if day is None else pd.Timestamp(day)

    def _scalar(self, sql: str, params: Sequence[object]) -> object:
        with self.read() as con:
            return con.execute(sql, list(params)).fetchall()[0][0]

    # ----------------------------------------------------------------------- writes

    def load_facts(
        self,
        batches: Sequence[FactBatch],
        fetch_log: pd.DataFrame,
        run_id: str,
        revision_session: pd.Timestamp,
        ingested_at: datetime,
    ) -> dict[str, int]:
        """Insert observations and quarantined rows (idempotently) and the fetch log, in one transaction."""
        counts = {"observations": 0, "quarantine": 0, "raw_fetch": 0}
        with self.write() as con:
            for b in batches:
                counts["observations"] += db.insert_observations(
                    con, b.observations, revision_session, b.vintaged, ingested_at
                )
                counts["quarantine"] += db.insert_quarantine(con, b.quarantine, run_id, ingested_at)
            counts["raw_fetch"] = db.append_rows(con, "raw_fetch", fetch_log)
        return counts

    def write_derived(
        self, tables: Mapping[str, pd.DataFrame], partitions: pd.DataFrame | None = None
    ) -> int:
        """Replace the as_of partitions of every derived table in ONE transaction.

        Each frame is checked against its table's contract first (nothing is written if one
        fails). Tables with a ``portfolio_id`` are replaced per (as_of, portfolio_id): a run
        replaces only the portfolios it sized, so a ``size-many`` batch and the daily config
        can share a day. The others are replaced per ``as_of`` of ``partitions`` (default:
        the dates in the frame).
        """
        for name, rows in tables.items():
            check_table(name, rows)
        written = 0
        with self.write() as con:
            for name, rows in tables.items():
                if "portfolio_id" in rows.columns:
                    written += db.replace_partitions(con, name, rows, ("as_of", "portfolio_id"))
                else:
                    written += db.replace_partitions(con, name, rows, partitions=partitions)
        return written

    def write_history(
        self, tables: Mapping[str, pd.DataFrame], computed_as_of: pd.Timestamp
    ) -> int:
        """Replace the modelled ladder tables whole, in one transaction, unless a newer run wrote them.

        The tables hold the history as of the newest ``as_of`` run so far: rerunning an
        older day leaves them alone (its own history is a prefix it would truncate them to).
        """
        unknown = set(tables) - set(HISTORY_TABLES)
        if unknown:
            raise ValueError(f"not a history table: {', '.join(sorted(unknown))}")
        written = 0
        with self.write() as con:
            newest = con.execute("SELECT max(computed_as_of) FROM ladder_daily").fetchall()[0][0]
            if newest is not None and pd.Timestamp(newest) > pd.Timestamp(computed_as_of):
                return 0
            for name, rows in tables.items():
                db.delete_all(con, name)
                written += db.append_rows(con, name, rows)
        return written

    def record_run(
        self,
        run_id: str,
        flow: str,
        as_of: object,
        started_at: datetime,
        status: str,
        rows_written: int,
        message: str | None = None,
    ) -> None:
        """Insert (or replace) one ``runs`` row."""
        check_run_status(status)
        with self.write() as con:
            db.record_run(con, run_id, flow, as_of, started_at, status, rows_written, message)

    def export_parquet(
        self, table: str, out: Path, where: tuple[str, str, object] | None = None
    ) -> int:
        """Write ``table`` (optionally rows ``column op value``) to the Parquet file ``out``.

        ``table`` and the ``where`` column/operator are identifiers the caller has checked
        against an allow-list (they cannot be bound parameters); ``value`` is bound.
        """
        select = f"SELECT * FROM {table}"
        params: list[object] = []
        if where is not None:
            column, op, value = where
            if op not in ("=", "<="):
                raise ValueError(f"unsupported operator {op!r}")
            select += f" WHERE {column} {op} ?"
            params.append(value)
        literal = str(out).replace("'", "''")  # a file name is a string literal in COPY
        with self.read() as con:
            n = con.execute(f"SELECT count(*) FROM ({select})", params).fetchall()[0][0]
            con.execute(f"COPY ({select}) TO '{literal}' (FORMAT parquet)", params).fetchall()
        return int(n)

    # ----------------------------------------------------------------------- publish

    def checkpoint_and_sync(self) -> None:
        """Fold the WAL into the file, drop the WAL, and fsync the file (before a rename)."""
        with self.connect() as con:
            con.execute("CHECKPOINT").fetchall()
        wal = _wal(self.path)
        if wal.exists():  # a checkpointed, closed database has no WAL left to carry
            wal.unlink()
        _fsync_file(self.path)


@dataclass(frozen=True)
class StoredHistory:
    """The stored modelled ladder: its three tables, the run day and the parameters' fingerprint."""

    condor_events: pd.DataFrame
    hedge_events: pd.DataFrame
    daily: pd.DataFrame
    computed_as_of: pd.Timestamp
    params_fingerprint: str


def _dates_ns(df: pd.DataFrame) -> pd.DataFrame:
    """DuckDB returns DATE columns as datetime64[us]; the method's frames are [ns]."""
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].astype("datetime64[ns]")
    return df


def check_run_status(status: str) -> None:
    if status not in RUN_STATUSES:
        raise ValueError(f"runs.status must be one of {', '.join(RUN_STATUSES)}, not {status!r}")


# --------------------------------------------------------------------------- run isolation


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse lock."""


_COPY_RE = re.compile(r"\.run-(?P<run_id>[0-9T]+-[0-9a-f]+)(?:\.p(?P<pid>\d+))?(?:\.wal)?$")


@dataclass(frozen=True)
class StaleCopy:
    """A working copy left behind by a run that died (kill -9, power loss)."""

    run_id: str
    pid: int | None
    files: tuple[Path, ...]
    flow: str = "unknown"


class RunWorkspace:
    """A run's private working copy of the warehouse, published atomically on success.

    Use as a context manager::

        with RunWorkspace(db_path, flow="daily") as ws:
            ws.warehouse.write_derived(...)
            ws.complete(rows)

    Leaving the block without :meth:`publish` (or by an exception) discards the copy.
    On entry (with the lock held) the copies of dead runs are deleted and logged as
    ``crashed`` runs; the lock file names the holder (pid, run id, flow) meanwhile.
    """

    def __init__(self, db_path: str | Path, flow: str = "", wait: bool = True) -> None:
        self.db_path = Path(db_path)
        self.flow = flow  # when set, a run that raises is logged in `runs` as failed
        self.as_of: object = None
        self.started_at = db.now()
        self.wait = wait
        self.run_id = db.new_run_id()
        # the owner's pid is in the name, so a later run can tell a dead run's copy
        self.work_path = self.db_path.with_name(
            f".{self.db_path.name}.run-{self.run_id}.p{os.getpid()}"
        )
        self.lock_path = self.db_path.with_name(f".{self.db_path.name}.lock")
        self.warehouse = Warehouse(self.work_path)
        self.crashed: list[StaleCopy] = []
        self._previous_holder: dict[str, object] = {}
        self._lock_file: IO[str] | None = None
        self.published = False

    def __enter__(self) -> RunWorkspace:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self.crashed = _dead_runs(remove_stale_copies(self.db_path), self._previous_holder)
            if self.db_path.exists():
                shutil.copyfile(self.db_path, self.work_path)
            self.warehouse.migrate()
            self._record_crashed(self.crashed)
        except BaseException:
            self._cleanup()
            raise
        return self

    def _lock(self) -> None:
        fh = open(self.lock_path, "a+")  # held for the run's lifetime; "a+" keeps a holder's note
        try:
            fcntl.flock(fh, fcntl.LOCK_EX if self.wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.close()
            raise WarehouseBusy(f"another condorcap run holds {self.lock_path}") from exc
        fh.seek(0)
        self._previous_holder = _read_note(fh.read())  # non-empty only if its holder died
        note = {"pid": os.getpid(), "run_id": self.run_id, "flow": self.flow}
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(note) + "\n")
        fh.flush()
        self._lock_file = fh

    @property
    def path(self) -> str:
        """The working copy's path (what the Prefect tasks of the run are given)."""
        return str(self.work_path)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A raw read-write connection to the working copy (the caller closes it)."""
        return db.connect(self.work_path)

    def publish(self) -> None:
        """Checkpoint and fsync the working copy, rename it over the warehouse, fsync the folder."""
        self.warehouse.checkpoint_and_sync()
        os.replace(self.work_path, self.db_path)
        _fsync_dir(self.db_path.parent)
        self.published = True

    def complete(self, rows_written: int, as_of: object = None) -> None:
        """Log the run as completed (in the working copy) and publish it."""
        self.warehouse.record_run(
            self.run_id,
            self.flow,
            as_of if as_of is not None else self.as_of,
            self.started_at,
            "completed",
            rows_written,
        )
        self.publish()

    def _record_crashed(self, crashed: Sequence[StaleCopy]) -> None:
        """Log each dead run's copy as a ``crashed`` run."""
        for c in crashed:
            who = f"pid {c.pid}" if c.pid is not None else "pid not recorded"
            what = "its working copy was removed" if c.files else "it left no working copy"
            self.warehouse.record_run(
                c.run_id, c.flow, None, _started_at(c.run_id), "crashed", 0,
                f"killed mid-run ({who}): {what}; found by run {self.run_id}",
            )  # fmt: skip

    def _cleanup(self) -> None:
        for p in (self.work_path, _wal(self.work_path)):
            if p.exists():
                p.unlink()
        if self._lock_file is not None:
            self._lock_file.seek(0)
            self._lock_file.truncate()  # an empty note: the holder left cleanly
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self._cleanup()
        if exc is not None and self.flow and not self.published and isinstance(exc, Exception):
            # the data tables stay as they were; only the failure itself is recorded
            # (with the dead runs this run found, whose copies are already gone)
            record_failed_run(
                self.db_path, self.run_id, self.flow, self.as_of, self.started_at, str(exc),
                crashed=self.crashed,
            )  # fmt: skip


def record_failed_run(
    db_path: str | Path,
    run_id: str,
    flow: str,
    as_of: object,
    started_at: datetime,
    message: str,
    crashed: Sequence[StaleCopy] = (),
) -> None:
    """Log a failed run without touching any other table (a small isolated publish)."""
    with RunWorkspace(db_path) as ws:
        ws._record_crashed(crashed)
        ws.warehouse.record_run(run_id, flow, as_of, started_at, "failed", 0, message[:2000])
        ws.publish()


def stale_copies(db_path: Path) -> list[StaleCopy]:
    """The working copies next to ``db_path`` whose owner process is gone.

    Only call with the warehouse lock held: every live run holds that lock for as long
    as its copy exists, so the pid test is a second safeguard (a copy named without a
    pid, from before pids were recorded, is taken as dead for that reason).
    """
    found: dict[str, list[Path]] = {}
    pids: dict[str, int | None] = {}
    for p in db_path.parent.glob(f".{db_path.name}.run-*"):
        m = _COPY_RE.search(p.name)
        if m is None:
            continue
        run_id = m["run_id"]
        found.setdefault(run_id, []).append(p)
        pids[run_id] = int(m["pid"]) if m["pid"] else None
    return [
        StaleCopy(run_id, pids[run_id], tuple(sorted(files)))
        for run_id, files in sorted(found.items())
        if pids[run_id] is None or not _alive(pids[run_id])  # type: ignore[arg-type]
    ]


def _dead_runs(removed: list[StaleCopy], note: dict[str, object]) -> list[StaleCopy]:
    """The removed copies, plus the lock note's run if it died before making one.

    A note is left in the lock file only by a holder that never released it (a clean
    exit empties it), so its run is dead too; it names that run's flow.
    """
    run_id, pid = note.get("run_id"), note.get("pid")
    if not isinstance(run_id, str) or not isinstance(pid, int) or _alive(pid):
        return removed
    flow = str(note.get("flow") or "unknown")
    dead = [replace(c, flow=flow) if c.run_id == run_id else c for c in removed]
    if not any(c.run_id == run_id for c in removed):
        dead.append(StaleCopy(run_id, pid, (), flow))
    return dead


def remove_stale_copies(db_path: Path) -> list[StaleCopy]:
    """Delete the working copies (and WALs) of dead runs; return what was removed."""
    gone = stale_copies(db_path)
    for c in gone:
        for f in c.files:
            f.unlink(missing_ok=True)
    return gone


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A killed child its parent has not reaped yet still answers kill(pid, 0)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _read_note(text: str) -> dict[str, object]:
    """The lock file's holder note (pid, run_id, flow); {} when empty or unreadable."""
    try:
        note = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return note if isinstance(note, dict) else {}


def _started_at(run_id: str) -> datetime:
    try:
        return datetime.strptime(run_id.split("-", 1)[0], "%Y%m%dT%H%M%S")
    except ValueError:
        return db.now()


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (POSIX: the directory entry needs its own fsync)."""
    with contextlib.suppress(OSError):  # some filesystems refuse fsync on a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
