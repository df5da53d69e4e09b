"""Parquet export: what goes in comes back out (read with DuckDB itself), names are checked."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from flows.export import EXPORTABLE_TABLES, ExportError, export_table
from warehouse import db

SIGNAL_ROWS = [
    (date(2026, 7, 21), "vix_regime", 17.01, "normal", '{"calm":15.0}', date(2026, 7, 21)),
    (date(2026, 7, 22), "vix_regime", 16.64, "normal", '{"calm":15.0}', date(2026, 7, 22)),
    (date(2026, 7, 22), "rsi_spx", 54.38, "neutral", '{"n":30}', date(2026, 7, 22)),
]
OBS_ROWS = [  # a revision: the 2026-06 CPI print revised on 2026-08-20
    ("spx", date(2026, 7, 22), 7498.96, date(2026, 7, 22), "snapshot", datetime(2026, 7, 22, 21)),
    ("cpi", date(2026, 6, 1), 331.2, date(2026, 7, 20), "snapshot", datetime(2026, 7, 22, 21)),
    ("cpi", date(2026, 6, 1), 331.5, date(2026, 8, 20), "fred_api", datetime(2026, 8, 20, 21)),
]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    con = db.connect(path)
    db.migrate(con)
    con.executemany("INSERT INTO signal_states VALUES (?, ?, ?, ?, ?, ?)", SIGNAL_ROWS)
    con.executemany("INSERT INTO observations VALUES (?, ?, ?, ?, ?, ?)", OBS_ROWS)
    con.close()
    return path


def _read(path: Path, order: str) -> list[tuple]:
    literal = str(path).replace("'", "''")
    return duckdb.sql(f"SELECT * FROM '{literal}' ORDER BY {order}").fetchall()


def test_whole_table_round_trips(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "exports" / "signal_states.parquet"
    n = export_table(warehouse, "signal_states", out)
    assert n == 3
    assert _read(out, "as_of, signal") == sorted(SIGNAL_ROWS, key=lambda r: (r[0], r[1]))
    cols = [c[0] for c in duckdb.sql(f"DESCRIBE SELECT * FROM '{out}'").fetchall()]
    assert cols == ["as_of", "signal", "value", "state", "params", "input_date"]


def test_as_of_selects_one_day(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "day.parquet"
    assert export_table(warehouse, "signal_states", out, as_of="2026-07-22") == 2
    assert _read(out, "signal") == sorted(
        [r for r in SIGNAL_ROWS if r[0] == date(2026, 7, 22)], key=lambda r: r[1]
    )


def test_observations_as_of_is_point_in_time(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "obs.parquet"
    # on 2026-07-22 the CPI revision of 2026-08-20 was not yet knowable
    assert export_table(warehouse, "observations", out, as_of=date(2026, 7, 22)) == 2
    assert _read(out, "series_id") == sorted(OBS_ROWS[:2], key=lambda r: r[0])


def test_unknown_table_is_refused_with_the_valid_names(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.parquet"
    for bad in ("nope", "signal_states; DROP TABLE runs", "schema_migrations"):
        with pytest.raises(ExportError, match="unknown table") as err:
            export_table(warehouse, bad, out)
        for name in EXPORTABLE_TABLES:
            assert name in str(err.value)
    assert not out.exists()
    con = db.connect(warehouse, read_only=True)
    assert con.execute("SELECT count(*) FROM runs").fetchall() == [(0,)]
    con.close()


def test_as_of_on_a_table_without_days_is_refused(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no per-day column"):
        export_table(warehouse, "quarantine", tmp_path / "q.parquet", as_of="2026-07-22")


def test_missing_warehouse(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="condorcap run"):
        export_table(tmp_path / "none.duckdb", "runs", tmp_path / "r.parquet")


def test_odd_output_path_is_quoted(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "it's here.parquet"
    assert export_table(warehouse, "SIGNAL_STATES", out) == 3
    assert len(_read(out, "as_of")) == 3
