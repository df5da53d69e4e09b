"""The leg frame every structure shares (SPEC §4), so condors and hedges stack and revalue together.

========== ==========================================================================
column     meaning
========== ==========================================================================
kind       ``condor`` or ``hedge``
underlying ``SPX`` or ``VIX``
expiry     expiry date
tenor_days calendar days from ``as_of`` to expiry
leg        ``short_put``/``long_put``/``short_call``/``long_call`` (condor),
           ``long_call``/``short_call`` (hedge)
put_call   ``P`` or ``C``
strike     strike (SPX 5-point grid / listed strike; VIX 1-point grid)
qty        signed quantity per contract of the structure (+1 long, −1 short)
iv         vol used (SPX: skewed model vol or quoted IV; VIX: vol of vol)
F          forward (SPX ``S e^{(r−q)T}``) or modelled VIX future ``F_VIX(T)``
model_price price per option, points (the chain's mid when ``pricing_source='chain'``)
delta      the option's delta (dV/dS for SPX, dV/dF for VIX), for one long option
gamma, vega, theta  SPX greeks (vega per vol point, theta per calendar day); NaN for VIX
pricing_source ``model`` or ``chain``
========== ==========================================================================

Net quantities of a structure are ``Σ qty·x`` over its legs. Money per contract is
``100 ×`` points (SPEC §0, :data:`tasks.conventions.MULTIPLIER`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

LEG_COLUMNS = [
    "kind",
    "underlying",
    "expiry",
    "tenor_days",
    "leg",
    "put_call",
    "strike",
    "qty",
    "iv",
    "F",
    "model_price",
    "delta",
    "gamma",
    "vega",
    "theta",
    "pricing_source",
]
