"""The payoff curves: the condor ladder at expiry, the hedge revalued, break-evens."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from report_warehouse import AS_OF, HEDGE_UNITS, PROMOTER, STEWARD

from report import payoff
from tasks.market.pricing import black76
from tasks.market.surface import vix_future


def test_condor_payoff_matches_a_naive_loop(data) -> None:
    legs = data.daily_sizing[
        (data.daily_sizing["portfolio_id"] == STEWARD) & (data.daily_sizing["kind"] == "condor")
    ]
    S = payoff.spx_grid(data.spot, 81)
    got = payoff.condor_payoff(legs, S)
    for j, s in enumerate(S):
        total = 0.0
        for r in legs.itertuples():
            intrinsic = max(s - r.strike, 0.0) if r.put_call == "C" else max(r.strike - s, 0.0)
            total += 100.0 * r.contracts * r.qty * (intrinsic - r.model_price)
        assert got[j] == pytest.approx(total, rel=1e-12, abs=1e-6)
    # at spot every tranche keeps its whole credit
    credit = -(legs["qty"] * legs["model_price"] * legs["contracts"]).sum() * 100
    assert payoff.condor_payoff(legs, np.array([data.spot]))[0] == pytest.approx(credit)
    assert S[0] == pytest.approx(0.75 * data.spot) and S[-1] == pytest.approx(1.15 * data.spot)


def test_break_evens_are_the_zero_crossings() -> None:
    S = np.linspace(0.0, 10.0, 101)
    pnl = (S - 2.5) * (S - 7.25) * -1.0  # positive between 2.5 and 7.25
    assert payoff.break_evens(S, pnl) == pytest.approx([2.5, 7.25], abs=1e-2)


def test_hedge_pnl_revalues_the_vix_call(data, warehouse) -> None:
    """Black-76 on the modelled future of the scaled term, minus today's model value."""
    legs = data.daily_sizing[
        (data.daily_sizing["portfolio_id"] == STEWARD) & (data.daily_sizing["kind"] == "hedge")
    ]
    ctx = warehouse[1]["ctx"]
    beta_vix = data.beta_of("vix")
    S = np.array([0.8 * ctx.spot, ctx.spot, 1.1 * ctx.spot])
    days = 14
    got = payoff.hedge_pnl(
        legs,
        AS_OF,
        ctx.spot,
        ctx.term,
        ctx.risk_free,
        0.013,
        S,
        beta_vix,
        days,
        data.params.pricing,
    )
    leg = legs.iloc[0]
    tenor = (pd.Timestamp(leg["expiry"]) - AS_OF).days
    cv = data.params.pricing.convexity_vol
    kappa = data.params.pricing.convexity_mean_reversion
    f0 = vix_future(tenor / 365, ctx.term, cv, kappa)
    v0 = black76(f0, leg["strike"], tenor / 365, ctx.risk_free, leg["iv"], True).price
    for s, g in zip(S, got, strict=True):
        ratio = max(1 + beta_vix * (s / ctx.spot - 1), payoff.VIX_RATIO_FLOOR)
        f = vix_future((tenor - days) / 365, ctx.term.scaled(ratio), cv, kappa)
        v = black76(f, leg["strike"], (tenor - days) / 365, ctx.risk_free, leg["iv"], True).price
        assert g == pytest.approx(100 * HEDGE_UNITS[STEWARD] * (v - v0), rel=1e-9)
    assert beta_vix < 0 and got[0] > 0 > got[2]  # a crash pays, a rally bleeds


def test_payoff_curves_total_is_condors_plus_hedge(data) -> None:
    c = payoff.payoff_curves(data, PROMOTER)
    assert np.allclose(c.total, c.condors + c.hedge)
    assert c.days_ahead == (data.daily_sizing["expiry"].min() - AS_OF).days
    assert len(c.break_evens) >= 1
    for be in c.break_evens:
        i = np.searchsorted(c.S, be)
        assert np.sign(c.total[i - 1]) != np.sign(c.total[i])
