"""Payoff at expiry of a leg frame over a grid of settlement levels (SPEC §4).

The report's payoff chart and any margin-at-expiry reasoning use these: the intrinsic
value of every leg at each level, and the structure's USD payoff net of what was paid or
received for it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from tasks.conventions import MULTIPLIER
from tasks.structures.legs import FloatArray


def leg_intrinsic(legs: pd.DataFrame, levels: ArrayLike) -> FloatArray:
    """Intrinsic value (points) of one long option of each leg at each settlement level.

    Parameters
    ----------
    legs : pandas.DataFrame
        Leg frame; ``put_call`` and ``strike`` are used.
    levels : array-like, shape (n,)
        Settlement levels of the underlying (e.g. an SPX grid).

    Returns
    -------
    numpy.ndarray, shape (n, n_legs)
        ``max(X − K, 0)`` for calls, ``max(K − X, 0)`` for puts.
    """
    X = np.asarray(levels, dtype=float)[:, None]
    K = legs["strike"].to_numpy(dtype=float)
    is_call = (legs["put_call"] == "C").to_numpy()
    return np.where(is_call, np.maximum(X - K, 0.0), np.maximum(K - X, 0.0))


def expiry_payoff(
    legs: pd.DataFrame,
    levels: ArrayLike,
    contracts: ArrayLike | None = None,
    net_of_entry: bool = True,
) -> FloatArray:
    """USD payoff at expiry of a leg frame for each settlement level.

    ``Σ_legs 100 · qty · contracts · (intrinsic(X) − model_price)``; with
    ``net_of_entry=False`` the entry term is left out (the settlement value alone). For a
    short condor the entry term is ``+credit``, so the payoff runs from ``+100·C`` between
    the short strikes to ``−100·(W − C)`` beyond a wing.

    Parameters
    ----------
    legs : pandas.DataFrame
        Leg frame (:data:`tasks.structures.LEG_COLUMNS`); ``put_call``, ``strike``, ``qty``
        and, when ``net_of_entry``, ``model_price`` are used. Legs of different expiries
        are each taken at their own expiry.
    levels : array-like, shape (n,)
        Settlement levels (SPX for condor legs).
    contracts : array-like, shape (n_legs,), optional
        Structure contracts per leg (e.g. a ``daily_sizing`` ``contracts`` column); NaN
        counts as 0. Default 1 per leg (the payoff of one structure).

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    intrinsic = leg_intrinsic(legs, levels)
    units = legs["qty"].to_numpy(dtype=float)
    if contracts is not None:
        units = units * np.nan_to_num(np.asarray(contracts, dtype=float), nan=0.0)
    if net_of_entry:
        intrinsic = intrinsic - legs["model_price"].to_numpy(dtype=float)
    return MULTIPLIER * (intrinsic * units).sum(axis=1)
