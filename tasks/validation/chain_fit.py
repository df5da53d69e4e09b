"""The model surface against one quoted SPX chain: vol-point errors by expiry and side.

A second, independent check of a calibration (the issue's "bundled 2025-01-06 chain"): at
every quoted strike whose quoted delta lies in the 5–25 band, the model vol of SPEC §3.1
(with the validation variant's ATM ratio and put slope) against the quoted IV.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.config import PricingParams, ValidationParams
from tasks.conventions import DAYS_PER_YEAR
from tasks.market.surface import VolTerm, atm_vol, skew_vol
from tasks.validation.replication import atm_ratios, skew_slopes


def chain_vol_errors(
    quotes: pd.DataFrame,
    as_of: pd.Timestamp,
    spot: float,
    rate: float,
    term: VolTerm,
    skew_index: float,
    pricing: PricingParams,
    rules: ValidationParams,
    delta_band: tuple[float, float] = (0.05, 0.25),
    max_days: int = 60,
) -> pd.DataFrame:
    """RMS and mean of (model − quoted) IV in vol points, per expiry and side.

    Parameters
    ----------
    quotes : ``tasks.market.chain.read_chain(...).quotes`` after ``prefer_root``.
    as_of, spot, rate : the chain's date, the SPX close and the rate of that session.
    term : that session's VIX term structure; ``skew_index`` its CBOE SKEW close (NaN
        when the variant does not use it).
    delta_band : |quoted delta| kept, inclusive (default 5–25 delta).
    max_days : expiries up to this many calendar days (the condors' tenors).

    Returns
    -------
    DataFrame
        ``expiry, days, put_call, n, rms_vol_pts, mean_vol_pts``.
    """
    q = quotes[quotes["iv"].notna() & quotes["delta"].notna()].copy()
    q["days"] = (q["expiry"] - pd.Timestamp(as_of)).dt.days
    lo, hi = delta_band
    q = q[(q["days"] > 0) & (q["days"] <= max_days) & q["delta"].abs().between(lo, hi)]
    T = q["days"].to_numpy() / DAYS_PER_YEAR
    vix = np.full(len(q), float(term.vix))
    ratio = atm_ratios(vix, np.full(len(q), skew_index), pricing, rules)
    sig_atm = atm_vol(T, term, 1.0) * ratio
    put_slope, call_slope = skew_slopes(vix, np.full(len(q), skew_index), pricing, rules)
    fwd = spot * np.exp((rate - pricing.div_yield) * T)
    model = skew_vol(
        q["strike"].to_numpy(), fwd, T, sig_atm, put_slope, call_slope, pricing.vol_floor
    )
    q["err"] = 100.0 * (model - q["iv"].to_numpy())
    g = q.groupby(["expiry", "days", "put_call"])["err"]
    return pd.DataFrame(
        {
            "n": g.size(),
            "rms_vol_pts": g.apply(lambda e: float(np.sqrt(np.mean(np.square(e))))),
            "mean_vol_pts": g.mean(),
        }
    ).reset_index()
