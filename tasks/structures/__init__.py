"""Iron condor tranches and the ALVH hedge unit (SPEC §4), their full revaluation and payoff.

=============  ==========================================================================
module         what it holds
=============  ==========================================================================
``legs``       the shared leg-frame layout (:data:`LEG_COLUMNS`, described there)
``condor``     :func:`iron_condor` (model), :func:`condor_from_chain` (quotes),
               :func:`model_condor_arrays` (vectorised), :func:`prob_between_breakevens`,
               the SPEC §7 step 1 adjustments :func:`widen_short_delta`,
               :func:`tighten_short_strikes`
``hedge``      :class:`HedgeUnit`, :func:`hedge_unit`, :func:`vol_of_vol`
``revalue``    :func:`leg_values`, :func:`revalue_legs`, :func:`pnl_by_position`
``payoff``     :func:`expiry_payoff`, :func:`leg_intrinsic` (payoff at expiry over a grid)
=============  ==========================================================================

The condor leg order and quantities (``CONDOR_LEGS``, ``CONDOR_QTY``, ``CONDOR_PUT_CALL``)
and the contract ``MULTIPLIER`` are :mod:`tasks.conventions`' and re-exported here for the
callers that import them from this package (``report/``, ``tasks/history``).
"""

from tasks.conventions import CONDOR_LEGS, CONDOR_PUT_CALL, CONDOR_QTY, MULTIPLIER
from tasks.structures.condor import (
    CondorArrays,
    IronCondor,
    condor_from_arrays,
    condor_from_chain,
    condor_leg_frame,
    iron_condor,
    model_condor_arrays,
    pick_tightened,
    prob_between_breakevens,
    tighten_candidates,
    tighten_short_strikes,
    widen_short_delta,
)
from tasks.structures.hedge import HedgeUnit, hedge_unit, vol_of_vol
from tasks.structures.legs import LEG_COLUMNS
from tasks.structures.payoff import expiry_payoff, leg_intrinsic
from tasks.structures.revalue import leg_values, pnl_by_position, position_sums, revalue_legs

__all__ = [
    "CONDOR_LEGS",
    "CONDOR_PUT_CALL",
    "CONDOR_QTY",
    "LEG_COLUMNS",
    "MULTIPLIER",
    "CondorArrays",
    "HedgeUnit",
    "IronCondor",
    "condor_from_chain",
    "expiry_payoff",
    "hedge_unit",
    "iron_condor",
    "leg_intrinsic",
    "leg_values",
    "model_condor_arrays",
    "pnl_by_position",
    "position_sums",
    "prob_between_breakevens",
    "revalue_legs",
    "tighten_short_strikes",
    "tighten_candidates",
    "pick_tightened",
    "condor_from_arrays",
    "condor_leg_frame",
    "vol_of_vol",
    "widen_short_delta",
]
