"""Export one warehouse table to Parquet with DuckDB's own writer (no pyarrow needed).

The table name is checked against :data:`EXPORTABLE_TABLES` before it reaches the
warehouse's SQL (a name cannot be a bound parameter), so ``--table`` cannot inject
anything; the optional ``as_of`` is parsed to a date and bound as a parameter.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from warehouse.store import Warehouse

# table → the column an ``as_of`` selects on (None: the table has no per-day partition)
EXPORTABLE_TABLES: dict[str, str | None] = {
    "observations": "available_at",  # point-in-time: rows knowable at as_of's close
    "quarantine": None,
    "raw_fetch": None,
    "signal_states": "as_of",
    "betas": "as_of",
    "daily_sizing": "as_of",
    "portfolio_risk": "as_of",
    "vix_term": "as_of",
    "runs": "as_of",
    "sizing_positions": "as_of",
    "ladder_events": None,
    "hedge_events": None,
    "ladder_daily": "as_of",
}


class ExportError(ValueError):
    """An export that cannot be done as asked (unknown table, no as_of column)."""


def export_table(
    db_path: str | Path, table: str, out: str | Path, as_of: object | None = None
) -> int:
    """Write ``table`` (optionally one ``as_of``) to the Parquet file ``out``; return the row count.

    Parameters
    ----------
    db_path : the published warehouse (opened read-only, safe while a run writes).
    table : one of :data:`EXPORTABLE_TABLES`.
    out : the Parquet file to write (its folder is created; an existing file is replaced).
    as_of : a date: the rows of that day (``observations``: the rows knowable that day,
        ``available_at <= as_of``, every vintage).

    Raises
    ------
    ExportError
        Unknown table (the message lists the valid ones), or ``as_of`` given for a table
        without a per-day column.
    FileNotFoundError
        No warehouse at ``db_path``.
    """
    name = table.strip().lower()
    if name not in EXPORTABLE_TABLES:
        raise ExportError(
            f"unknown table {table!r}: choose one of {', '.join(sorted(EXPORTABLE_TABLES))}"
        )
    warehouse = Warehouse(db_path)
    if not warehouse.path.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse.path}: run `condorcap run` first")
    where: tuple[str, str, object] | None = None
    if as_of is not None:
        column = EXPORTABLE_TABLES[name]
        if column is None:
            with_day = sorted(t for t, c in EXPORTABLE_TABLES.items() if c)
            raise ExportError(
                f"table {name!r} has no per-day column: drop --as-of, or export one of "
                f"{', '.join(with_day)}"
            )
        op = "<=" if column == "available_at" else "="
        where = (column, op, pd.Timestamp(as_of).date())
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    return warehouse.export_parquet(name, target, where)
