"""Tests of tasks/risk/ against references computed here (lstsq, brute force, closed forms)."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import FIXTURES as FIXTURE_ROOT
from scipy.stats import norm

from schemas.config import RiskParams, SizingParams
from tasks import risk

FIXTURES = FIXTURE_ROOT / "risk"


# --------------------------------------------------------------------------- helpers (references)


def _lstsq_reference(y: pd.Series, x: pd.Series, window: int, min_obs: int) -> pd.DataFrame:
    """Rolling OLS by numpy.linalg.lstsq, one window at a time."""
    common = y.index.intersection(x.index).sort_values()
    yv, xv = y.reindex(common).to_numpy(), x.reindex(common).to_numpy()
    rows = []
    for t in range(len(common)):
        lo = max(0, t - window + 1)
        ys, xs = yv[lo : t + 1], xv[lo : t + 1]
        ok = np.isfinite(ys) & np.isfinite(xs)
        ys, xs = ys[ok], xs[ok]
        if len(ys) < min_obs:
            rows.append((np.nan, np.nan, np.nan, len(ys)))
            continue
        A = np.column_stack([np.ones_like(xs), xs])
        (a, b), *_ = np.linalg.lstsq(A, ys, rcond=None)
        ssr = float(np.sum((ys - a - b * xs) ** 2))
        sst = float(np.sum((ys - ys.mean()) ** 2))
        rows.append((b, a, 1 - ssr / sst, len(ys)))
    return pd.DataFrame(rows, index=common, columns=["beta", "alpha", "r2", "n_obs"])


def _bs_call(S: float, K: float, T: float, r: float, q: float, vol: float) -> float:
    d1 = (math.log(S / K) + (r - q + 0.5 * vol**2) * T) / (vol * math.sqrt(T))
    d2 = d1 - vol * math.sqrt(T)
    return S * math.exp(-q * T) * norm.cdf(d1) - K * math.exp(-r * T) * norm.cdf(d2)


def _bs_put(S: float, K: float, T: float, r: float, q: float, vol: float) -> float:
    return _bs_call(S, K, T, r, q, vol) - S * math.exp(-q * T) + K * math.exp(-r * T)


def _b76_call(F: float, K: float, T: float, r: float, vol: float) -> float:
    d1 = (math.log(F / K) + 0.5 * vol**2 * T) / (vol * math.sqrt(T))
    d2 = d1 - vol * math.sqrt(T)
    return math.exp(-r * T) * (F * norm.cdf(d1) - K * norm.cdf(d2))


def _npv_loop(rate: float, dates: list[pd.Timestamp], flows: list[float]) -> float:
    d0 = min(dates)
    return sum(
        cf / (1.0 + rate) ** ((d - d0).days / 365.0) for d, cf in zip(dates, flows, strict=True)
    )


def _bisect_irr(dates: list[pd.Timestamp], flows: list[float]) -> float:
    """Independent XIRR: scan a dense grid for the first sign change above -1, then bisect."""
    grid = np.concatenate(
        [
            -1 + np.geomspace(1e-4, 1.0, 1000)[:-1],
            np.linspace(0.0, 5.0, 1000),
            np.geomspace(5.0, 1e12, 1000)[1:],
        ]
    )
    vals = [_npv_loop(r, dates, flows) for r in grid]
    for i in range(len(grid) - 1):
        if vals[i] == 0:
            return float(grid[i])
        if vals[i] * vals[i + 1] < 0:
            lo, hi, flo = grid[i], grid[i + 1], vals[i]
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                fm = _npv_loop(mid, dates, flows)
                if (fm < 0) == (flo < 0):
                    lo, flo = mid, fm
                else:
                    hi = mid
            return 0.5 * (lo + hi)
    raise AssertionError("no root on the reference grid")


def _xnys_window(as_of: str, n: int) -> pd.DatetimeIndex:
    cal = xcals.get_calendar("XNYS", start="2020-01-02")
    days = pd.DatetimeIndex(cal.sessions_in_range("2020-01-02", as_of))
    return days[-n:]


# --------------------------------------------------------------------------- returns and betas


def test_simple_returns_matches_loop_and_does_not_bridge_gaps() -> None:
    idx = pd.bdate_range("2024-01-01", periods=8)
    p = pd.Series([100.0, 101.0, 99.0, np.nan, 102.0, 103.0, 103.0, 90.0], index=idx)
    r = risk.simple_returns(p)
    expected = [np.nan] + [p.iloc[i] / p.iloc[i - 1] - 1 for i in range(1, 8)]
    np.testing.assert_allclose(r.to_numpy(), expected, equal_nan=True)
    assert r.isna().tolist() == [True, False, False, True, True, False, False, False]


def test_simple_returns_rejects_bad_input() -> None:
    idx = pd.bdate_range("2024-01-01", periods=3)
    with pytest.raises(ValueError, match="ascending"):
        risk.simple_returns(pd.Series([1.0, 2.0, 3.0], index=idx[::-1]))
    with pytest.raises(ValueError, match="positive"):
        risk.simple_returns(pd.Series([1.0, 0.0, 3.0], index=idx))


@pytest.fixture
def beta_data() -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(7)
    n = 400
    idx = pd.bdate_range("2020-01-01", periods=n)
    x = pd.Series(rng.normal(0.0004, 0.011, n), index=idx)
    y = pd.Series(0.0002 - 4.5 * x.to_numpy() + rng.normal(0, 0.02, n), index=idx)
    return y, x


def test_rolling_beta_matches_lstsq_on_every_window(beta_data) -> None:
    y, x = beta_data
    got = risk.rolling_beta(y, x, window=120, min_obs=30)
    ref = _lstsq_reference(y, x, 120, 30)
    assert got.index.equals(ref.index)
    np.testing.assert_array_equal(got["n_obs"].to_numpy(), ref["n_obs"].to_numpy())
    for col in ("beta", "alpha", "r2"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-9, atol=1e-12, equal_nan=True)
    assert got["beta"].iloc[:29].isna().all() and got["beta"].iloc[29:].notna().all()
    # the known beta is recovered
    assert abs(got["beta"].iloc[-1] + 4.5) < 0.5


def test_rolling_beta_with_nan_gaps_and_unequal_indexes(beta_data) -> None:
    y, x = beta_data
    rng = np.random.default_rng(11)
    y = y.copy()
    x = x.copy()
    y.iloc[rng.choice(len(y), 60, replace=False)] = np.nan
    x.iloc[rng.choice(len(x), 60, replace=False)] = np.nan
    # extra dates present in only one series are not common dates
    y = pd.concat([y, pd.Series([0.5], index=[pd.Timestamp("2030-01-01")])])
    x = x.drop(x.index[[5, 50, 300]])
    got = risk.rolling_beta(y, x, window=90, min_obs=40)
    ref = _lstsq_reference(y, x, 90, 40)
    assert len(got) == 400 - 3
    np.testing.assert_array_equal(got["n_obs"].to_numpy(), ref["n_obs"].to_numpy())
    for col in ("beta", "alpha", "r2"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-9, atol=1e-12, equal_nan=True)
    assert got["n_obs"].max() < 90  # gaps reduce the pairs actually used


def test_rolling_beta_large_mean_is_still_accurate() -> None:
    # levels instead of returns: a large mean relative to the spread stresses the sums form
    rng = np.random.default_rng(3)
    idx = pd.bdate_range("2020-01-01", periods=300)
    x = pd.Series(1000 + rng.normal(0, 1, 300), index=idx)
    y = pd.Series(5 + 2.0 * x.to_numpy() + rng.normal(0, 0.5, 300), index=idx)
    got = risk.rolling_beta(y, x, 60, 20)
    ref = _lstsq_reference(y, x, 60, 20)
    np.testing.assert_allclose(got["beta"], ref["beta"], rtol=1e-7, equal_nan=True)
    np.testing.assert_allclose(got["r2"], ref["r2"], rtol=1e-7, equal_nan=True)


def test_rolling_beta_constant_regressor_gives_nan() -> None:
    idx = pd.bdate_range("2020-01-01", periods=50)
    x = pd.Series(0.01, index=idx)
    y = pd.Series(np.random.default_rng(0).normal(size=50), index=idx)
    out = risk.rolling_beta(y, x, 20, 5)
    assert out["beta"].isna().all() and out["r2"].isna().all()
    assert out["n_obs"].iloc[-1] == 20


def test_rolling_beta_default_min_obs() -> None:
    idx = pd.bdate_range("2020-01-01", periods=100)
    rng = np.random.default_rng(1)
    x = pd.Series(rng.normal(size=100), index=idx)
    out = risk.rolling_beta(x * 2, x, window=252)
    assert risk.default_min_obs(252) == 63
    assert out["beta"].iloc[61] != out["beta"].iloc[61]  # NaN below 63 obs
    assert out["beta"].iloc[62] == pytest.approx(2.0)


def test_min_obs_rule_comes_from_risk_params() -> None:
    # the defaults give max(3, window // 4); both parts of the rule are RiskParams fields
    assert risk.default_min_obs(8) == 3 and risk.default_min_obs(100) == 25
    halves = RiskParams(beta_min_obs_divisor=2)
    assert risk.default_min_obs(252, halves) == 126
    assert risk.default_min_obs(8, RiskParams(beta_min_obs_floor=6)) == 6


def test_betas_table_long_format_and_point_in_time() -> None:
    rng = np.random.default_rng(5)
    idx = pd.bdate_range("2021-01-01", periods=300)
    spx = rng.normal(0, 0.01, 300)
    rets = pd.DataFrame(
        {"spx": spx, "vix": -5 * spx + rng.normal(0, 0.03, 300), "vix3m": -3 * spx},
        index=idx,
    )
    as_of = [idx[150], idx[299], pd.Timestamp("2035-01-01")]
    table = risk.betas_table(rets, as_of, window=100, min_obs=30)
    assert list(table.columns) == ["as_of", "asset", "window_days", "beta", "alpha", "r2", "n_obs"]
    assert len(table) == 6 and set(table["asset"]) == {"vix", "vix3m"}
    assert (table["window_days"] == 100).all()
    row = table[(table["as_of"] == idx[150]) & (table["asset"] == "vix")].iloc[0]
    ref = _lstsq_reference(rets["vix"].iloc[:151], rets["spx"].iloc[:151], 100, 30).iloc[-1]
    assert row["beta"] == pytest.approx(ref["beta"], rel=1e-9)
    assert row["n_obs"] == 100
    v3 = table[(table["as_of"] == idx[299]) & (table["asset"] == "vix3m")].iloc[0]
    assert v3["beta"] == pytest.approx(-3.0) and v3["r2"] == pytest.approx(1.0)
    missing = table[table["as_of"] == pd.Timestamp("2035-01-01")]
    assert missing["beta"].isna().all() and (missing["n_obs"] == 0).all()
    with pytest.raises(ValueError, match="spx"):
        risk.betas_table(rets.drop(columns="spx"), as_of, 100)


# --------------------------------------------------------------------------- dollar betas and CAPM


def test_spx_leg_dollar_beta_is_pnl_per_unit_spx_return() -> None:
    S, K, T, r, q, vol, qty = 5000.0, 4700.0, 30 / 365, 0.05, 0.013, 0.2, -3
    d1 = (math.log(S / K) + (r - q + 0.5 * vol**2) * T) / (vol * math.sqrt(T))
    delta = math.exp(-q * T) * (norm.cdf(d1) - 1.0)  # put delta
    h = 1e-5
    pnl_per_return = (
        100 * qty * (_bs_put(S * (1 + h), K, T, r, q, vol) - _bs_put(S * (1 - h), K, T, r, q, vol))
    ) / (2 * h)
    assert risk.spx_leg_dollar_beta(delta, S, qty) == pytest.approx(pnl_per_return, rel=1e-5)
    assert risk.spx_leg_dollar_beta(-0.16, 5000, -10) == pytest.approx(0.16 * 100 * 5000 * 10)


def test_vix_leg_dollar_beta_is_pnl_per_unit_spx_return() -> None:
    F, K, T, r, vol, beta_F, qty = 20.0, 25.0, 90 / 365, 0.05, 0.9, -4.0, 7
    d1 = (math.log(F / K) + 0.5 * vol**2 * T) / (vol * math.sqrt(T))
    delta_F = math.exp(-r * T) * norm.cdf(d1)
    h = 1e-6  # an SPX return h moves F by beta_F·h·F
    up = _b76_call(F * (1 + beta_F * h), K, T, r, vol)
    dn = _b76_call(F * (1 - beta_F * h), K, T, r, vol)
    pnl_per_return = 100 * qty * (up - dn) / (2 * h)
    assert risk.vix_leg_dollar_beta(delta_F, F, beta_F, qty) == pytest.approx(
        pnl_per_return, rel=1e-5
    )
    assert risk.vix_leg_dollar_beta(0.3, 20, -4, 2) == pytest.approx(0.3 * 100 * 20 * -4 * 2)


def test_portfolio_and_tranche_beta_and_capm() -> None:
    dollar = [risk.holding_dollar_beta(1.1, 200_000), -50_000.0, 30_000.0]
    assert dollar[0] == pytest.approx(220_000)
    assert risk.portfolio_beta(dollar, 1_000_000) == pytest.approx(0.2)
    np.testing.assert_allclose(
        risk.tranche_beta(np.array([-2000.0, 500.0]), 4850.0), [-2000 / 4850, 500 / 4850]
    )
    with pytest.raises(ValueError):
        risk.portfolio_beta(dollar, 0)
    with pytest.raises(ValueError):
        risk.tranche_beta(1.0, 0.0)
    mrp = RiskParams().mrp
    assert risk.capm_expected_return(0.04, 1.2, mrp) == pytest.approx(0.04 + 1.2 * 0.055)
    np.testing.assert_allclose(
        risk.capm_expected_return(0.04, np.array([0.0, 2.0]), mrp), [0.04, 0.15]
    )
    assert risk.cost_of_equity(0.045, 0.35, 0.055) == pytest.approx(0.045 + 0.35 * 0.055)


# --------------------------------------------------------------------------- cost of capital


def test_section_1256_box_and_drag() -> None:
    p = RiskParams()
    assert risk.section_1256_rate(p.t_ltcg, p.t_ord) == pytest.approx(0.268)
    assert risk.box_rate_fallback(0.045, p.box_spread) == pytest.approx(0.048)
    # a box sold for 4880 paying 5000 in half a year
    assert risk.box_rate_from_quote(5000, 4880, 0.5) == pytest.approx(math.log(5000 / 4880) / 0.5)
    assert risk.collateral_drag(200_000, 1_000_000, 0.004, p.r_sweep) == 0.0
    assert risk.collateral_drag(200_000, 1_000_000, 0.005, 0.005) == 0.0
    assert risk.collateral_drag(200_000, 1_000_000, 0.045, 0.005) == pytest.approx(0.2 * 0.04)


def test_wacc_by_hand() -> None:
    E, D_m, D_b = 600_000.0, 150_000.0, 250_000.0  # V = 1,000,000
    b = risk.wacc(E, D_m, 0.08, D_b, 0.05, 0.09, 0.37, 0.268, 0.002)
    expected_terms = (0.6 * 0.09, 0.15 * 0.08 * 0.63, 0.25 * 0.05 * 0.732, 0.002)
    assert b.V == 1_000_000
    assert (b.equity_term, b.margin_term, b.box_term, b.drag) == pytest.approx(expected_terms)
    assert b.wacc == pytest.approx(0.054 + 0.00756 + 0.00915 + 0.002)
    assert "WACC" in b.describe() and b.as_dict()["wacc"] == b.wacc
    equity_only = risk.wacc(1.0, 0.0, 0.08, 0.0, 0.05, 0.07, 0.37, 0.268, 0.0)
    assert equity_only.wacc == pytest.approx(0.07)
    with pytest.raises(ValueError):
        risk.wacc(0, 0, 0.08, 0, 0.05, 0.09, 0.37, 0.268, 0.0)


def test_spread_eva_and_cash_flow_multiple() -> None:
    assert risk.spread_bps(0.14, 0.08) == pytest.approx(600.0)
    assert risk.eva(0.14, 0.08, 250_000) == pytest.approx(15_000.0)
    assert risk.cash_flow_multiple(100_000, 25_000) == pytest.approx(4.0)
    assert math.isnan(risk.cash_flow_multiple(100_000, 0.0))


# --------------------------------------------------------------------------- XIRR


def test_xirr_excel_documentation_example() -> None:
    dates = pd.to_datetime(["2008-01-01", "2008-03-01", "2008-10-30", "2009-02-15", "2009-04-01"])
    flows = [-10000, 2750, 4250, 3250, 2750]
    assert risk.xirr(dates, flows) == pytest.approx(0.373362535, abs=5e-9)
    # order of the flows does not matter
    assert risk.xirr(dates[::-1], flows[::-1]) == pytest.approx(0.373362535, abs=5e-9)


def test_xirr_closed_forms() -> None:
    d0 = pd.Timestamp("2024-03-01")
    # one outflow, one inflow: (in/out)^(365/days) - 1
    for days, out, back in [(28, 9700.0, 9940.0), (400, 100.0, 60.0), (1, 100.0, 105.0)]:
        got = risk.xirr([d0, d0 + pd.Timedelta(days=days)], [-out, back])
        assert got == pytest.approx((back / out) ** (365 / days) - 1, rel=1e-10)
    # two sign changes, roots 10% and 20% a year apart: the one nearest zero is returned
    dates = pd.to_datetime(["2021-01-01", "2022-01-01", "2023-01-01"])
    assert risk.xirr(dates, [-100, 230, -132]) == pytest.approx(0.10, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    offsets=st.lists(st.integers(20, 900), min_size=1, max_size=6),
    outflow=st.floats(100, 10_000),
    fracs=st.lists(st.floats(0.05, 1.0), min_size=6, max_size=6),
    total=st.floats(0.7, 3.0),
)
def test_xirr_matches_bisection(
    offsets: list[int], outflow: float, fracs: list[float], total: float
) -> None:
    # inflows returning between 70% and 300% of the outlay keep the IRR inside (-0.9999, 1e12)
    d0 = pd.Timestamp("2015-06-01")
    dates = [d0] + [d0 + pd.Timedelta(days=o) for o in offsets]
    weights = np.array(fracs[: len(offsets)])
    flows = [-outflow, *(outflow * total * weights / weights.sum())]
    ref = _bisect_irr(dates, flows)
    got = risk.xirr(dates, flows)
    assert got == pytest.approx(ref, rel=1e-8, abs=1e-10)
    assert abs(_npv_loop(got, dates, flows)) < 1e-6 * outflow


def test_xirr_errors() -> None:
    d = pd.to_datetime(["2024-01-02", "2024-02-02"])
    with pytest.raises(ValueError, match="do not change sign"):
        risk.xirr(d, [-100.0, 0.0])
    with pytest.raises(ValueError, match="do not change sign"):
        risk.xirr(d, [100.0, 50.0])
    with pytest.raises(ValueError, match="same date"):
        risk.xirr([d[0], d[0]], [-100.0, 110.0])
    with pytest.raises(ValueError, match="flows"):
        risk.xirr(d, [-100.0])
    with pytest.raises(ValueError, match="finite"):
        risk.xirr(d, [-100.0, np.nan])


# --------------------------------------------------------------------------- cash flows and IRR


def test_condor_and_hedge_cash_flows_by_hand() -> None:
    condors = pd.DataFrame(
        {
            "position_id": ["c1"],
            "open_date": [pd.Timestamp("2024-01-02")],
            "close_date": [pd.Timestamp("2024-01-30")],
            "contracts": [2],
            "width": [50.0],
            "credit": [1.5],
            "close_cost": [0.3],
        }
    )
    flows = risk.condor_cash_flows(condors)
    assert flows["flow"].tolist() == pytest.approx([-100 * 48.5 * 2, (5000 - 30) * 2])
    assert flows["event"].tolist() == ["open", "close"]
    assert flows["flow"].sum() == pytest.approx(100 * (1.5 - 0.3) * 2)
    hedges = pd.DataFrame(
        {
            "position_id": ["h1"],
            "open_date": [pd.Timestamp("2024-01-02")],
            "close_date": [pd.Timestamp("2024-03-01")],
            "units": [4],
            "premium": [1.1],
            "close_value": [0.4],
        }
    )
    hf = risk.hedge_cash_flows(hedges)
    assert hf["flow"].tolist() == pytest.approx([-440.0, 160.0])
    with pytest.raises(ValueError, match="closed"):
        risk.condor_cash_flows(condors.assign(close_date=pd.NaT))


def _condor(pid: str, open_date, close_date, close_cost=0.5, contracts=1) -> dict:
    return {
        "position_id": pid,
        "open_date": pd.Timestamp(open_date),
        "close_date": pd.Timestamp(close_date) if close_date is not None else pd.NaT,
        "contracts": contracts,
        "width": 50.0,
        "credit": 2.0,
        "close_cost": close_cost if close_date is not None else np.nan,
    }


def test_irr_from_events_selects_the_trailing_window() -> None:
    as_of = "2024-06-28"
    window = RiskParams().irr_window
    days = _xnys_window(as_of, window)
    first, before = days[0], _xnys_window(str(days[0].date()), 2)[0]
    condors = pd.DataFrame(
        [
            _condor("in_first_session", first - pd.Timedelta(days=30), first, 0.5, 3),
            _condor("before_window", before - pd.Timedelta(days=30), before, 0.1),
            _condor("closes_after_as_of", "2024-06-03", "2024-07-15", 0.1),
            _condor("opens_after_as_of", "2024-07-01", "2024-07-20", 0.1),
            _condor("still_open", "2024-06-10", None),
        ]
    )
    res = risk.irr_from_events(condors, None, as_of, window)
    assert res.window_start == first and res.window_end == pd.Timestamp(as_of)
    assert res.n_condors == 1 and res.n_hedges == 0
    R, back = 100 * (50 - 2.0), 100 * 50 - 100 * 0.5
    assert res.irr == pytest.approx((back / R) ** (365 / 30) - 1, rel=1e-10)
    assert set(res.flows["position_id"]) == {"in_first_session"}


def test_irr_from_events_with_hedges_matches_bisection_and_capital() -> None:
    condors = pd.DataFrame(
        [
            _condor("a", "2024-01-02", "2024-02-01", 0.4, 2),
            _condor("b", "2024-02-05", "2024-03-15", 6.0, 1),  # a loss
            _condor("c", "2024-03-18", "2024-04-19", 0.0, 3),  # expired worthless
        ]
    )
    hedges = pd.DataFrame(
        {
            "position_id": ["h"],
            "open_date": [pd.Timestamp("2024-01-02")],
            "close_date": [pd.Timestamp("2024-04-01")],
            "units": [2],
            "premium": [1.2],
            "close_value": [0.3],
        }
    )
    res = risk.irr_from_events(condors, hedges, "2024-06-28", 252)
    dates, flows = [], []
    for _, c in condors.iterrows():
        dates += [c.open_date, c.close_date]
        flows += [
            -100 * (c.width - c.credit) * c.contracts,
            (100 * c.width - 100 * c.close_cost) * c.contracts,
        ]
    dates += [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-04-01")]
    flows += [-240.0, 60.0]
    assert res.n_condors == 3 and res.n_hedges == 1
    assert res.irr == pytest.approx(_bisect_irr(dates, flows), rel=1e-8)
    # average capital: mean over the window's sessions of capital held that session
    window = _xnys_window("2024-06-28", 252)
    total = 0.0
    for d in window:
        for _, c in condors.iterrows():
            if c.open_date <= d < c.close_date:
                total += 100 * (c.width - c.credit) * c.contracts
        if pd.Timestamp("2024-01-02") <= d < pd.Timestamp("2024-04-01"):
            total += 240.0
    assert res.avg_capital_at_risk == pytest.approx(total / len(window))


def test_irr_from_events_nothing_closed_gives_nan_with_reason() -> None:
    condors = pd.DataFrame([_condor("x", "2024-06-10", None)])
    res = risk.irr_from_events(condors, None, "2024-06-28", 252)
    assert math.isnan(res.irr) and "no position closed" in res.note
    total_loss = pd.DataFrame([_condor("y", "2024-05-01", "2024-05-31", 50.0)])
    res = risk.irr_from_events(total_loss, None, "2024-06-28", 252)
    assert math.isnan(res.irr) and "change sign" in res.note


# --------------------------------------------------------------------------- fills file


def test_read_fills_csv_valid_file_feeds_irr() -> None:
    fills = risk.read_fills_csv(FIXTURES / "fills_ok.csv")
    assert list(fills.condors.columns) == list(risk.CONDOR_EVENT_COLUMNS)
    assert list(fills.hedges.columns) == list(risk.HEDGE_EVENT_COLUMNS)
    assert fills.condors["open_date"].dtype == "datetime64[ns]"
    assert fills.condors["position_id"].tolist() == ["c1", "c2", "c3"]
    assert fills.hedges["units"].tolist() == [4, 2]
    assert pd.isna(fills.condors.loc[2, "close_date"]) and pd.isna(
        fills.condors.loc[2, "close_cost"]
    )
    res = risk.irr_from_events(fills.condors, fills.hedges, "2024-06-28", 252)
    assert res.n_condors == 2 and res.n_hedges == 1
    dates = pd.to_datetime(
        ["2024-01-02", "2024-01-30", "2024-02-05", "2024-03-15", "2024-01-02", "2024-03-01"]
    )
    flows = [-9700.0, 9940.0, -4880.0, 4620.0, -440.0, 160.0]
    assert res.irr == pytest.approx(_bisect_irr(list(dates), flows), rel=1e-8)


def test_read_fills_csv_reports_every_problem_with_its_line() -> None:
    with pytest.raises(risk.FillsError) as err:
        risk.read_fills_csv(FIXTURES / "fills_bad.csv")
    msg = str(err.value)
    for expected in [
        "line 2: position_id is not unique",
        "line 3: close_date is before open_date",
        "line 3: contracts must be a positive whole number",
        "line 3: credit must be below width",
        "line 3: close_cost must be a non-negative number once closed",
        "line 4: kind must be 'condor' or 'hedge'",
        "line 5: open_date is not a YYYY-MM-DD date",
        "line 5: premium must be a positive number",
        "line 5: close_value is given but close_date is blank",
    ]:
        assert expected in msg, expected


def test_read_fills_csv_missing_columns_and_file(tmp_path: Path) -> None:
    bad = tmp_path / "f.csv"
    bad.write_text("position_id,kind,open_date\nc1,condor,2024-01-02\n")
    with pytest.raises(risk.FillsError, match="missing column"):
        risk.read_fills_csv(bad)
    with pytest.raises(risk.FillsError, match="not found"):
        risk.read_fills_csv(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- historical simulation


def test_joint_scenarios_matches_loop_and_ignores_the_future() -> None:
    rng = np.random.default_rng(2)
    idx = pd.bdate_range("2023-01-02", periods=60)
    spx = pd.Series(4000 * np.cumprod(1 + rng.normal(0, 0.01, 60)), index=idx)
    vix = pd.Series(18 * np.cumprod(1 + rng.normal(0, 0.05, 60)), index=idx)
    spx = spx.drop(idx[10])  # SPX missing one day
    vix.iloc[20] = np.nan  # VIX recorded missing another
    as_of = idx[49]
    r, v = risk.joint_scenarios(spx, vix, as_of, window=30)

    days = sorted(set(spx.index) | set(vix.index))
    days = [d for d in days if d <= as_of]
    ref_r, ref_v = [], []
    for prev, cur in zip(days[:-1], days[1:], strict=True):
        vals = [spx.get(prev), spx.get(cur), vix.get(prev), vix.get(cur)]
        if all(val is not None and np.isfinite(val) for val in vals):
            ref_r.append(spx[cur] / spx[prev] - 1)
            ref_v.append(vix[cur] / vix[prev])
    np.testing.assert_allclose(r, ref_r[-30:])
    np.testing.assert_allclose(v, ref_v[-30:])
    assert len(ref_r) == 49 - 4  # each gap removes two moves

    future = pd.bdate_range(idx[-1] + pd.Timedelta(days=1), periods=5)
    spx2 = pd.concat([spx, pd.Series(1.0, index=future)])
    vix2 = pd.concat([vix, pd.Series(150.0, index=future)])
    r2, v2 = risk.joint_scenarios(spx2, vix2, as_of, window=30)
    np.testing.assert_array_equal(r, r2)
    np.testing.assert_array_equal(v, v2)
    r_all, _ = risk.joint_scenarios(spx, vix, as_of, window=SizingParams().hist_window)
    assert len(r_all) == 45  # shorter history: every pair there is


def test_scenario_covariance_matches_loop() -> None:
    pnl = np.random.default_rng(4).normal(0, 100, (50, 3))
    got = risk.scenario_covariance(pnl)
    mean = pnl.mean(axis=0)
    ref = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            ref[i, j] = sum((pnl[s, i] - mean[i]) * (pnl[s, j] - mean[j]) for s in range(50)) / 49
    np.testing.assert_allclose(got, ref)
    assert risk.scenario_covariance(pnl[:, :1]).shape == (1, 1)
    with pytest.raises(ValueError):
        risk.scenario_covariance(pnl[:1])


def test_risk_inverse_weights_hit_target_with_equal_risk() -> None:
    rng = np.random.default_rng(8)
    base = rng.normal(0, 1, (252, 1))
    pnl = base * np.array([40.0, 55.0, 70.0, 90.0]) + rng.normal(0, 15, (252, 4))
    cov = risk.scenario_covariance(pnl)
    sigma = np.sqrt(np.diag(cov))
    target = SizingParams().target_vol * 1_000_000
    q = risk.risk_inverse_weights(sigma, cov, target)
    assert math.sqrt(q @ cov @ q) == pytest.approx(target, rel=1e-12)
    np.testing.assert_allclose(q * sigma, np.full(4, q[0] * sigma[0]), rtol=1e-12)


def test_risk_inverse_weights_degenerate_tranche() -> None:
    cov = np.array([[100.0, 0.0, 20.0], [0.0, 0.0, 0.0], [20.0, 0.0, 400.0]])
    sigma = np.sqrt(np.diag(cov))
    q = risk.risk_inverse_weights(sigma, cov, 1000.0)
    assert q[1] == 0.0
    assert math.sqrt(q @ cov @ q) == pytest.approx(1000.0)
    assert q[0] * sigma[0] == pytest.approx(q[2] * sigma[2])
    np.testing.assert_array_equal(
        risk.risk_inverse_weights(np.zeros(2), np.zeros((2, 2)), 1e3), 0.0
    )


@settings(max_examples=50, deadline=None)
@given(
    t1=st.floats(0, 1e5),
    extra=st.floats(0, 1e5),
    seed=st.integers(0, 10_000),
)
def test_risk_inverse_more_target_never_fewer_contracts(t1: float, extra: float, seed: int) -> None:
    pnl = np.random.default_rng(seed).normal(0, 50, (40, 3))
    cov = risk.scenario_covariance(pnl)
    sigma = np.sqrt(np.diag(cov))
    q1 = risk.risk_inverse_weights(sigma, cov, t1)
    q2 = risk.risk_inverse_weights(sigma, cov, t1 + extra)
    assert np.all(np.floor(q2) >= np.floor(q1))


# --------------------------------------------------------------------------- quick ratio


def test_quick_ratio_by_hand() -> None:
    assert risk.quick_ratio(100_000, 50_000, 60_000, -40_000) == pytest.approx(1.5)
    assert risk.quick_ratio(100_000, 50_000, 60_000, 40_000) == pytest.approx(2.5)
    assert risk.quick_ratio(1.0, 0.0, 0.0, 10.0) == math.inf
    # nothing owed but the cash is already negative (a hedge premium it cannot pay): −inf,
    # so a quick-ratio floor still fails
    assert risk.quick_ratio(-6_000.0, 1_000.0, 0.0, 5_000.0) == -math.inf


def test_proportional_path_is_every_breakpoint_of_floor_f_times_proposed() -> None:
    """Against exact rational arithmetic: every distinct floor(f·p) for f in [0, 1], in order."""
    for proposed in ([7], [3, 5], [0, 4, 9], [10, 10, 1], [0, 0]):
        fs = {Fraction(0)} | {Fraction(j, p) for p in proposed if p > 0 for j in range(1, p + 1)}
        expected = []
        for f in sorted(fs):
            row = [math.floor(f * p) for p in proposed]
            if row not in expected:
                expected.append(row)
        got = risk.proportional_path(proposed)
        assert got.tolist() == expected
        assert got[-1].tolist() == list(proposed)
