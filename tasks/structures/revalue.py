"""Full revaluation of leg frames (SPEC §7 steps 3 and 6): leg values under scenarios,
scenario P&L against the base state, and P&L summed by position."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from schemas.config import PricingParams
from tasks.conventions import DAYS_PER_YEAR, MULTIPLIER
from tasks.market.expiries import days_to
from tasks.market.pricing import black76, bsm
from tasks.market.surface import VolTerm, model_vol, surface_slopes, vix_future
from tasks.structures.legs import FloatArray


def _scenario_column(x: ArrayLike) -> FloatArray:
    """Scalar or (n_s,) → (n_s, 1), so scenarios broadcast against the leg axis."""
    return np.atleast_1d(np.asarray(x, dtype=float))[:, None]


class LegInputs(NamedTuple):
    """The columns of a leg frame that pricing reads, as arrays (read once per frame)."""

    expiry: np.ndarray  # datetime64[ns]
    strike: FloatArray
    qty: FloatArray
    is_call: np.ndarray
    is_spx: np.ndarray
    iv: FloatArray  # VIX legs: vol of vol

    @classmethod
    def of(cls, legs: pd.DataFrame) -> LegInputs:
        return cls(
            legs["expiry"].to_numpy("datetime64[ns]"),
            legs["strike"].to_numpy(dtype=float),
            legs["qty"].to_numpy(dtype=float),
            legs["put_call"].to_numpy() == "C",
            legs["underlying"].to_numpy() == "SPX",
            # only VIX legs read it (at their vol of vol); SPX-only frames may lack it
            legs["iv"].to_numpy(dtype=float)
            if "iv" in legs.columns
            else np.full(len(legs), np.nan),
        )

    @classmethod
    def stack(cls, parts: Sequence[LegInputs]) -> LegInputs:
        """Several frames' legs in one set of arrays (revalued in one call)."""
        return cls(*(np.concatenate(cols) for cols in zip(*parts, strict=True)))


def leg_values(
    legs: pd.DataFrame | LegInputs,
    as_of: object,
    S: ArrayLike,
    term: VolTerm,
    r: ArrayLike,
    q: float,
    pricing: PricingParams,
    days_ahead: int = 0,
    qty: ArrayLike | None = None,
    vix_vol: ArrayLike | None = None,
) -> FloatArray:
    """Value in USD of each leg's position per structure contract, for every scenario.

    Parameters
    ----------
    legs : leg frame (:data:`LEG_COLUMNS`; ``underlying``, ``expiry``, ``put_call``,
        ``strike``, ``qty`` and, for VIX legs, ``iv`` = vol of vol are used), or those
        columns already read (:class:`LegInputs`: a revaluation prices the same legs twice).
    as_of : valuation session; the legs' time to expiry is measured from
        ``as_of + days_ahead`` calendar days (expired legs are worth their intrinsic value).
    S : SPX level, scalar or (n_s,).
    term : :class:`VolTerm` with scalar or (n_s,) fields (e.g. ``term.scaled(vix_ratio)``).
    r : rate, scalar or (n_s,) (a stress rate shift).
    q : dividend yield.
    pricing : skew and convexity parameters.
    days_ahead : calendar days of decay.
    qty, vix_vol : per-leg quantities and VIX-leg vols to use instead of the ``qty`` and
        ``iv`` columns (a mark prices one option at today's vol of vol without a frame copy).

    Returns
    -------
    ndarray, shape (n_s, n_legs)
        ``100 · qty · price``. SPX legs use BSM with the model's skewed vol on the given
        term structure; VIX legs Black-76 on ``F_VIX`` of the given term at their own vol.
    """
    as_of_ts = pd.Timestamp(as_of).normalize()
    S_c = _scenario_column(S)
    r_c = _scenario_column(r)
    term_c = term.map(_scenario_column)
    n_s = np.broadcast_shapes(S_c.shape, r_c.shape, term_c.knots()[1].shape[:-1])[0]
    # plain arrays, not Series operations: this runs for every mark, stress and scenario set
    leg = legs if isinstance(legs, LegInputs) else LegInputs.of(legs)
    tenor = days_to(leg.expiry, as_of_ts).astype(float)
    T = np.maximum(tenor - days_ahead, 0.0) / DAYS_PER_YEAR
    K, is_call, is_spx = leg.strike, leg.is_call, leg.is_spx
    qty = leg.qty if qty is None else np.asarray(qty, dtype=float)
    price = np.zeros((n_s, len(K)))
    if is_spx.any():
        i = is_spx
        sig = model_vol(
            K[i],
            S_c,
            T[i],
            r_c,
            q,
            term_c,
            pricing.atm_ratio,
            *surface_slopes(term_c.vix, pricing),
            pricing.vol_floor,
        )
        price[:, i] = bsm(S_c, K[i], T[i], r_c, q, sig, is_call[i], greeks=False).price
    if (~is_spx).any():
        i = ~is_spx
        F = vix_future(T[i], term_c, pricing.convexity_vol, pricing.convexity_mean_reversion)
        vov = (leg.iv if vix_vol is None else np.asarray(vix_vol, float))[i]
        price[:, i] = black76(F, K[i], T[i], r_c, vov, is_call[i]).price
    return MULTIPLIER * qty * price


