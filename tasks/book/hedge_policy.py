"""SPEC §11 hedge variants: what the book's hedge should be, given the §7 sizing's decision.

``params.book.hedge_policy`` picks one small pure function; :func:`step_book` is the same for
every variant (the policy only rewrites the :class:`SizingDecision`'s hedge unit and target):

- ``alvh``: the SPEC §7 step 5 hedge as sized (unchanged).
- ``none``: no hedge (target 0 units); the condors are sized exactly as under ``alvh``.
- ``vxth``: the Cboe VXTH rule — a share of NAV by VIX level (:func:`vxth_allocation`) in
  ~30-day ≈ 30-delta VIX calls (:func:`vxth_unit`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
from scipy.special import ndtri

from schemas.config import Params
from tasks.book.positions import BookState
from tasks.book.rules import hedge_units
from tasks.book.step import SizingDecision
from tasks.conventions import DAYS_PER_YEAR
from tasks.market.frame import MarketContext
from tasks.structures import vol_of_vol
from tasks.structures.hedge import hedge_unit

HEDGE_POLICIES = ("alvh", "vxth", "none")

_UNIT_FIELDS = ["expiry", "leg", "put_call", "strike", "qty", "model_price", "pricing_source"]


def vxth_allocation(vix: float) -> float:
    """Share of NAV in VIX calls under the Cboe VXTH rule.

    0 when VIX ≤ 15, 1% when 15 < VIX ≤ 30, 0.5% when 30 < VIX ≤ 50, 0 above 50 (the
    index's published bands; NaN VIX → 0: no quote, no purchase).
    """
    if not np.isfinite(vix) or vix <= 15.0:
        return 0.0
    if vix <= 30.0:
        return 0.01
    if vix <= 50.0:
        return 0.005
    return 0.0


def vxth_moneyness(delta: float, vov: float, tenor_days: int) -> float:
    """``K/F`` of a Black-76 call with the given delta (rates ignored: ≈ 1 month).

    ``Δ = N(d1)``, ``d1 = (ln(F/K) + σ²T/2)/(σ√T)`` ⇒ ``K/F = exp(−d1·σ√T + σ²T/2)``.
    """
    t = tenor_days / DAYS_PER_YEAR
    sd = vov * math.sqrt(t)
    return float(math.exp(-float(ndtri(delta)) * sd + 0.5 * sd * sd))


def vxth_unit(ctx: MarketContext, params: Params) -> pd.DataFrame:
    """One VXTH hedge unit on ``ctx``: a VIX call ~``vxth_tenor_days`` out at ≈ ``vxth_delta``."""
    bp, pr = params.book, params.pricing
    vov = vol_of_vol(ctx.vvix, pr)
    spec = params.hedge.model_copy(
        update={"kind": "vix_call", "tenor_days": bp.vxth_tenor_days,
                "moneyness": vxth_moneyness(bp.vxth_delta, vov, bp.vxth_tenor_days)}
    )  # fmt: skip
    unit = hedge_unit(ctx.as_of, ctx.term, ctx.risk_free, pr, spec, ctx.vvix)
    return unit.legs[_UNIT_FIELDS].reset_index(drop=True)


def vxth_target(nav: float, vix: float, unit_premium: float, held: int, band: float) -> int:
    """Units the VXTH rule holds: ``floor(allocation · NAV / (100 · premium))``; the held count
    stands while the new target is within ``±band`` of it (Cboe rebalances monthly, not daily:
    a band keeps the book from trading a unit or two every close)."""
    alloc = vxth_allocation(vix)
    if alloc <= 0.0 or not np.isfinite(unit_premium) or unit_premium <= 0.0:
        return 0
    target = int(alloc * max(nav, 0.0) // (100.0 * unit_premium))
    if held > 0 and abs(target - held) <= band * held:
        return held
    return target


def apply_hedge_policy(
    decision: SizingDecision, state: BookState, ctx: MarketContext, params: Params
) -> SizingDecision:
    """The decision with its hedge replaced by ``params.book.hedge_policy``'s (``alvh``: as is)."""
    policy = params.book.hedge_policy
    if policy == "alvh":
        return decision
    if policy == "none":
        return dataclasses.replace(decision, hedge_target=0)
    unit = vxth_unit(ctx, params)
    premium = float((unit["qty"] * unit["model_price"]).sum())
    held = hedge_units(state.legs)
    n = vxth_target(state.nav, ctx.vix, premium, held, params.book.vxth_rebalance_band)
    return dataclasses.replace(decision, hedge_legs=unit, hedge_kind="vix_call", hedge_target=n)


def variant_overrides(params: Params, variant: str) -> dict[str, dict[str, object]]:
    """The ``book`` overrides of a backtest variant: the policy, and for ``vxth`` its roll rule
    (a 1-month call is held to ``vxth_roll_days`` before expiry, not rolled at 30 days)."""
    if variant not in HEDGE_POLICIES:
        raise ValueError(f"unknown hedge variant {variant!r} (one of {', '.join(HEDGE_POLICIES)})")
    book: dict[str, object] = {"hedge_policy": variant}
    if variant == "vxth":
        book["hedge_roll_days"] = params.book.vxth_roll_days
    return {"book": book}
