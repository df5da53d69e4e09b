"""warehouse/store.py: connections, contracts before writes, CHECK constraints, crash hygiene."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from schemas.tables import TableContractError
from warehouse import db
from warehouse.db import MIGRATIONS_DIR
from warehouse.store import RunWorkspace, Warehouse, stale_copies

PROJECT = Path(__file__).resolve().parents[2]


def _signals(day: str, states: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "as_of": pd.to_datetime([day] * len(states)),
            "signal": [f"s{i}" for i in range(len(states))],
            "value": 1.0,
            "state": states,
            "params": "{}",
            "input_date": pd.to_datetime([day] * len(states)),
        }
    )


@pytest.fixture()
def wh(tmp_path: Path) -> Warehouse:
    w = Warehouse(tmp_path / "w.duckdb")
    w.migrate()
    return w


# --------------------------------------------------------------------------- connections


def test_write_commits_a_block_and_rolls_back_one_that_raises(wh: Warehouse) -> None:
    with wh.write() as con:
        con.execute(
            "INSERT INTO runs VALUES ('a', 'daily', NULL, now(), NULL, 'completed', 0, NULL)"
        )
    with pytest.raises(RuntimeError, match="boom"), wh.write() as con:
        con.execute("DELETE FROM runs").fetchall()
        raise RuntimeError("boom")
    assert wh.query("SELECT run_id FROM runs")["run_id"].tolist() == ["a"]


def test_a_failed_statement_rolls_the_whole_block_back(wh: Warehouse) -> None:
    """DuckDB's COMMIT of an aborted transaction would silently roll back; the error surfaces."""
    with pytest.raises(duckdb.ConstraintException), wh.write() as con:
        con.execute("INSERT INTO runs VALUES ('b', 'daily', NULL, now(), NULL, 'failed', 0, NULL)")
        con.execute("INSERT INTO runs VALUES ('b', 'daily', NULL, now(), NULL, 'failed', 0, NULL)")
    assert wh.query("SELECT count(*) n FROM runs")["n"][0] == 0


def test_connections_are_closed_when_the_block_ends(wh: Warehouse) -> None:
    with wh.read() as con:
        assert con.execute("SELECT 1").fetchall() == [(1,)]
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")
    with wh.write() as con:
        pass
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")


def test_reads_name_what_they_read(wh: Warehouse) -> None:
    obs = pd.DataFrame(
        {
            "series_id": ["spx", "vix", "vix3m", "spx", "vix"],
            "date": pd.to_datetime(["2026-07-21"] * 3 + ["2026-07-22"] * 2),
            "value": [6300.0, 16.0, 18.0, 6310.0, 16.5],
            "available_at": pd.to_datetime(["2026-07-21"] * 3 + ["2026-07-22"] * 2),
            "source": "test",
        }
    )
    with wh.write() as con:
        db.insert_observations(con, obs, pd.Timestamp("2026-07-22"))
    assert wh.latest_complete_session() == pd.Timestamp("2026-07-21")  # 07-22 lacks VIX3M
    assert wh.first_session() == pd.Timestamp("2026-07-21")
    assert len(wh.observations(as_of="2026-07-21")) == 3
    assert set(wh.observations(series_ids=["vix"])["value"]) == {16.0, 16.5}
    empty = Warehouse(wh.path.with_name("empty.duckdb"))
    empty.migrate()
    with pytest.raises(ValueError, match="no session with SPX, VIX and VIX3M closes"):
        empty.latest_complete_session()


def test_read_of_a_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no warehouse at"):
        Warehouse(tmp_path / "nope.duckdb").query("SELECT 1")
    assert not (tmp_path / "nope.duckdb").exists()


# --------------------------------------------------------------------------- contracts


def test_write_derived_checks_the_contract_before_writing_anything(wh: Warehouse) -> None:
    good = _signals("2026-07-22", ["calm", "normal"])
    wh.write_derived({"signal_states": good})
    bad = _signals("2026-07-22", ["calm", "sideways"])
    betas = pd.DataFrame(
        {"as_of": pd.to_datetime(["2026-07-22"]), "asset": "vix", "window_days": 60,
         "beta": -3.0, "alpha": 0.0, "r2": 0.5, "n_obs": 60}
    )  # fmt: skip
    with pytest.raises(TableContractError) as info:
        wh.write_derived({"betas": betas, "signal_states": bad})
    assert str(info.value).startswith("signal_states.state: isin(")
    assert "'sideways'" in str(info.value) and "\n" not in str(info.value)
    # neither table changed: the check runs before the transaction
    assert wh.query("SELECT state FROM signal_states ORDER BY signal")["state"].tolist() == [
        "calm",
        "normal",
    ]
    assert wh.query("SELECT count(*) n FROM betas")["n"][0] == 0


