"""Tests of tasks/signals/ (SPEC §2) against independent references written here:
a plain-loop Wilder RSI, TA-Lib's RSI (recorded fixture), a hand-run EMA recursion,
statistics.stdev z-scores, business-day counts with the holidays spelled out, and
point-in-time truncation of the observations."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pandas as pd
import pytest
from paths import FIXTURES as FIXTURE_ROOT

from schemas.config import MaxAge, SignalParams
from tasks.conventions import SignalState
from tasks.market.calendar import roll_to_sessions, sessions
from tasks.signals import (
    SIGNALS,
    compute_signals,
    macd,
    point_in_time,
    trailing_zscore,
    wilder_rsi,
)

FIXTURES = FIXTURE_ROOT / "signals"
P = SignalParams()
TS = pd.Timestamp


# --------------------------------------------------------------------------- builders


def rows(series_id: str, dates, values, available_at=None) -> pd.DataFrame:
    """Observation rows; ``available_at`` defaults to the observation date itself."""
    dates = pd.DatetimeIndex(pd.to_datetime(dates))
    avail = dates if available_at is None else available_at
    if not isinstance(avail, pd.DatetimeIndex | list | np.ndarray):
        avail = [avail] * len(dates)
    return pd.DataFrame(
        {
            "series_id": series_id,
            "date": dates.astype("datetime64[ns]"),
            "value": np.asarray(values, dtype=float),
            "available_at": pd.DatetimeIndex(pd.to_datetime(avail)).astype("datetime64[ns]"),
            "source": "test",
        }
    )


def obs(*frames: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)


def signal_row(out: pd.DataFrame, as_of, signal: str) -> pd.Series:
    hit = out[(out["as_of"] == TS(as_of)) & (out["signal"] == signal)]
    assert len(hit) == 1
    return hit.iloc[0]


def one(frame: pd.DataFrame, as_of, signal: str, params: SignalParams = P) -> pd.Series:
    return signal_row(compute_signals(frame, [TS(as_of)], params), as_of, signal)


def random_walk(n: int, seed: int, start: float = 1500.0, vol: float = 0.012) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return start * np.exp(np.cumsum(rng.normal(0.0003, vol, n)))


def loop_rsi(prices: list[float], n: int) -> list[float]:
    """Wilder RSI written as the textbook loop (SPEC §2)."""
    out = [float("nan")] * len(prices)
    if len(prices) <= n:
        return out
    gains, losses = [], []
    for i in range(1, len(prices)):
        d = prices[i] - prices[i - 1]
        gains.append(max(d, 0.0))
        losses.append(max(-d, 0.0))
    avg_g = sum(gains[:n]) / n
    avg_l = sum(losses[:n]) / n

    def rsi(g: float, lo: float) -> float:
        return 100.0 if lo == 0 else 100.0 - 100.0 / (1.0 + g / lo)

    out[n] = rsi(avg_g, avg_l)
    for i in range(n, len(gains)):
        avg_g = (avg_g * (n - 1) + gains[i]) / n
        avg_l = (avg_l * (n - 1) + losses[i]) / n
        out[i + 1] = rsi(avg_g, avg_l)
    return out


def loop_ema(x: list[float], span: int) -> list[float]:
    alpha = 2.0 / (span + 1.0)
    out = [x[0]]
    for v in x[1:]:
        out.append(alpha * v + (1.0 - alpha) * out[-1])
    return out


def mom_z(levels: list[float], window: int) -> float:
    """z of the last month-over-month change vs the ``window`` changes before it."""
    mom = [levels[i] / levels[i - 1] - 1.0 for i in range(1, len(levels))]
    prior = mom[-window - 1 : -1]
    return (mom[-1] - statistics.fmean(prior)) / statistics.stdev(prior)


def level_z(levels: list[float], window: int) -> float:
    prior = levels[-window - 1 : -1]
    return (levels[-1] - statistics.fmean(prior)) / statistics.stdev(prior)


# --------------------------------------------------------------------------- RSI


def test_rsi_matches_loop_implementation_on_random_walk() -> None:
    prices = random_walk(3000, seed=7)
    for n in (30, 14, 2):
        got = wilder_rsi(pd.Series(prices), n).to_numpy()
        want = np.array(loop_rsi(list(prices), n))
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got[n:], want[n:], rtol=0, atol=1e-9)


def test_rsi_matches_talib_recorded_values() -> None:
    # closes and talib.RSI(close, 14/30) recorded once (see the fixture's header)
    f = pd.read_csv(FIXTURES / "talib_rsi.csv", comment="#")
    for n in (14, 30):
        got = wilder_rsi(f["close"], n)
        want = f[f"rsi_{n}"]
        assert got.isna().equals(want.isna())
        np.testing.assert_allclose(got.dropna(), want.dropna(), rtol=0, atol=1e-9)


def test_rsi_classic_wilder_example_against_talib() -> None:
    # The classic 14-day worked example; talib.RSI(x, 14) gives these (4 decimals).
    closes = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89]
    closes += [46.03, 45.61, 46.28, 46.28, 46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25]
    closes += [45.71, 46.45, 45.78, 45.35, 44.03, 44.18, 44.22, 44.57, 43.42, 42.66, 43.13]
    talib = [70.4641, 66.2496, 66.4809, 69.3469, 66.2947, 57.915, 62.8807, 63.2088, 56.0116]
    talib += [62.3399, 54.671, 50.3868, 40.0194, 41.4926, 41.9024, 45.4995, 37.3228, 33.0905]
    talib += [37.7888]
    got = wilder_rsi(pd.Series(closes), 14)
    assert got.iloc[:14].isna().all()
    np.testing.assert_allclose(got.iloc[14:], talib, atol=5e-5)


def test_rsi_tiny_example_by_hand() -> None:
    # n = 2, closes 1,2,1,2,3: changes +1,-1,+1,+1.
    # seed: gain (1+0)/2 = .5, loss (0+1)/2 = .5 -> RSI 50
    # next: gain (.5*1+1)/2 = .75, loss (.5*1+0)/2 = .25 -> RS 3 -> 75
    # next: gain (.75+1)/2 = .875, loss .25/2 = .125 -> RS 7 -> 87.5
    got = wilder_rsi(pd.Series([1.0, 2.0, 1.0, 2.0, 3.0]), 2)
    assert got.iloc[:2].isna().all()
    np.testing.assert_allclose(got.iloc[2:], [50.0, 75.0, 87.5], rtol=0, atol=1e-12)
    # no losses at all -> 100 (SPEC), also for a flat window
    assert wilder_rsi(pd.Series([1.0, 2.0, 3.0, 4.0]), 2).iloc[-1] == 100.0
    assert wilder_rsi(pd.Series([5.0, 5.0, 5.0, 5.0]), 2).iloc[-1] == 100.0
    # only losses -> 0
    assert wilder_rsi(pd.Series([4.0, 3.0, 2.0, 1.0]), 2).iloc[-1] == 0.0


def test_rsi_skips_missing_closes() -> None:
    s = pd.Series([1.0, 2.0, np.nan, 1.0, 2.0, 3.0])
    got = wilder_rsi(s, 2)
    assert np.isnan(got.iloc[2])
    np.testing.assert_allclose(got.iloc[3:], [50.0, 75.0, 87.5], atol=1e-12)


# --------------------------------------------------------------------------- MACD, z-score


def test_macd_matches_manual_ema_recursion() -> None:
    prices = list(random_walk(500, seed=3))
    fast, slow, sig = loop_ema(prices, 12), loop_ema(prices, 26), None
    line = [a - b for a, b in zip(fast, slow, strict=True)]
    sig = loop_ema(line, 9)
    got = macd(pd.Series(prices), 12, 26, 9)
    np.testing.assert_allclose(got["macd"], line, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["signal"], sig, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        got["hist"], [a - b for a, b in zip(line, sig, strict=True)], atol=1e-9
    )


def test_trailing_zscore_uses_window_before_the_value() -> None:
    x = pd.Series(random_walk(80, seed=11))
    w = 12
    got = trailing_zscore(x, w)
    assert got.iloc[:w].isna().all()
    for t in range(w, len(x)):
        prior = list(x.iloc[t - w : t])
        want = (x.iloc[t] - statistics.fmean(prior)) / statistics.stdev(prior)
        assert got.iloc[t] == pytest.approx(want, rel=1e-10)
    # including the latest value in its own window would give a different number
    t = len(x) - 1
    inclusive = (x.iloc[t] - x.iloc[t - w + 1 : t + 1].mean()) / x.iloc[t - w + 1 : t + 1].std()
    assert got.iloc[t] != pytest.approx(inclusive, rel=1e-6)


def test_trailing_zscore_zero_std_is_undefined() -> None:
    x = pd.Series([1.0, 1.0, 1.0, 2.0])
    assert np.isnan(trailing_zscore(x, 3).iloc[-1])


# --------------------------------------------------------------------------- states, windows


def spx_obs(n: int, end: str = "2024-06-28", seed: int = 5) -> pd.DataFrame:
    days = sessions("2000-01-03", end)[-n:]
    return rows("spx", days, random_walk(n, seed))


def test_rsi_and_macd_insufficient_until_window_is_full() -> None:
    # RSI(30) needs 31 closes; MACD needs slow + signal - 1 = 34 closes (TA-Lib look-back)
    for n, rsi_state_ok, macd_ok in ((30, False, False), (31, True, False), (34, True, True)):
        frame = spx_obs(n)
        out = compute_signals(frame, [frame["date"].iloc[-1]], P)
        rsi = out[out.signal == "rsi_spx"].iloc[0]
        mac = out[out.signal == "macd_spx"].iloc[0]
        assert (rsi.state != SignalState.INSUFFICIENT) is rsi_state_ok
        assert np.isnan(rsi.value) is not rsi_state_ok
        assert (mac.state != SignalState.INSUFFICIENT) is macd_ok
    # with 33 closes the histogram exists (EMAs start at the first close) but is withheld
    frame = spx_obs(33)
    assert not np.isnan(macd(frame.set_index("date")["value"], 12, 26, 9)["hist"].iloc[-1])


def test_rsi_and_macd_values_picked_at_each_session() -> None:
    frame = spx_obs(400)
    days = pd.DatetimeIndex(frame["date"])
    out = compute_signals(frame, days, P)
    closes = list(frame["value"])
    want_rsi = loop_rsi(closes, 30)
    line = [a - b for a, b in zip(loop_ema(closes, 12), loop_ema(closes, 26), strict=True)]
    hist = [a - b for a, b in zip(line, loop_ema(line, 9), strict=True)]
    rsi = out[out.signal == "rsi_spx"]
    mac = out[out.signal == "macd_spx"]
    np.testing.assert_allclose(rsi["value"].iloc[30:], want_rsi[30:], atol=1e-9)
    np.testing.assert_allclose(mac["value"].iloc[33:], hist[33:], atol=1e-9)
    for i in range(34, 400):
        want = "bullish" if hist[i] > 0 else "bearish"
        if (hist[i] > 0) != (hist[i - 1] > 0):
            want += "_cross"
        assert mac["state"].iloc[i] == want
        r = want_rsi[i]
        assert rsi["state"].iloc[i] == (
            "overbought" if r >= 70 else "oversold" if r <= 30 else "neutral"
        )
    assert (mac["input_date"] == days).all()


def test_vix_regime_boundaries_exactly_at_thresholds() -> None:
    values = [14.99, 15.0, 24.99, 25.0, 34.99, 35.0]
    expected = ["calm", "normal", "normal", "stressed", "stressed", "crisis"]
    days = sessions("2024-03-01", "2024-03-31")[: len(values)]
    out = compute_signals(rows("vix", days, values), days, P)
    got = out[out.signal == "vix_regime"]
    assert list(got["state"]) == expected
    assert list(got["value"]) == values


def test_term_structure_boundaries_and_same_session() -> None:
    # 19/20 is exactly 0.95 in IEEE arithmetic; 20/20 is exactly 1.0
    days = sessions("2024-03-01", "2024-03-31")[:4]
    vix = [18.0, 19.0, 19.99, 20.0]
    vix3m = [20.0, 20.0, 20.0, 20.0]
    frame = obs(rows("vix", days, vix), rows("vix3m", days[:3], vix3m[:3]))
    frame = obs(frame, rows("vix3m", days[3:], [20.0]))
    out = compute_signals(frame, days, P)
    got = out[out.signal == "term_structure"]
    assert list(got["state"]) == ["contango", "flat", "flat", "backwardation"]
    np.testing.assert_allclose(got["value"], np.array(vix) / np.array(vix3m))
    # VIX3M of the last session not in yet: the ratio stays on the last common session
    late = obs(rows("vix", days, vix), rows("vix3m", days[:3], vix3m[:3]))
    row = one(late, days[3], "term_structure")
    assert row["input_date"] == days[2]
    assert row["value"] == pytest.approx(19.99 / 20.0)
    assert row["state"] == "flat"


def test_rsi_threshold_is_inclusive() -> None:
    frame = spx_obs(120)
    last = frame["date"].iloc[-1]
    v = one(frame, last, "rsi_spx")["value"]
    assert v == pytest.approx(loop_rsi(list(frame["value"]), 30)[-1], abs=1e-9)
    assert 30 < v < 70
    at = SignalParams(rsi_overbought=v)
    above = SignalParams(rsi_overbought=float(np.nextafter(v, np.inf)))
    assert one(frame, last, "rsi_spx", at)["state"] == "overbought"
    assert one(frame, last, "rsi_spx", above)["state"] == "neutral"
    low = SignalParams(rsi_oversold=v)
    below = SignalParams(rsi_oversold=float(np.nextafter(v, -np.inf)))
    assert one(frame, last, "rsi_spx", low)["state"] == "oversold"
    assert one(frame, last, "rsi_spx", below)["state"] == "neutral"


def test_gdp_trend_value_and_boundaries() -> None:
    quarters = pd.date_range("2021-01-01", periods=6, freq="QS")
    levels = [100.0, 101.0, 101.5, 101.5, 101.0, 102.0]
    avail = roll_to_sessions(quarters + pd.offsets.QuarterEnd(0) + pd.Timedelta(days=30))
    frame = rows("gdp_real", quarters, levels, avail)
    for i, expected in ((2, None), (3, "slow"), (4, "contraction"), (5, "expansion")):
        row = one(frame, avail[i], "gdp_trend")
        want = (levels[i] / levels[i - 1]) ** 4 - 1
        assert row["value"] == pytest.approx(want, rel=1e-12)
        assert row["input_date"] == quarters[i]
        if expected:
            assert row["state"] == expected
    # growth exactly at the slow/expansion boundary is `expansion`
    g = (levels[2] / levels[1]) ** 4 - 1
    assert one(frame, avail[2], "gdp_trend", SignalParams(gdp_slow=g))["state"] == "expansion"
    nudged = SignalParams(gdp_slow=float(np.nextafter(g, np.inf)))
    assert one(frame, avail[2], "gdp_trend", nudged)["state"] == "slow"


# --------------------------------------------------------------------------- macro, point in time


def cpi_levels(n: int, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 250.0 * np.cumprod(1.0 + rng.normal(0.0025, 0.002, n))


def test_cpi_month_invisible_until_available() -> None:
    months = pd.date_range("2022-01-01", "2024-03-01", freq="MS")
    levels = cpi_levels(len(months))
    avail = roll_to_sessions(months + pd.offsets.MonthEnd(0) + pd.Timedelta(days=20))
    release = TS("2024-04-10")  # March 2024 published on this session
    avail = avail[:-1].append(pd.DatetimeIndex([release]))
    frame = rows("cpi", months, levels, avail)
    before = one(frame, "2024-04-09", "cpi_shock")
    on = one(frame, release, "cpi_shock")
    assert before["input_date"] == TS("2024-02-01")
    assert on["input_date"] == TS("2024-03-01")
    assert before["value"] == pytest.approx(mom_z(list(levels[:-1]), 12), rel=1e-10)
    assert on["value"] == pytest.approx(mom_z(list(levels), 12), rel=1e-10)
    assert json.loads(on["params"]) == {"window": 12, "shock": 2.0, "series": "cpi"}
    # threshold inclusive: shock >= threshold
    z = on["value"]
    assert one(frame, release, "cpi_shock", SignalParams(cpi_shock=z))["state"] == "shock"
    nudged = SignalParams(cpi_shock=float(np.nextafter(z, np.inf)))
    assert one(frame, release, "cpi_shock", nudged)["state"] == "normal"


def test_revision_visible_only_from_its_available_at() -> None:
    months = pd.date_range("2022-01-01", "2024-04-01", freq="MS")
    levels = cpi_levels(len(months), seed=9)
    avail = roll_to_sessions(months + pd.offsets.MonthEnd(0) + pd.Timedelta(days=20))
    first = rows("cpi", months, levels, avail)
    revised_at = TS("2024-06-12")
    feb = months.get_loc(TS("2024-02-01"))
    new_feb = levels[feb] * 1.004
    frame = obs(first, rows("cpi", [months[feb]], [new_feb], revised_at))
    assert point_in_time(frame, "cpi", "2024-06-11")[TS("2024-02-01")] == levels[feb]
    assert point_in_time(frame, "cpi", revised_at)[TS("2024-02-01")] == new_feb
    revised = levels.copy()
    revised[feb] = new_feb
    old_row = one(frame, "2024-06-11", "cpi_shock")
    new_row = one(frame, revised_at, "cpi_shock")
    # the latest month (April) is the same input date; its trailing window changed
    assert old_row["input_date"] == new_row["input_date"] == TS("2024-04-01")
    assert old_row["value"] == pytest.approx(mom_z(list(levels), 12), rel=1e-10)
    assert new_row["value"] == pytest.approx(mom_z(list(revised), 12), rel=1e-10)
    # the backfill sees the same thing at both dates
    out = compute_signals(frame, sessions("2024-06-10", "2024-06-13"), P)
    cpi = out[out.signal == "cpi_shock"].set_index("as_of")["value"]
    assert cpi[TS("2024-06-11")] == pytest.approx(old_row["value"], rel=1e-12)
    assert cpi[TS("2024-06-12")] == pytest.approx(new_row["value"], rel=1e-12)


def test_point_in_time_latest_vintage_per_date() -> None:
    frame = obs(
        rows("cpi", ["2024-01-01", "2024-02-01"], [1.0, 2.0], TS("2024-03-01")),
        rows("cpi", ["2024-01-01"], [1.5], TS("2024-04-01")),
        rows("cpi", ["2024-03-01"], [np.nan], TS("2024-04-01")),
        rows("ppi", ["2024-01-01"], [9.0], TS("2024-02-01")),
    )
    early = point_in_time(frame, "cpi", "2024-03-29")
    assert early.to_dict() == {TS("2024-01-01"): 1.0, TS("2024-02-01"): 2.0}
    late = point_in_time(frame, "cpi", "2024-04-01")
    assert late.iloc[:2].tolist() == [1.5, 2.0]
    assert np.isnan(late[TS("2024-03-01")])
    assert point_in_time(frame, "cpi", "2024-02-29").empty


def test_missing_month_is_bridged_geometrically() -> None:
    months = pd.date_range("2024-06-01", "2025-12-01", freq="MS")
    levels = cpi_levels(len(months), seed=4)
    avail = roll_to_sessions(months + pd.offsets.MonthEnd(0) + pd.Timedelta(days=20))
    frame = rows("cpi", months, levels, avail)
    oct_ = months.get_loc(TS("2025-10-01"))
    frame.loc[oct_, "value"] = np.nan  # recorded missing (not published)
    nov = months.get_loc(TS("2025-11-01"))
    mom = [levels[i] / levels[i - 1] - 1 for i in range(1, oct_)]
    mom.append((levels[nov] / levels[oct_ - 1]) ** 0.5 - 1)
    prior = mom[-13:-1]
    want = (mom[-1] - statistics.fmean(prior)) / statistics.stdev(prior)
    row = one(frame, avail[nov], "cpi_shock")
    assert row["input_date"] == TS("2025-11-01")
    assert row["value"] == pytest.approx(want, rel=1e-10)


# --------------------------------------------------------------------------- staleness, fallbacks


def test_daily_staleness_flips_after_five_sessions_across_thanksgiving() -> None:
    frame = spx_obs(60, end="2024-11-22")  # last close Friday 2024-11-22
    # sessions after it: 11-25, 11-26, 11-27, 11-29 (11-28 holiday), 12-02, 12-03
    fresh = one(frame, "2024-12-02", "rsi_spx")
    stale = one(frame, "2024-12-03", "rsi_spx")
    assert fresh["state"] in {"neutral", "overbought", "oversold"}
    assert stale["state"] == SignalState.STALE
    assert fresh["value"] == stale["value"] == pytest.approx(loop_rsi(list(frame["value"]), 30)[-1])
    assert stale["input_date"] == TS("2024-11-22")
    # a stale input fires no rule
    vix = rows("vix", pd.DatetimeIndex(frame["date"]), [40.0] * 60)
    risk = compute_signals(obs(frame, vix), [TS("2024-12-03")], P)
    assert signal_row(risk, "2024-12-03", "vix_regime")["state"] == SignalState.STALE
    r = signal_row(risk, "2024-12-03", "risk_state")
    assert r["state"] == "risk_on" and r["value"] == 0
    assert "vix_regime" in json.loads(r["params"])["stale"]


def test_monthly_staleness_measured_from_month_end() -> None:
    months = pd.date_range("2022-01-01", "2024-02-01", freq="MS")  # last: Feb 2024
    frame = rows("cpi", months, cpi_levels(len(months)), TS("2024-03-20"))
    # 2024-02-29 + 75 days = 2024-05-14 (a session), + 76 = 2024-05-15
    assert one(frame, "2024-05-14", "cpi_shock")["state"] in {"normal", "shock"}
    assert one(frame, "2024-05-15", "cpi_shock")["state"] == SignalState.STALE


def test_quarterly_staleness_measured_from_quarter_end() -> None:
    quarters = pd.date_range("2022-01-01", "2023-10-01", freq="QS")  # last: 2023Q4
    frame = rows("gdp_real", quarters, np.linspace(100, 104, len(quarters)), TS("2024-02-01"))
    # 2023-12-31 + 150 days = 2024-05-29, + 151 = 2024-05-30 (both sessions)
    assert one(frame, "2024-05-29", "gdp_trend")["state"] == "expansion"
    assert one(frame, "2024-05-30", "gdp_trend")["state"] == SignalState.STALE
    tighter = SignalParams(max_age=MaxAge(quarterly_days=149))
    assert one(frame, "2024-05-29", "gdp_trend", tighter)["state"] == SignalState.STALE


def test_usd_uses_daily_when_fresh_else_monthly() -> None:
    days = sessions("2022-01-03", "2024-06-14")
    daily_vals = random_walk(len(days), seed=21, start=120.0, vol=0.003)
    months = pd.date_range("2021-01-01", "2024-05-01", freq="MS")
    real_vals = random_walk(len(months), seed=22, start=100.0, vol=0.01)
    real_avail = roll_to_sessions(months + pd.offsets.MonthEnd(0) + pd.Timedelta(days=45))
    frame = obs(rows("usd", days, daily_vals), rows("usd_real", months, real_vals, real_avail))

    # sessions after 06-14: 06-17, 06-18, 06-20 (06-19 is a holiday), 06-21, 06-24, 06-25
    fresh = one(frame, "2024-06-24", "usd_strength")
    assert json.loads(fresh["params"])["series"] == "usd"
    assert fresh["input_date"] == TS("2024-06-14")
    assert fresh["value"] == pytest.approx(level_z(list(daily_vals), 252), rel=1e-10)

    later = one(frame, "2024-06-25", "usd_strength")
    assert json.loads(later["params"]) == {
        "window": 12,
        "strong": 1.0,
        "weak": -1.0,
        "series": "usd_real",
    }
    known = real_avail <= TS("2024-06-25")
    assert later["input_date"] == months[known][-1]
    assert later["value"] == pytest.approx(level_z(list(real_vals[known]), 12), rel=1e-10)
    assert later["state"] in {"strong", "weak", "neutral"}

    # both stale: the newer input is reported, as stale
    much_later = one(frame, "2024-12-02", "usd_strength")
    assert much_later["state"] == SignalState.STALE
    assert json.loads(much_later["params"])["series"] == "usd"


def test_ppi_falls_back_to_ppi_all_when_stale() -> None:
    months = pd.date_range("2021-01-01", "2024-05-01", freq="MS")
    avail = roll_to_sessions(months + pd.offsets.MonthEnd(0) + pd.Timedelta(days=20))
    ppi_vals = cpi_levels(len(months), seed=31)
    all_vals = cpi_levels(len(months), seed=32)
    cut = months.get_loc(TS("2023-12-01"))  # ppi (PPIFIS) stops after Dec 2023
    frame = obs(
        rows("ppi", months[: cut + 1], ppi_vals[: cut + 1], avail[: cut + 1]),
        rows("ppi_all", months, all_vals, avail),
    )
    primary = one(frame, avail[cut], "ppi_surprise")
    assert json.loads(primary["params"])["series"] == "ppi"
    assert primary["value"] == pytest.approx(mom_z(list(ppi_vals[: cut + 1]), 12), rel=1e-10)
    # Dec 2023 ends 12-31; + 75 days = 2024-03-15 (fresh), 03-18 stale -> ppi_all
    assert json.loads(one(frame, "2024-03-15", "ppi_surprise")["params"])["series"] == "ppi"
    fb = one(frame, "2024-03-18", "ppi_surprise")
    assert json.loads(fb["params"])["series"] == "ppi_all"
    known = avail <= TS("2024-03-18")
    assert fb["input_date"] == months[known][-1]
    assert fb["value"] == pytest.approx(mom_z(list(all_vals[known]), 12), rel=1e-10)
    z = fb["value"]
    at = SignalParams(ppi_hot=z, ppi_cool=z - 10)
    assert one(frame, "2024-03-18", "ppi_surprise", at)["state"] == "hot"
    at = SignalParams(ppi_cool=z, ppi_hot=z + 10)
    assert one(frame, "2024-03-18", "ppi_surprise", at)["state"] == "cool"
    off = SignalParams(ppi_cool=float(np.nextafter(z, -np.inf)), ppi_hot=z + 10)
    assert one(frame, "2024-03-18", "ppi_surprise", off)["state"] == "inline"


# --------------------------------------------------------------------------- FOMC


NYSE_HOLIDAYS_2024 = ["2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27"]
NYSE_HOLIDAYS_2024 += ["2024-06-19", "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25"]


def test_fomc_window_counts_sessions_across_a_holiday() -> None:
    decision = TS("2024-07-08")  # a Monday after the July 4th holiday and a weekend
    frame = rows("fomc", [decision, "2024-09-18"], [1.0, 1.0], TS("2023-12-01"))
    for as_of, state in (("2024-07-01", "clear"), ("2024-07-02", "clear"), ("2024-07-03", "event")):
        row = one(frame, as_of, "fomc_window")
        want = np.busday_count(as_of, decision.date(), holidays=NYSE_HOLIDAYS_2024)
        assert row["value"] == want
        assert row["state"] == state
        assert row["input_date"] == decision
    assert one(frame, "2024-07-03", "fomc_window")["value"] == 2  # 07-05 and 07-08
    on_day = one(frame, decision, "fomc_window")
    assert on_day["value"] == 0 and on_day["state"] == "event"
    after = one(frame, "2024-07-09", "fomc_window")
    assert after["input_date"] == TS("2024-09-18")
    assert after["value"] == np.busday_count(
        "2024-07-09", "2024-09-18", holidays=NYSE_HOLIDAYS_2024
    )


def test_fomc_dates_known_only_from_available_at_and_stale_without_future() -> None:
    frame = obs(
        rows("fomc", ["2024-03-20"], [1.0], TS("2023-06-01")),
        # an unscheduled action, known only on its own day
        rows("fomc", ["2024-03-13"], [0.0], TS("2024-03-13")),
    )
    assert one(frame, "2024-03-12", "fomc_window")["input_date"] == TS("2024-03-20")
    assert one(frame, "2024-03-13", "fomc_window")["value"] == 0
    gone = one(frame, "2024-03-21", "fomc_window")
    assert gone["state"] == SignalState.STALE
    assert np.isnan(gone["value"])
    assert gone["input_date"] == TS("2024-03-20")
    # a decision on a Sunday counts to the next session (Friday as_of -> 1 session)
    sunday = rows("fomc", ["2020-03-15"], [0.0], TS("2020-01-02"))
    assert one(sunday, "2020-03-13", "fomc_window")["value"] == 1
    # a date withdrawn by a later NaN version disappears from then on
    moved = obs(
        rows("fomc", ["2024-05-01", "2024-06-12"], [1.0, 1.0], TS("2023-06-01")),
        rows("fomc", ["2024-05-01"], [np.nan], TS("2024-04-15")),
    )
    assert one(moved, "2024-04-12", "fomc_window")["input_date"] == TS("2024-05-01")
    assert one(moved, "2024-04-15", "fomc_window")["input_date"] == TS("2024-06-12")


# --------------------------------------------------------------------------- risk_state


def risk_obs(spx_vals: np.ndarray, vix: float, vix3m: float, end: str = "2024-06-28"):
    days = sessions("2020-01-02", end)[-len(spx_vals) :]
    frame = obs(
        rows("spx", days, spx_vals),
        rows("vix", days, [vix] * len(days)),
        rows("vix3m", days, [vix3m] * len(days)),
    )
    return frame, days[-1]


def risk_params(out: pd.DataFrame, as_of) -> tuple[pd.Series, dict]:
    r = signal_row(out, as_of, "risk_state")
    return r, json.loads(r["params"])


def test_risk_state_rules() -> None:
    calm_spx = random_walk(200, seed=44, vol=0.004)
    # benign: calm VIX in contango
    frame, last = risk_obs(calm_spx, 14.0, 16.0)
    out = compute_signals(frame, [last], P)
    assert signal_row(out, last, "rsi_spx")["state"] != "oversold"
    r, prm = risk_params(out, last)
    assert (r["state"], r["value"], prm["rules"]) == ("risk_on", 0, [])

    # VIX stressed
    frame, last = risk_obs(calm_spx, 25.0, 27.0)
    r, prm = risk_params(compute_signals(frame, [last], P), last)
    assert (r["state"], r["value"], prm["rules"]) == ("risk_off", 1, ["vix_stressed"])

    # backwardation (and VIX crisis): two rules
    frame, last = risk_obs(calm_spx, 40.0, 38.0)
    r, prm = risk_params(compute_signals(frame, [last], P), last)
    assert (r["state"], r["value"], prm["rules"]) == (
        "risk_off",
        2,
        ["vix_stressed", "backwardation"],
    )

    # accelerating decline: RSI 0 (oversold), MACD line falling away from its signal
    falling = 2000.0 - 0.05 * np.arange(80) ** 2
    frame, last = risk_obs(falling, 14.0, 16.0)
    out = compute_signals(frame, [last], P)
    assert signal_row(out, last, "rsi_spx")["state"] == "oversold"
    assert signal_row(out, last, "macd_spx")["state"] == "bearish"
    r, prm = risk_params(out, last)
    assert (r["state"], r["value"], prm["rules"]) == ("risk_off", 1, ["bearish_oversold"])
    assert r["input_date"] == last

    # oversold but MACD (fast settings) turned bullish on a bounce: the rule needs both
    bounce = np.append(falling, falling[-1] * 1.005)
    frame, last = risk_obs(bounce, 14.0, 16.0)
    fast = SignalParams(macd_fast=2, macd_slow=4, macd_signal=2)
    out = compute_signals(frame, [last], fast)
    assert signal_row(out, last, "rsi_spx")["state"] == "oversold"
    assert signal_row(out, last, "macd_spx")["state"] in {"bullish", "bullish_cross"}
    r, prm = risk_params(out, last)
    assert (r["state"], r["value"], prm["rules"]) == ("risk_on", 0, [])

    # inputs with no history fire nothing and are named
    r, prm = risk_params(compute_signals(rows("vix", [last], [50.0]), [last], P), last)
    assert (r["state"], prm["rules"]) == ("risk_off", ["vix_stressed"])
    assert prm["insufficient"] == ["term_structure", "macd_spx", "rsi_spx"]


# --------------------------------------------------------------------------- whole frame, backfill


def synthetic_history(start: str = "1985-01-02", end: str = "2026-08-21") -> pd.DataFrame:
    """Every series of SPEC §2 with realistic shapes: daily closes, monthly/quarterly macro
    with release lags and yearly CPI revisions, a gap-ending PPIFIS and RBUSBIS, FOMC."""
    rng = np.random.default_rng(123)
    days = sessions(start, end)
    n = len(days)
    spx = random_walk(n, seed=1, start=200.0, vol=0.011)
    vix = 12.0 + 30.0 * rng.beta(1.5, 6.0, n)
    vix3m = vix * rng.uniform(0.85, 1.08, n)
    usd = random_walk(n, seed=2, start=100.0, vol=0.003)
    months = pd.date_range(start[:8] + "01", end, freq="MS")[:-1]
    quarters = pd.date_range(start[:8] + "01", end, freq="QS")[:-2]

    def lagged(dates, lag_days, quarterly=False):
        end_of = pd.offsets.QuarterEnd(0) if quarterly else pd.offsets.MonthEnd(0)
        return roll_to_sessions(dates + end_of + pd.Timedelta(days=lag_days))

    cpi = cpi_levels(len(months), seed=5)
    ppi = cpi_levels(len(months), seed=6)
    fomc_dates = roll_to_sessions(pd.date_range("1990-01-20", "2026-12-31", freq="46D"))
    frames = [
        rows("spx", days, spx),
        rows("vix", days, vix),
        rows("vix3m", days[5000:], vix3m[5000:]),
        rows("usd", days[5200:], usd[5200:]),
        rows("usd_real", months[:-30], usd[: len(months) - 30], lagged(months[:-30], 45)),
        rows("cpi", months, cpi, lagged(months, 20)),
        rows("ppi", months[300:-10], ppi[300:-10], lagged(months[300:-10], 20)),
        rows("ppi_all", months, ppi * 1.2, lagged(months, 20)),
        rows(
            "gdp_real",
            quarters,
            random_walk(len(quarters), 8, 100.0, 0.006),
            lagged(quarters, 30, True),
        ),
        rows("fomc", fomc_dates, np.ones(len(fomc_dates)), TS("1985-06-03")),
    ]
    # each February the previous year's CPI is revised (seasonal factors)
    for year in range(1992, 2026):
        sel = (months >= TS(f"{year - 1}-01-01")) & (months < TS(f"{year}-01-01"))
        when = roll_to_sessions([TS(f"{year}-02-14")])[0]
        frames.append(rows("cpi", months[sel], cpi[sel] * (1 + 0.001 * rng.normal()), when))
    frame = pd.concat(frames, ignore_index=True)
    # a few SPX rows re-published with a correction a day later
    fix = frame[(frame.series_id == "spx")].iloc[[3000, 6000, 9000]].copy()
    fix["value"] *= 1.01
    fix["available_at"] = roll_to_sessions(fix["available_at"] + pd.Timedelta(days=1))
    return pd.concat([frame, fix], ignore_index=True)


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return synthetic_history()


@pytest.fixture(scope="module")
def backfill(history: pd.DataFrame) -> pd.DataFrame:
    return compute_signals(history, sessions("1990-01-02", "2026-08-21"), P)


def test_output_shape_and_order(backfill: pd.DataFrame) -> None:
    days = sessions("1990-01-02", "2026-08-21")
    assert list(backfill.columns) == ["as_of", "signal", "value", "state", "params", "input_date"]
    assert len(backfill) == len(days) * len(SIGNALS)
    assert list(backfill["signal"].iloc[: len(SIGNALS)]) == list(SIGNALS)
    assert (backfill["as_of"].to_numpy()[:: len(SIGNALS)] == days.to_numpy()).all()
    assert str(backfill["as_of"].dtype) == str(backfill["input_date"].dtype) == "datetime64[ns]"
    # every params is compact JSON
    for text in backfill["params"].unique():
        assert json.dumps(json.loads(text), separators=(",", ":")) == text
    # no signal ever uses an input dated after its as_of, except the next FOMC date
    dated = backfill[backfill.signal != "fomc_window"].dropna(subset=["input_date"])
    assert (dated["input_date"] <= dated["as_of"]).all()


def test_backfill_equals_daily_calls_and_truncated_history(
    history: pd.DataFrame, backfill: pd.DataFrame
) -> None:
    sampled = ["1990-01-02", "1992-02-14", "1998-02-13", "2005-06-15", "2009-12-01"]
    sampled += ["2011-05-31", "2016-02-12", "2020-03-16", "2025-02-14", "2026-08-21"]
    # also each revision day of the SPX and the session before it (epoch boundaries)
    spx = history[history.series_id == "spx"]
    revised = spx.loc[spx.duplicated("date", keep="first"), "available_at"]
    days = sessions("1990-01-02", "2026-08-21")
    for when in revised:
        sampled += [days[days.get_loc(when) - 1], when]
    for d in map(TS, sampled):
        want = backfill[backfill["as_of"] == d].reset_index(drop=True)
        daily = compute_signals(history, [d], P)
        pd.testing.assert_frame_equal(daily, want)
        # nothing from after `d` may matter: drop every row not yet available and recompute
        known = compute_signals(history[history["available_at"] <= d], [d], P)
        pd.testing.assert_frame_equal(known, want)


def test_fallback_series_switch_in_backfill(backfill: pd.DataFrame) -> None:
    usd = backfill[backfill.signal == "usd_strength"]
    series = usd["params"].map(lambda t: json.loads(t)["series"])
    # daily `usd` exists only from session 5200 (+252 for its window): monthly before that
    assert (series[usd["as_of"] < TS("2006-01-03")] == "usd_real").all()
    assert (series[usd["as_of"] > TS("2010-01-04")] == "usd").all()
    ppi = backfill[backfill.signal == "ppi_surprise"]
    ppi_series = ppi["params"].map(lambda t: json.loads(t)["series"])
    assert set(ppi_series) == {"ppi", "ppi_all"}
    assert (ppi_series[ppi["as_of"] > TS("2026-03-01")] == "ppi_all").all()


def test_out_of_order_publication_waits_for_the_gap() -> None:
    days = sessions("2024-01-02", "2024-03-28")[:40]
    values = random_walk(40, seed=17)
    avail = days.to_numpy().copy()
    avail[35] = days[37]  # the close of session 35 is only known two sessions late
    frame = rows("vix", days, values, pd.DatetimeIndex(avail))
    # on session 36 the close of 36 is known but 35 is not: the series stops at 34
    assert one(frame, days[36], "vix_regime")["input_date"] == days[34]
    assert one(frame, days[37], "vix_regime")["input_date"] == days[37]


def test_as_of_must_be_sessions() -> None:
    frame = spx_obs(40)
    with pytest.raises(ValueError, match="NYSE sessions"):
        compute_signals(frame, [TS("2024-06-29")], P)  # a Saturday
    with pytest.raises(ValueError, match="lacks column"):
        compute_signals(frame.drop(columns="available_at"), [TS("2024-06-28")], P)


def test_no_data_means_insufficient_history() -> None:
    empty = rows("spx", [], [])
    out = compute_signals(empty, [TS("2024-06-28")], P)
    by_signal = out.set_index("signal")["state"]
    for s in SIGNALS[:8]:
        assert by_signal[s] == SignalState.INSUFFICIENT
    assert by_signal["fomc_window"] == SignalState.STALE
    assert by_signal["risk_state"] == "risk_on"


def test_every_state_is_a_signal_state_and_the_order_is_spec_order(backfill: pd.DataFrame) -> None:
    assert SIGNALS == (
        "rsi_spx",
        "macd_spx",
        "vix_regime",
        "term_structure",
        "usd_strength",
        "ppi_surprise",
        "cpi_shock",
        "gdp_trend",
        "fomc_window",
        "risk_state",
    )
    states = set(backfill["state"])
    assert states <= {s.value for s in SignalState}
    # written as plain strings, not enum members (the table stores text)
    assert {type(s) for s in backfill["state"]} == {str}
