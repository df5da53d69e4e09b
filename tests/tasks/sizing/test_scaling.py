"""SPEC §7 step 3 alone: risk-inverse weights from scenario P&L."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tasks.sizing.scaling import risk_weights


def test_weights_are_inverse_vol_scaled_to_the_target_by_hand() -> None:
    # two tranches, independent ±σ scenarios: σ1 = 100, σ2 = 200 (sample std, ddof 1)
    a = np.array([100.0, -100.0, 100.0, -100.0])
    b = np.array([200.0, 200.0, -200.0, -200.0])
    pnl = np.column_stack([a, b])
    s1, s2 = np.std(a, ddof=1), np.std(b, ddof=1)  # 115.47, 230.94; zero covariance
    w = risk_weights(pnl, 2, 4, target_vol_usd=5_000.0)
    assert w.sized and w.n_scenarios == 4
    np.testing.assert_allclose(w.sigma, [s1, s2])
    # q ∝ 1/σ with sqrt(Σ q_i² σ_i²) = 5000: each term q_i σ_i = 5000/√2
    np.testing.assert_allclose(w.q, [5000 / math.sqrt(2) / s1, 5000 / math.sqrt(2) / s2])
    assert w.q[0] == pytest.approx(2 * w.q[1])


def test_too_few_scenarios_give_no_weights() -> None:
    w = risk_weights(None, 3, 1, 5_000.0)
    assert not w.sized and w.n_scenarios == 1
    np.testing.assert_array_equal(w.q, [0.0, 0.0, 0.0])
    assert np.isnan(w.sigma).all()


def test_weights_are_read_only() -> None:
    w = risk_weights(None, 2, 0, 1.0)
    with pytest.raises(ValueError):
        w.q[0] = 5.0
