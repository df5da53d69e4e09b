"""SQL of the SPEC §11 backtest tables: ``backtest_daily``, ``backtest_summary``,
``backtest_windows`` (migration 011)."""

from __future__ import annotations

import duckdb
import pandas as pd

from warehouse import db

BACKTEST_TABLES = ("backtest_daily", "backtest_summary", "backtest_windows")
_KEY = ("backtest_id", "portfolio_id", "variant")


def write_backtest(con: duckdb.DuckDBPyConnection, tables: dict[str, pd.DataFrame]) -> int:
    """Replace the (backtest_id, portfolio_id, variant) runs present in ``tables['backtest_summary']``
    in every backtest table, in ONE transaction: a rerun under the same id never duplicates."""
    keys = tables["backtest_summary"][list(_KEY)].drop_duplicates()
    written = 0
    with db.transaction(con):
        con.register("backtest_keys", keys)
        cond = " AND ".join(f"t.{c} = k.{c}" for c in _KEY)
        for name in BACKTEST_TABLES:
            con.execute(
                f"DELETE FROM {name} t WHERE EXISTS (SELECT 1 FROM backtest_keys k WHERE {cond})"
            )
            rows = tables.get(name, pd.DataFrame())
            if len(rows):
                # "end" and "window" are SQL keywords (SPEC §9 names): quote every column
                cols = ", ".join(f'"{c}"' for c in rows.columns)
                con.register("backtest_rows", rows)
                con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM backtest_rows")
                con.unregister("backtest_rows")
                written += len(rows)
        con.unregister("backtest_keys")
    return written


def read_daily(con: duckdb.DuckDBPyConnection, backtest_id: str) -> pd.DataFrame:
    """Every ``backtest_daily`` row of ``backtest_id``, by portfolio, variant and date."""
    return con.execute(
        "SELECT * FROM backtest_daily WHERE backtest_id = ? ORDER BY portfolio_id, variant, as_of",
        [backtest_id],
    ).df()


def read_summary(con: duckdb.DuckDBPyConnection, backtest_id: str) -> pd.DataFrame:
    """The ``backtest_summary`` rows of ``backtest_id``."""
    return con.execute(
        "SELECT * FROM backtest_summary WHERE backtest_id = ? ORDER BY portfolio_id, variant",
        [backtest_id],
    ).df()


def read_windows(con: duckdb.DuckDBPyConnection, backtest_id: str) -> pd.DataFrame:
    """The crash-window rows of ``backtest_id``."""
    return con.execute(
        "SELECT * FROM backtest_windows WHERE backtest_id = ? ORDER BY portfolio_id, variant, start",
        [backtest_id],
    ).df()