def test_write_history_replaces_whole_unless_a_newer_day_wrote_it(wh: Warehouse) -> None:
    def daily(day: str) -> dict[str, pd.DataFrame]:
        return {
            "ladder_daily": pd.DataFrame(
                {
                    "as_of": pd.to_datetime([day]),
                    "pnl": 1.0,
                    "capital_at_risk": 2.0,
                    "strategy_return": 0.01,
                    "open_condors": 1,
                    "open_hedges": 0,
                    "computed_as_of": pd.to_datetime([day]),
                }
            )  # fmt: skip
        }

    assert wh.write_history(daily("2026-07-22"), pd.Timestamp("2026-07-22")) == 1
    assert wh.write_history(daily("2026-07-21"), pd.Timestamp("2026-07-21")) == 0  # older
    assert wh.query("SELECT as_of::VARCHAR d FROM ladder_daily")["d"].tolist() == ["2026-07-22"]
    with pytest.raises(ValueError, match="not a history table: runs"):
        wh.write_history({"runs": pd.DataFrame()}, pd.Timestamp("2026-07-23"))


# --------------------------------------------------------------------------- CHECK constraints


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("signal_states", "state", "sideways"),
        ("daily_sizing", "kind", "spread"),
        ("daily_sizing", "put_call", "X"),
        ("sizing_positions", "kind", "straddle"),
        ("runs", "status", "running"),
    ],
)
def test_the_database_refuses_a_category_outside_its_vocabulary(
    wh: Warehouse, table: str, column: str, value: str
) -> None:
    rows = {
        "signal_states": "('2026-07-22', 's', 1.0, 'calm', '{}', NULL)",
        "daily_sizing": "('2026-07-22', 'p', 'IC1', 'condor', NULL, 'short_put', 'P', 1.0, -1, "
        "1, 1, 0, 0, 0.2, 1, 0.1, 'model', 'SPX', 30, 1, 0, 0, 0)",
        "sizing_positions": "('2026-07-22', 'p', 'IC1', 'condor', NULL, 30, 1, 1, 1, 1, 1, 1, "
        "1, 1, 0.5, 1, 1, NULL, 'model')",
        "runs": "('r', 'daily', NULL, now(), NULL, 'completed', 0, NULL)",
    }
    with wh.write() as con:
        con.execute(f"INSERT INTO {table} VALUES {rows[table]}")  # the good row goes in
    with pytest.raises(duckdb.ConstraintException, match="CHECK constraint failed"):
        with wh.write() as con:
            con.execute(f"UPDATE {table} SET {column} = ?", [value])
    assert wh.query(f"SELECT count(*) n FROM {table}")["n"][0] == 1


