"""The WACC ↔ post-hedge β fixed point alone (tasks.sizing.passes.settle_regime)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks import risk
from tasks.sizing.hedge import HedgeDecision
from tasks.sizing.hurdle import Proposal
from tasks.sizing.limits import BookCheck, LimitDecision
from tasks.sizing.passes import SizingPass, settle_regime

_W = risk.wacc(1.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.37, 0.268, 0.0)
_HD = HedgeDecision(0, 0.3, 0.3, 0.0, 0.0, 0, 0.0, 0.0, 0.0)


def _pass(regime, after, contracts: int) -> SizingPass:
    n = np.array([contracts])
    prop = Proposal(regime, 0.04, n, n.astype(float), 1.0, (), n)
    kept = BookCheck(n, _HD, pd.Series({"crash": 0.0}), 2.0)
    limits = LimitDecision(n, kept, True, (), True, False)
    return SizingPass(prop, limits, _W, 100.0, after)


def _runner(table: dict):
    """A pass_at that answers from ``table``: regime → (regime after, contracts); logs calls."""
    calls: list = []

    def pass_at(regime):
        calls.append(regime)
        after, n = table[regime]
        return _pass(regime, after, n)

    return pass_at, calls


def test_one_pass_when_the_regime_holds() -> None:
    pass_at, calls = _runner({(False, False): ((False, False), 9)})
    s = settle_regime((False, False), pass_at, 3)
    assert s.converged and len(s.passes) == 1 and calls == [(False, False)]
    assert s.kept.contracts_total == 9


def test_a_flip_is_followed_to_the_fixed_point() -> None:
    pass_at, calls = _runner(
        {(False, False): ((True, False), 12), (True, False): ((True, False), 15)}
    )
    s = settle_regime((False, False), pass_at, 3)
    assert s.converged and calls == [(False, False), (True, False)]
    assert s.kept.regime == (True, False) and s.kept.contracts_total == 15


def test_a_cycle_keeps_the_most_conservative_pass() -> None:
    pass_at, calls = _runner(
        {(False, False): ((True, False), 12), (True, False): ((False, False), 7)}
    )
    s = settle_regime((False, False), pass_at, 3)
    assert not s.converged and len(calls) == 3  # max_passes
    assert s.kept.contracts_total == 7 and s.kept.regime == (True, False)
    # max_passes is a parameter (SizingParams.max_passes)
    pass_at, calls = _runner(
        {(False, False): ((True, False), 12), (True, False): ((False, False), 7)}
    )
    assert len(settle_regime((False, False), pass_at, 5).passes) == 5
