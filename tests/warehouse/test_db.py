"""warehouse/db.py and the run workspace: migrations, isolation, idempotent writes, PIT reads."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from warehouse import db
from warehouse.store import RunWorkspace

SPEC_TABLES = {
    "observations": ["series_id", "date", "value", "available_at", "source", "ingested_at"],
    "quarantine": ["source", "series_id", "raw", "check_name", "detail", "run_id", "quarantined_at"],
    "raw_fetch": [
        "run_id", "source", "url", "status", "bytes", "sha256",
        "rows_parsed", "rows_accepted", "rows_quarantined", "fetched_at",
    ],
    "signal_states": ["as_of", "signal", "value", "state", "params"],
    "betas": ["as_of", "asset", "window_days", "beta", "alpha", "r2", "n_obs"],
    "daily_sizing": [
        "as_of", "portfolio_id", "position_id", "kind", "expiry", "leg", "put_call", "strike",
        "qty", "contracts", "spot", "rate", "div_yield", "iv", "model_price", "delta",
        "pricing_source",
    ],
    "portfolio_risk": [
        "as_of", "portfolio_id", "equity", "beta_before", "beta_after", "risk_free",
        "cost_of_equity", "wacc", "irr", "spread_bps", "eva", "quick_ratio", "stress_crash_pnl",
        "stress_correction_pnl", "stress_cpi_shock_pnl", "stress_vol_spike_pnl",
        "stress_rally_pnl", "rationale",
    ],
    "vix_term": ["as_of", "expiry", "tenor_days", "future_model"],
    "runs": ["run_id", "flow", "as_of", "started_at", "finished_at", "status", "rows_written"],
}  # fmt: skip


def _obs(values: list[float | None], avail: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series_id": "cpi",
            "date": pd.to_datetime(["2026-01-01", "2026-02-01"][: len(values)]),
            "value": values,
            "available_at": pd.to_datetime(avail),
            "source": "test",
        }
    )


def _write(path: Path, obs: pd.DataFrame, revision_session: str = "2026-11-25") -> int:
    with RunWorkspace(path) as ws:
        with ws.warehouse.write() as con:
            n = db.insert_observations(con, obs, pd.Timestamp(revision_session))
        ws.publish()
    return n


def test_migrations_create_every_spec_table_with_its_columns(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    on_disk = sorted(p.stem for p in db.MIGRATIONS_DIR.glob("*.sql"))
    assert db.migrate(con) == on_disk  # every migration, in file order
    assert on_disk[:3] == ["001_init", "002_sizing_and_history", "003_checks"]
    assert db.migrate(con) == []  # idempotent
    for table, cols in SPEC_TABLES.items():
        have = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        assert set(cols) <= set(have), (table, set(cols) - set(have))


def test_rerun_never_duplicates_and_revisions_become_new_rows(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    first = _obs([300.0, None], ["2026-02-20", "2026-03-20"])
    assert _write(path, first) == 2
    assert _write(path, first) == 0  # same data again: nothing new
    revised = _obs([301.5, None], ["2026-02-20", "2026-03-20"])
    assert _write(path, revised, revision_session="2026-11-25") == 1
    rows = db.query(path, "SELECT value, available_at FROM observations WHERE date='2026-01-01'")
    assert sorted(rows["value"]) == [300.0, 301.5]
    con = db.connect(path, read_only=True)
    before = db.read_observations(con, as_of="2026-06-01")
    after = db.read_observations(con, as_of="2026-11-25")
    con.close()
    # point-in-time: the revision is invisible before the session it was first seen on
    assert before.loc[before.date == "2026-01-01", "value"].tolist() == [300.0]
    assert after.loc[after.date == "2026-01-01", "value"].tolist() == [300.0, 301.5]
    # a missing marker is stored as NULL, not dropped
    assert db.query(path, "SELECT count(*) n FROM observations WHERE value IS NULL")["n"][0] == 1


def test_failed_run_leaves_the_warehouse_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    _write(path, _obs([300.0, 301.0], ["2026-02-20", "2026-03-20"]))
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="boom"), RunWorkspace(path) as ws:
        with ws.warehouse.write() as con:
            con.execute("DELETE FROM observations").fetchall()
        raise RuntimeError("boom")
    assert path.read_bytes() == before
    assert db.query(path, "SELECT count(*) n FROM observations")["n"][0] == 2
    assert not list(tmp_path.glob(".w.duckdb.run-*"))  # working copy discarded


def test_replace_partitions_swaps_a_dates_rows(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    db.migrate(con)

    def sig(day: str, states: list[str]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "as_of": pd.to_datetime([day] * len(states)),
                "signal": [f"s{i}" for i in range(len(states))],
                "value": 1.0,
                "state": states,
                "params": "{}",
            }
        )

    db.replace_partitions(con, "signal_states", sig("2026-07-21", ["calm", "normal"]))
    db.replace_partitions(con, "signal_states", sig("2026-07-22", ["calm", "normal"]))
    db.replace_partitions(con, "signal_states", sig("2026-07-22", ["crisis"]))
    got = con.execute(
        "SELECT as_of::VARCHAR, signal, state FROM signal_states ORDER BY 1, 2"
    ).fetchall()
    assert got == [
        ("2026-07-21", "s0", "calm"),
        ("2026-07-21", "s1", "normal"),
        ("2026-07-22", "s0", "crisis"),
    ]


def _hold_read_only(path: str, ready: mp.Event, release: mp.Event) -> None:  # type: ignore[type-arg]
    con = duckdb.connect(path, read_only=True)
    con.execute("SELECT count(*) FROM observations").fetchall()
    ready.set()
    release.wait(30)
    con.close()


def test_sql_readers_do_not_block_a_run(tmp_path: Path) -> None:
    """A reader in another process holds the published file open while a run publishes."""
    path = tmp_path / "w.duckdb"
    _write(path, _obs([300.0], ["2026-02-20"]))
    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    reader = ctx.Process(target=_hold_read_only, args=(str(path), ready, release))
    reader.start()
    try:
        assert ready.wait(60)
        assert _write(path, _obs([300.0, 301.0], ["2026-02-20", "2026-03-20"])) == 1
        assert db.query(path, "SELECT count(*) n FROM observations")["n"][0] == 2
    finally:
        release.set()
        reader.join(30)
    assert reader.exitcode == 0


def test_a_same_day_correction_is_kept_not_lost_on_the_key(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    vix = pd.DataFrame(
        {
            "series_id": "vix",
            "date": pd.to_datetime(["2026-07-22"]),
            "value": [16.64],
            "available_at": pd.to_datetime(["2026-07-22"]),
            "source": "cboe",
        }
    )
    assert _write(path, vix, revision_session="2026-07-22") == 1
    assert _write(path, vix.assign(value=16.70), revision_session="2026-07-22") == 1
    rows = db.query(path, "SELECT value, available_at::VARCHAR a FROM observations ORDER BY a")
    # the correction is knowable from the next session; the first print stays for 07-22
    assert rows.to_dict("records") == [
        {"value": 16.64, "a": "2026-07-22"},
        {"value": 16.70, "a": "2026-07-23"},
    ]


def test_reingesting_an_older_source_cannot_roll_a_revision_back(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    gdp = _obs([24000.0], ["2026-04-30"]).assign(series_id="gdp_real", source="snapshot")
    assert _write(path, gdp, revision_session="2026-07-30") == 1
    assert _write(path, gdp.assign(value=24100.0, source="fred_api"), "2026-09-01") == 1
    assert _write(path, gdp, revision_session="2026-09-02") == 0  # the old value again
    con = db.connect(path, read_only=True)
    latest = db.read_observations(con, as_of="2026-09-30")
    con.close()
    assert latest.sort_values("available_at")["value"].iloc[-1] == 24100.0
