"""Named calibrations and the chain check of a surface."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from schemas.config import Params
from tasks.market.surface import VolTerm
from tasks.validation.calibration import CALIBRATIONS, calibrated_params, unexplained_share
from tasks.validation.chain_fit import chain_vol_errors
from tasks.validation.replication import atm_ratios, uses_skew_index


def test_the_default_variant_is_the_params_defaults() -> None:
    assert calibrated_params("default") == Params()
    assert not uses_skew_index(Params().validation)
    p = calibrated_params("skew_atm")
    assert uses_skew_index(p.validation) and p.pricing == Params().pricing
    with pytest.raises(KeyError, match="unknown variant"):
        calibrated_params("nope")
    assert set(CALIBRATIONS) >= {"default", "skew_atm", "spec_3_1"}
    # the pre-calibration surface: constant slopes, everything else the defaults
    before = calibrated_params("spec_3_1")
    assert before.pricing.put_slope_per_vix == 0.0 == before.pricing.call_slope_per_vix
    assert before.validation == Params().validation
    assert Params().pricing.put_slope_per_vix > 0  # the default is the calibrated surface


def test_the_atm_ratio_falls_with_the_skew_index_as_written() -> None:
    p = calibrated_params("skew_atm")
    ratio = atm_ratios(np.array([20.0]), np.array([140.0]), p.pricing, p.validation)
    assert ratio[0] == pytest.approx(0.85 - 0.65 * (140 - 120) / 100)


def test_unexplained_share_is_zero_for_a_scaled_copy_and_one_for_an_orthogonal_series() -> None:
    model = np.array([1.0, -2.0, 3.0, 0.5])
    assert unexplained_share(model, 0.07 * model) == pytest.approx(0.0, abs=1e-15)
    assert unexplained_share(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)


def test_chain_errors_in_vol_points_by_expiry_and_side() -> None:
    # a flat VIX-only term (σ_ATM = 0.85·VIX/100 at every tenor); quotes placed at the
    # forward, where the model vol is the ATM vol, one vol point above it
    as_of, spot, r = pd.Timestamp("2025-01-06"), 6000.0, 0.04
    term = VolTerm(np.nan, 16.0, np.nan, np.nan)
    T = 11 / 365
    fwd = spot * math.exp((r - 0.013) * T)
    atm = 0.85 * 0.16
    quotes = pd.DataFrame(
        {
            "expiry": pd.to_datetime(["2025-01-17"] * 3),
            "put_call": ["P", "P", "C"],
            "strike": [fwd, fwd, fwd],
            "iv": [atm - 0.01, atm - 0.01, atm + 0.02],
            "delta": [-0.20, -0.45, 0.10],  # the -0.45 quote is outside the 5-25 band
        }
    )
    p = Params()
    out = chain_vol_errors(quotes, as_of, spot, r, term, np.nan, p.pricing, p.validation)
    out = out.set_index("put_call")
    assert out.loc["P", "n"] == 1 and out.loc["C", "n"] == 1
    assert out.loc["P", "rms_vol_pts"] == pytest.approx(1.0)
    assert out.loc["C", "mean_vol_pts"] == pytest.approx(-2.0)


def test_the_calibrated_surface_fits_the_bundled_chain_better_at_condor_tenors() -> None:
    """Judged, not fitted: the 2025-01-06 chain (|Δ| 5–25, 7–25-day expiries, both sides)."""
    from paths import SNAPSHOT

    from tasks.market.chain import prefer_root, read_chain

    chain = read_chain(SNAPSHOT / "chains" / "cboe_spx_options_chain_2025-01-06.csv")
    quotes = prefer_root(chain.quotes)
    term = VolTerm(14.20, 16.04, 18.03, 19.65)  # the CBOE closes of 2025-01-06
    r = math.log1p(4.21 / 100)  # FRED DTB3 of that date

    def pooled(p: Params) -> float:
        e = chain_vol_errors(quotes, chain.as_of, chain.spot, r, term, np.nan, p.pricing,
                             p.validation)  # fmt: skip
        e = e[e["days"] >= 7]
        return float(np.sqrt((e["n"] * e["rms_vol_pts"] ** 2).sum() / e["n"].sum()))

    before, after = pooled(calibrated_params("spec_3_1")), pooled(Params())
    assert after < before - 0.1
    assert after < 1.0
