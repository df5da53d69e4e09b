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


def _legs(
    pid: str, underlying: str, rows: list[tuple[str, str, float, float, str]]
) -> pd.DataFrame:
    """A leg frame of ``(leg, put_call, strike, qty, expiry)`` rows of one position."""
    return pd.DataFrame(
        {
            "position_id": pid, "kind": "condor" if underlying == "SPX" else "hedge",
            "underlying": underlying, "expiry": [pd.Timestamp(r[4]) for r in rows],
            "tenor_days": 0, "leg": [r[0] for r in rows], "put_call": [r[1] for r in rows],
            "strike": [r[2] for r in rows], "qty": [r[3] for r in rows],
            "iv": 0.95 if underlying == "VIX" else np.nan, "F": np.nan, "model_price": 0.0,
            "delta": 0.0, "gamma": np.nan, "vega": np.nan, "theta": np.nan,
            "pricing_source": "model",
        }
    )  # fmt: skip


def test_several_leg_frames_stressed_in_one_call_equal_each_stressed_alone() -> None:
    """The market book stresses the ladder and the hedge unit in one revaluation (base state
    as one more scenario row): every number equals the frames stressed one by one with the
    base and the scenarios valued apart, to the last bit."""
    from tasks.structures import leg_values

    params = params_for("steward")
    pr, sc = params.pricing, params.sizing.scenarios
    ladder = pd.concat(
        [
            _legs("IC1", "SPX", [("short_put", "P", 7000.0, -1.0, "2026-08-21"),
                                 ("long_put", "P", 6950.0, 1.0, "2026-08-21"),
                                 ("short_call", "C", 7800.0, -1.0, "2026-08-21"),
                                 ("long_call", "C", 7850.0, 1.0, "2026-08-21")]),
            _legs("IC2", "SPX", [("short_put", "P", 6800.0, -1.0, "2026-09-18"),
                                 ("long_put", "P", 6750.0, 1.0, "2026-09-18")]),
        ],
        ignore_index=True,
    )  # fmt: skip
    hedge = _legs("ALVH-2026-10-21", "VIX", [("long_call", "C", 22.0, 1.0, "2026-10-21")])
    both = stress_pnl(CTX, [ladder, hedge], params)
    assert list(both.columns) == ["IC1", "IC2", "ALVH-2026-10-21"]
    apart = pd.concat([stress_pnl(CTX, ladder, params), stress_pnl(CTX, hedge, params)], axis=1)
    pd.testing.assert_frame_equal(both, apart, check_exact=True, check_column_type=False)
    # and each against the two valuations done apart (base, then the scenarios)
    names = list(sc)
    spx = np.array([sc[n].spx_return for n in names])
    mult = np.array([sc[n].vix_mult for n in names])
    shift = np.array([sc[n].rate_shift for n in names])
    for legs in (ladder, hedge):
        base = leg_values(legs, CTX.as_of, CTX.spot, CTX.term, CTX.risk_free, pr.div_yield, pr)
        scen = leg_values(legs, CTX.as_of, CTX.spot * (1 + spx), CTX.term.scaled(mult),
                          CTX.risk_free + shift, pr.div_yield, pr)  # fmt: skip
        for pid in legs["position_id"].unique():
            m = (legs["position_id"] == pid).to_numpy()
            want = (scen - base)[:, m].sum(axis=1)
            np.testing.assert_allclose(both[pid].to_numpy(), want, rtol=0, atol=1e-9)
    assert stress_pnl(CTX, [ladder.iloc[:0], hedge], params).columns.tolist() == ["ALVH-2026-10-21"]
