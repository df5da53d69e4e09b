"""SPEC §7 step 4 (with step 2's cap and step 3's weights): the contracts proposed per tranche
before the hedge and the liquidity limits of steps 5–6."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schemas.config import Params
from tasks.sizing.cap import cap_for_regime, n_cap
from tasks.sizing.inputs import Rules

_EPS = 1e-9  # floor(x + ε): a count that is whole up to rounding stays whole


def contract_multiplier(
    below_hurdle: bool, rules: Rules, params: Params
) -> tuple[float, list[str]]:
    """Product of the step-4 multipliers that fire and their names."""
    sz = params.sizing
    mult, fired = 1.0, []
    if below_hurdle:
        mult *= sz.hurdle_mult
        fired.append("hurdle")
    if rules.fomc_event:
        mult *= sz.fomc_mult
        fired.append("fomc")
    if rules.risk_off:
        mult *= sz.risk_off_mult
        fired.append("risk_off")
    return mult, fired


@dataclass(frozen=True)
class Proposal:
    """Steps 2–4 for one cap/hurdle regime: the contracts proposed per new tranche."""

    regime: tuple[bool, bool]  # (WACC above wacc_high, spread below the hurdle)
    cap: float  # per-tranche cap, fraction of equity
    n_cap: np.ndarray  # floor(cap·E / R)
    pre_mult: np.ndarray  # min(n_cap, q) (unfloored)
    multiplier: float  # Π of the step-4 multipliers that fired
    fired: tuple[str, ...]  # their names
    proposed: np.ndarray  # floor(pre_mult · multiplier), 0 where the slot is taken


def propose_contracts(
    regime: tuple[bool, bool],
    equity: float,
    max_loss: np.ndarray,
    weights: np.ndarray,
    slot_taken: np.ndarray,
    rules: Rules,
    params: Params,
) -> Proposal:
    """``n_i = floor(min(n_cap, q_i) · Π multipliers)`` per new tranche (steps 2–4).

    The multipliers apply to the unfloored ``min(n_cap, q_i)`` and the product is floored
    once (package notes: one rounding, not two). A tranche whose slot the open book holds
    gets 0.
    """
    cap = cap_for_regime(regime[0], params)
    ncap = n_cap(cap, equity, max_loss)
    pre = np.minimum(ncap.astype(float), weights)
    mult, fired = contract_multiplier(regime[1], rules, params)
    proposed = np.floor(pre * mult + _EPS).astype(np.int64)
    proposed[slot_taken] = 0
    return Proposal(
        regime=regime,
        cap=cap,
        n_cap=ncap,
        pre_mult=pre,
        multiplier=mult,
        fired=tuple(fired),
        proposed=proposed,
    )
