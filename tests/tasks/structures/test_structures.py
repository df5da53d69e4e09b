"""Iron condors, the ALVH hedge unit and full revaluation (SPEC §4, §7)."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from paths import FIXTURES
from scipy import stats

from schemas.config import HedgeParams, LadderParams, PricingParams
from tasks.market.chain import prefer_root, read_chain
from tasks.market.pricing import black76, bsm, rate_from_tbill
from tasks.market.surface import VolTerm
from tasks.structures import (
    CONDOR_LEGS,
    LEG_COLUMNS,
    condor_from_chain,
    hedge_unit,
    iron_condor,
    leg_values,
    model_condor_arrays,
    pnl_by_position,
    prob_between_breakevens,
    revalue_legs,
    tighten_short_strikes,
    vol_of_vol,
    widen_short_delta,
)

FIXTURE = FIXTURES / "chain" / "cboe_spx_options_chain_2025-01-06_trimmed.csv"

# Market of 2025-01-06 (CBOE index closes, FRED DTB3): see tests/test_surface.py.
TERM = VolTerm(14.20, 16.04, 18.03, 19.65)
VVIX = 95.89
AS_OF = pd.Timestamp("2025-01-06")
S = 5975.38
R = float(rate_from_tbill(4.21))
P = PricingParams()
L = LadderParams()
MRP = 0.055
Q = P.div_yield


@pytest.fixture(scope="module")
def condor():
    return iron_condor(AS_OF, "2025-02-07", S, R, Q, TERM, P, L, MRP)


# --------------------------------------------------------------------------- model condor


def test_condor_legs_layout_and_strikes(condor) -> None:
    legs = condor.legs
    assert list(legs.columns) == LEG_COLUMNS
    assert list(legs["leg"]) == list(CONDOR_LEGS)
    assert list(legs["put_call"]) == ["P", "P", "C", "C"]
    assert list(legs["qty"]) == [-1, 1, -1, 1]
    assert (legs["pricing_source"] == "model").all()
    k = legs.set_index("leg")["strike"]
    assert (k % P.spx_strike_step == 0).all()
    assert k["short_put"] - k["long_put"] == L.wing_width
    assert k["long_call"] - k["short_call"] == L.wing_width
    assert k["long_put"] < k["short_put"] < S < k["short_call"] < k["long_call"]
    d = legs.set_index("leg")["delta"]
    assert d["short_put"] == pytest.approx(-L.short_delta, abs=0.01)
    assert d["short_call"] == pytest.approx(L.short_delta, abs=0.01)


def test_condor_prices_are_bsm_at_each_legs_skewed_vol(condor) -> None:
    legs = condor.legs
    T = (pd.Timestamp("2025-02-07") - AS_OF).days / 365
    # independent: the model vol by hand (SPEC §3.1) for each strike, then BSM
    w30, w93 = 0.1604**2 * 30 / 365, 0.1803**2 * 93 / 365
    w = w30 + (w93 - w30) * (T - 30 / 365) / (63 / 365)
    atm = P.atm_ratio * np.sqrt(w / T)
    fwd = S * np.exp((R - Q) * T)
    m = np.log(legs["strike"] / fwd) / (atm * np.sqrt(T))
    put_s, call_s = _slopes(16.04)
    vol = np.maximum(P.vol_floor, atm - np.where(m < 0, put_s, call_s) * m)
    np.testing.assert_allclose(legs["iv"], vol, rtol=1e-12)
    g = bsm(
        S, legs["strike"].to_numpy(), T, R, Q, vol.to_numpy(), (legs["put_call"] == "C").to_numpy()
    )
    np.testing.assert_allclose(legs["model_price"], g.price, rtol=1e-12)
    np.testing.assert_allclose(legs["theta"], g.theta, rtol=1e-12)
    assert condor.sigma_atm == pytest.approx(atm, rel=1e-12)


def test_condor_tranche_metrics_exact(condor) -> None:
    px = condor.legs.set_index("leg")["model_price"]
    credit = px["short_put"] - px["long_put"] + px["short_call"] - px["long_call"]
    k = condor.legs.set_index("leg")["strike"]
    assert condor.credit == pytest.approx(credit, abs=1e-12)
    assert condor.max_profit == pytest.approx(100 * credit, abs=1e-9)
    assert condor.max_loss == pytest.approx(100 * (L.wing_width - credit), abs=1e-9)
    assert condor.breakeven_low == k["short_put"] - condor.credit
    assert condor.breakeven_high == k["short_call"] + condor.credit
    d = condor.legs.set_index("leg")["delta"]
    net = -d["short_put"] + d["long_put"] - d["short_call"] + d["long_call"]
    assert condor.net_delta == pytest.approx(net, abs=1e-14)
    assert condor.tenor_days == 32
    assert 0 < condor.credit < L.wing_width


def test_condor_payoff_at_the_breakevens_is_zero(condor) -> None:
    legs = condor.legs
    for s_t in (condor.breakeven_low, condor.breakeven_high):
        payoff = np.where(
            legs["put_call"] == "C",
            np.maximum(s_t - legs["strike"], 0),
            np.maximum(legs["strike"] - s_t, 0),
        )
        assert float((legs["qty"] * payoff).sum()) + condor.credit == pytest.approx(0.0, abs=1e-9)


def test_prob_between_breakevens_matches_scipy_lognormal(condor) -> None:
    T = condor.tenor_days / 365
    mu, sig = R + MRP - Q, condor.sigma_atm
    dist = stats.lognorm(s=sig * np.sqrt(T), scale=S * np.exp((mu - 0.5 * sig**2) * T))
    ref = dist.cdf(condor.breakeven_high) - dist.cdf(condor.breakeven_low)
    assert condor.prob_between_breakevens == pytest.approx(ref, abs=1e-12)
    assert float(prob_between_breakevens(100.0, 0.0, np.inf, 0.5, 0.05, 0.2)) == pytest.approx(1.0)


def test_vectorised_condors_match_single_builds() -> None:
    S_arr = np.array([4800.0, 5975.38, 6100.0])
    T = np.array([28.0, 35.0, 49.0]) / 365.0
    terms = VolTerm(
        np.array([20.0, 14.2, 12.0]),
        np.array([22.0, 16.04, 13.0]),
        np.array([23.0, 18.03, 15.0]),
        np.array([np.nan, 19.65, 16.0]),
    )
    c = model_condor_arrays(S_arr, T, R, Q, terms, P, L.short_delta, L.short_delta, L.wing_width)
    assert c.strike.shape == (3, 4)
    for i in range(3):
        one = VolTerm(
            *(float(np.asarray(v)[i]) for v in (terms.vix9d, terms.vix, terms.vix3m, terms.vix6m))
        )
        expiry = AS_OF + pd.Timedelta(days=int(round(T[i] * 365)))
        ic = iron_condor(AS_OF, expiry, float(S_arr[i]), R, Q, one, P, L, MRP)
        np.testing.assert_array_equal(c.strike[i], ic.legs["strike"].to_numpy())
        assert c.credit[i] == pytest.approx(ic.credit, rel=1e-12)


# --------------------------------------------------------------------------- chain condor


def test_condor_from_chain_picks_quoted_deltas_and_mids() -> None:
    chain = read_chain(FIXTURE)
    ic = condor_from_chain(chain, "2025-01-31", R, Q, L, MRP)
    legs = ic.legs.set_index("leg")
    assert (ic.legs["pricing_source"] == "chain").all()
    assert ic.pricing_source == "chain"
    q = prefer_root(chain.quotes)
    q = q[(q["expiry"] == "2025-01-31") & (q["bid"] > 0) & q["iv"].notna()]
    # brute force: the put whose quoted delta is nearest −0.16, the call nearest +0.16
    puts, calls = q[q["put_call"] == "P"], q[q["put_call"] == "C"]
    best_put = puts.iloc[np.argmin(np.abs(puts["delta"].to_numpy() + L.short_delta))]
    best_call = calls.iloc[np.argmin(np.abs(calls["delta"].to_numpy() - L.short_delta))]
    assert legs.loc["short_put", "strike"] == best_put["strike"]
    assert legs.loc["short_call", "strike"] == best_call["strike"]
    assert legs.loc["short_put", "model_price"] == pytest.approx(
        (best_put["bid"] + best_put["ask"]) / 2
    )
    assert legs.loc["short_put", "delta"] == best_put["delta"]
    assert legs.loc["short_put", "strike"] - legs.loc["long_put", "strike"] == L.wing_width
    assert legs.loc["long_call", "strike"] - legs.loc["short_call", "strike"] == L.wing_width
    credit = (legs["model_price"] * -legs["qty"]).sum()
    assert ic.credit == pytest.approx(credit)
    assert ic.max_loss == pytest.approx(100 * (L.wing_width - credit))
    assert ic.breakeven_low == legs.loc["short_put", "strike"] - ic.credit


def test_chain_and_model_condors_agree_roughly() -> None:
    chain = read_chain(FIXTURE)
    by_chain = condor_from_chain(chain, "2025-01-31", R, Q, L, MRP)
    by_model = iron_condor(AS_OF, "2025-01-31", chain.spot, R, Q, TERM, P, L, MRP)
    k_c = by_chain.legs.set_index("leg")["strike"]
    k_m = by_model.legs.set_index("leg")["strike"]
    assert (abs(k_c - k_m) <= 20).all()
    assert by_model.credit == pytest.approx(by_chain.credit, abs=1.5)


# --------------------------------------------------------------------------- §7 step 1


def test_widen_and_tighten() -> None:
    assert widen_short_delta(0.16, 0.75) == pytest.approx(0.12)
    build = partial(iron_condor, AS_OF, "2025-02-07", S, R, Q, TERM, P, L, MRP)
    base = build(0.16, 0.16)
    tight = tighten_short_strikes(build, 0.16, 0.02, 0.02)
    assert abs(tight.net_delta) <= 0.02 or abs(tight.net_delta) <= abs(base.net_delta)
    assert (tight.short_put_delta, tight.short_call_delta) in {
        (0.18, 0.18),
        (0.18, 0.16),
        (0.16, 0.18),
        (0.16, 0.16),
    }
    if tight.short_put_delta > 0.16:
        assert (
            tight.legs.set_index("leg").loc["short_put", "strike"]
            > base.legs.set_index("leg").loc["short_put", "strike"]
        )
    # with an impossible tolerance the least-net-delta candidate wins
    strict = tighten_short_strikes(build, 0.16, 0.02, 0.0)
    cands = [build(p, c) for p, c in [(0.18, 0.18), (0.18, 0.16), (0.16, 0.18), (0.16, 0.16)]]
    assert abs(strict.net_delta) == min(abs(c.net_delta) for c in cands)


# --------------------------------------------------------------------------- hedge unit


def test_vix_call_hedge_unit_by_hand() -> None:
    h = hedge_unit(AS_OF, TERM, R, P, HedgeParams(), vvix=VVIX)
    leg = h.legs.iloc[0]
    assert len(h.legs) == 1 and leg["leg"] == "long_call" and leg["qty"] == 1
    assert leg["expiry"] == pd.Timestamp("2025-04-16")
    F = _f_vix(100 / 365, TERM)
    assert leg["F"] == pytest.approx(F, rel=1e-12)
    assert leg["strike"] == np.floor(1.25 * F + 0.5)
    # Black-76 is BSM with S = F and q = r
    ref = bsm(F, leg["strike"], 100 / 365, R, R, VVIX / 100, True)
    assert h.premium == pytest.approx(float(ref.price), rel=1e-10)
    # BSM delta with q = r is e^{−rT}N(d1), the Black-76 delta w.r.t. F
    assert h.net_delta_F == pytest.approx(float(ref.delta), rel=1e-10)
    assert h.premium_usd == pytest.approx(100 * h.premium)
    assert h.vol_of_vol == pytest.approx(0.9589)


def test_spread_and_calendar_units() -> None:
    spread = hedge_unit(AS_OF, TERM, R, P, HedgeParams(kind="vix_call_spread"), vvix=VVIX)
    legs = spread.legs.set_index("leg")
    assert legs.loc["short_call", "strike"] - legs.loc["long_call", "strike"] == 10.0
    assert legs.loc["short_call", "qty"] == -1
    assert spread.premium == pytest.approx(
        legs.loc["long_call", "model_price"] - legs.loc["short_call", "model_price"]
    )
    assert 0 < spread.premium < hedge_unit(AS_OF, TERM, R, P, HedgeParams(), vvix=VVIX).premium

    cal = hedge_unit(AS_OF, TERM, R, P, HedgeParams(kind="vix_call_calendar"), vvix=VVIX)
    legs = cal.legs.set_index("leg")
    assert legs.loc["short_call", "strike"] == legs.loc["long_call", "strike"]
    assert legs.loc["short_call", "expiry"] == pd.Timestamp("2025-01-22")
    assert legs.loc["long_call", "expiry"] == pd.Timestamp("2025-04-16")
    b = black76(
        legs["F"].to_numpy(),
        legs["strike"].to_numpy(),
        legs["tenor_days"].to_numpy() / 365,
        R,
        VVIX / 100,
        True,
    )
    np.testing.assert_allclose(legs["model_price"], b.price, rtol=1e-12)


def test_vol_of_vol_default() -> None:
    assert vol_of_vol(None, P) == P.vol_of_vol_default
    assert vol_of_vol(float("nan"), P) == P.vol_of_vol_default
    h = hedge_unit(AS_OF, TERM, R, P, HedgeParams(), vvix=None)
    assert (h.legs["iv"] == P.vol_of_vol_default).all()


# --------------------------------------------------------------------------- revaluation


def _book(condor) -> pd.DataFrame:
    hedge = hedge_unit(AS_OF, TERM, R, P, HedgeParams(kind="vix_call_spread"), vvix=VVIX)
    return pd.concat(
        [condor.legs.assign(position_id="condor"), hedge.legs.assign(position_id="hedge")],
        ignore_index=True,
    )


def test_no_shock_no_decay_is_zero_pnl(condor) -> None:
    legs = _book(condor)
    pnl = revalue_legs(legs, AS_OF, S, TERM, R, Q, S, TERM, R, P, days_ahead=0)
    assert pnl.shape == (1, len(legs))
    np.testing.assert_allclose(pnl, 0.0, atol=1e-10)


def test_one_day_decay_matches_theta(condor) -> None:
    # flat term structure and no skew: every leg's vol is constant in T, so one day of decay
    # on an unchanged market is theta (per calendar day) up to second order
    flat_p = PricingParams(put_slope=0.0, call_slope=0.0)
    flat = VolTerm(16.0, 16.0, 16.0, 16.0)
    pnl = revalue_legs(condor.legs, AS_OF, S, flat, R, Q, S, flat, R, flat_p, days_ahead=1).sum(
        axis=1
    )
    legs = condor.legs
    g = bsm(
        S,
        legs["strike"].to_numpy(),
        32 / 365,
        R,
        Q,
        flat_p.atm_ratio * 0.16,
        (legs["put_call"] == "C").to_numpy(),
    )
    theta = 100 * float((legs["qty"] * g.theta).sum())
    assert float(pnl[0]) == pytest.approx(theta, rel=0.03)
    assert float(pnl[0]) > 0  # short premium earns decay


def test_revaluation_matches_a_naive_loop(condor) -> None:
    legs = _book(condor)
    rng = np.random.default_rng(3)
    n = 40
    ret = rng.normal(0, 0.02, n)
    ratio = np.exp(rng.normal(0, 0.1, n))
    S_s = S * (1 + ret)
    terms = TERM.scaled(ratio)
    r_s = R + np.where(np.arange(n) % 5 == 0, 0.005, 0.0)
    pnl = revalue_legs(legs, AS_OF, S, TERM, R, Q, S_s, terms, r_s, P, days_ahead=1)
    assert pnl.shape == (n, len(legs))

    def value(i: int | None, days: int) -> np.ndarray:
        s = S if i is None else S_s[i]
        rr = R if i is None else r_s[i]
        term = (
            TERM
            if i is None
            else VolTerm(14.20 * ratio[i], 16.04 * ratio[i], 18.03 * ratio[i], 19.65 * ratio[i])
        )
        out = []
        for _, leg in legs.iterrows():  # the naive per-leg loop, scalar calls only
            T = max((leg["expiry"] - AS_OF).days - days, 0) / 365
            if leg["underlying"] == "SPX":
                sig = float(leg_model_vol(leg["strike"], s, T, rr, term))
                px = float(bsm(s, leg["strike"], T, rr, Q, sig, leg["put_call"] == "C").price)
            else:
                F = float(_f_vix(T, term))
                px = float(black76(F, leg["strike"], T, rr, leg["iv"], True).price)
            out.append(100 * leg["qty"] * px)
        return np.array(out)

    base = value(None, 0)
    for i in range(0, n, 7):
        np.testing.assert_allclose(pnl[i], value(i, 1) - base, atol=1e-8)
    by_pos = pnl_by_position(legs, pnl)
    assert list(by_pos.columns) == ["condor", "hedge"]
    np.testing.assert_allclose(by_pos["condor"], pnl[:, :4].sum(axis=1))


def leg_model_vol(K: float, s: float, T: float, r: float, term: VolTerm) -> float:
    """SPEC §3.1 model vol for one strike, with scalar numpy interpolation (np.interp)."""
    days = [0, 9, 30, 93, 182]
    vols = [0.0, term.vix9d, term.vix, term.vix3m, term.vix6m]
    w_knots = [(float(v) / 100) ** 2 * d / 365 for v, d in zip(vols, days, strict=True)]
    t = max(T, 1e-10)
    w = np.interp(t * 365, days, w_knots) if t * 365 <= 182 else w_knots[-1] / (182 / 365) * t
    atm = P.atm_ratio * np.sqrt(w / t)
    fwd = s * np.exp((r - Q) * t)
    m = np.log(K / fwd) / (atm * np.sqrt(t))
    put_s, call_s = _slopes(float(term.vix))
    return max(P.vol_floor, atm - (put_s if m < 0 else call_s) * m)


def _slopes(vix: float) -> tuple[float, float]:
    """The SPEC §3.1 slopes at the VIX level, written out: base + per_vix·(VIX − ref)/100, at least 0."""
    d = (vix - P.skew_vix_ref) / 100
    return max(P.put_slope + P.put_slope_per_vix * d, 0.0), max(
        P.call_slope + P.call_slope_per_vix * d, 0.0
    )


def _f_vix(T: float, term: VolTerm) -> float:
    days = [0, 9, 30, 93, 182]
    vols = [0.0, term.vix9d, term.vix, term.vix3m, term.vix6m]
    w_knots = [(float(v) / 100) ** 2 * d / 365 for v, d in zip(vols, days, strict=True)]

    # beyond 182 days the VIX futures carry the 93→182-day forward variance on
    fwd_last = (w_knots[-1] - w_knots[-2]) / ((182 - 93) / 365)

    def w(t: float) -> float:
        return (
            float(np.interp(t * 365, days, w_knots))
            if t * 365 <= 182
            else w_knots[-1] + fwd_last * (t - 182 / 365)
        )

    tau = 30 / 365
    k = P.convexity_mean_reversion  # the log VIX's variance saturates: σ²(1 − e^{−2kT})/(2k)
    v = P.convexity_vol**2 * (1 - np.exp(-2 * k * T)) / (2 * k)
    return 100 * np.sqrt((w(T + tau) - w(T)) / tau) * np.exp(-0.5 * v)


def test_crash_scenario_signs(condor) -> None:
    legs = _book(condor)
    crash = revalue_legs(legs, AS_OF, S, TERM, R, Q, S * 0.8, TERM.scaled(3.0), R, P, days_ahead=1)
    by_pos = pnl_by_position(legs, crash)
    assert by_pos["condor"].iloc[0] < -0.8 * condor.max_loss  # near the max loss
    assert by_pos["condor"].iloc[0] >= -condor.max_loss - 1e-6 - 100 * L.wing_width * 0.01
    assert by_pos["hedge"].iloc[0] > 0


def test_expired_legs_are_worth_intrinsic(condor) -> None:
    vals = leg_values(
        condor.legs, AS_OF, np.array([5000.0, 6000.0, 7000.0]), TERM, R, Q, P, days_ahead=60
    )
    k = condor.legs["strike"].to_numpy()
    is_call = (condor.legs["put_call"] == "C").to_numpy()
    for i, s in enumerate([5000.0, 6000.0, 7000.0]):
        intrinsic = np.where(is_call, np.maximum(s - k, 0), np.maximum(k - s, 0))
        np.testing.assert_allclose(
            vals[i], 100 * condor.legs["qty"].to_numpy() * intrinsic, atol=1e-9
        )


def test_both_short_strikes_searched_together_are_each_searched_alone() -> None:
    """``model_condor_arrays`` places the short put and the short call in one
    ``strike_for_delta`` call: over 36 years of VIX levels × 4 tenors × 3 deltas the grid
    strikes equal those of the put and the call searched apart."""
    from tasks.market.pricing import strike_for_delta
    from tasks.market.surface import atm_vol, surface_slopes

    rng = np.random.default_rng(11)
    vix = rng.uniform(9.0, 80.0, 60)
    terms = VolTerm(vix * 0.9, vix, vix * 1.08, vix * 1.12)
    S_arr = rng.uniform(300.0, 7500.0, 60)[:, None]
    T = (np.array([28.0, 35.0, 42.0, 49.0]) / 365.0)[None, :].repeat(60, axis=0)
    ex = terms.expand(-1)
    for put_d, call_d in [(0.10, 0.10), (0.16, 0.12), (0.25, 0.20)]:
        c = model_condor_arrays(S_arr, T, R, Q, ex, P, put_d, call_d, L.wing_width)
        sig = atm_vol(T, ex, P.atm_ratio)
        put_s, call_s = (np.broadcast_to(x, sig.shape) for x in surface_slopes(ex.vix, P))
        skew = (put_s, call_s, P.vol_floor, P.spx_strike_step)
        alone_put = strike_for_delta(-put_d, S_arr, T, R, Q, sig, *skew)
        alone_call = strike_for_delta(call_d, S_arr, T, R, Q, sig, *skew)
        np.testing.assert_array_equal(c.strike[..., 0], alone_put)
        np.testing.assert_array_equal(c.strike[..., 2], alone_call)
