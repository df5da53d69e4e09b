"""Vol surface and VIX futures curve (SPEC §3.1, §3.2) against hand computations."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from paths import FIXTURES

from schemas.config import PricingParams
from tasks.market.chain import prefer_root, read_chain
from tasks.market.expiries import vix_expiries
from tasks.market.pricing import rate_from_tbill
from tasks.market.surface import (
    VolTerm,
    atm_vol,
    model_vol,
    skew_vol,
    total_variance_raw,
    vix_future,
    vix_term_curve,
)

FIXTURE = FIXTURES / "chain" / "cboe_spx_options_chain_2025-01-06_trimmed.csv"

# CBOE closes of 2025-01-06 (cboe_VIX9D/VIX/VIX3M/VIX6M/VVIX_History.csv) and FRED DTB3 of
# that date: the market the bundled option chain was quoted in.
VIX9D_20250106 = 14.20
VIX_20250106 = 16.04
VIX3M_20250106 = 18.03
VIX6M_20250106 = 19.65
DTB3_20250106 = 4.21
TERM = VolTerm(VIX9D_20250106, VIX_20250106, VIX3M_20250106, VIX6M_20250106)


def _w(index: float, days: float) -> float:
    """Total variance of an index level over a tenor in days, by hand."""
    return (index / 100.0) ** 2 * days / 365.0


def test_total_variance_at_the_knots() -> None:
    T = np.array([0.0, 9.0, 30.0, 93.0, 182.0]) / 365.0
    expected = [0.0, _w(14.20, 9), _w(16.04, 30), _w(18.03, 93), _w(19.65, 182)]
    np.testing.assert_allclose(total_variance_raw(T, TERM), expected, rtol=1e-14)


def test_total_variance_between_knots_is_linear_in_t() -> None:
    # 20 days: between the 9-day and 30-day knots
    w9, w30 = _w(14.20, 9), _w(16.04, 30)
    expected20 = w9 + (w30 - w9) * (20 - 9) / (30 - 9)
    # 60 days: between 30 and 93
    w93 = _w(18.03, 93)
    expected60 = w30 + (w93 - w30) * (60 - 30) / (93 - 30)
    # 4 days: on the line from (0, 0) to the 9-day knot, i.e. the VIX9D vol
    expected4 = _w(14.20, 4)
    got = total_variance_raw(np.array([20.0, 60.0, 4.0]) / 365.0, TERM)
    np.testing.assert_allclose(got, [expected20, expected60, expected4], rtol=1e-13)


def test_flat_vol_beyond_last_point() -> None:
    assert float(total_variance_raw(1.0, TERM)) == pytest.approx(0.1965**2 * 1.0, rel=1e-13)
    no6m = VolTerm(14.20, 16.04, 18.03, np.nan)
    assert float(total_variance_raw(150 / 365, no6m)) == pytest.approx(_w(18.03, 150), rel=1e-13)


def test_missing_optional_points_are_skipped() -> None:
    no9d = VolTerm(np.nan, 16.04, 18.03, 19.65)
    # below 30 days the line runs from (0, 0) straight to the VIX knot
    assert float(total_variance_raw(5 / 365, no9d)) == pytest.approx(_w(16.04, 5), rel=1e-13)
    # 120 days: between 93 and 182 as before
    w93, w182 = _w(18.03, 93), _w(19.65, 182)
    assert float(total_variance_raw(120 / 365, no9d)) == pytest.approx(
        w93 + (w182 - w93) * (120 - 93) / (182 - 93), rel=1e-13
    )


def test_vectorised_term_matches_scalar_terms() -> None:
    terms = VolTerm(
        np.array([14.2, np.nan, 30.0]),
        np.array([16.04, 20.0, 35.0]),
        np.array([18.03, 21.0, 28.0]),
        np.array([19.65, np.nan, 26.0]),
    )
    T = np.array([5.0, 45.0, 250.0]) / 365.0
    got = total_variance_raw(T, terms)
    for i in range(3):
        one = VolTerm(
            *(float(np.asarray(v)[i]) for v in (terms.vix9d, terms.vix, terms.vix3m, terms.vix6m))
        )
        assert got[i] == pytest.approx(float(total_variance_raw(T[i], one)), rel=1e-14)
    # the scenario × leg layout: term (n, 1) against T (m,)
    grid = total_variance_raw(T, terms.expand())
    assert grid.shape == (3, 3)
    np.testing.assert_allclose(np.diag(grid), got)


@pytest.mark.parametrize("beyond", ["flat_vol", "flat_forward"])
@pytest.mark.parametrize(
    "missing", [(), (0,), (3,), (0, 3), (1, 2), (0, 1, 2, 3)], ids=lambda m: f"missing{m}"
)
def test_total_variance_is_the_same_number_whichever_knot_search_runs(beyond, missing) -> None:
    """A term whose entries all miss the same knots takes the search-on-T path; adding one
    entry with another pattern sends the same entries down the general path. The numbers
    must be bit-identical (the backtest's discrete decisions depend on them)."""
    rng = np.random.default_rng(7)
    fields = [rng.uniform(9.0, 80.0, (6, 1)) for _ in range(4)]
    for k in missing:
        fields[k] = fields[k] * np.nan
    T = np.concatenate([[0.0, 9 / 365, 30 / 365, 93 / 365, 182 / 365], rng.uniform(0, 1.5, 11)])
    same = total_variance_raw(T, VolTerm(*fields), beyond)
    # one more entry with a different pattern of missing knots: the general path for all
    odd = [np.vstack([f, [[20.0 if k in missing else np.nan]]]) for k, f in enumerate(fields)]
    general = total_variance_raw(T, VolTerm(*odd), beyond)[:-1]
    assert same.shape == general.shape == (6, len(T))
    np.testing.assert_array_equal(same, general)
    if len(missing) < 4:
        assert np.isfinite(same).all()


def test_scaled_term_scales_total_variance_quadratically() -> None:
    ratios = np.array([0.5, 1.0, 2.0])
    scaled = TERM.scaled(ratios)
    w = total_variance_raw(40 / 365, scaled)
    np.testing.assert_allclose(w, ratios**2 * float(total_variance_raw(40 / 365, TERM)), rtol=1e-13)


def test_atm_vol_applies_ratio_and_has_a_finite_limit_at_zero() -> None:
    p = PricingParams()
    assert float(atm_vol(30 / 365, TERM, p.atm_ratio)) == pytest.approx(
        p.atm_ratio * 0.1604, rel=1e-13
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(atm_vol(0.0, TERM, p.atm_ratio)) == pytest.approx(
            p.atm_ratio * 0.1420, rel=1e-9
        )


def test_skew_by_hand_and_floor() -> None:
    F, T, atm = 6000.0, 30 / 365, 0.15
    K = np.array([5600.0, 6000.0, 6300.0])
    m = np.log(K / F) / (atm * np.sqrt(T))
    expected = [atm - 0.03 * m[0], atm, atm - 0.025 * m[2]]
    np.testing.assert_allclose(skew_vol(K, F, T, atm, 0.03, 0.025, 0.05), expected, rtol=1e-14)
    # far out-of-the-money calls hit the floor
    assert float(skew_vol(20000.0, F, T, atm, 0.03, 0.025, 0.05)) == 0.05
    # floor applies to puts too with a steep negative put slope
    assert float(skew_vol(5000.0, F, T, atm, -0.5, 0.025, 0.05)) == 0.05


def test_vix_future_at_zero_is_forward_variance_and_convexity_shrinks_it() -> None:
    # T = 0: forward variance over the next 30 days = VIX² exactly (the 30-day knot)
    assert float(vix_future(0.0, TERM, 0.5, 0.0)) == pytest.approx(16.04, rel=1e-13)
    # T = 30 days: forward variance between the 30-day and 60-day points, by hand
    w30, w93 = _w(16.04, 30), _w(18.03, 93)
    w60 = w30 + (w93 - w30) * 30 / 63
    fwd = 100 * np.sqrt((w60 - w30) / (30 / 365))
    assert float(vix_future(30 / 365, TERM, 0.0, 0.0)) == pytest.approx(fwd, rel=1e-12)
    conv = float(vix_future(30 / 365, TERM, 0.5, 0.0))  # κ = 0: SPEC §3.2's σ_c²·T
    assert conv == pytest.approx(fwd * np.exp(-0.5 * 0.25 * 30 / 365), rel=1e-12)
    assert conv < fwd


def test_the_convexity_haircut_saturates_with_mean_reversion() -> None:
    # κ = 4/yr, σ_c = 0.5, T = 1 year: v = 0.25·(1 − e^{−8})/8 = 0.0312395…, not 0.25
    fwd = float(vix_future(1.0, TERM, 0.5, 0.0)) / np.exp(-0.5 * 0.25)
    got = float(vix_future(1.0, TERM, 0.5, 4.0))
    assert got == pytest.approx(fwd * np.exp(-0.5 * 0.25 * (1 - np.exp(-8.0)) / 8.0), rel=1e-12)
    # at a short tenor the two agree to first order (v ≈ σ_c²·T)
    short = float(vix_future(5 / 365, TERM, 0.5, 4.0)) / float(vix_future(5 / 365, TERM, 0.5, 0.0))
    assert short == pytest.approx(1.0, abs=1e-4)


def test_the_futures_long_end_carries_the_last_forward_variance() -> None:
    """Past the VIX6M knot the VIX futures' forward variance is the 93→182-day one (by hand),
    where SPEC §3.1's flat vol would make every later future ≈ VIX6M."""
    w93, w182 = _w(18.03, 93), _w(19.65, 182)
    fwd_var = (w182 - w93) / (89 / 365)
    for days in (182, 240, 400):
        got = float(vix_future(days / 365, TERM, 0.5, 0.0)) / np.exp(-0.5 * 0.25 * days / 365)
        assert got == pytest.approx(100 * np.sqrt(fwd_var), rel=1e-12)
    # the SPX surface keeps SPEC §3.1's flat vol beyond the last knot
    assert float(total_variance_raw(1.0, TERM)) == pytest.approx(w182 / (182 / 365), rel=1e-12)


def test_vix_term_curve_table() -> None:
    curve = vix_term_curve("2025-01-06", TERM, 8, 0.5, 3.9)
    assert list(curve.columns) == ["as_of", "expiry", "tenor_days", "future_model"]
    assert len(curve) == 8
    exp = vix_expiries("2025-01-06", 8)
    assert list(curve["expiry"]) == list(exp)
    assert curve["expiry"].iloc[0] == pd.Timestamp("2025-01-22")
    np.testing.assert_array_equal(curve["tenor_days"], (exp - pd.Timestamp("2025-01-06")).days)
    ref = [float(vix_future(d / 365, TERM, 0.5, 3.9)) for d in curve["tenor_days"]]
    np.testing.assert_allclose(curve["future_model"], ref)
    assert (curve["as_of"] == pd.Timestamp("2025-01-06")).all()


def test_model_skew_defaults_fit_the_2025_01_06_chain() -> None:
    """SPEC §3.1: the default (calibrated) skew fits the quoted 10–25-delta IVs within about one vol point."""
    p = PricingParams()
    chain = read_chain(FIXTURE)
    q = prefer_root(chain.quotes)
    q = q[q["delta"].abs().between(0.10, 0.25)]
    T = (q["expiry"] - chain.as_of).dt.days.to_numpy() / 365.0
    assert set(np.round(T * 365).astype(int)) == {11, 25}
    model = model_vol(
        q["strike"].to_numpy(),
        chain.spot,
        T,
        float(rate_from_tbill(DTB3_20250106)),
        p.div_yield,
        TERM,
        p.atm_ratio,
        # the calibrated slopes at this VIX, written out: base + per_vix·(VIX − ref)/100
        p.put_slope + p.put_slope_per_vix * (VIX_20250106 - p.skew_vix_ref) / 100,
        p.call_slope + p.call_slope_per_vix * (VIX_20250106 - p.skew_vix_ref) / 100,
        p.vol_floor,
    )
    err = (model - q["iv"].to_numpy()) * 100.0  # vol points
    by_group = pd.Series(err).groupby([q["expiry"].to_numpy(), q["put_call"].to_numpy()])
    rms = by_group.apply(lambda e: float(np.sqrt(np.mean(e**2))))
    assert len(rms) == 4
    assert (rms <= 1.1).all(), rms
    assert np.abs(err).max() <= 1.5


def test_vix_term_curves_equals_the_single_date_curve_on_each_date() -> None:
    """The backfill's vectorised curve is the daily curve, date by date."""
    from tasks.market.surface import vix_term_curves

    days = pd.DatetimeIndex(["2025-01-06", "2026-07-22"])
    terms = [VolTerm(14.20, 16.04, 18.03, 19.65), VolTerm(14.88, 16.64, 19.54, np.nan)]
    many = vix_term_curves(
        days,
        VolTerm(
            *(np.array([getattr(t, f) for t in terms]) for f in ("vix9d", "vix", "vix3m", "vix6m"))
        ),
        8,
        0.5,
        3.9,
    )
    for day, term in zip(days, terms, strict=True):
        one = vix_term_curve(day, term, 8, 0.5, 3.9)
        got = many[many["as_of"] == day].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, one, check_dtype=False)


@pytest.mark.parametrize("shape", ["scalar", "legs", "scenarios x legs", "dates x expiries"])
def test_vix_future_is_the_forward_variance_between_two_interpolations(shape: str) -> None:
    """``vix_future`` interpolates w(T + 30d) and w(T) in one call: the same numbers as two
    calls of ``total_variance_raw``, for every shape of T and term it is given."""
    from tasks.market.surface import convexity_variance

    ratios = np.array([0.7, 1.0, 1.6])
    T, term = {
        "scalar": (np.float64(40 / 365), TERM),
        "legs": (np.array([5.0, 30.0, 90.0, 200.0, 400.0]) / 365, TERM),
        "scenarios x legs": (np.array([5.0, 60.0, 250.0]) / 365,
                             TERM.scaled(ratios).map(lambda v: v[:, None])),
        "dates x expiries": (np.array([[10.0, 40.0], [70.0, 300.0], [1.0, 150.0]]) / 365,
                             TERM.scaled(ratios).expand(-1)),
    }[shape]  # fmt: skip
    tau = 30 / 365
    w1 = total_variance_raw(T + tau, term, beyond="flat_forward")
    w0 = total_variance_raw(T, term, beyond="flat_forward")
    want = (
        100.0
        * np.sqrt(np.maximum((w1 - w0) / tau, 0.0))
        * np.exp(-0.5 * convexity_variance(T, 0.6, 3.9))
    )
    got = vix_future(T, term, 0.6, 3.9)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_array_equal(got, want)
