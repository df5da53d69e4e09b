"""The cost of capital at any β (SPEC §6, as steps 2 and 4 read it)."""

from __future__ import annotations

import math

import pytest

from tasks.sizing.capital import CapitalCost


def _cost(irr: float) -> CapitalCost:
    return CapitalCost(
        equity=1_000_000.0, margin_debt=1_000_000.0, margin_rate=0.10, box_debt=0.0,
        box_rate=0.043, box_source="spread", risk_free=0.04, mrp=0.055, t_ord=0.37,
        t_1256=0.268, drag=0.0, irr=irr, irr_note=None, hurdle_bps=400.0, wacc_high=0.07,
    )  # fmt: skip


def test_wacc_and_spread_at_a_beta_by_hand() -> None:
    c = _cost(0.12)
    w = c.wacc_at(0.5)
    # r_E = 0.04 + 0.5·0.055 = 0.0675; WACC = ½·0.0675 + ½·0.10·(1 − 0.37) = 0.06525
    assert w.r_E == pytest.approx(0.0675) and w.wacc == pytest.approx(0.06525)
    assert c.spread_at(w.wacc) == pytest.approx((0.12 - 0.06525) * 1e4)
    assert c.regime_at(0.5) == (False, False)  # 6.5% ≤ 7%; 548 bp ≥ 400 bp
    # β 1.5: r_E = 0.1225, WACC = 0.06125 + 0.0315 = 0.09275 > 7%; spread 272.5 bp < 400
    assert c.regime_at(1.5) == (True, True)


def test_unknown_irr_counts_as_below_the_hurdle() -> None:
    c = _cost(float("nan"))
    assert math.isnan(c.spread_at(0.05))
    assert c.regime_of(0.05) == (False, True)


def test_bootstrap_rule_tests_p_hurdle_instead_of_the_spread() -> None:
    import dataclasses

    import numpy as np

    # the trailing IRR clears the hurdle (12% − 6.525% = 548 bp) but the bootstrapped years
    # beat WACC + 400 bp (10.525%) only 40% of the time: below the hurdle under 'bootstrap'
    years = np.array([0.20] * 40 + [0.05] * 60)
    c = dataclasses.replace(_cost(0.12), hurdle_rule="bootstrap", resampled_years=years)
    w = c.wacc_at(0.5).wacc
    assert c.p_hurdle_at(w) == pytest.approx(0.40)
    assert c.regime_of(w) == (False, True)
    assert dataclasses.replace(c, hurdle_rule="trailing").regime_of(w) == (False, False)
    # 60% of years clear it: above the hurdle (p_hurdle ≥ 0.5)
    c2 = dataclasses.replace(c, resampled_years=np.array([0.20] * 60 + [0.05] * 40))
    assert c2.regime_of(w) == (False, False)
    # no history: unknown counts as below
    assert dataclasses.replace(c, resampled_years=np.array([])).regime_of(w) == (False, True)
