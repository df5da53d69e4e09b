"""``model_checks`` (SPEC §9, §12): write and read the model-validation figures."""

from __future__ import annotations

import duckdb
import pandas as pd

COLUMNS = [
    "checked_at", "check", "start", "end", "months", "corr", "sharpe_model", "sharpe_index",
    "mean_model", "mean_index", "scope", "variant", "params", "source_file", "source_sha256",
    "run_id",
]  # fmt: skip
KEY = ("check", "variant", "scope", "start", "end")


def write_model_checks(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> int:
    """Replace the rows of the same (check, variant, scope, start, end), insert ``rows``.

    Call inside ``db.transaction``; returns the rows written. Dates may be Timestamps.
    """
    df = rows.reindex(columns=COLUMNS).copy()
    for c in ("start", "end"):
        df[c] = pd.to_datetime(df[c]).dt.date
    # "check", "start" and "end" are SQL keywords: quoted in every statement
    quoted = [f'"{c}"' for c in KEY]
    keys = df[list(KEY)].drop_duplicates()
    con.register("mc_keys", keys)
    cond = " AND ".join(f"t.{q} = k.{q}" for q in quoted)
    con.execute(
        f"DELETE FROM model_checks t WHERE EXISTS (SELECT 1 FROM mc_keys k WHERE {cond})"
    ).fetchall()
    con.unregister("mc_keys")
    con.register("mc_rows", df)
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    con.execute(f"INSERT INTO model_checks ({cols}) SELECT {cols} FROM mc_rows").fetchall()
    con.unregister("mc_rows")
    return len(df)


def read_model_checks(
    con: duckdb.DuckDBPyConnection, check: str | None = None, scope: str | None = None
) -> pd.DataFrame:
    """Stored checks, newest first; optionally one index (``check``) and one ``scope``."""
    sql = f"SELECT {', '.join(_quoted(c) for c in COLUMNS)} FROM model_checks WHERE TRUE"
    params: list[object] = []
    if check is not None:
        sql += ' AND "check" = ?'
        params.append(check)
    if scope is not None:
        sql += " AND scope = ?"
        params.append(scope)
    df = con.execute(sql + ' ORDER BY checked_at DESC, "start"', params).df()
    for c in ("start", "end"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    return df


def _quoted(name: str) -> str:
    """A column name quoted for SQL (three of them are keywords)."""
    return f'"{name}"'
