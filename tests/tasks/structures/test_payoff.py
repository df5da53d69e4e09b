"""Payoff at expiry (tasks/structures/payoff.py) against hand-worked condor and call payoffs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.structures import expiry_payoff, leg_intrinsic


def _condor() -> pd.DataFrame:
    # 3950/4000 put spread and 4200/4250 call spread sold for 12 − 5 + 8 − 5 = 10 points
    return pd.DataFrame(
        {
            "leg": ["short_put", "long_put", "short_call", "long_call"],
            "put_call": ["P", "P", "C", "C"],
            "strike": [4000.0, 3950.0, 4200.0, 4250.0],
            "qty": [-1.0, 1.0, -1.0, 1.0],
            "model_price": [12.0, 5.0, 8.0, 5.0],
        }
    )


def test_condor_payoff_by_hand() -> None:
    levels = [3800.0, 3950.0, 3990.0, 4100.0, 4210.0, 4225.0, 4300.0]
    got = expiry_payoff(_condor(), levels)
    # max loss 100·(50 − 10) beyond a wing, 0 at the break-evens 3990 / 4210, +1,000 inside,
    # halfway up the call wing 100·(10 − 25)
    assert got == pytest.approx([-4000.0, -4000.0, 0.0, 1000.0, 0.0, -1500.0, -4000.0])


def test_contracts_scale_and_nan_counts_as_zero() -> None:
    legs = _condor()
    three = expiry_payoff(legs, [4100.0, 3800.0], contracts=[3, 3, 3, 3])
    assert three == pytest.approx([3000.0, -12000.0])
    # only the call spread held: the put legs' NaN contracts count as none
    calls = expiry_payoff(legs, [3800.0, 4300.0], contracts=[np.nan, np.nan, 2, 2])
    assert calls == pytest.approx([2 * 100.0 * 3.0, 2 * 100.0 * (3.0 - 50.0)])


def test_settlement_value_without_entry() -> None:
    # the condor's settlement alone: nothing inside, −5,000 (the 50-point width) beyond a wing
    got = expiry_payoff(_condor(), [4100.0, 3800.0, 4300.0], net_of_entry=False)
    assert got == pytest.approx([0.0, -5000.0, -5000.0])


def test_long_vix_call_and_intrinsic_shape() -> None:
    call = pd.DataFrame({"put_call": ["C"], "strike": [25.0], "qty": [1.0], "model_price": [2.0]})
    assert expiry_payoff(call, [20.0, 30.0]) == pytest.approx([-200.0, 300.0])
    intrinsic = leg_intrinsic(_condor(), [3900.0, 4300.0])
    assert intrinsic.shape == (2, 4)
    assert intrinsic.tolist() == [[100.0, 50.0, 0.0, 0.0], [0.0, 0.0, 100.0, 50.0]]
