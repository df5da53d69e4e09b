"""The `condorcap` commands that read the warehouse, run as a user would (typer's runner)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()


def test_sql_prints_csv_and_json_and_refuses_writes(daily_db: Path) -> None:
    q = "SELECT signal, state FROM signal_states ORDER BY signal"
    csv = runner.invoke(app, ["sql", q, "--format", "csv", "--db", str(daily_db)])
    assert csv.exit_code == 0, csv.output
    lines = csv.output.strip().splitlines()
    assert lines[0] == "signal,state" and len(lines) == 11
    js = runner.invoke(app, ["sql", q, "--format", "json", "--db", str(daily_db)])
    rows = json.loads(js.output)
    assert {r["signal"] for r in rows} >= {"rsi_spx", "risk_state"}
    bad = runner.invoke(app, ["sql", "DELETE FROM observations", "--db", str(daily_db)])
    assert bad.exit_code == 1 and "read-only" in bad.output.lower()


def test_report_and_export_commands_write_their_files(daily_db: Path, tmp_path: Path) -> None:
    rep = runner.invoke(
        app, ["report", "--as-of", "2026-07-22", "--out", str(tmp_path), "--db", str(daily_db)]
    )
    assert rep.exit_code == 0, rep.output
    html = (tmp_path / "condorcap-report-2026-07-22.html").read_text()
    assert html.count("data:image/png;base64,") >= 4 and "steward_1m" in html
    out = tmp_path / "sizing.parquet"
    exp = runner.invoke(
        app,
        ["export", "--table", "daily_sizing", "--out", str(out), "--as-of", "2026-07-22",
         "--db", str(daily_db)],
    )  # fmt: skip
    assert exp.exit_code == 0, exp.output
    n = duckdb.sql(f"SELECT count(*) FROM '{out}'").fetchall()[0][0]
    m = (
        duckdb.connect(str(daily_db), read_only=True)
        .sql("SELECT count(*) FROM daily_sizing WHERE as_of = '2026-07-22'")
        .fetchall()[0][0]
    )
    assert n == m > 0
    nope = runner.invoke(
        app, ["export", "--table", "nope", "--out", str(out), "--db", str(daily_db)]
    )
    assert nope.exit_code == 1 and "daily_sizing" in nope.output


def test_report_for_a_day_never_run_says_what_to_do(daily_db: Path, tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["report", "--as-of", "2026-07-21", "--out", str(tmp_path), "--db", str(daily_db)]
    )
    assert res.exit_code == 1 and "condorcap run" in res.output


def test_sql_refusals_are_one_line_and_table_output_is_limited(tmp_path: Path) -> None:
    from warehouse.store import Warehouse

    path = tmp_path / "w.duckdb"
    Warehouse(path).migrate()
    for q, why in [
        ("SELECT * FROM read_text('/etc/passwd')", "disabled by configuration"),
        ("COPY runs TO 'x.csv'", "not COPY"),
        ("SELECT 1; SELECT 2", "exactly one statement"),
    ]:
        res = runner.invoke(app, ["sql", q, "--db", str(path)])
        assert res.exit_code == 1 and why in res.output
        assert len(res.output.strip().splitlines()) == 1, res.output
    slow = "SELECT count(*) FROM range(1000000000) a, range(1000000000) b"
    res = runner.invoke(app, ["sql", slow, "--timeout", "1", "--db", str(path)])
    assert res.exit_code == 1 and "longer than its 1 s timeout" in res.output
    res = runner.invoke(app, ["sql", "SELECT * FROM range(50)", "--limit", "5", "--db", str(path)])
    assert res.exit_code == 0 and "first 5 rows shown" in res.output
    csv = runner.invoke(
        app, ["sql", "SELECT * FROM range(50)", "--format", "csv", "--db", str(path)]
    )
    assert len(csv.output.strip().splitlines()) == 51  # csv/json are never cut
