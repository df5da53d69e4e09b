"""The report's reads: one named, read-only query per function, over an open connection.

Every function takes a DuckDB connection (open it with :func:`warehouse.db.connect`,
``read_only=True``, on the published file) and returns a frame whose DATE/TIMESTAMP
columns are ``datetime64[ns]`` (docs/contracts.md). A table a warehouse does not hold yet
reads as an empty frame, so a report of an older warehouse still renders.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd


def _dates_ns(df: pd.DataFrame) -> pd.DataFrame:
    """DuckDB DATE/TIMESTAMP columns (``datetime64[us]``) → ``datetime64[ns]``."""
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].astype("datetime64[ns]")
    return df


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    n = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchall()[0][0]
    return bool(n)


def _day_rows(
    con: duckdb.DuckDBPyConnection, table: str, as_of: pd.Timestamp, order: str
) -> pd.DataFrame:
    """Every row of ``table`` for one ``as_of``, ordered; empty when the table is absent.

    ``table`` and ``order`` come from the functions below, never from a caller.
    """
    if not _has_table(con, table):
        return pd.DataFrame()
    sql = f"SELECT * FROM {table} WHERE as_of = ? ORDER BY {order}"
    return _dates_ns(con.execute(sql, [pd.Timestamp(as_of).date()]).df())


def completed_run(con: duckdb.DuckDBPyConnection, as_of: object) -> pd.DataFrame:
    """The ``runs`` row of the latest completed run for ``as_of`` (empty when none)."""
    run = con.execute(
        "SELECT * FROM runs WHERE as_of = ? AND status = 'completed' "
        "ORDER BY finished_at DESC LIMIT 1",
        [pd.Timestamp(as_of).date()],
    ).df()
    return _dates_ns(run)


def signal_states(con: duckdb.DuckDBPyConnection, as_of: object) -> pd.DataFrame:
    """``signal_states`` of the day, by signal name."""
    return _day_rows(con, "signal_states", pd.Timestamp(as_of), "signal")


def portfolio_risk(con: duckdb.DuckDBPyConnection, as_of: object) -> pd.DataFrame:
    """``portfolio_risk`` of the day, one row per portfolio."""
    return _day_rows(con, "portfolio_risk", pd.Timestamp(as_of), "portfolio_id")


def daily_sizing(con: duckdb.DuckDBPyConnection, as_of: object) -> pd.DataFrame:
    """``daily_sizing`` legs of the day."""
    order = "portfolio_id, kind, expiry, position_id, leg"
    return _day_rows(con, "daily_sizing", pd.Timestamp(as_of), order)


def sizing_positions(con: duckdb.DuckDBPyConnection, as_of: object) -> pd.DataFrame:
    """``sizing_positions`` of the day, one row per recommended position."""
    order = "portfolio_id, kind, expiry, position_id"
    return _day_rows(con, "sizing_positions", pd.Timestamp(as_of), order)


def vix_term(con: duckdb.DuckDBPyConnection, as_of: object) -> pd.DataFrame:
    """``vix_term`` (the modelled VIX futures) of the day, by tenor."""
    return _day_rows(con, "vix_term", pd.Timestamp(as_of), "tenor_days")


def betas(con: duckdb.DuckDBPyConnection, as_of: object) -> pd.DataFrame:
    """``betas`` of the day, by asset."""
    return _day_rows(con, "betas", pd.Timestamp(as_of), "asset")


def quarantine_counts(
    con: duckdb.DuckDBPyConnection, run_id: str, finished_at: datetime | None
) -> pd.DataFrame:
    """Quarantined rows held when a run finished, per (series, check).

    Columns ``series_id, check_name, rows, new_this_run`` (the rows first seen by
    ``run_id``). ``finished_at`` None counts every row held now.
    """
    return con.execute(
        "SELECT series_id, check_name, count(*) AS rows, "
        "count(*) FILTER (WHERE run_id = ?) AS new_this_run "
        "FROM quarantine WHERE quarantined_at <= coalesce(?::TIMESTAMP, quarantined_at) "
        "GROUP BY series_id, check_name ORDER BY series_id, check_name",
        [run_id, finished_at],
    ).df()


def series_freshness(con: duckdb.DuckDBPyConnection, as_of: object) -> pd.DataFrame:
    """Per series, the newest observation knowable at ``as_of`` and when it became knowable.

    Columns ``series_id, latest_date, available_at`` (non-null values only).
    """
    df = con.execute(
        "SELECT series_id, max(date) AS latest_date, max(available_at) AS available_at "
        "FROM observations WHERE available_at <= ? AND value IS NOT NULL "
        "GROUP BY series_id ORDER BY series_id",
        [pd.Timestamp(as_of).date()],
    ).df()
    return _dates_ns(df)


def ladder_daily_until(con: duckdb.DuckDBPyConnection, as_of: object) -> pd.DataFrame:
    """The modelled ladder's daily history up to ``as_of`` (``strategy_return`` and more)."""
    if not _has_table(con, "ladder_daily"):
        return pd.DataFrame(columns=["as_of", "strategy_return"])
    df = con.execute(
        "SELECT * FROM ladder_daily WHERE as_of <= ? ORDER BY as_of",
        [pd.Timestamp(as_of).date()],
    ).df()
    return _dates_ns(df)


def orders(con: duckdb.DuckDBPyConnection, as_of: object) -> pd.DataFrame:
    """``orders`` of the day (SPEC §10), one row per leg, by portfolio and order."""
    return _day_rows(con, "orders", pd.Timestamp(as_of), "portfolio_id, order_id, leg")


def book(con: duckdb.DuckDBPyConnection, as_of: object) -> pd.DataFrame:
    """``book`` after the day's orders (SPEC §10), one row per leg held."""
    return _day_rows(con, "book", pd.Timestamp(as_of), "portfolio_id, position_id, leg")


def account_daily(con: duckdb.DuckDBPyConnection, as_of: object) -> pd.DataFrame:
    """``account_daily`` of the day, one row per portfolio."""
    return _day_rows(con, "account_daily", pd.Timestamp(as_of), "portfolio_id")
