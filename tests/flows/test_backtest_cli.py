"""``condorcap backtest``: bad input refused in one line before Prefect starts."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()


def test_bad_variant_and_date_refused(tmp_path: Path) -> None:
    db_file = tmp_path / "w.duckdb"
    res = runner.invoke(app, ["backtest", "--variant", "straddle", "--start", "2020-02-30",
                              "--db", str(db_file)])  # fmt: skip
    assert res.exit_code == 2
    out = res.output
    assert "--variant straddle: one of alvh, vxth, none" in out
    assert "--start 2020-02-30: not a date" in out
    assert f"--db {db_file}: no warehouse there" in out
    assert not db_file.exists()


def test_report_needs_a_day_or_a_backtest(tmp_path: Path) -> None:
    res = runner.invoke(app, ["report", "--db", str(tmp_path / "w.duckdb")])
    assert res.exit_code == 2 and "--as-of DATE or --backtest ID is required" in res.output
