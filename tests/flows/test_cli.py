"""The `condorcap` commands that read the warehouse, run as a user would (typer's runner)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
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


def test_sql_table_output_shows_a_null_date_as_blank(daily_db: Path) -> None:
    q = "SELECT CAST(NULL AS DATE) AS missing, DATE '2026-07-22' AS as_of"
    res = runner.invoke(app, ["sql", q, "--db", str(daily_db)])
    assert res.exit_code == 0, res.output
    assert "2026-07-22" in res.output and "NaT" not in res.output and "None" not in res.output


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


# --------------------------------------------------------------------------- start-up and help

PROJECT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "prefect", "duckdb", "numpy")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real ``condorcap`` entry point in a fresh interpreter (nothing pre-imported)."""
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=120,
    )


def _heavy_imports_after(*args: str) -> list[str]:
    code = (
        "import sys\nfrom flows.cli import app\n"
        f"app({list(args)!r}, standalone_mode=False)\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=120
    )
    return json.loads(out.stdout.strip().splitlines()[-1].replace("'", '"'))


def test_importing_the_cli_and_help_import_nothing_heavy() -> None:
    assert _heavy_imports_after("--help") == []
    assert _heavy_imports_after("run", "--help") == []


def test_help_shows_flags_as_flags_defaults_and_escaped_brackets() -> None:
    env = {"COLUMNS": "200"}
    back = runner.invoke(app, ["backfill", "--help"], env=env).output
    sizing = next(line for line in back.splitlines() if "--sizing" in line)
    assert "--no-sizing" in sizing and "<bool>" not in sizing
    run = runner.invoke(app, ["run", "--help"], env=env).output
    assert "[default: $CONDORCAP_DB or data/condorcap.duckdb]" in run
    assert "[default: today]" in run and "[method]" in run
    many = runner.invoke(app, ["size-many", "--help"], env=env).output
    assert "needs the [dask] extra" in many


# --------------------------------------------------------------------------- refused inputs


def test_a_bad_date_is_refused_in_one_line_before_prefect(tmp_path: Path) -> None:
    db_file = tmp_path / "w.duckdb"
    res = _cli("run", "--as-of", "2026-13-01", "--db", str(db_file))
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        "refused: --as-of 2026-13-01: not a date "
        "(month must be in 1..12; expected YYYY-MM-DD or 'today')"
    ]
    assert res.stdout == "" and "Traceback" not in res.stderr
    assert not db_file.exists()  # no warehouse is created to log a refusal in
    assert _heavy_imports_after("run", "--as-of", "2026-13-01", "--db", str(db_file)) == []


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--as-of", "2026-02-30"], "--as-of 2026-02-30: not a date (day is out of range"),
        (["--as-of", "yesterday"], "--as-of yesterday: not a date (expected YYYY-MM-DD"),
        (["--as-of", "2999-01-04"], "--as-of 2999-01-04: in the future"),
        (["--config", "nope.toml"], "--config nope.toml: no such file"),
        (["--snapshot-dir", "."], "--snapshot-dir .: no manifest.toml in it"),
    ],
)
def test_bad_arguments_are_refused_naming_the_option(
    tmp_path: Path, args: list[str], line: str
) -> None:
    res = runner.invoke(app, ["run", *args, "--db", str(tmp_path / "w.duckdb")])
    assert res.exit_code == 2
    lines = res.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"refused: {line}"), res.output


def test_a_directory_or_a_non_duckdb_file_is_refused_as_warehouse(tmp_path: Path) -> None:
    res = runner.invoke(app, ["run", "--db", str(tmp_path)])
    assert res.exit_code == 2 and f"--db {tmp_path}: is a directory" in res.output
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database\n" * 3)
    res = runner.invoke(app, ["run", "--db", str(junk)])
    assert (
        res.exit_code == 2 and res.output.strip() == f"refused: --db {junk}: not a DuckDB database"
    )
    assert junk.read_text() == "not a database\n" * 3


