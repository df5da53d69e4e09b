"""SPEC §7 step 6 alone: scenario revaluation, crash limit and quick ratio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from schemas.config import params_for
from tasks.market.frame import MarketContext
from tasks.market.pricing import bsm, rate_from_tbill
from tasks.market.surface import VolTerm, model_vol
from tasks.sizing.stress import book_quick_ratio, breaches_crash, crash_limit, stress_pnl

CTX = MarketContext(
    as_of=pd.Timestamp("2026-07-22"),
    spot=7498.96,
    term=VolTerm(14.88, 16.64, 19.54, np.nan),
    vvix=95.55,
    tbill_pct=3.74,
    risk_free=float(rate_from_tbill(3.74)),
)


def test_crash_limit_and_its_tolerance() -> None:
    params = params_for("steward")  # max_drawdown 0.10
    assert crash_limit(1_000_000.0, params) == pytest.approx(100_000.0)
    at = pd.Series({"crash": -100_000.0 - 1e-7})  # equal up to rounding: within
    beyond = pd.Series({"crash": -100_000.01})
    assert not breaches_crash(at, 1_000_000.0, params)
    assert breaches_crash(beyond, 1_000_000.0, params)


def test_quick_ratio_of_a_book_by_hand() -> None:
    total = pd.Series({"crash": -30_000.0, "rally": 5_000.0})
    # (50,000 − 2,000 + 10,000) / (20,000 + 30,000)
    assert book_quick_ratio(50_000.0, 10_000.0, 2_000.0, 20_000.0, total) == pytest.approx(1.16)
    # no loss in any scenario: margin alone
    assert book_quick_ratio(50_000.0, 0.0, 0.0, 25_000.0, pd.Series({"rally": 1.0})) == 2.0
    assert book_quick_ratio(1.0, 0.0, 0.0, 0.0, pd.Series(dtype=float)) == np.inf


def test_stress_of_one_short_put_by_hand() -> None:
    """A short 7000 put expiring in 30 days, revalued instantaneously in the crash."""
    params = params_for("steward")
    pr = params.pricing
    legs = pd.DataFrame(
        {
            "position_id": ["P1"], "kind": ["condor"], "underlying": ["SPX"],
            "expiry": [pd.Timestamp("2026-08-21")], "tenor_days": [30], "leg": ["short_put"],
            "put_call": ["P"], "strike": [7000.0], "qty": [-1.0], "iv": [0.2], "F": [np.nan],
            "model_price": [0.0], "delta": [0.0], "gamma": [np.nan], "vega": [np.nan],
            "theta": [np.nan], "pricing_source": ["model"],
        }
    )  # fmt: skip
    out = stress_pnl(CTX, legs, params)
    assert list(out.index) == ["crash", "correction", "cpi_shock", "vol_spike", "rally"]
    T, K, r, q = 30 / 365, np.array([7000.0]), CTX.risk_free, pr.div_yield

    def value(S, term):
        d = (float(term.vix) - pr.skew_vix_ref) / 100  # the slopes at this VIX, written out
        put_s = max(pr.put_slope + pr.put_slope_per_vix * d, 0.0)
        call_s = max(pr.call_slope + pr.call_slope_per_vix * d, 0.0)
        sig = model_vol(K, S, T, r, q, term, pr.atm_ratio, put_s, call_s, pr.vol_floor)
        return float(bsm(S, K, T, r, q, sig, np.array([False])).price[0])

    by_hand = -100 * (value(CTX.spot * 0.8, CTX.term.scaled(3.0)) - value(CTX.spot, CTX.term))
    assert out.loc["crash", "P1"] == pytest.approx(by_hand, rel=1e-9)
    assert out.loc["crash", "P1"] < -50_000  # deep in the money after a 20% fall


def test_no_legs_no_scenario_columns() -> None:
    out = stress_pnl(CTX, pd.DataFrame(columns=["position_id"]), params_for("steward"))
    assert out.shape == (5, 0)
