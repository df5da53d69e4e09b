"""The calibrated surface's VIX-dependent slopes and the long end when VIX6M is stale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from paths import FIXTURES
from snapshot_obs import snapshot_observations

from schemas.config import PricingParams
from tasks.market.frame import market_frame
from tasks.market.surface import (
    VolTerm,
    long_end_vix6m,
    surface_slopes,
    total_variance_raw,
    vix_future,
)

VX_FILE = FIXTURES / "validation" / "cboe_CFE_F15_VX.csv"
VX_EXPIRY = pd.Timestamp("2015-01-21")  # the January 2015 VIX future's final settlement


def _obs(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """Daily closes, each knowable at its own close (as the VIX family is, SPEC §1.2)."""
    df = pd.DataFrame(rows, columns=["series_id", "date", "value"])
    df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    return df.assign(available_at=df["date"])


def test_slopes_move_with_the_vix_as_written() -> None:
    p = PricingParams(put_slope=0.03, call_slope=0.025, put_slope_per_vix=0.15,
                      call_slope_per_vix=0.10, skew_vix_ref=20.0)  # fmt: skip
    put, call = surface_slopes(np.array([20.0, 40.0, 10.0]), p)
    np.testing.assert_allclose(put, [0.03, 0.03 + 0.15 * 0.2, 0.03 - 0.15 * 0.1])
    np.testing.assert_allclose(call, [0.025, 0.025 + 0.10 * 0.2, 0.025 - 0.10 * 0.1])
    # never below zero: a VIX far below the reference flattens, never inverts, the skew
    put0, _ = surface_slopes(np.array([-100.0]), p)
    assert put0[0] == 0.0


def test_the_stale_long_end_decays_the_last_ratio_toward_the_long_run() -> None:
    est = long_end_vix6m(
        np.array([20.0] * 3), np.array([1.20] * 3), np.array([0, 63, 1e6]), 1.085, 63
    )
    np.testing.assert_allclose(est, [24.0, 20 * (1.085 + 0.115 / 2), 20 * 1.085])


def test_the_frame_fills_a_stale_vix6m_point_in_time_and_flags_it() -> None:
    obs = _obs([
        ("spx", "2026-04-22", 7000.0), ("spx", "2026-04-24", 7000.0), ("spx", "2026-04-27", 7000.0),
        ("vix", "2026-04-22", 16.0), ("vix", "2026-04-24", 16.0), ("vix", "2026-04-27", 16.0),
        ("vix3m", "2026-04-22", 18.0), ("vix3m", "2026-04-24", 20.0), ("vix3m", "2026-04-27", 21.0),
        ("vix6m", "2026-04-24", 22.0), ("vix6m", "2026-04-28", 30.0),  # a later print: unseen
        ("tbill_3m", "2026-04-21", 4.0),
    ])  # fmt: skip
    sessions = pd.DatetimeIndex(["2026-04-22", "2026-04-24", "2026-04-27"]).astype("datetime64[ns]")
    f = market_frame(obs[obs["date"] <= "2026-04-27"], sessions=sessions, long_end=(1.085, 63.0))
    # before the first VIX6M close: no long knot (SPEC §3.1), nothing estimated
    assert np.isnan(f.loc["2026-04-22", "vix6m"]) and not f.loc["2026-04-22", "vix6m_estimated"]
    assert f.loc["2026-04-24", "vix6m"] == 22.0 and not f.loc["2026-04-24", "vix6m_estimated"]
    # one session after the last print: 21 · (1.085 + (22/20 − 1.085) · 2^(−1/63))
    want = 21.0 * (1.085 + (22.0 / 20.0 - 1.085) * 2 ** (-1 / 63))
    assert f.loc["2026-04-27", "vix6m"] == pytest.approx(want, rel=1e-12)
    assert f.loc["2026-04-27", "vix6m_estimated"]


def _snapshot_obs() -> pd.DataFrame:
    return snapshot_observations("2013-06-01", "2015-01-31")


def test_the_futures_curve_meets_real_settlements_and_a_stale_vix6m_beats_the_spec() -> None:
    """The real CFE settlements of the January 2015 future (2014-04 … 2015-01), modelled from
    that day's closes: with the fresh VIX6M the median error is within 1.0 point; with VIX6M
    withheld and the ratio 63 sessions old, the model errs far less than SPEC §3.2 as written
    on the flat VIX3M it falls back to (2.30)."""
    vx = pd.read_csv(VX_FILE, skiprows=1)
    vx["day"] = pd.to_datetime(vx["Trade Date"], format="%m/%d/%Y")
    vx = vx.drop_duplicates("day", keep="last")  # the file's first row is listed twice
    days = pd.DatetimeIndex(vx["day"]).astype("datetime64[ns]")
    obs = _snapshot_obs()
    f = market_frame(obs, sessions=days)
    assert not f["vix6m_estimated"].any()  # every session of 2014 had a fresh VIX6M
    T = (VX_EXPIRY - days).days.to_numpy() / 365.0
    settle = vx["Settle"].to_numpy(dtype=float)
    p = PricingParams()

    def terms(vix6m: np.ndarray) -> VolTerm:
        return VolTerm(*(f[c].to_numpy() for c in ("vix9d", "vix", "vix3m")), vix6m)

    def median_error(vix6m: np.ndarray) -> float:
        model = vix_future(T, terms(vix6m), p.convexity_vol, p.convexity_mean_reversion)
        return float(np.median(np.abs(model - settle)))

    def spec_as_written(term: VolTerm) -> np.ndarray:  # SPEC §3.2: flat vol, σ_c²·T haircut
        tau = 30 / 365
        fwd = (total_variance_raw(T + tau, term) - total_variance_raw(T, term)) / tau
        return 100 * np.sqrt(fwd) * np.exp(-0.5 * p.convexity_vol**2 * T)

    wide = obs.drop_duplicates(["series_id", "date"], keep="last").pivot(
        index="date", columns="series_id", values="value"
    )
    ratio = (wide["vix6m"] / wide["vix3m"]).dropna().shift(63).reindex(days).to_numpy()
    stale = long_end_vix6m(f["vix3m"].to_numpy(), ratio, 63, p.vix6m_ratio_long_run,
                           p.vix6m_ratio_half_life)  # fmt: skip
    fresh, estimated = median_error(f["vix6m"].to_numpy()), median_error(stale)
    spec_flat = float(
        np.median(np.abs(spec_as_written(terms(np.full(len(days), np.nan))) - settle))
    )
    assert estimated < spec_flat - 0.5
    # the issue-10 bar on real settlements: median error within 1.0 vol point with the fresh
    # VIX6M (it was 1.64 with SPEC §3.2's flat vol past 182 days and unbounded haircut)
    assert fresh <= 1.0


def test_the_long_end_of_the_january_2015_future_is_within_a_point_and_a_half() -> None:
    """The 2014 sessions more than 152 days before expiry (the forward window past the VIX6M
    knot): SPEC §3.2 as written (κ = 0, flat vol past the knot) missed them by 3.1 points in
    the median, 1.5–3.5 below every settlement."""
    vx = pd.read_csv(VX_FILE, skiprows=1)
    vx["day"] = pd.to_datetime(vx["Trade Date"], format="%m/%d/%Y")
    vx = vx.drop_duplicates("day", keep="last")
    days = pd.DatetimeIndex(vx["day"]).astype("datetime64[ns]")
    f = market_frame(_snapshot_obs(), sessions=days)
    T = (VX_EXPIRY - days).days.to_numpy() / 365.0
    long = T > 152 / 365
    term = VolTerm(*(f[c].to_numpy()[long] for c in ("vix9d", "vix", "vix3m", "vix6m")))
    p = PricingParams()
    model = vix_future(T[long], term, p.convexity_vol, p.convexity_mean_reversion)
    err = model - vx["Settle"].to_numpy(dtype=float)[long]
    assert long.sum() >= 50
    assert float(np.median(np.abs(err))) <= 1.5
