"""SPEC §6 p_hurdle: the stationary block bootstrap and the probability it gives."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from schemas.config import RiskParams
from tasks.book.account import resampled_years, sleeve_returns
from tasks.risk import p_hurdle, resampled_annual_returns, stationary_bootstrap_indices


def test_indices_run_in_blocks_of_the_mean_length() -> None:
    n, length, block = 1000, 252, 21.0
    idx = stationary_bootstrap_indices(n, length, block, 400, seed=7)
    assert idx.shape == (400, length)
    assert idx.min() >= 0 and idx.max() < n
    # a step continues its block (index + 1, circularly) unless a new block began:
    # P(new block) = 1/21, so the share of continuing steps is 20/21
    cont = (np.diff(idx, axis=1) % n) == 1
    assert cont.mean() == pytest.approx(20 / 21, abs=0.005)


def test_indices_are_reproducible_with_the_seed() -> None:
    a = stationary_bootstrap_indices(50, 30, 5, 10, seed=1)
    b = stationary_bootstrap_indices(50, 30, 5, 10, seed=1)
    assert (a == b).all()
    assert not (a == stationary_bootstrap_indices(50, 30, 5, 10, seed=2)).all()


def test_a_constant_return_is_certain_either_side_of_the_hurdle() -> None:
    # 10 bp a day on capital = 25.2% a year, whatever the resample
    years = resampled_annual_returns(np.full(500, 0.001))
    assert years == pytest.approx(np.full(2000, 0.252))
    assert p_hurdle(years, wacc=0.15, hurdle_bps=600) == 1.0  # 25.2% > 21%
    assert p_hurdle(years, wacc=0.25, hurdle_bps=400) == 0.0  # 25.2% < 29%


def test_iid_normal_returns_match_the_analytic_probability() -> None:
    # i.i.d. daily N(μ, σ): a year's sum is N(252μ, 252σ²) when μ, σ are the sample's own
    rng = np.random.default_rng(11)
    r = rng.normal(0.0006, 0.01, 2520)
    mu, sd = 252 * r.mean(), math.sqrt(252) * r.std()
    threshold = 0.05 + 0.04
    expected = 0.5 * math.erfc((threshold - mu) / (sd * math.sqrt(2)))
    years = resampled_annual_returns(r, mean_block=1.0, n_resamples=4000)
    assert p_hurdle(years, 0.05, 400) == pytest.approx(expected, abs=0.03)


def test_no_history_gives_no_probability() -> None:
    assert math.isnan(p_hurdle(resampled_annual_returns(np.array([0.01])), 0.05, 400))


def _account(pnl: list[float], capital: list[float]) -> pd.DataFrame:
    days = pd.bdate_range("2025-01-02", periods=len(pnl))
    return pd.DataFrame(
        {
            "as_of": days,
            "condor_pnl": pnl,
            "hedge_pnl": [0.0] * len(pnl),
            "capital_at_risk": capital,
        }
    )


def test_sleeve_returns_are_pnl_over_mean_capital_without_the_opening_session() -> None:
    acc = _account([999.0, 10.0, -20.0, 30.0], [100.0, 200.0, 300.0, 400.0])
    r = sleeve_returns(acc, acc["as_of"].iloc[-1], 10)
    assert r.tolist() == pytest.approx([10 / 250, -20 / 250, 30 / 250])
    # nothing after as_of is read (point in time)
    r2 = sleeve_returns(acc, acc["as_of"].iloc[2], 10)
    assert r2.tolist() == pytest.approx([10 / 200, -20 / 200])


def test_resampled_years_of_a_steady_account() -> None:
    # $100 a day on $100,000 of capital: 25.2% a year on capital
    acc = _account([100.0] * 300, [100_000.0] * 300)
    years = resampled_years(acc, acc["as_of"].iloc[-1], RiskParams())
    assert years == pytest.approx(np.full(2000, 0.0252 * 10))
