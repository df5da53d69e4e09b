"""SPEC §7 step 5 alone: β_F resolution and which cap binds (hedge_units is tested by hand
in test_sizing.test_macro_rule_scales_the_hedge_target_by_one_plus_macro_scale)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from schemas.config import params_for
from tasks.sizing.hedge import HedgeBeta, fallback_hedge_beta, hedge_units, resolve_hedge_beta


def test_hedge_beta_prefers_the_estimate_then_the_scenario_slope_then_zero() -> None:
    spx = np.array([-0.01, 0.0, 0.01, 0.02])
    vix = 1.0 - 4.0 * spx  # exactly slope −4
    assert resolve_hedge_beta(-3.2, spx, vix) == HedgeBeta(-3.2, "betas")
    b = resolve_hedge_beta(float("nan"), spx, vix)
    assert b.source == "scenarios" and b.beta_F == pytest.approx(-4.0)
    assert resolve_hedge_beta(float("nan"), spx[:1], vix[:1]) == HedgeBeta(0.0, "none")
    assert math.isnan(fallback_hedge_beta(np.zeros(5), np.ones(5)))  # no SPX variance


@pytest.mark.parametrize(
    ("premium_cap", "binding", "units"),
    # β 0.9, band low 0.2, $1,000/unit: β cap floor(0.7·1e6/2,000) = 350; h_β = 250
    # premium $60 over 90 days = $20/month: budget 0.01·1e6/20 = 500; 0.001·1e6/20 = 50
    [(0.01, None, 250), (0.001, "premium_budget", 50)],
)
def test_the_cap_that_binds_is_named(premium_cap, binding, units) -> None:
    params = params_for("steward", {"hedge": {"premium_cap_monthly": premium_cap}})
    d = hedge_units(0.9, 1_000_000.0, -2_000.0, None, None, 60.0, 90, False, params)
    assert d.units == units and d.h_tail == 0.0
    assert d.capped == (binding is not None)
    if binding:
        assert d.binding_cap == binding


def test_beta_band_low_caps_a_tail_hedge() -> None:
    # the crash needs (−100,000 + 400,000)/1,000 = 300 units; β 0.3 allows floor(0.1·E/2,000) = 50
    params = params_for("steward")
    d = hedge_units(0.3, 1_000_000.0, -2_000.0, -400_000.0, 1_000.0, 60.0, 90, False, params)
    assert d.h_tail == pytest.approx(300.0) and d.h_target == 300
    assert d.units == 50 and d.capped and d.binding_cap == "beta_band"
    assert d.beta_after == pytest.approx(0.2)
