"""The WACC ↔ post-hedge β fixed point over passes of steps 2–6, and what the steps decided.

The cap regime (step 2) needs the WACC, the WACC needs ``r_E``, ``r_E`` needs the
*post-hedge* β (§5), and that β depends on the sizing; the hurdle test (step 4) needs the
WACC too. So each pass sizes the whole book (steps 2–6) under an assumed regime (package
notes), and :func:`settle_regime` runs passes until one's own β implies the regime it assumed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from schemas.config import Params
from tasks import risk
from tasks.sizing.book import NewTranches, OpenBook
from tasks.sizing.capital import CapitalCost
from tasks.sizing.hedge import HedgeSpec
from tasks.sizing.hurdle import Proposal, propose_contracts
from tasks.sizing.inputs import MarketBook, Rules
from tasks.sizing.limits import LimitDecision, fit_limits
from tasks.sizing.scaling import RiskWeights

Regime = tuple[bool, bool]  # (WACC above wacc_high, spread below the hurdle)


@dataclass(frozen=True)
class SizingPass:
    """Steps 2–6 under one assumed cap/hurdle regime, and the regime its own β implies."""

    proposal: Proposal
    limits: LimitDecision
    wacc: risk.WaccBreakdown  # at the pass's post-hedge β
    spread: float  # bp, NaN when the IRR is unknown
    regime_after: Regime

    @property
    def regime(self) -> Regime:
        return self.proposal.regime

    @property
    def settled(self) -> bool:
        return self.regime_after == self.regime

    @property
    def contracts_total(self) -> int:
        return int(self.limits.contracts.sum())


def size_pass(
    regime: Regime,
    equity: float,
    book: OpenBook,
    new: NewTranches,
    weights: RiskWeights,
    hedge: HedgeSpec,
    capital: CapitalCost,
    rules: Rules,
    params: Params,
) -> SizingPass:
    """One pass: propose (steps 2–4), fit the hedge and limits (5–6), reprice the WACC."""
    proposal = propose_contracts(
        regime, equity, new.max_loss, weights.q, new.slot_taken, rules, params
    )
    limits = fit_limits(proposal.proposed, equity, book, new, hedge, rules.macro, params)
    w = capital.wacc_at(limits.kept.hedge.beta_after)
    return SizingPass(proposal, limits, w, capital.spread_at(w.wacc), capital.regime_of(w.wacc))


@dataclass(frozen=True)
class Settlement:
    """The WACC ↔ post-hedge β fixed point: every pass run and the one kept."""

    passes: tuple[SizingPass, ...]
    kept: SizingPass
    converged: bool


def settle_regime(
    first: Regime, pass_at: Callable[[Regime], SizingPass], max_passes: int
) -> Settlement:
    """Run passes from ``first`` until a pass's own regime is the one it assumed.

    With two binary switches a book that still flips after ``max_passes`` is caught in a
    cycle; the most conservative pass (fewest new condor contracts) is kept.
    """
    passes: list[SizingPass] = []
    regime = first
    for _ in range(max_passes):
        p = pass_at(regime)
        passes.append(p)
        if p.settled:
            break
        regime = p.regime_after
    converged = passes[-1].settled
    kept = passes[-1] if converged else min(passes, key=lambda p: p.contracts_total)
    return Settlement(tuple(passes), kept, converged)


@dataclass(frozen=True)
class Decisions:
    """Everything the steps decided for one portfolio: the rationale and the rows read this."""

    rules: Rules
    market: MarketBook
    book: OpenBook
    new: NewTranches
    weights: RiskWeights
    hedge: HedgeSpec
    capital: CapitalCost
    settlement: Settlement
    params: Params

    @property
    def kept(self) -> SizingPass:
        return self.settlement.kept