def test_migration_003_keeps_every_row_of_an_older_warehouse(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_migrations (version VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
    )
    for name in ("001_init", "002_sizing_and_history"):  # a warehouse from before 003
        con.execute((MIGRATIONS_DIR / f"{name}.sql").read_text())
        con.execute("INSERT INTO schema_migrations VALUES (?, now())", [name])
    con.execute(
        "INSERT INTO runs VALUES ('r1', 'daily', '2026-07-22', now(), now(), 'completed', 9, NULL)"
    )
    con.execute(
        "INSERT INTO signal_states VALUES ('2026-07-22', 'vix_regime', 16.6, 'normal', '{}', '2026-07-22')"
    )
    con.execute(
        "INSERT INTO daily_sizing (as_of, portfolio_id, position_id, kind, leg, put_call, strike, "
        "underlying, theta) VALUES ('2026-07-22', 'p', 'IC1', 'condor', 'short_put', 'P', 7100, 'SPX', -1.5)"
    )
    con.close()
    assert Warehouse(path).migrate()[0] == "003_checks"
    wh = Warehouse(path)
    assert wh.query("SELECT run_id, rows_written FROM runs").to_dict("records") == [
        {"run_id": "r1", "rows_written": 9}
    ]
    assert wh.query("SELECT state FROM signal_states")["state"].tolist() == ["normal"]
    row = wh.query("SELECT strike, underlying, theta FROM daily_sizing").iloc[0].to_dict()
    assert row == {"strike": 7100.0, "underlying": "SPX", "theta": -1.5}
    checks = wh.query(
        "SELECT table_name, constraint_text FROM duckdb_constraints() WHERE constraint_type = 'CHECK'"
    )
    assert set(checks["table_name"]) == {
        "daily_sizing",
        "sizing_positions",
        "signal_states",
        "runs",
    }
    keys = wh.query(
        "SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
    )
    assert {"daily_sizing", "sizing_positions", "signal_states", "runs"} <= set(keys["table_name"])


def test_a_migration_that_fails_on_a_bad_stored_value_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_migrations (version VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
    )
    for name in ("001_init", "002_sizing_and_history"):
        con.execute((MIGRATIONS_DIR / f"{name}.sql").read_text())
        con.execute("INSERT INTO schema_migrations VALUES (?, now())", [name])
    con.execute("INSERT INTO runs VALUES ('r1', 'daily', NULL, now(), now(), 'weird', 0, NULL)")
    con.close()
    with pytest.raises(duckdb.ConstraintException):
        Warehouse(path).migrate()
    wh = Warehouse(path)
    assert wh.query("SELECT status FROM runs")["status"].tolist() == ["weird"]
    assert "003_checks" not in set(wh.query("SELECT version FROM schema_migrations")["version"])


# --------------------------------------------------------------------------- crash hygiene


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid names no process now
    return proc.pid


def _publish_one_run(path: Path) -> None:
    with RunWorkspace(path, flow="daily") as ws:
        ws.complete(0)


def test_a_dead_runs_copy_is_removed_and_logged_and_a_live_ones_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    _publish_one_run(path)
    dead = tmp_path / f".w.duckdb.run-20260101T000000-deadbeef.p{_dead_pid()}"
    dead.write_bytes(path.read_bytes())
    dead.with_name(dead.name + ".wal").write_bytes(b"partial")
    legacy = tmp_path / ".w.duckdb.run-20250101T000000-0123abcd"  # named before pids were
    legacy.write_bytes(b"old")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".w.duckdb.run-20260101T000001-cafe0001.p{sleeper.pid}"
        live.write_bytes(b"in use")
        assert {c.run_id for c in stale_copies(path)} == {
            "20260101T000000-deadbeef",
            "20250101T000000-0123abcd",
        }
        _publish_one_run(path)
        assert live.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not dead.exists() and not legacy.exists()
    assert not dead.with_name(dead.name + ".wal").exists()
    crashed = Warehouse(path).query(
        "SELECT run_id, flow, status, started_at::VARCHAR s FROM runs WHERE status = 'crashed' "
        "ORDER BY run_id"
    )
    assert crashed.to_dict("records") == [
        {"run_id": "20250101T000000-0123abcd", "flow": "unknown", "status": "crashed",
         "s": "2025-01-01 00:00:00"},
        {"run_id": "20260101T000000-deadbeef", "flow": "unknown", "status": "crashed",
         "s": "2026-01-01 00:00:00"},
    ]  # fmt: skip


_KILLED_RUN = textwrap.dedent(
    """
    import sys, time
    from warehouse.store import RunWorkspace
    with RunWorkspace(sys.argv[1], flow="backfill") as ws:
        with ws.warehouse.write() as con:
            con.execute("DELETE FROM runs").fetchall()
        print(ws.run_id, flush=True)
        time.sleep(120)  # killed here, mid-run: the copy and the lock note stay behind
    """
)


def test_a_run_killed_with_sigkill_is_cleaned_up_by_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    _publish_one_run(path)
    before = path.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_RUN, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    try:
        run_id = child.stdout.readline().strip() if child.stdout else ""
        assert run_id, "the child run did not start"
        left = sorted(p.name for p in tmp_path.glob(".w.duckdb.run-*"))
        assert left and all(run_id in name for name in left)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == before  # the published file never saw the killed run's work
    assert list(tmp_path.glob(".w.duckdb.run-*"))  # … but its copy is still there

    _publish_one_run(path)

    assert not list(tmp_path.glob(".w.duckdb.run-*"))
    runs = Warehouse(path).query(
        "SELECT run_id, flow, status, message FROM runs ORDER BY started_at"
    )
    assert runs["status"].tolist().count("completed") == 2
    crashed = runs[runs["status"] == "crashed"]
    assert crashed["run_id"].tolist() == [run_id]
    assert crashed["flow"].tolist() == ["backfill"]  # named by the lock note the child left
    assert f"pid {child.pid}" in crashed["message"].iloc[0]


def test_a_failed_run_still_logs_the_dead_runs_it_found(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    _publish_one_run(path)
    dead = tmp_path / f".w.duckdb.run-20260101T000000-deadbeef.p{_dead_pid()}"
    dead.write_bytes(path.read_bytes())
    with pytest.raises(RuntimeError, match="boom"), RunWorkspace(path, flow="daily"):
        raise RuntimeError("boom")
    got = Warehouse(path).query("SELECT run_id, status FROM runs WHERE status <> 'completed'")
    assert dict(zip(got["run_id"], got["status"], strict=True))["20260101T000000-deadbeef"] == (
        "crashed"
    )
    assert sorted(got["status"]) == ["crashed", "failed"]
    assert not dead.exists()


def test_publish_fsyncs_the_copy_and_then_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spy on the real os.fsync: the file is synced before the rename, the folder after."""
    synced: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def spy_fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    def spy_replace(src: object, dst: object) -> None:
        synced.append("rename")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    _publish_one_run(tmp_path / "w.duckdb")
    assert synced[-3:] == ["file", "rename", "dir"]
    assert (tmp_path / "w.duckdb").exists()
