"""BSM and Black-76 against textbook values, parity, finite differences and brute force."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import ndtr

from schemas.config import PricingParams
from tasks.market.pricing import black76, bsm, rate_from_tbill, strike_for_delta
from tasks.market.surface import skew_vol

RNG = np.random.default_rng(20250106)


def _random_inputs(n: int = 2000) -> dict[str, np.ndarray]:
    S = RNG.uniform(50.0, 6000.0, n)
    return {
        "S": S,
        "K": S * RNG.uniform(0.6, 1.4, n),
        "T": RNG.uniform(2.0, 730.0, n) / 365.0,
        "r": RNG.uniform(-0.01, 0.08, n),
        "q": RNG.uniform(0.0, 0.05, n),
        "sigma": RNG.uniform(0.05, 0.9, n),
    }


# --------------------------------------------------------------------------- BSM values


def test_put_call_parity_on_random_inputs() -> None:
    x = _random_inputs()
    call = bsm(**x, is_call=True).price
    put = bsm(**x, is_call=False).price
    parity = x["S"] * np.exp(-x["q"] * x["T"]) - x["K"] * np.exp(-x["r"] * x["T"])
    np.testing.assert_allclose(call - put, parity, atol=1e-9 * x["S"].max())


def test_hull_textbook_example_no_dividend() -> None:
    # Hull, Options, Futures and Other Derivatives, Example 15.6: S=42, K=40, r=10%, σ=20%, T=0.5
    g_call = bsm(42.0, 40.0, 0.5, 0.10, 0.0, 0.20, True)
    g_put = bsm(42.0, 40.0, 0.5, 0.10, 0.0, 0.20, False)
    assert float(g_call.price) == pytest.approx(4.76, abs=0.005)
    assert float(g_put.price) == pytest.approx(0.81, abs=0.005)


def test_haug_generalized_bsm_with_dividend_yield() -> None:
    # Haug, The Complete Guide to Option Pricing Formulas (2007), generalized BSM example:
    # put, S=75, X=70, T=0.5, r=10%, cost of carry b=5% (so q = r − b = 5%), v=35% → 4.0870
    g = bsm(75.0, 70.0, 0.5, 0.10, 0.05, 0.35, False)
    assert float(g.price) == pytest.approx(4.0870, abs=5e-5)


def test_hull_index_option_with_dividend_yield() -> None:
    # Hull, Example 17.1: index call S=930, K=900, r=8%, q=3%, σ=20%, T=2 months → 51.83
    g = bsm(930.0, 900.0, 2.0 / 12.0, 0.08, 0.03, 0.20, True)
    assert float(g.price) == pytest.approx(51.83, abs=0.005)


def test_matches_quantlib_when_installed() -> None:
    ql = pytest.importorskip("QuantLib")
    today = ql.Date(6, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    S, K, days, r, q, vol = 5975.38, 5800.0, 25, 0.0412, 0.013, 0.17
    proc = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(S)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, q, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)),
    )
    opt = ql.EuropeanOption(
        ql.PlainVanillaPayoff(ql.Option.Put, K), ql.EuropeanExercise(today + days)
    )
    opt.setPricingEngine(ql.AnalyticEuropeanEngine(proc))
    g = bsm(S, K, days / 365.0, r, q, vol, False)
    assert float(g.price) == pytest.approx(opt.NPV(), abs=1e-8)
    assert float(g.delta) == pytest.approx(opt.delta(), abs=1e-10)
    assert float(g.gamma) == pytest.approx(opt.gamma(), abs=1e-12)
    assert float(g.vega) == pytest.approx(opt.vega() / 100.0, abs=1e-8)
    assert float(g.theta) == pytest.approx(opt.thetaPerDay(), abs=1e-8)


# --------------------------------------------------------------------------- greeks


@pytest.mark.parametrize("is_call", [True, False])
def test_greeks_match_central_finite_differences(is_call: bool) -> None:
    x = _random_inputs(500)
    g = bsm(**x, is_call=is_call)

    def price(**kw: np.ndarray) -> np.ndarray:
        return bsm(**{**x, **kw}, is_call=is_call).price

    hS = 1e-5 * x["S"]
    fd_delta = (price(S=x["S"] + hS) - price(S=x["S"] - hS)) / (2 * hS)
    hG = 1e-4 * x["S"]
    fd_gamma = (price(S=x["S"] + hG) - 2 * price() + price(S=x["S"] - hG)) / hG**2
    hv = 1e-5
    fd_vega = (price(sigma=x["sigma"] + hv) - price(sigma=x["sigma"] - hv)) / (2 * hv) * 0.01
    # theta per calendar day: value change when time passes, i.e. −dV/dT / 365
    hT = 1e-6
    fd_theta = -(price(T=x["T"] + hT) - price(T=x["T"] - hT)) / (2 * hT) / 365.0
    np.testing.assert_allclose(g.delta, fd_delta, atol=1e-6)
    np.testing.assert_allclose(g.gamma, fd_gamma, rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(g.vega, fd_vega, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g.theta, fd_theta, rtol=1e-4, atol=1e-6)


def test_price_only_path_agrees_and_skips_greeks() -> None:
    x = _random_inputs(300)
    is_call = RNG.random(300) < 0.5
    full = bsm(**x, is_call=is_call)
    fast = bsm(**x, is_call=is_call, greeks=False)
    np.testing.assert_array_equal(full.price, fast.price)
    assert fast.delta is None and fast.gamma is None and fast.vega is None and fast.theta is None


def test_broadcasting_strikes_by_scenarios() -> None:
    S = np.array([5800.0, 6000.0, 6200.0])[:, None]
    K = np.array([5700.0, 5900.0, 6100.0, 6300.0])
    g = bsm(S, K, 30 / 365, 0.04, 0.013, 0.15, K > 6000)
    assert g.price.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            gij = bsm(float(S[i, 0]), K[j], 30 / 365, 0.04, 0.013, 0.15, K[j] > 6000)
            assert g.price[i, j] == pytest.approx(float(gij.price), rel=1e-12)


# --------------------------------------------------------------------------- T → 0, σ → 0


def test_expiry_gives_intrinsic_without_warnings() -> None:
    S = np.array([90.0, 100.0, 110.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        call = bsm(S, 100.0, 0.0, 0.05, 0.02, 0.2, True)
        put = bsm(S, 100.0, 0.0, 0.05, 0.02, 0.2, False)
        neg_t = bsm(S, 100.0, -0.01, 0.05, 0.02, 0.2, True)
    np.testing.assert_allclose(call.price, [0.0, 0.0, 10.0])
    np.testing.assert_allclose(put.price, [10.0, 0.0, 0.0])
    np.testing.assert_allclose(neg_t.price, [0.0, 0.0, 10.0])
    np.testing.assert_allclose(call.delta[[0, 2]], [0.0, 1.0])
    np.testing.assert_allclose(put.delta[[0, 2]], [-1.0, 0.0])
    np.testing.assert_allclose(call.gamma, 0.0)
    np.testing.assert_allclose(call.vega, 0.0)
    assert np.all(np.isfinite(call.theta)) and np.all(np.isfinite(put.theta))


def test_zero_vol_is_discounted_forward_intrinsic() -> None:
    S, K, T, r, q = 100.0, np.array([95.0, 105.0]), 0.5, 0.05, 0.01
    fwd = S * np.exp((r - q) * T)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        call = bsm(S, K, T, r, q, 0.0, True).price
    np.testing.assert_allclose(call, np.exp(-r * T) * np.maximum(fwd - K, 0.0), atol=1e-12)


def test_near_expiry_converges_to_intrinsic() -> None:
    g = bsm(101.0, 100.0, 1e-9, 0.05, 0.0, 0.2, True)
    assert float(g.price) == pytest.approx(1.0, abs=1e-6)
    assert float(g.delta) == pytest.approx(1.0, abs=1e-9)


# --------------------------------------------------------------------------- Black-76


def test_black76_hull_futures_option_example() -> None:
    # Hull, Example 18.? (futures options): European put, F0 = K = 20, r = 9%, T = 4 months,
    # σ = 25% → 1.12
    b = black76(20.0, 20.0, 4 / 12, 0.09, 0.25, False)
    assert float(b.price) == pytest.approx(1.12, abs=0.005)


def test_black76_parity_and_delta_by_finite_differences() -> None:
    n = 500
    F = RNG.uniform(10.0, 60.0, n)
    K = F * RNG.uniform(0.5, 2.0, n)
    T = RNG.uniform(5.0, 200.0, n) / 365.0
    r = RNG.uniform(0.0, 0.06, n)
    vol = RNG.uniform(0.3, 1.5, n)
    c = black76(F, K, T, r, vol, True)
    p = black76(F, K, T, r, vol, False)
    np.testing.assert_allclose(c.price - p.price, np.exp(-r * T) * (F - K), atol=1e-10)
    h = 1e-4 * F
    fd = (black76(F + h, K, T, r, vol, True).price - black76(F - h, K, T, r, vol, True).price) / (
        2 * h
    )
    np.testing.assert_allclose(c.delta, fd, atol=1e-7)
    # independent closed form: e^{−rT}[F N(d1) − K N(d2)]
    d1 = (np.log(F / K) + 0.5 * vol**2 * T) / (vol * np.sqrt(T))
    ref = np.exp(-r * T) * (F * ndtr(d1) - K * ndtr(d1 - vol * np.sqrt(T)))
    np.testing.assert_allclose(c.price, ref, rtol=1e-12, atol=1e-12)


def test_black76_at_expiry_is_intrinsic() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = black76(np.array([18.0, 25.0]), 20.0, 0.0, 0.05, 0.9, True)
    np.testing.assert_allclose(b.price, [0.0, 5.0])
    np.testing.assert_allclose(b.delta, [0.0, 1.0])


# --------------------------------------------------------------------------- rates, strikes


def test_rate_from_tbill() -> None:
    assert float(rate_from_tbill(4.21)) == pytest.approx(np.log(1.0421), abs=1e-15)
    np.testing.assert_allclose(rate_from_tbill([0.0, 5.0]), [0.0, np.log(1.05)])


@pytest.mark.parametrize("target", [-0.16, -0.10, 0.16, 0.25])
@pytest.mark.parametrize("days", [11, 35, 49])
def test_strike_for_delta_is_the_nearest_grid_strike(target: float, days: int) -> None:
    p = PricingParams()
    S, r, q, T, sig_atm = 5975.38, 0.041, p.div_yield, days / 365.0, 0.13
    got = float(
        strike_for_delta(
            target, S, T, r, q, sig_atm, p.put_slope, p.call_slope, p.vol_floor, p.spx_strike_step
        )
    )
    # brute force over the whole grid: delta under the skewed vol at every 5-point strike
    grid = np.arange(4000.0, 8000.0, p.spx_strike_step)
    fwd = S * np.exp((r - q) * T)
    vol = skew_vol(grid, fwd, T, sig_atm, p.put_slope, p.call_slope, p.vol_floor)
    deltas = bsm(S, grid, T, r, q, vol, target > 0).delta
    assert got == grid[np.argmin(np.abs(deltas - target))]


def test_strike_for_delta_vectorised_over_dates() -> None:
    p = PricingParams()
    S = np.array([4000.0, 5000.0, 6000.0])
    sig = np.array([0.25, 0.15, 0.12])
    T = np.array([28.0, 35.0, 42.0]) / 365.0
    skew = (p.put_slope, p.call_slope, p.vol_floor, p.spx_strike_step)
    got = strike_for_delta(-0.16, S, T, 0.04, 0.013, sig, *skew)
    one_by_one = [
        float(strike_for_delta(-0.16, S[i], T[i], 0.04, 0.013, sig[i], *skew)) for i in range(3)
    ]
    np.testing.assert_array_equal(got, one_by_one)
    assert np.all(got % p.spx_strike_step == 0)
