"""The ALVH hedge unit (SPEC §3.2, §4): VIX calls on the modelled VIX futures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from schemas.config import HedgeParams, PricingParams
from tasks.conventions import DAYS_PER_YEAR, MULTIPLIER
from tasks.market.expiries import days_to, nearest_vix_expiry
from tasks.market.pricing import black76
from tasks.market.surface import VolTerm, vix_future
from tasks.structures.legs import LEG_COLUMNS, FloatArray


@dataclass(frozen=True)
class HedgeUnit:
    """One ALVH hedge unit (SPEC §4): its legs, premium and net delta w.r.t. the VIX future.

    ``premium`` is Σ qty·price in points per unit (positive = paid); ``premium_usd`` is
    ``100 ×``. ``net_delta_F`` = Σ qty·delta_F (the dollar beta of SPEC §5 is taken per leg
    from ``legs``, as each leg has its own future ``F``).
    """

    as_of: pd.Timestamp
    kind: str
    vol_of_vol: float
    legs: pd.DataFrame
    premium: float
    premium_usd: float
    net_delta_F: float


def vol_of_vol(vvix: float | None, pricing: PricingParams) -> float:
    """VIX option vol: VVIX/100 when available (finite), else ``pricing.vol_of_vol_default``."""
    if vvix is None or not np.isfinite(vvix):
        return pricing.vol_of_vol_default
    return float(vvix) / 100.0


def _round_to_grid(x: ArrayLike, step: float) -> FloatArray:
    # round half up (np.round rounds half to even, which would make 22.5 → 22)
    return np.floor(np.asarray(x, dtype=float) / step + 0.5) * step


def hedge_unit(
    as_of: object,
    term: VolTerm,
    r: float,
    pricing: PricingParams,
    hedge: HedgeParams,
    vvix: float | None = None,
) -> HedgeUnit:
    """Build and price one ALVH hedge unit with Black-76 on the modelled VIX futures (SPEC §3.2, §4).

    - ``vix_call``: long one call, expiry the VIX expiry nearest ``hedge.tenor_days``,
      strike ``round(moneyness · F_VIX(T))`` on the ``pricing.vix_strike_step`` grid.
    - ``vix_call_spread``: that call, short a call ``hedge.spread_width`` higher.
    - ``vix_call_calendar``: that call, short the call at the same strike at the VIX
      expiry nearest ``hedge.short_tenor_days`` (a different, earlier expiry).
    """
    as_of_ts = pd.Timestamp(as_of).normalize()
    vov = vol_of_vol(vvix, pricing)
    long_exp = nearest_vix_expiry(as_of_ts, hedge.tenor_days)
    long_days = int((long_exp - as_of_ts).days)
    f_long = float(
        vix_future(
            long_days / DAYS_PER_YEAR, term, pricing.convexity_vol, pricing.convexity_mean_reversion
        )
    )
    k_long = float(_round_to_grid(hedge.moneyness * f_long, pricing.vix_strike_step))
    spec = [("long_call", long_exp, k_long, 1.0)]
    if hedge.kind == "vix_call_spread":
        spec.append(("short_call", long_exp, k_long + hedge.spread_width, -1.0))
    elif hedge.kind == "vix_call_calendar":
        short_exp = nearest_vix_expiry(as_of_ts, hedge.short_tenor_days, exclude=long_exp)
        spec.append(("short_call", short_exp, k_long, -1.0))
    names, expiries, strikes, qtys = zip(*spec, strict=True)
    expiry = np.array([np.datetime64(e, "ns") for e in expiries], dtype="datetime64[ns]")
    tenor = days_to(expiry, as_of_ts).astype(int)
    T = tenor / DAYS_PER_YEAR
    # a leg on the long leg's expiry has its future already (the same number)
    F = np.full(len(spec), f_long)
    other = expiry != np.datetime64(long_exp, "ns")
    if other.any():
        F[other] = vix_future(T[other], term, pricing.convexity_vol,
                              pricing.convexity_mean_reversion)  # fmt: skip
    strike = np.array(strikes, dtype=float)
    qty = np.array(qtys, dtype=float)
    b = black76(F, strike, T, r, vov, True)
    nan = np.full(len(spec), np.nan)
    # one frame in the leg layout's order (every sizing builds a unit)
    legs = pd.DataFrame(
        {
            "kind": "hedge",
            "underlying": "VIX",
            "expiry": expiry,
            "tenor_days": tenor,
            "leg": list(names),
            "put_call": "C",
            "strike": strike,
            "qty": qty,
            "iv": vov,
            "F": F,
            "model_price": b.price,
            "delta": b.delta,
            "gamma": nan,
            "vega": nan,
            "theta": nan,
            "pricing_source": "model",
        },
        columns=LEG_COLUMNS,
        copy=False,  # every array is new here
    )
    premium = float((qty * b.price).sum())
    return HedgeUnit(
        as_of=as_of_ts,
        kind=hedge.kind,
        vol_of_vol=vov,
        legs=legs,
        premium=premium,
        premium_usd=MULTIPLIER * premium,
        net_delta_F=float((qty * b.delta).sum()),
    )
