"""The sandbox behind ``condorcap sql``: one read-only query, nothing outside the warehouse.

A user's SQL is untrusted. Opening the file read-only protects the warehouse itself but
nothing else: DuckDB can still read any file (``read_csv('/etc/passwd')``,
``read_text('/proc/self/environ')``, ``glob``), write one (``COPY … TO``), attach another
database read-write, or download an extension. So the connection is opened with

* ``enable_external_access = false`` — no file or network access beyond the database
  (``read_*``, ``glob``, ``COPY``, ``ATTACH`` and ``INSTALL`` fail);
* ``autoinstall_known_extensions = false`` and ``autoload_known_extensions = false``;
* ``lock_configuration = true`` — the query cannot ``SET`` any of the above back,

and the text is parsed by DuckDB's own parser (:func:`duckdb.extract_statements`) before
it runs: exactly one statement, of a query type (SELECT — which covers WITH, VALUES,
FROM-first, DESCRIBE, SHOW and SUMMARIZE — or EXPLAIN). A query gets a wall-clock limit
(:func:`run_query`'s ``timeout``, enforced by ``con.interrupt()`` from a timer thread).
Every refusal is a :class:`QueryRefused` whose message is one line.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

DEFAULT_TIMEOUT_S = 30.0
#: rows a table rendering shows by default (csv/json output is not cut)
DEFAULT_ROW_LIMIT = 1000

SANDBOX_CONFIG: dict[str, str | bool] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}
# the statement types a read-only query may have (DESCRIBE/SHOW/SUMMARIZE parse as SELECT)
_QUERY_TYPES = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class QueryRefused(ValueError):
    """The query was not run, or was stopped; the message says why in one line."""


@dataclass(frozen=True)
class QueryResult:
    """A query's rows, and whether a row limit cut them."""

    frame: pd.DataFrame
    truncated: bool
    #: columns of DuckDB type JSON (their cells arrive as text; ``--format json`` nests them)
    json_columns: tuple[str, ...] = ()


def check_statement(sql: str) -> None:
    """Refuse anything but exactly one query statement (parsed by DuckDB itself).

    Raises
    ------
    QueryRefused
        Unparseable text, no statement, several statements, or a statement that is not
        a query (COPY, ATTACH, INSTALL/LOAD, SET, PRAGMA, CALL, DML, DDL, …).
    """
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused(f"cannot parse the query: {_one_line(exc)}") from None
    if not statements:
        raise QueryRefused("no SQL statement given")
    if len(statements) > 1:
        raise QueryRefused(f"exactly one statement is allowed, got {len(statements)}")
    kind = statements[0].type
    if kind not in _QUERY_TYPES:
        name = kind.name.removesuffix("_STATEMENT")
        name = "INSTALL/LOAD" if name == "LOAD" else name  # DuckDB parses INSTALL as LOAD
        raise QueryRefused(
            f"read-only: only a query (SELECT, WITH, DESCRIBE, SHOW, EXPLAIN) may run, not {name}"
        )


def open_sandboxed(db_path: str | Path) -> duckdb.DuckDBPyConnection:
    """The published warehouse, read-only, with external access and extensions off, locked."""
    path = Path(db_path)
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `condorcap run` first")
    return duckdb.connect(str(path), read_only=True, config=dict(SANDBOX_CONFIG))


def run_query(
    db_path: str | Path,
    sql: str,
    timeout: float = DEFAULT_TIMEOUT_S,
    row_limit: int | None = None,
) -> QueryResult:
    """Run one user query in the sandbox; at most ``row_limit`` rows (None: all).

    Raises
    ------
    QueryRefused
        The statement is not one query (:func:`check_statement`), DuckDB refused it (e.g.
        external access), or it ran longer than ``timeout`` seconds.
    FileNotFoundError
        No warehouse at ``db_path``.
    """
    if timeout <= 0:
        raise QueryRefused(f"the timeout must be positive, not {timeout:g} s")
    check_statement(sql)
    con = open_sandboxed(db_path)
    timed_out = threading.Event()
    timer = threading.Timer(timeout, lambda: (timed_out.set(), con.interrupt()))
    timer.daemon = True
    timer.start()
    try:
        cursor = con.execute(sql)
        json_cols = tuple(d[0] for d in cursor.description or () if str(d[1]) == "JSON")
        if row_limit is None:
            frame, truncated = cursor.df(), False
        else:
            frame = _fetch_limited(cursor, row_limit)
            truncated = len(frame) > row_limit
            frame = frame.iloc[:row_limit]
    except duckdb.Error as exc:  # an interrupt surfaces as InterruptException (a duckdb.Error)
        if timed_out.is_set() or isinstance(exc, duckdb.InterruptException):
            raise QueryRefused(
                f"query stopped: it ran longer than its {timeout:g} s timeout"
            ) from None
        raise QueryRefused(f"query refused: {_one_line(exc)}") from None
    finally:
        timer.cancel()
        con.close()
    return QueryResult(frame, truncated, json_cols)


def _fetch_limited(cursor: duckdb.DuckDBPyConnection, row_limit: int) -> pd.DataFrame:
    """The first ``row_limit + 1`` rows (one more tells whether the limit cut anything).

    Fetched a chunk (2,048 rows) at a time, so a huge result is never materialised whole.
    """
    chunks = [cursor.fetch_df_chunk(1)]
    have = len(chunks[0])
    while have <= row_limit:
        more = cursor.fetch_df_chunk(1)
        if more.empty:
            break
        chunks.append(more)
        have += len(more)
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def _one_line(exc: BaseException) -> str:
    """DuckDB's message without its multi-line hints (the first non-empty line)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__