def revalue_legs(
    legs: pd.DataFrame | LegInputs,
    as_of: object,
    S0: float,
    term0: VolTerm,
    r0: float,
    q: float,
    S: ArrayLike,
    term: VolTerm,
    r: ArrayLike,
    pricing: PricingParams,
    days_ahead: int = 1,
) -> FloatArray:
    """Scenario P&L of each leg per structure contract (USD), full revaluation (SPEC §7 steps 3, 6).

    ``P&L = value(scenario, as_of + days_ahead) − value(base state, as_of)``, both on the
    model (see :func:`leg_values`). The base is the model value, not the quoted entry
    price, so a chain-priced leg's model-vs-quote basis does not show up as scenario P&L.

    Returns
    -------
    ndarray, shape (n_s, n_legs)
        Sum over the legs of one structure (``pnl[:, mask].sum(axis=1)``) for its P&L;
        :func:`pnl_by_position` does it for many.
    """
    # the columns read once for both valuations
    leg = legs if isinstance(legs, LegInputs) else LegInputs.of(legs)
    if days_ahead == 0:
        # no decay: the base state is one more scenario row of the same valuation
        S_all, term_all, r_all = _base_first(S0, term0, r0, S, term, r)
        values = leg_values(leg, as_of, S_all, term_all, r_all, q, pricing, 0)
        return values[1:] - values[:1]
    base = leg_values(leg, as_of, S0, term0, r0, q, pricing, 0)
    scen = leg_values(leg, as_of, S, term, r, q, pricing, days_ahead)
    return scen - base


def _base_first(
    S0: float, term0: VolTerm, r0: float, S: ArrayLike, term: VolTerm, r: ArrayLike
) -> tuple[FloatArray, VolTerm, FloatArray]:
    """The scenarios' S, term and r, each as (1 + n_s,) with the base state first."""
    names = [f.name for f in dataclasses.fields(term)]
    shape = np.broadcast_shapes(
        np.shape(S), np.shape(r), *(np.shape(getattr(term, n)) for n in names)
    )
    n_s = int(np.prod(shape))  # a scalar scenario: 1

    def first(base: ArrayLike, x: ArrayLike) -> FloatArray:
        x = np.broadcast_to(np.asarray(x, dtype=float), shape).reshape(n_s)
        return np.concatenate([np.atleast_1d(np.asarray(base, dtype=float)), x])

    term_all = VolTerm(*(first(getattr(term0, n), getattr(term, n)) for n in names))
    return first(S0, S), term_all, first(r0, r)


def position_sums(
    ids: np.ndarray, pnl: FloatArray, key: str = "position_id"
) -> tuple[pd.Index, FloatArray]:
    """Sum a (n_s, n_legs) matrix over the legs of each position (``ids``: each leg's
    position id): the positions (in order of first appearance) and the (n_s, n_positions)
    sums."""
    codes, names = pd.factorize(ids, sort=False)
    onehot = np.zeros((len(ids), len(names)))
    onehot[np.arange(len(ids)), codes] = 1.0
    return pd.Index(names, name=key), pnl @ onehot


def pnl_by_position(
    legs: pd.DataFrame, pnl: FloatArray, key: str = "position_id", index: pd.Index | None = None
) -> pd.DataFrame:
    """Sum a (n_s, n_legs) P&L matrix over the legs of each position → (n_s, n_positions)
    frame (rows labelled ``index`` when given)."""
    names, sums = position_sums(legs[key].to_numpy(object), pnl, key)
    return pd.DataFrame(sums, columns=names, index=index, copy=False)  # sums is new
