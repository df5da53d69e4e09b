"""Reads and writes of the book tables (SPEC §9 ``book``, ``orders``, ``account_daily`` and the
``book_state`` a session starts from). Frames in, frames out; the flow turns them into a
``tasks.book.BookState``.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from warehouse import db

BOOK_TABLES = ("book", "orders", "account_daily", "book_state")


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> pd.DataFrame:
    return con.execute(sql, params).df()


def previous_session(
    con: duckdb.DuckDBPyConnection, portfolio_id: str, as_of: pd.Timestamp
) -> pd.Timestamp | None:
    """The latest stored close of a portfolio's book before ``as_of`` (None: no book yet)."""
    row = con.execute(
        "SELECT max(as_of) FROM book_state WHERE portfolio_id = ? AND as_of < ?",
        [portfolio_id, pd.Timestamp(as_of).date()],
    ).fetchone()
    return None if row is None or row[0] is None else pd.Timestamp(row[0])


def later_sessions(
    con: duckdb.DuckDBPyConnection, portfolio_id: str, as_of: pd.Timestamp
) -> list[pd.Timestamp]:
    """Stored closes of a portfolio's book after ``as_of``, in order (a rerun recomputes them)."""
    rows = con.execute(
        "SELECT as_of FROM book_state WHERE portfolio_id = ? AND as_of > ? ORDER BY as_of",
        [portfolio_id, pd.Timestamp(as_of).date()],
    ).fetchall()
    return [pd.Timestamp(r[0]) for r in rows]


def read_state(
    con: duckdb.DuckDBPyConnection, portfolio_id: str, as_of: pd.Timestamp
) -> tuple[pd.Series, pd.DataFrame]:
    """The ``book_state`` row and the ``book`` legs of one stored close."""
    d = pd.Timestamp(as_of).date()
    state = _frame(
        con, "SELECT * FROM book_state WHERE portfolio_id = ? AND as_of = ?", [portfolio_id, d]
    )
    if state.empty:
        raise LookupError(f"no stored book of {portfolio_id} on {d}")
    legs = _frame(
        con,
        "SELECT * FROM book WHERE portfolio_id = ? AND as_of = ? ORDER BY position_id, leg",
        [portfolio_id, d],
    )
    for c in ("as_of", "expiry", "opened_on"):
        legs[c] = pd.to_datetime(legs[c]).astype("datetime64[ns]")
    return state.iloc[0], legs


def read_account(
    con: duckdb.DuckDBPyConnection, portfolio_id: str, before: pd.Timestamp | None = None
) -> pd.DataFrame:
    """A portfolio's ``account_daily`` rows (those before ``before`` when given), in order."""
    sql, params = "SELECT * FROM account_daily WHERE portfolio_id = ?", [portfolio_id]
    if before is not None:
        sql += " AND as_of < ?"
        params.append(pd.Timestamp(before).date())
    out = _frame(con, sql + " ORDER BY as_of", params)
    out["as_of"] = pd.to_datetime(out["as_of"]).astype("datetime64[ns]")
    return out


def read_orders(con: duckdb.DuckDBPyConnection, as_of: pd.Timestamp) -> pd.DataFrame:
    """Every portfolio's orders of one session, in order."""
    return _frame(
        con,
        "SELECT * FROM orders WHERE as_of = ? ORDER BY portfolio_id, order_id, leg",
        [pd.Timestamp(as_of).date()],
    )


def write_book_sessions(
    con: duckdb.DuckDBPyConnection,
    portfolio_id: str,
    sessions: Sequence[pd.Timestamp],
    tables: dict[str, pd.DataFrame],
) -> int:
    """Replace a portfolio's book tables on ``sessions`` in ONE transaction.

    Every row of those (as_of, portfolio_id) partitions goes, even in a table whose new
    frame has none for a date (a day with no orders), so a rerun never leaves a stale
    row; then the new rows go in. A failure rolls everything back.
    """
    keys = pd.DataFrame(
        {"as_of": pd.DatetimeIndex(sessions).astype("datetime64[ns]"), "portfolio_id": portfolio_id}
    )
    written = 0
    with db.transaction(con):
        for name in BOOK_TABLES:
            rows = tables.get(name, pd.DataFrame())
            written += db.replace_partitions(
                con, name, rows, ("as_of", "portfolio_id"), partitions=keys
            )
    return written


def read_betas(con: duckdb.DuckDBPyConnection, days: Sequence[pd.Timestamp]) -> pd.DataFrame:
    """Stored ``betas`` rows of the given sessions (a rerun's later dates use what their own
    run stored)."""
    if not days:
        return pd.DataFrame(columns=["as_of", "asset", "window_days", "beta"])
    marks = ", ".join("?" for _ in days)
    out = _frame(
        con,
        f"SELECT as_of, asset, window_days, beta FROM betas WHERE as_of IN ({marks})",
        [pd.Timestamp(d).date() for d in days],
    )
    out["as_of"] = pd.to_datetime(out["as_of"]).astype("datetime64[ns]")
    return out
