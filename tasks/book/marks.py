"""Marking the book at the close (SPEC §10 step 2): chain mid when quoted, else the model.

The model is the one every other part of the method prices with
(``tasks.structures.leg_values``: BSM on the skewed SPX surface, Black-76 on the modelled VIX
future at the vol of vol), so a mark, a scenario and a new tranche never disagree on
method. Expired legs are worth their intrinsic value (settlement).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.config import PricingParams
from tasks.market.chain import Chain, prefer_root
from tasks.market.frame import MarketContext
from tasks.structures import leg_values as structure_leg_values


def model_marks(
    legs: pd.DataFrame, ctx: MarketContext, q: float, vov: float, pricing: PricingParams
) -> np.ndarray:
    """Model price per option (points) of each leg on ``ctx``'s market.

    VIX legs are priced at today's vol of vol ``vov`` (the hedge unit's own pricing input).
    """
    if legs.empty:
        return np.zeros(0)
    vix = legs["underlying"].to_numpy(object) == "VIX"
    usd = structure_leg_values(
        legs, ctx.as_of, ctx.spot, ctx.term, ctx.risk_free, q, pricing,
        qty=np.ones(len(legs)), vix_vol=np.where(vix, vov, np.nan),
    )  # fmt: skip
    return usd[0] / 100.0


def chain_mids(legs: pd.DataFrame, chain: Chain | None) -> np.ndarray:
    """The chain's mid for each SPX leg with a two-sided quote of the same session; NaN otherwise."""
    out = np.full(len(legs), np.nan)
    if chain is None or legs.empty:
        return out
    q = prefer_root(chain.quotes)
    q = q[(q["bid"] > 0) & (q["ask"] >= q["bid"])]
    key = q.set_index(["expiry", "put_call", "strike"])["mid"]
    spx = (legs["underlying"] == "SPX").to_numpy()
    idx = pd.MultiIndex.from_arrays(
        [pd.DatetimeIndex(legs["expiry"]), legs["put_call"], legs["strike"].astype(float)]
    )
    mids = key.reindex(idx).to_numpy(float)
    out[spx] = mids[spx]
    return out


def mark_book(
    legs: pd.DataFrame,
    ctx: MarketContext,
    chain: Chain | None,
    q: float,
    vov: float,
    pricing: PricingParams,
) -> pd.DataFrame:
    """The legs with ``mark``, ``iv`` and ``pricing_source`` of ``ctx.as_of``.

    A chain quoted on another session than ``ctx.as_of`` is not used. Expired legs are
    marked at intrinsic by the model (``T = 0``) even when the chain quotes them.
    """
    if legs.empty:
        return legs.copy()
    if chain is not None and pd.Timestamp(chain.as_of).normalize() != ctx.as_of:
        chain = None
    model = model_marks(legs, ctx, q, vov, pricing)
    mids = chain_mids(legs, chain)
    live = legs["expiry"].to_numpy("datetime64[ns]") > np.datetime64(ctx.as_of, "ns")
    use_chain = np.isfinite(mids) & live
    source = legs["pricing_source"].to_numpy(object)
    update = {
        "mark": np.where(use_chain, mids, model),
        "iv": np.where(legs["underlying"].to_numpy(object) == "VIX", vov, np.nan),
    }
    if use_chain.any() or (source != "model").any():  # else it is "model" already
        update["pricing_source"] = np.where(use_chain, "chain", "model")
    return legs.assign(**update)
