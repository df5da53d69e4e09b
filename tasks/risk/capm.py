"""CAPM (SPEC §5): the expected return of an asset and the portfolio's cost of equity."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from tasks.risk._shared import scalar_or_array


def capm_expected_return(rf: ArrayLike, beta: ArrayLike, mrp: float) -> np.ndarray | float:
    """CAPM expected return ``E[R_i] = r_f + β_i·MRP`` (SPEC §5; ``mrp`` = ``RiskParams.mrp``)."""
    return scalar_or_array(np.asarray(rf, float) + np.asarray(beta, float) * mrp)


def cost_of_equity(rf: float, beta_post_hedge: float, mrp: float) -> float:
    """Cost of equity ``r_E = r_f + β_p·MRP`` with the **post-hedge** portfolio beta (SPEC §5).

    It is the CAPM expected return (:func:`capm_expected_return`) of the portfolio, priced at
    the β it carries once the ALVH hedge is on.
    """
    return float(capm_expected_return(rf, beta_post_hedge, mrp))
