"""warehouse/sql.py: the `condorcap sql` sandbox, against a real DuckDB warehouse file."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from warehouse import db
from warehouse.sql import QueryRefused, run_query
from warehouse.store import Warehouse


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    """A migrated warehouse with three runs rows, and a second one beside it."""
    path = tmp_path / "w.duckdb"
    wh = Warehouse(path)
    wh.migrate()
    for i in range(3):
        wh.record_run(f"r{i}", "daily", "2026-07-22", db.now(), "completed", i)
    other = Warehouse(tmp_path / "other.duckdb")
    other.migrate()
    other.record_run("keep-me", "daily", None, db.now(), "completed", 0)
    return path


def _refused(path: Path, sql: str, timeout: float = 5.0) -> str:
    with pytest.raises(QueryRefused) as info:
        run_query(path, sql, timeout=timeout)
    message = str(info.value)
    assert message and "\n" not in message, message  # one line, always
    return message


def test_a_normal_select_works_and_the_row_limit_cuts_table_output(warehouse: Path) -> None:
    res = run_query(warehouse, "SELECT run_id, rows_written FROM runs ORDER BY run_id")
    assert res.frame.to_dict("records") == [
        {"run_id": "r0", "rows_written": 0},
        {"run_id": "r1", "rows_written": 1},
        {"run_id": "r2", "rows_written": 2},
    ]
    assert not res.truncated
    cut = run_query(warehouse, "SELECT * FROM range(5000)", row_limit=10)
    assert len(cut.frame) == 10 and cut.truncated
    assert cut.frame["range"].tolist() == list(range(10))
    whole = run_query(warehouse, "SELECT * FROM range(5000)", row_limit=5000)
    assert len(whole.frame) == 5000 and not whole.truncated


@pytest.mark.parametrize(
    "sql",
    [
        "WITH n AS (SELECT count(*) c FROM runs) SELECT c FROM n",
        "DESCRIBE runs",
        "SHOW TABLES",
        "EXPLAIN SELECT * FROM runs",
        "FROM runs SELECT run_id",
    ],
)
def test_every_query_form_runs(warehouse: Path, sql: str) -> None:
    assert len(run_query(warehouse, sql).frame) >= 1


def test_copy_to_a_file_is_refused_and_writes_nothing(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    assert "not COPY" in _refused(warehouse, f"COPY runs TO '{out}'")
    assert "COPY" in _refused(warehouse, f"COPY (SELECT * FROM runs) TO '{out}' (FORMAT csv)")
    assert not out.exists()


def test_attach_is_refused_and_the_other_warehouse_keeps_its_rows(
    warehouse: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.duckdb"
    assert "ATTACH" in _refused(warehouse, f"ATTACH '{other}' AS o (READ_WRITE)")
    assert "2" in _refused(warehouse, f"ATTACH '{other}' AS o; DELETE FROM o.runs")
    assert Warehouse(other).query("SELECT run_id FROM runs")["run_id"].tolist() == ["keep-me"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT content FROM read_text('/proc/self/environ')",
        "SELECT * FROM glob('/root/*')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM read_parquet('http://127.0.0.1:9/x.parquet')",
        "SELECT * FROM sniff_csv('/etc/passwd')",
    ],
)
def test_reading_any_file_is_refused(warehouse: Path, sql: str) -> None:
    message = _refused(warehouse, sql)
    assert "disabled by configuration" in message
    assert "root:" not in message  # nothing of the file leaks into the refusal


@pytest.mark.parametrize("sql", ["INSTALL httpfs", "LOAD httpfs", "FORCE INSTALL httpfs"])
def test_extensions_cannot_be_installed_or_loaded(warehouse: Path, sql: str) -> None:
    assert "INSTALL/LOAD" in _refused(warehouse, sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; COPY runs TO '/tmp/evil.sh'",
        "SELECT 1; SELECT 2",
    ],
)
def test_two_statements_are_refused_before_either_runs(warehouse: Path, sql: str) -> None:
    assert _refused(warehouse, sql) == "exactly one statement is allowed, got 2"
    assert not Path("/tmp/evil.sh").exists()


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("DELETE FROM runs", "DELETE"),
        ("UPDATE runs SET status = 'failed'", "UPDATE"),
        ("CREATE TABLE t (a INT)", "CREATE"),
        ("SET enable_external_access = true", "SET"),
        ("RESET lock_configuration", "SET"),
        ("PRAGMA version", "PRAGMA"),
        ("CALL pragma_version()", "CALL"),
        ("DETACH w", "DETACH"),
    ],
)
def test_statements_that_are_not_queries_are_refused(warehouse: Path, sql: str, kind: str) -> None:
    assert _refused(warehouse, sql).endswith(f"not {kind}")
    assert len(Warehouse(warehouse).query("SELECT * FROM runs")) == 3


def test_the_locked_configuration_cannot_be_changed_from_a_query(warehouse: Path) -> None:
    got = run_query(
        warehouse,
        "SELECT name, value FROM duckdb_settings() WHERE name IN "
        "('enable_external_access', 'lock_configuration', 'autoload_known_extensions',"
        " 'autoinstall_known_extensions', 'access_mode') ORDER BY name",
    ).frame
    assert dict(zip(got["name"], got["value"], strict=True)) == {
        "access_mode": "read_only",
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "enable_external_access": "false",
        "lock_configuration": "true",
    }


def test_a_slow_cross_join_is_stopped_at_its_timeout(warehouse: Path) -> None:
    t0 = time.perf_counter()
    message = _refused(
        warehouse, "SELECT count(*) FROM range(1000000000) a, range(1000000000) b", timeout=1.0
    )
    elapsed = time.perf_counter() - t0
    assert message == "query stopped: it ran longer than its 1 s timeout"
    assert 0.9 <= elapsed < 10.0
    # the interrupted connection is gone; the next query runs normally
    assert len(run_query(warehouse, "SELECT * FROM runs").frame) == 3


def test_unparseable_empty_and_missing(warehouse: Path, tmp_path: Path) -> None:
    assert _refused(warehouse, "SELEC 1").startswith("cannot parse the query: Parser Error")
    assert _refused(warehouse, "  ") == "no SQL statement given"
    assert "Catalog Error" in _refused(warehouse, "SELECT * FROM no_such_table")
    with pytest.raises(FileNotFoundError, match="no warehouse"):
        run_query(tmp_path / "nope.duckdb", "SELECT 1")


def test_readers_of_the_sandbox_do_not_hold_the_file(warehouse: Path) -> None:
    run_query(warehouse, "SELECT * FROM runs")
    con = duckdb.connect(str(warehouse))  # a writer can open it: the sandbox closed its handle
    con.close()
    assert isinstance(run_query(warehouse, "SELECT 1 AS x").frame, pd.DataFrame)
