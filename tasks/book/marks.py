"""Marking the book at the close (SPEC §10 step 2): chain mid when quoted, else the model.

The model is the one every other part of the method prices with
(``tasks.structures.leg_values``: BSM on the skewed SPX surface, Black-76 on the modelled VIX
future at the vol of vol), so a mark, a scenario and a new tranche never disagree on
method. Expired legs are worth their intrinsic value (settlement).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from schemas.config import PricingParams
from tasks.book.positions import LegArrays, column
from tasks.market.chain import Chain, prefer_root
from tasks.market.frame import MarketContext
from tasks.structures import leg_values as structure_leg_values
from tasks.structures.legs import FloatArray
from tasks.structures.revalue import LegInputs


def model_marks(
    legs: pd.DataFrame | LegArrays,
    ctx: MarketContext,
    q: float,
    vov: float,
    pricing: PricingParams,
) -> np.ndarray:
    """Model price per option (points) of each leg on ``ctx``'s market.

    VIX legs are priced at today's vol of vol ``vov`` (the hedge unit's own pricing input).
    """
    underlying = column(legs, "underlying")
    n = len(underlying)
    if not n:
        return np.zeros(0)
    # one option per leg (qty 1), the VIX legs at today's vol of vol; the columns as read
    one_each = LegInputs(
        expiry=column(legs, "expiry"),
        strike=column(legs, "strike"),
        qty=np.ones(n),
        is_call=column(legs, "put_call") == "C",
        is_spx=underlying == "SPX",
        iv=np.where(underlying == "VIX", vov, np.nan),
    )
    usd = structure_leg_values(one_each, ctx.as_of, ctx.spot, ctx.term, ctx.risk_free, q, pricing)
    return usd[0] / 100.0


def chain_mids(legs: pd.DataFrame | LegArrays, chain: Chain | None) -> np.ndarray:
    """The chain's mid for each SPX leg with a two-sided quote of the same session; NaN otherwise."""
    underlying = column(legs, "underlying")
    out = np.full(len(underlying), np.nan)
    if chain is None or not len(underlying):
        return out
    q = prefer_root(chain.quotes)
    q = q[(q["bid"] > 0) & (q["ask"] >= q["bid"])]
    key = q.set_index(["expiry", "put_call", "strike"])["mid"]
    spx = underlying == "SPX"
    idx = pd.MultiIndex.from_arrays(
        [
            pd.DatetimeIndex(column(legs, "expiry")),
            column(legs, "put_call"),
            column(legs, "strike"),
        ]
    )
    mids = key.reindex(idx).to_numpy(float)
    out[spx] = mids[spx]
    return out


class Marks(NamedTuple):
    """The close's marks of a book's legs (SPEC §10 step 2), leg by leg."""

    mark: FloatArray  # points per option: chain mid when quoted, else the model
    iv: FloatArray  # VIX legs: the vol of vol the model used; SPX legs NaN (the surface)
    pricing_source: np.ndarray | None  # ``chain``/``model``; None: "model" already, unchanged

    def on_frame(self, legs: pd.DataFrame) -> pd.DataFrame:
        """The leg frame with these marks."""
        update = {"mark": self.mark, "iv": self.iv}
        if self.pricing_source is not None:
            update["pricing_source"] = self.pricing_source
        return legs.assign(**update)

    def on_arrays(self, legs: LegArrays) -> LegArrays:
        """The leg arrays with these marks."""
        if self.pricing_source is None:
            return legs._replace(mark=self.mark)
        return legs._replace(mark=self.mark, pricing_source=self.pricing_source.astype(object))


def close_marks(
    legs: pd.DataFrame | LegArrays,
    ctx: MarketContext,
    chain: Chain | None,
    q: float,
    vov: float,
    pricing: PricingParams,
) -> Marks:
    """The :class:`Marks` of ``legs`` on ``ctx.as_of`` (the rules of :func:`mark_book`)."""
    if chain is not None and pd.Timestamp(chain.as_of).normalize() != ctx.as_of:
        chain = None
    model = model_marks(legs, ctx, q, vov, pricing)
    mids = chain_mids(legs, chain)
    live = column(legs, "expiry") > np.datetime64(ctx.as_of, "ns")
    use_chain = np.isfinite(mids) & live
    source = column(legs, "pricing_source")
    iv = np.where(column(legs, "underlying") == "VIX", vov, np.nan)
    rewrite = use_chain.any() or (source != "model").any()  # else it is "model" already
    return Marks(
        mark=np.where(use_chain, mids, model),
        iv=iv,
        pricing_source=np.where(use_chain, "chain", "model") if rewrite else None,
    )


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
    return close_marks(legs, ctx, chain, q, vov, pricing).on_frame(legs)
