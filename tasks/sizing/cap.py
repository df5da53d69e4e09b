"""SPEC §7 step 2: the per-tranche cap, tighter when capital is dear (WACC above 7%)."""

from __future__ import annotations

import numpy as np

from schemas.config import Params

_EPS = 1e-9  # floor(x + ε): a count that is whole up to rounding stays whole


def cap_for_regime(wacc_high: bool, params: Params) -> float:
    """The cap fraction of the regime: ``cap_when_wacc_high`` when WACC is above ``wacc_high``."""
    sz = params.sizing
    return sz.cap_when_wacc_high if wacc_high else sz.cap_base


def cap_fraction(wacc: float, params: Params) -> float:
    """Per-tranche cap (fraction of equity as max loss): ``cap_when_wacc_high`` when WACC > ``wacc_high``."""
    return cap_for_regime(wacc > params.sizing.wacc_high, params)


def n_cap(cap: float, equity: float, max_loss: np.ndarray) -> np.ndarray:
    """``n_cap = floor(cap·E / R)`` per tranche (0 where ``R`` is not positive)."""
    R = np.asarray(max_loss, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        n = np.where(R > 0, np.floor(cap * equity / np.where(R > 0, R, 1.0) + _EPS), 0.0)
    return n.astype(np.int64)
