"""SPEC §11 tearsheet metrics on a series small enough to check by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tasks.backtest.metrics import (
    bill_returns,
    crash_attribution,
    drawdown_dates,
    exit_reasons,
    tearsheet,
    trade_stats,
)

DAYS = pd.DatetimeIndex(["2020-02-18", "2020-02-19", "2020-02-20", "2020-02-21"])
NAV = [100.0, 110.0, 99.0, 121.0]  # returns from a start of 100: 0, +10%, −10%, +22.2%


def _daily() -> pd.DataFrame:
    return pd.DataFrame({"as_of": DAYS, "nav": NAV, "condor_pnl": [0.0, 12.0, -15.0, 20.0],
                         "hedge_pnl": [-1.0, -2.0, 4.0, 2.0]})  # fmt: skip


TRADES = pd.DataFrame({"pnl": [10.0, -5.0, 20.0, -5.0],
                       "reason": ["profit target: 50%", "stop: 2x", "expiry: settled",
                                  "profit target: 50%"]})  # fmt: skip


def test_metrics_of_a_hand_checkable_series() -> None:
    bills = pd.Series(0.0, index=DAYS)
    ts = tearsheet(_daily(), 100.0, bills, TRADES)
    r = np.array([0.0, 0.1, -0.1, 0.22 / 0.99])
    assert ts.cagr == pytest.approx(1.21 ** (252 / 4) - 1.0)
    assert ts.max_drawdown == pytest.approx(99.0 / 110.0 - 1.0)
    assert (ts.drawdown_peak, ts.drawdown_trough) == (DAYS[1], DAYS[2])
    assert ts.vol == pytest.approx(r.std(ddof=1) * math.sqrt(252))
    assert ts.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252))
    assert ts.calmar == pytest.approx(ts.cagr / 0.1)
    assert (ts.win_rate, ts.profit_factor, ts.trades) == (0.5, 3.0, 4)
    # hedge P&L +3 over 3 days: a gain, so a negative cost per year
    assert ts.hedge_cost_per_year == pytest.approx(-3.0 / (3 / 365.0))


def test_sharpe_is_over_bills() -> None:
    bills = pd.Series(0.001, index=DAYS)
    r = np.array([0.0, 0.1, -0.1, 0.22 / 0.99]) - 0.001
    ts = tearsheet(_daily(), 100.0, bills, TRADES)
    assert ts.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252))


def test_bill_returns_accrue_calendar_days() -> None:
    days = pd.DatetimeIndex(["2020-01-03", "2020-01-06"])  # Friday → Monday: 3 days
    b = bill_returns(pd.Series([0.0365, 0.0365], index=days), days)
    assert b.iloc[1] == pytest.approx(math.expm1(0.0365 * 3 / 365))


def test_trade_stats_and_exit_reasons() -> None:
    assert trade_stats(TRADES.iloc[0:0])[2] == 0
    assert exit_reasons(TRADES).to_dict() == {"profit target": 2, "stop": 1, "expiry": 1}
    assert drawdown_dates(pd.Series([1.0, 2.0, 3.0], index=DAYS[:3])) == (None, None)


def test_crash_attribution_sums_the_window() -> None:
    w = crash_attribution(_daily())
    assert list(w["window"]) == ["2020-02…04"]
    row = w.iloc[0]
    assert (row["condor_pnl"], row["hedge_pnl"]) == (17.0, 3.0)
    assert math.isnan(row["ratio"])  # the condors made money: no loss to pay back
    lost = crash_attribution(_daily().assign(condor_pnl=[0.0, -10.0, -10.0, 0.0]))
    assert lost["ratio"].iloc[0] == pytest.approx(3.0 / 20.0)
