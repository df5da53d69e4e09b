"""SPEC §7 steps 2–4 alone: multipliers and the proposed contracts."""

from __future__ import annotations

import numpy as np
import pytest

from schemas.config import params_for
from tasks.sizing.hurdle import contract_multiplier, propose_contracts
from tasks.sizing.inputs import Rules


def _rules(risk_off=False, fomc=False) -> Rules:
    return Rules(risk_off, False, fomc, 2.0, (), ())


@pytest.mark.parametrize(
    ("profile", "below", "fomc", "risk_off", "mult", "fired"),
    [
        ("steward", False, False, False, 1.0, []),
        ("steward", True, False, False, 0.25, ["hurdle"]),
        ("steward", True, True, True, 0.25 * 0.75 * 0.5, ["hurdle", "fomc", "risk_off"]),
        ("promoter", True, True, False, 0.5 * 0.75, ["hurdle", "fomc"]),
    ],
)
def test_multipliers_multiply(profile, below, fomc, risk_off, mult, fired) -> None:
    m, f = contract_multiplier(below, _rules(risk_off, fomc), params_for(profile))
    assert m == pytest.approx(mult) and f == fired


def test_proposal_floors_once_after_the_multipliers_by_hand() -> None:
    params = params_for("steward")
    R = np.array([3_000.0, 3_500.0, 3_600.0, 3_700.0])
    q = np.array([20.0, 9.9, 7.0, 30.0])
    taken = np.array([False, False, False, True])
    p = propose_contracts((False, True), 1_000_000.0, R, q, taken, _rules(), params)
    # WACC ≤ 7%: cap_base 6% → $60,000: n_cap = 20, 17, 16, 16; min with q = 20, 9.9, 7, 16
    np.testing.assert_array_equal(p.n_cap, [20, 17, 16, 16])
    np.testing.assert_allclose(p.pre_mult, [20.0, 9.9, 7.0, 16.0])
    # × 0.25 (below the hurdle) then one floor: 5 → 5, 2.475 → 2, 1.75 → 1; slot taken → 0
    np.testing.assert_array_equal(p.proposed, [5, 2, 1, 0])
    assert p.cap == 0.06 and p.multiplier == 0.25 and p.fired == ("hurdle",)
    # the high-WACC regime tightens the cap to 4% → $40,000: n_cap 13, 11, 11, 10
    hi = propose_contracts((True, False), 1_000_000.0, R, q, taken, _rules(), params)
    np.testing.assert_array_equal(hi.n_cap, [13, 11, 11, 10])
    np.testing.assert_array_equal(hi.proposed, [13, 9, 7, 0])
