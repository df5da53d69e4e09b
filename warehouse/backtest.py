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


def read_policy_history(
    con: duckdb.DuckDBPyConnection, portfolio_id: str, variant: str, before: pd.Timestamp
) -> tuple[pd.DataFrame, str | None]:
    """The daily account of the latest backtest of ``portfolio_id`` × ``variant`` (by
    ``computed_at``) that starts before ``before``: its rows dated before ``before``, in
    order, and its ``backtest_id`` (an empty frame and None when there is none)."""
    found = con.execute(
        "SELECT backtest_id FROM backtest_summary WHERE portfolio_id = ? AND variant = ? "
        "AND start < ? ORDER BY computed_at DESC, backtest_id LIMIT 1",
        [portfolio_id, variant, pd.Timestamp(before).date()],
    ).fetchone()
    cols = "as_of, portfolio_id, nav, capital_at_risk, pnl, condor_pnl, hedge_pnl"
    if found is None:
        return con.execute(f"SELECT {cols} FROM backtest_daily LIMIT 0").df(), None
    rows = con.execute(
        f"SELECT {cols} FROM backtest_daily WHERE backtest_id = ? AND portfolio_id = ? "
        "AND variant = ? AND as_of < ? ORDER BY as_of",
        [found[0], portfolio_id, variant, pd.Timestamp(before).date()],
    ).df()
    rows["as_of"] = pd.to_datetime(rows["as_of"]).astype("datetime64[ns]")
    return rows, str(found[0])