def test_a_non_utf8_config_is_refused_naming_file_byte_and_offset(tmp_path: Path) -> None:
    body = '[[portfolios]]\nportfolio_id = "caf\xe9"\nequity = 1e6\n'.encode("latin-1")
    config = tmp_path / "x.toml"
    config.write_bytes(body)
    res = _cli("run", "--config", str(config), "--db", str(tmp_path / "w.duckdb"))
    offset = body.index(b"\xe9")
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        f"refused: {config}: not UTF-8 (byte 0xe9 at offset {offset})"
    ]


def _tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {n: con.execute(f"SELECT * FROM {n} ORDER BY ALL").fetchall() for n in names}
    finally:
        con.close()


def test_a_refused_config_is_recorded_as_a_failed_run_and_changes_no_data(
    daily_db: Path, tmp_path: Path
) -> None:
    path = tmp_path / "w.duckdb"
    path.write_bytes(daily_db.read_bytes())
    before = _tables(path)
    config = tmp_path / "bad.toml"
    config.write_text(
        '[[portfolios]]\nportfolio_id = "a"\nequity = 1e6\n'
        "[portfolios.overrides.ladder]\nwing_width = -50\n"
    )
    res = runner.invoke(app, ["run", "--config", str(config), "--db", str(path)])
    assert res.exit_code == 2
    assert res.output.splitlines() == [
        f"refused: {config}: portfolios[0] (a).overrides.ladder.wing_width: "
        "Input should be greater than 0 (got -50)"
    ]
    after = _tables(path)
    assert {k: v for k, v in after.items() if k != "runs"} == {
        k: v for k, v in before.items() if k != "runs"
    }
    new = [r for r in after["runs"] if r not in before["runs"]]
    assert len(new) == 1
    _, flow, as_of, _, _, status, rows, message = new[0]
    assert (flow, as_of, status, rows) == ("daily", None, "failed", 0)
    assert "wing_width" in message and str(config) in message


def test_an_unknown_table_in_the_method_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "m.toml"
    config.write_text('[[portfolios]]\nportfolio_id = "a"\nequity = 1e6\n[method.ladder]\nx = 1\n')
    res = runner.invoke(app, ["backfill", "--config", str(config), "--db", str(tmp_path / "w")])
    assert res.exit_code == 2
    assert res.output.strip() == f"refused: {config}: method.ladder: unknown key"


def test_backfill_refuses_a_reversed_range(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        ["backfill", "--start", "2026-05-01", "--end", "2026-04-01", "--db", str(tmp_path / "w")],
    )
    assert res.exit_code == 2
    assert res.output.strip() == "refused: --start 2026-05-01 is after --end 2026-04-01"


# --------------------------------------------------------------------------- as_of resolution


