"""SPEC §11 hedge variants: the VXTH allocation, its unit, and the policy switch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from schemas.config import Params, params_for
from tasks.book.hedge_policy import (
    apply_hedge_policy,
    variant_overrides,
    vxth_allocation,
    vxth_moneyness,
    vxth_target,
    vxth_unit,
)
from tasks.book.positions import start_state
from tasks.book.step import SizingDecision
from tasks.market.frame import MarketContext
from tasks.market.pricing import black76, rate_from_tbill
from tasks.market.surface import VolTerm


@pytest.mark.parametrize(("vix", "share"), [(14.0, 0.0), (20.0, 0.01), (40.0, 0.005),
                                            (60.0, 0.0), (float("nan"), 0.0)])  # fmt: skip
def test_vxth_allocation_by_vix_level(vix: float, share: float) -> None:
    assert vxth_allocation(vix) == share


def test_vxth_target_units_and_band() -> None:
    # 1% of $1m in $2.00 calls ($200 a contract) = 50 units
    assert vxth_target(1_000_000.0, 20.0, 2.0, 0, 0.25) == 50
    assert vxth_target(1_000_000.0, 20.0, 2.0, 45, 0.25) == 45  # within ±25%: hold
    assert vxth_target(1_000_000.0, 40.0, 2.0, 50, 0.25) == 25  # 0.5%: halve
    assert vxth_target(1_000_000.0, 14.0, 2.0, 50, 0.25) == 0


def test_vxth_moneyness_gives_the_delta() -> None:
    vov, days = 0.9, 30
    m = vxth_moneyness(0.30, vov, days)
    t = days / 365.0
    b = black76(np.array([20.0]), np.array([20.0 * m]), np.array([t]), 0.0, vov, True)
    assert float(b.delta[0]) == pytest.approx(0.30, abs=1e-9)


CTX = MarketContext(pd.Timestamp("2026-07-22"), 7498.96, VolTerm(14.88, 20.0, 21.0, np.nan),
                    95.55, 3.74, float(rate_from_tbill(3.74)))  # fmt: skip


def _decision() -> SizingDecision:
    legs = pd.DataFrame({"expiry": [pd.Timestamp("2026-10-21")], "leg": ["long_call"],
                         "put_call": ["C"], "strike": [25.0], "qty": [1.0],
                         "model_price": [1.5], "pricing_source": ["model"]})  # fmt: skip
    return SizingDecision([], legs, "vix_call", 7)


def test_policies_rewrite_only_the_hedge() -> None:
    state = start_state("p", 1_000_000.0, 250_000.0, 450_000.0, [(300_000.0, 1.0)])
    d = _decision()
    alvh = Params()
    assert apply_hedge_policy(d, state, CTX, alvh) is d
    none = params_for("steward", variant_overrides(alvh, "none"))
    assert apply_hedge_policy(d, state, CTX, none).hedge_target == 0
    vx = params_for("steward", variant_overrides(alvh, "vxth"))
    assert vx.book.hedge_roll_days == vx.book.vxth_roll_days
    out = apply_hedge_policy(d, state, CTX, vx)
    unit = vxth_unit(CTX, vx)
    days = (pd.Timestamp(unit["expiry"].iloc[0]) - CTX.as_of).days
    assert 15 <= days <= 45  # the VIX expiry nearest 30 days
    premium = float(unit["model_price"].iloc[0])
    assert out.hedge_target == math.floor(0.01 * state.nav / (100 * premium))
    assert out.condors == d.condors


def test_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown hedge variant"):
        variant_overrides(Params(), "straddle")
