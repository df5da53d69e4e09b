"""CNDR's condors priced by the model, checked against a month priced by hand here.

The hand pricing is independent of the code under test: its own Black–Scholes–Merton
(``math.erf``), its own strike search (every strike of the 5-point grid, the nearest
delta wins) and the SPEC §3.1 surface written out for a VIX-only term structure (with
VIX9D, VIX3M and VIX6M missing, w(T) is the line from (0, 0) through VIX²·30/365, so
σ_ATM = 0.85 · VIX/100 at every tenor).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from schemas.config import Params, ValidationParams
from tasks.validation import condor_months

Q = 0.013


def _ncdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _bsm(S: float, K: float, T: float, r: float, sigma: float, call: bool) -> tuple[float, float]:
    """(price, delta) of a European option with dividend yield Q."""
    F = S * math.exp((r - Q) * T)
    sd = sigma * math.sqrt(T)
    d1 = (math.log(F / K) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    disc = math.exp(-r * T)
    if call:
        return disc * (F * _ncdf(d1) - K * _ncdf(d2)), math.exp(-Q * T) * _ncdf(d1)
    return disc * (K * _ncdf(-d2) - F * _ncdf(-d1)), -math.exp(-Q * T) * _ncdf(-d1)


def _vol(K: float, S: float, T: float, r: float, vix: float) -> float:
    atm = 0.85 * vix / 100.0
    m = math.log(K / (S * math.exp((r - Q) * T))) / (atm * math.sqrt(T))
    d = (vix - 20.0) / 100  # the slopes move with the VIX: +0.15 (put), +0.10 (call) per 100 pts
    slope = 0.03 + 0.15 * d if m < 0 else 0.025 + 0.10 * d
    return max(0.05, atm - slope * m)


def _strike(target: float, S: float, T: float, r: float, vix: float) -> float:
    call = target > 0
    grid = np.arange(5 * math.floor(0.5 * S / 5), 1.5 * S, 5.0)
    errs = [abs(_bsm(S, k, T, r, _vol(k, S, T, r, vix), call)[1] - target) for k in grid]
    return float(grid[int(np.argmin(errs))])


def _hand_month(S: float, vix: float, tbill_pct: float, days: int, settle: float) -> dict:
    T = days / 365.0
    r = math.log(1 + tbill_pct / 100)
    k = [_strike(d, S, T, r, vix) for d in (-0.05, -0.20, 0.20, 0.05)]
    px = [_bsm(S, kk, T, r, _vol(kk, S, T, r, vix), call)[0]
          for kk, call in zip(k, (False, False, True, True), strict=True)]  # fmt: skip
    credit = px[1] + px[2] - px[0] - px[3]
    max_loss = max(k[1] - k[0], k[3] - k[2]) - credit
    owed = min(max(k[1] - settle, 0), k[1] - k[0]) + min(max(settle - k[2], 0), k[3] - k[2])
    return {
        "strikes": k,
        "credit": credit,
        "max_loss": max_loss,
        "excess": (credit - owed) / max_loss,
    }


def _frame(rows: list[tuple[str, float, float, float]]) -> pd.DataFrame:
    days = pd.DatetimeIndex([d for d, *_ in rows])
    f = pd.DataFrame(
        {
            "spx": [s for _, s, _, _ in rows],
            "vix9d": np.nan,
            "vix": [v for _, _, v, _ in rows],
            "vix3m": np.nan,
            "vix6m": np.nan,
            "vvix": np.nan,
            "tbill_3m": [t for *_, t in rows],
        },
        index=days,
    )
    f["r"] = np.log1p(f["tbill_3m"] / 100)
    return f


# three roll sessions: a calm month that expires between the shorts, then a month whose
# expiry close falls between the long and the short put
ROWS = [("2017-01-20", 2271.31, 11.54, 0.50), ("2017-02-17", 2290.00, 11.49, 0.52),
        ("2017-03-17", 2210.00, 12.00, 0.73)]  # fmt: skip


def test_a_month_priced_by_hand_matches_the_replica() -> None:
    p = Params()
    months = condor_months(
        _frame(ROWS), pd.DatetimeIndex([d for d, *_ in ROWS]), p.pricing, p.validation
    )
    assert len(months) == 2
    for i, (entry, S, vix, tb) in enumerate(ROWS[:2]):
        days = (pd.Timestamp(ROWS[i + 1][0]) - pd.Timestamp(entry)).days
        hand = _hand_month(S, vix, tb, days, settle=ROWS[i + 1][1])
        got = months.iloc[i]
        strikes = got[["k_long_put", "k_short_put", "k_short_call", "k_long_call"]].tolist()
        assert strikes == hand["strikes"]
        assert got["credit"] == pytest.approx(hand["credit"], rel=1e-9)
        assert got["max_loss"] == pytest.approx(hand["max_loss"], rel=1e-9)
        assert got["model_excess"] == pytest.approx(hand["excess"], rel=1e-9, abs=1e-12)
    calm, breached = months.iloc[0], months.iloc[1]
    assert calm["payoff"] == 0 and calm["pnl"] == pytest.approx(calm["credit"])
    assert calm["k_long_put"] < breached["settle"] < breached["k_short_put"]
    assert breached["payoff"] == pytest.approx(breached["k_short_put"] - breached["settle"])


def test_a_month_without_a_point_in_time_close_is_left_out() -> None:
    rows = [ROWS[0], (ROWS[1][0], ROWS[1][1], float("nan"), 0.52), ROWS[2]]
    p = Params()
    months = condor_months(
        _frame(rows), pd.DatetimeIndex([d for d, *_ in rows]), p.pricing, p.validation
    )
    assert list(months["entry"]) == [pd.Timestamp("2017-01-20")]


def test_entry_costs_come_off_the_credit_and_the_defaults_change_nothing() -> None:
    p = Params()
    rolls = pd.DatetimeIndex([d for d, *_ in ROWS])
    base = condor_months(_frame(ROWS), rolls, p.pricing, p.validation)
    assert (base["cost"] == 0).all()
    costly = ValidationParams(cost_min_per_leg=0.05, cost_frac_per_leg=0.0)
    paid = condor_months(_frame(ROWS), rolls, p.pricing, costly)
    assert np.allclose(base["credit"] - paid["credit"], 4 * 0.05)
    # the strikes do not depend on costs, so the payoff is the same
    assert np.allclose(base["payoff"], paid["payoff"])
    steeper = ValidationParams(put_slope_per_vix=0.5, skew_vix_ref=20.0)
    # below the reference VIX a VIX-dependent slope flattens the put skew: cheaper far puts
    flat = condor_months(_frame(ROWS), rolls, p.pricing, steeper)
    assert (flat["k_long_put"] >= base["k_long_put"]).all()
