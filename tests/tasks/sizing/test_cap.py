"""SPEC §7 step 2 alone: the cap regime and n_cap = floor(cap·E / R)."""

from __future__ import annotations

import numpy as np

from schemas.config import params_for
from tasks.sizing.cap import cap_for_regime, cap_fraction, n_cap


def test_cap_tightens_only_above_seven_percent() -> None:
    steward, promoter = params_for("steward"), params_for("promoter")
    # SPEC §7 step 2 (revised): cap_when_wacc_high when WACC > 0.07, else cap_base
    assert cap_fraction(0.0701, steward) == 0.04 and cap_fraction(0.07, steward) == 0.06
    assert cap_fraction(0.08, promoter) == 0.06 and cap_fraction(0.05, promoter) == 0.10
    assert cap_for_regime(True, steward) == 0.04 and cap_for_regime(False, steward) == 0.06


def test_n_cap_by_hand() -> None:
    # 4% of $1m = $40,000: 40,000/3,646 = 10.97 → 10; 40,000/4,000 = 10 exactly;
    # 40,000/41,000 < 1 → 0; R ≤ 0 gets none
    got = n_cap(0.04, 1_000_000.0, np.array([3_646.0, 4_000.0, 41_000.0, 0.0, -5.0]))
    np.testing.assert_array_equal(got, [10, 10, 0, 0, 0])
    assert got.dtype == np.int64
