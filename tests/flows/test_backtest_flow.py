"""SPEC §11 backtest through real Prefect into a real DuckDB warehouse (a short range)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from warehouse import db

pytestmark = pytest.mark.usefixtures("prefect_harness")

START, CUT, END = "2026-05-01", "2026-05-29", "2026-06-12"


@pytest.fixture(scope="module")
def bt_db(tmp_path_factory: pytest.TempPathFactory, daily_db: Path) -> Path:
    from flows.backtest import backtest_flow

    path = tmp_path_factory.mktemp("bt") / "w.duckdb"
    shutil.copy(daily_db, path)
    backtest_flow(str(path), portfolio_ids=["steward_1m"], start=START, end=END,
                  variants=["alvh", "none"], backtest_id="full", artifacts=False)  # fmt: skip
    backtest_flow(str(path), portfolio_ids=["steward_1m"], start=START, end=CUT,
                  variants=["alvh"], backtest_id="cut", artifacts=False)  # fmt: skip
    return path


def _q(path: Path, sql: str) -> pd.DataFrame:
    return db.query(path, sql)


def test_rows_per_session_and_variant(bt_db: Path) -> None:
    daily = _q(bt_db, "SELECT * FROM backtest_daily WHERE backtest_id = 'full'")
    sessions = pd.bdate_range(START, END)  # no NYSE holiday in this range but Memorial Day
    assert daily.groupby("variant")["as_of"].nunique().to_dict() == {
        "alvh": len(sessions) - 1, "none": len(sessions) - 1}  # fmt: skip
    none = daily[daily["variant"] == "none"]
    assert (none["hedge_pnl"] == 0).all()
    summary = _q(bt_db, "SELECT * FROM backtest_summary WHERE backtest_id = 'full'")
    assert set(summary["variant"]) == {"alvh", "none"}
    # the summary's CAGR and drawdown are those of the stored NAV
    a = daily[daily["variant"] == "alvh"].sort_values("as_of")
    s = summary[summary["variant"] == "alvh"].iloc[0]
    nav = np.r_[1_000_000.0, a["nav"].to_numpy()]
    assert s["cagr"] == pytest.approx((nav[-1] / nav[0]) ** (252 / len(a)) - 1.0)
    assert s["max_drawdown"] == pytest.approx((nav / np.maximum.accumulate(nav) - 1).min())
    assert s["sessions"] == len(a)


@pytest.mark.filterwarnings("ignore")  # quantstats 0.0.86 emits pandas deprecation warnings
def test_cagr_and_max_drawdown_agree_with_quantstats(bt_db: Path) -> None:
    """Issue 9: the summary's figures are those quantstats finds on the stored NAV."""
    import quantstats as qs

    daily = _q(bt_db, "SELECT * FROM backtest_daily WHERE backtest_id = 'full' ORDER BY as_of")
    summary = _q(bt_db, "SELECT * FROM backtest_summary WHERE backtest_id = 'full'")
    for variant in ("alvh", "none"):
        v = daily[daily["variant"] == variant]
        nav = pd.Series(v["nav"].to_numpy(), index=pd.DatetimeIndex(v["as_of"]))
        # the first session's return is against the portfolio file's equity (the start NAV)
        returns = pd.concat([pd.Series([1_000_000.0]), nav.reset_index(drop=True)]).pct_change()
        returns = pd.Series(returns.iloc[1:].to_numpy(), index=nav.index)
        s = summary[summary["variant"] == variant].iloc[0]
        assert s["cagr"] == pytest.approx(qs.stats.cagr(returns), rel=1e-9)
        assert s["max_drawdown"] == pytest.approx(qs.stats.max_drawdown(returns), rel=1e-9)


def test_no_look_ahead(bt_db: Path) -> None:
    full = _q(bt_db, f"SELECT * FROM backtest_daily WHERE backtest_id = 'full' "
                     f"AND variant = 'alvh' AND as_of <= DATE '{CUT}' ORDER BY as_of")  # fmt: skip
    cut = _q(bt_db, "SELECT * FROM backtest_daily WHERE backtest_id = 'cut' ORDER BY as_of")
    assert len(cut) == len(full) > 0
    pd.testing.assert_frame_equal(full.drop(columns="backtest_id"),
                                  cut.drop(columns="backtest_id"))  # fmt: skip


def test_rerun_under_the_same_id_never_duplicates(bt_db: Path) -> None:
    from flows.backtest import backtest_flow

    before = _q(bt_db, "SELECT COUNT(*) AS n FROM backtest_daily")["n"].iloc[0]
    backtest_flow(str(bt_db), portfolio_ids=["steward_1m"], start=START, end=CUT,
                  variants=["alvh"], backtest_id="cut", artifacts=False)  # fmt: skip
    after = _q(bt_db, "SELECT COUNT(*) AS n FROM backtest_daily")["n"].iloc[0]
    assert after == before
    n = _q(bt_db, "SELECT COUNT(*) AS n FROM backtest_summary WHERE backtest_id = 'cut'")
    assert n["n"].iloc[0] == 1


def test_every_backtest_column_is_documented(bt_db: Path) -> None:
    cols = _q(bt_db, "SELECT table_name, column_name, comment FROM duckdb_columns() "
                     "WHERE table_name LIKE 'backtest_%'")  # fmt: skip
    assert set(cols["table_name"]) == {"backtest_daily", "backtest_summary", "backtest_windows"}
    assert cols["comment"].notna().all() and (cols["comment"].str.len() > 10).all()


def test_unknown_variant_refused_and_warehouse_unchanged(bt_db: Path) -> None:
    from flows.backtest import backtest_flow

    before = _q(bt_db, "SELECT COUNT(*) AS n FROM backtest_summary")["n"].iloc[0]
    with pytest.raises(ValueError, match="unknown variant"):
        backtest_flow(str(bt_db), variants=["straddle"], artifacts=False)
    assert _q(bt_db, "SELECT COUNT(*) AS n FROM backtest_summary")["n"].iloc[0] == before


def test_backtest_report_has_the_chart_and_tearsheet(bt_db: Path, tmp_path: Path) -> None:
    from report.backtest import write_backtest_report

    page = write_backtest_report(bt_db, "full", tmp_path).read_text()
    assert "data:image/png;base64," in page
    assert "<td>steward_1m</td><td>alvh</td>" in page
    assert "<td>steward_1m</td><td>none</td>" in page
    assert "<th>CAGR</th>" in page and "<th>max DD</th>" in page
    with pytest.raises(FileNotFoundError, match="no backtest"):
        write_backtest_report(bt_db, "nope", tmp_path)


def test_long_run_gc_restores_the_collector() -> None:
    import gc

    from flows.backtest import long_run_gc

    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with long_run_gc():
        assert gc.get_threshold() == (10_000, 50, 100)
        assert gc.get_freeze_count() > frozen  # what existed is out of the full scans
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen
    try:
        with long_run_gc():
            raise RuntimeError("a failed run")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen
