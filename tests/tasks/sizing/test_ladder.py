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
