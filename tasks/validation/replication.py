"""CNDR's monthly iron condors priced with the model surface and BSM (SPEC §12), vectorised.

Each month: on the roll session (an SPX monthly expiry) sell the put and call at BSM delta
∓``short_delta`` and buy the put and call at ∓``wing_delta`` of the next monthly expiry,
every strike found and priced under the skewed model vol of SPEC §3.1 from that session's
closes (point in time); hold to expiry; settle at intrinsic value. The month's model
return is its P&L per unit of the condor's maximum loss, which is the excess over bills of
an account that holds the max loss in bills (CNDR keeps its collateral in one-month bills).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from schemas.config import PricingParams, ValidationParams
from tasks.conventions import CONDOR_LEGS_BY_STRIKE, DAYS_PER_YEAR
from tasks.market.pricing import bsm, strike_for_delta
from tasks.market.surface import VolTerm, atm_vol, skew_vol, surface_slopes

FloatArray = NDArray[np.float64]

# legs by strike, low to high (the shorts are the inner pair): every (n, 4) array here
LEGS = CONDOR_LEGS_BY_STRIKE
_QTY = np.array([1.0, -1.0, -1.0, 1.0])
_IS_CALL = np.array([False, False, True, True])

MONTH_COLUMNS = [
    "entry", "expiry", "days", "spot", "vix", "rate", "sigma_atm",
    "k_long_put", "k_short_put", "k_short_call", "k_long_call",
    "credit", "cost", "max_loss", "settle", "payoff", "pnl", "model_excess",
]  # fmt: skip


def uses_skew_index(rules: ValidationParams) -> bool:
    """True when the calibration reads the CBOE SKEW index (the frame needs a ``skew`` column)."""
    return rules.put_slope_per_skew != 0.0 or rules.atm_ratio_per_skew != 0.0


def skew_slopes(
    vix: FloatArray, skew_index: FloatArray, pricing: PricingParams, rules: ValidationParams
) -> tuple[FloatArray, FloatArray]:
    """Put and call skew slopes per month: the calibrated surface's, plus any candidate terms.

    The surface's own slopes (:func:`tasks.market.surface.surface_slopes`: ``put_slope +
    put_slope_per_vix·(VIX − skew_vix_ref)/100`` with the ``PricingParams`` fields) plus the
    ``ValidationParams`` candidate terms ``put_slope_per_vix·(VIX − skew_vix_ref)/100 +
    put_slope_per_skew·(SKEW − skew_index_ref)/100`` (the call slope likewise with its VIX
    term), which default to 0 so the check prices exactly the surface everything else uses.
    The slopes never go below zero.
    """
    base_put, base_call = surface_slopes(vix, pricing)
    dv = (np.asarray(vix, dtype=float) - rules.skew_vix_ref) / 100.0
    put = base_put + rules.put_slope_per_vix * dv
    if rules.put_slope_per_skew != 0.0:
        ds = (np.asarray(skew_index, dtype=float) - rules.skew_index_ref) / 100.0
        put = put + rules.put_slope_per_skew * ds
    call = np.maximum(base_call + rules.call_slope_per_vix * dv, 0.0)
    return np.maximum(put, 0.0), call


def condor_months(
    frame: pd.DataFrame,
    rolls: pd.DatetimeIndex,
    pricing: PricingParams,
    rules: ValidationParams,
) -> pd.DataFrame:
    """One modelled CNDR month per pair of consecutive roll sessions.

    Parameters
    ----------
    frame : the point-in-time market frame (``tasks.market.frame.market_frame``): ``spx,
        vix9d, vix, vix3m, vix6m, tbill_3m, r`` per session (plus ``skew``, the CBOE SKEW
        close, when :func:`uses_skew_index`); must hold every roll session.
    rolls : sorted SPX monthly expiry sessions (``cndr.monthly_expiries``).
    pricing : the surface's parameters (ATM ratio, skew, floor, dividend yield, strike grid).
    rules : the index's deltas and the calibration fields (:class:`ValidationParams`).

    Returns
    -------
    DataFrame
        :data:`MONTH_COLUMNS`: strikes, ``credit`` (points, net of ``cost``), ``max_loss``
        ``= max(put wing, call wing) − credit`` (points), the expiry close ``settle``, the
        condor's ``payoff`` at expiry (points owed), ``pnl = credit − payoff`` and
        ``model_excess = pnl / max_loss``. Months whose entry lacks an SPX, VIX or rate
        close (or a SKEW close, when the calibration uses it) are dropped: they cannot be
        priced point in time.

    Notes
    -----
    The expiry close stands in for the special opening quotation (SOQ) that settles the
    AM-settled monthly SPX options: the warehouse holds closes only.
    """
    entry = pd.DatetimeIndex(rolls[:-1])
    expiry = pd.DatetimeIndex(rolls[1:])
    at_entry = frame.reindex(entry)
    settle = frame["spx"].reindex(expiry).to_numpy(dtype=float)
    required = ["spx", "vix", "r"] + (["skew"] if uses_skew_index(rules) else [])
    missing = [c for c in required if c not in at_entry]
    if missing:
        raise ValueError(f"the market frame has no {', '.join(missing)} column")
    ok = np.isfinite(at_entry[required].to_numpy(dtype=float)).all(axis=1) & np.isfinite(settle)
    entry, expiry, at_entry, settle = entry[ok], expiry[ok], at_entry[ok], settle[ok]
    days = (expiry - entry).days.to_numpy()
    T = days / DAYS_PER_YEAR
    S = at_entry["spx"].to_numpy(dtype=float)
    r = at_entry["r"].to_numpy(dtype=float)
    q = pricing.div_yield
    vix = at_entry["vix"].to_numpy(dtype=float)
    term = VolTerm(*(at_entry[c].to_numpy(dtype=float) for c in ("vix9d", "vix", "vix3m", "vix6m")))
    skew_index = at_entry["skew"].to_numpy(dtype=float) if "skew" in at_entry else np.nan * vix
    sig_atm = atm_vol(T, term, 1.0) * atm_ratios(vix, skew_index, pricing, rules)
    put_slope, call_slope = skew_slopes(vix, skew_index, pricing, rules)

    col = (slice(None), None)  # per-month arrays against the leg axis
    targets = np.array([-rules.wing_delta, -rules.short_delta, rules.short_delta, rules.wing_delta])
    skew = (put_slope[col], call_slope[col], pricing.vol_floor)
    strikes = strike_for_delta(
        targets[None, :], S[col], T[col], r[col], q, sig_atm[col], *skew, pricing.spx_strike_step
    )
    fwd = S * np.exp((r - q) * T)
    iv = skew_vol(strikes, fwd[col], T[col], sig_atm[col], *skew)
    price = bsm(S[col], strikes, T[col], r[col], q, iv, _IS_CALL, greeks=False).price
    cost = entry_costs(price, rules)
    credit = -(_QTY * price).sum(axis=1) - cost
    wing = np.maximum(strikes[:, 1] - strikes[:, 0], strikes[:, 3] - strikes[:, 2])
    max_loss = wing - credit
    payoff = condor_payoff(strikes, settle)
    pnl = credit - payoff
    out = pd.DataFrame(
        {
            "entry": entry, "expiry": expiry, "days": days, "spot": S, "vix": vix,
            "rate": r, "sigma_atm": sig_atm,
            "k_long_put": strikes[:, 0], "k_short_put": strikes[:, 1],
            "k_short_call": strikes[:, 2], "k_long_call": strikes[:, 3],
            "credit": credit, "cost": cost, "max_loss": max_loss, "settle": settle,
            "payoff": payoff, "pnl": pnl, "model_excess": pnl / max_loss,
        }
    )  # fmt: skip
    return out[MONTH_COLUMNS]


def atm_ratios(
    vix: FloatArray, skew_index: FloatArray, pricing: PricingParams, rules: ValidationParams
) -> FloatArray:
    """The ATM-vol-to-VIX ratio per month, optionally moving with the VIX and SKEW levels.

    ``atm_ratio + atm_ratio_per_vix·(VIX − skew_vix_ref)/100
    + atm_ratio_per_skew·(SKEW − skew_index_ref)/100``. The VIX is a variance-swap rate,
    which exceeds ATM vol by more when the skew is steeper; with the defaults (``per_*``
    0) the ratio is the SPEC §3.1 constant.
    """
    ratio = (
        pricing.atm_ratio + rules.atm_ratio_per_vix * (np.asarray(vix) - rules.skew_vix_ref) / 100
    )
    if rules.atm_ratio_per_skew != 0.0:
        ratio = ratio + rules.atm_ratio_per_skew * (skew_index - rules.skew_index_ref) / 100
    return np.asarray(ratio, dtype=float)


def entry_costs(price: FloatArray, rules: ValidationParams) -> FloatArray:
    """Points paid to cross the bid–ask on the four opening trades of each month.

    Per leg ``max(cost_min_per_leg, cost_frac_per_leg · price)``: a floor of about half a
    tick for the cheap wings and a fraction of the premium for the shorts, the shape of
    SPX half-spreads. The condors are held to expiry and cash-settled, so there is no exit
    trade to pay for. Both fields default to 0 (no cost), today's behaviour.
    """
    per_leg = np.maximum(rules.cost_min_per_leg, rules.cost_frac_per_leg * price)
    return per_leg.sum(axis=-1)


def condor_payoff(strikes: FloatArray, settle: FloatArray) -> FloatArray:
    """Points the short iron condor owes at expiry: put spread plus call spread, intrinsic.

    ``strikes`` has shape (n, 4) ordered as :data:`LEGS`; ``settle`` shape (n,).
    """
    k_lp, k_sp, k_sc, k_lc = (strikes[:, i] for i in range(4))
    put = np.clip(k_sp - settle, 0.0, k_sp - k_lp)
    call = np.clip(settle - k_sc, 0.0, k_lc - k_sc)
    return put + call
