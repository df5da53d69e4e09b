"""SPEC §7 step 1 alone: the ladder's tranches, ids and the risk-off widening."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.config import params_for
from tasks.market.frame import MarketContext
from tasks.market.pricing import rate_from_tbill
from tasks.market.surface import VolTerm
from tasks.sizing.inputs import Rules
from tasks.sizing.ladder import build_ladder, stack_legs

CTX = MarketContext(
    as_of=pd.Timestamp("2026-07-22"),
    spot=7498.96,
    term=VolTerm(14.88, 16.64, 19.54, np.nan),
    vvix=95.55,
    tbill_pct=3.74,
    risk_free=float(rate_from_tbill(3.74)),
)
CALM = Rules(False, False, False, 9.0, (), ())


def _short_deltas(tranches) -> np.ndarray:
    legs = stack_legs(tranches).set_index("leg")
    return legs.loc["short_call", "delta"].to_numpy()


def test_one_tranche_per_target_dte_named_by_its_expiry() -> None:
    tranches = build_ladder(CTX, params_for("steward"), CALM)
    assert [t.target_dte for t in tranches] == [28, 35, 42, 49]
    for i, t in enumerate(tranches, start=1):
        assert t.position_id == f"IC{i}-{t.condor.expiry.date()}"
        assert t.condor.pricing_source == "model"
        assert abs((t.condor.expiry - CTX.as_of).days - t.target_dte) <= 3
    legs = stack_legs(tranches)
    assert len(legs) == 16 and legs["position_id"].nunique() == 4


def test_risk_off_widens_every_short_strike() -> None:
    params = params_for("steward")
    calm = build_ladder(CTX, params, CALM)
    off = build_ladder(CTX, params, Rules(True, False, False, 9.0, ("crisis",), ()))
    # δ 0.16 × 0.75 = 0.12, to the nearest 5-point strike
    assert (np.abs(_short_deltas(off) - 0.12) < 0.008).all()
    assert (np.abs(_short_deltas(calm) - 0.16) < 0.01).all()
    for a, b in zip(calm, off, strict=True):
        assert (
            b.condor.legs.set_index("leg").loc["short_call", "strike"]
            > a.condor.legs.set_index("leg").loc["short_call", "strike"]
        )


def test_vectorised_ladder_equals_one_condor_at_a_time() -> None:
    """build_ladder prices every tranche (and macro candidate) in one call: each tranche must
    be the condor iron_condor / tighten_short_strikes build alone, leg for leg."""
    from functools import partial

    from tasks.market.expiries import nearest_expiry
    from tasks.structures import iron_condor, tighten_short_strikes

    params = params_for("steward")
    lad, sz = params.ladder, params.sizing
    for rules in (
        CALM,
        Rules(False, True, False, 9.0, (), ()),
        Rules(True, True, False, 9.0, (), ()),
    ):
        delta = lad.short_delta * (sz.risk_off_delta_mult if rules.risk_off else 1.0)
        for t in build_ladder(CTX, params, rules):
            expiry = nearest_expiry(CTX.as_of, t.target_dte)
            build = partial(iron_condor, CTX.as_of, expiry, CTX.spot, CTX.risk_free,
                            params.pricing.div_yield, CTX.term, params.pricing, lad,
                            params.risk.mrp)  # fmt: skip

            def one(dp: float, dc: float, build=build):
                return build(short_put_delta=dp, short_call_delta=dc)

            alone = (
                tighten_short_strikes(one, delta, sz.macro_tighten_delta, sz.net_delta_tolerance)
                if rules.macro
                else one(delta, delta)
            )
            pd.testing.assert_frame_equal(t.condor.legs, alone.legs)
            assert (t.condor.credit, t.condor.net_delta, t.condor.max_loss) == (
                alone.credit, alone.net_delta, alone.max_loss,
            )  # fmt: skip
            assert (t.condor.short_put_delta, t.condor.short_call_delta) == (
                alone.short_put_delta, alone.short_call_delta,
            )  # fmt: skip


def test_pick_tightened_first_within_tolerance_else_smallest() -> None:
    from tasks.structures import pick_tightened, tighten_candidates

    assert tighten_candidates(0.16, 0.02) == [
        (0.18, 0.18),
        (0.18, 0.16),
        (0.16, 0.18),
        (0.16, 0.16),
    ]
    assert pick_tightened([0.05, 0.01, 0.0, 0.0], 0.02) == 1  # the first that qualifies
    assert pick_tightened([0.05, 0.04, 0.03, 0.01], 0.02) == 3  # only the untightened one
    assert pick_tightened([0.05, -0.03, 0.04, 0.06], 0.02) == 1  # none: smallest |net delta|
    assert pick_tightened([0.03, 0.03, 0.05, 0.05], 0.02) == 0  # ties: the first


def test_the_market_books_per_tranche_numbers_are_in_ladder_order() -> None:
    """The market book's stress and historical-scenario P&L are read by column position
    against the ladder (``contracts @ per-contract``): their columns must be the tranches'
    ids in ladder order, and each column that tranche's own revaluation."""
    from tasks.sizing.inputs import SizingInputs
    from tasks.sizing.market import market_book
    from tasks.sizing.stress import stress_pnl

    params = params_for("steward")
    rng = np.random.default_rng(3)
    spx, vix = rng.normal(0, 0.01, 50), np.exp(rng.normal(0, 0.05, 50))
    book = market_book(SizingInputs(CTX, pd.DataFrame(), spx, vix, np.nan, None), params, CALM)
    ids = [t.position_id for t in book.tranches]
    assert list(book.condor_stress.columns) == ids
    for t in book.tranches:
        alone = stress_pnl(CTX, t.condor.legs.assign(position_id=t.position_id), params)
        np.testing.assert_allclose(book.condor_stress[t.position_id], alone[t.position_id],
                                   rtol=1e-12)  # fmt: skip
    assert book.scenario_pnl is not None and book.scenario_pnl.shape == (50, len(ids))