def _failed_run(
    daily_db: Path, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[
    subprocess.CompletedProcess[str],
    dict[str, list[tuple[object, ...]]],
    dict[str, list[tuple[object, ...]]],
]:
    """``condorcap run ARGS`` through the real entry point (its own Prefect: what a user's
    terminal shows) on a copy of ``daily_db``, expected to fail with exit code 1 and to
    change no table but ``runs``; returns the result and the tables before and after."""
    path = tmp_path / "w.duckdb"
    path.write_bytes(daily_db.read_bytes())
    before = _tables(path)
    home = tmp_path / "prefect-home"
    home.mkdir()
    res = _cli("run", *args, "--db", str(path), env={"PREFECT_HOME": str(home), **(env or {})})
    assert res.returncode == 1, res.stderr
    after = _tables(path)
    assert {k: v for k, v in after.items() if k != "runs"} == {
        k: v for k, v in before.items() if k != "runs"
    }
    return res, before, after


def test_a_day_after_the_vix_data_fails_in_one_line_and_changes_no_data(
    daily_db: Path, tmp_path: Path
) -> None:
    res, before, after = _failed_run(
        daily_db, tmp_path, "--as-of", "2026-08-20", env={"PREFECT_LOGGING_LEVEL": "WARNING"}
    )
    lines = res.stderr.splitlines()
    assert lines[0] == "starting Prefect…"  # progress before the slow part
    assert [line for line in lines if line.startswith("error:")] == [
        "error: run failed: 2026-08-20 cannot be priced: no point-in-time value for vix "
        "(data ends 2026-07-22); the latest session with all of them is 2026-07-22"
    ]
    assert "Traceback" not in res.stderr and "Finished in state" not in res.stderr
    assert res.stdout == ""
    failed = [r for r in after["runs"] if r not in before["runs"]]
    assert [(r[1], str(r[2]), r[5]) for r in failed] == [("daily", "2026-08-20", "failed")]


def test_a_header_only_source_fails_in_one_line_without_a_traceback(
    daily_db: Path, snapshot_copy: Path, tmp_path: Path
) -> None:
    # the file a failed download leaves: a header and nothing under it
    vix3m = snapshot_copy / "cboe_VIX3M_History.csv"
    vix3m.write_text(vix3m.read_text().splitlines()[0] + "\n")
    res, _before, _after = _failed_run(daily_db, tmp_path, "--snapshot-dir", str(snapshot_copy))
    assert [line for line in res.stderr.splitlines() if line.startswith("error:")] == [
        f"error: run failed: vix3m from snapshot {vix3m}: no data rows (header only)"
    ]
    # the failed validation task's record (and its traceback) is for --verbose only
    assert "Traceback" not in res.stderr and "Task run failed" not in res.stderr


def test_a_default_run_sizes_the_latest_complete_session_and_says_why(
    daily_db: Path, tmp_path: Path
) -> None:
    path = tmp_path / "w.duckdb"
    path.write_bytes(daily_db.read_bytes())
    res = runner.invoke(app, ["run", "--db", str(path)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[:2] == ["starting Prefect…", "loading snapshot…"]
    assert (
        "as_of 2026-07-22 (limited by vix (data ends 2026-07-22), vix3m (data ends 2026-07-22); "
        "spx reaches 2026-08-21, tbill_3m reaches 2026-08-19)"
    ) in lines
    assert any("as_of 2026-07-22" in line and "condorcap daily run" in line for line in lines)


def test_the_method_table_reaches_the_run_wide_computations(daily_db: Path, tmp_path: Path) -> None:
    from paths import EXAMPLES

    def hedge_beta_multiple(config_text: str, name: str) -> float:
        path = tmp_path / f"{name}.duckdb"
        path.write_bytes(daily_db.read_bytes())
        config = tmp_path / f"{name}.toml"
        config.write_text(config_text)
        res = runner.invoke(
            app, ["size-many", "--config", str(config), "--as-of", "2026-07-22", "--db", str(path)]
        )
        assert res.exit_code == 0, res.output
        con = duckdb.connect(str(path), read_only=True)
        try:
            return con.execute(
                "SELECT hedge_beta_multiple FROM portfolio_risk "
                "WHERE as_of = '2026-07-22' AND portfolio_id = 'steward_1m'"
            ).fetchall()[0][0]
        finally:
            con.close()

    sample = (EXAMPLES / "portfolios.toml").read_text()
    con = duckdb.connect(str(daily_db), read_only=True)
    daily = con.execute(
        "SELECT hedge_beta_multiple FROM portfolio_risk WHERE portfolio_id = 'steward_1m'"
    ).fetchall()[0][0]
    con.close()
    assert hedge_beta_multiple(sample, "same") == pytest.approx(daily, rel=1e-12)
    # a 60-session beta window instead of 252 moves the hedge's beta multiple
    short = hedge_beta_multiple(sample + "\n[method.risk]\nbeta_window = 60\n", "short")
    assert short != pytest.approx(daily, rel=1e-6)
