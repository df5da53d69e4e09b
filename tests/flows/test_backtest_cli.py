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


def test_a_dask_fan_out_prints_the_tearsheet_without_the_clusters_log(
    daily_db: Path, tmp_path: Path
) -> None:
    """The real entry point on a local 2-worker cluster: the scheduler's and nannies' INFO
    lines and distributed's large-graph warning are for --verbose, not the console."""
    import os
    import subprocess
    import sys

    path = tmp_path / "w.duckdb"
    path.write_bytes(daily_db.read_bytes())
    home = tmp_path / "prefect-home"
    home.mkdir()
    res = subprocess.run(
        [sys.executable, "-m", "flows.cli", "backtest", "--start", "2020-02-03", "--end",
         "2020-02-14", "--variant", "alvh", "--variant", "none", "--workers", "2",
         "--db", str(path)],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=300,
        env={**os.environ, "PREFECT_HOME": str(home), "COLUMNS": "200"},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    out = res.stdout + res.stderr
    assert "| steward_1m | alvh |" in out and "| steward_1m | none |" in out
    assert "distributed." not in out and "Sending large graph" not in out
