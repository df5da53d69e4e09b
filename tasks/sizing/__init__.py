"""The daily sizing of SPEC §7 (with §5 betas and §6 cost of capital): one portfolio, one session.

:func:`size_portfolio` turns the market of ``as_of``, the day's signal states, the joint
historical (SPX return, VIX ratio) scenarios, the hedge tenor's beta and the strategy's IRR
into a recommendation: contracts per condor tranche, ALVH hedge units, and the
``daily_sizing``/``portfolio_risk`` rows of SPEC §9 with a rationale in words.

Where each SPEC §7 step lives
-----------------------------
========================  ===========================================================
step                      code
========================  ===========================================================
inputs, signals → rules   :mod:`.inputs` (:class:`SizingInputs`, :func:`read_rules`)
day's market pricing      :func:`.market.market_book` (:class:`MarketBook`)
open book, new tranches   :mod:`.book` (:class:`OpenBook`, :class:`NewTranches`)
1 ladder                  :func:`.ladder.build_ladder`
2 cap per tranche         :func:`.cap.cap_fraction`, :func:`.cap.n_cap` (WACC: :mod:`.capital`)
3 risk-inverse scaling    :func:`.scaling.tranche_scenario_pnl`, :func:`.scaling.risk_weights`
4 hurdle and events       :func:`.hurdle.contract_multiplier`, :func:`.hurdle.propose_contracts`
5 ALVH hedge              :func:`.hedge.hedge_units` (for a book: :func:`.limits.hedge_for_book`)
6 stress and liquidity    :func:`.stress.stress_pnl`, :func:`.limits.fit_limits`
2–6 WACC ↔ β passes       :func:`.passes.size_pass`, :func:`.passes.settle_regime`
7 output                  :mod:`.output` rows, :func:`.rationale.explain`
composed                  :func:`.portfolio.size_portfolio`
========================  ===========================================================

Choices where the SPEC is silent (each also noted where it is made)
------------------------------------------------------------------
- **WACC ↔ β fixed point.** The cap regime (step 2) needs the WACC, the WACC needs ``r_E``,
  ``r_E`` needs the *post-hedge* β (§5), and that β depends on the sizing. The hurdle test
  (step 4) needs the WACC too. So each pass sizes the whole book (steps 2–6) under an
  assumed *regime* = (WACC above ``wacc_high``?, spread below the hurdle?); the first
  regime comes from the β of the existing book and holdings. After the pass the WACC is
  recomputed with the pass's post-hedge β; if the regime is unchanged the pass stands,
  otherwise the next pass uses the new regime — at most ``max_passes`` [3] passes. With two binary switches
  a book that still flips after 3 passes is caught in a cycle; the most conservative pass
  (fewest new condor contracts) is then kept and the rationale says so.
- **Multipliers** (step 4) apply to the unfloored ``min(n_cap, q_i)`` and the product is
  floored once: ``n_i = floor(min(n_cap, q_i) · Π multipliers)`` (one rounding, not two).
- **Hedge rounding** (step 5): ``h = ceil(max(h_β, h_tail)·(1 + macro))`` — both are
  *minimum* requirements, so the whole-unit count rounds up — then the two caps are applied
  by ``floor``: β after ≥ band low and premium per month ≤ ``premium_cap_monthly·E``, where
  "per month" is ``premium × 30 / tenor_days`` of the hedge's (longest) leg.
- **Hedge beta fallback**: when ``hedge_beta_F`` is NaN, ``β_F`` is the OLS slope of the
  scenario VIX returns (``vix_ratio − 1``) on the SPX returns. Scaling the whole term by the
  VIX ratio scales every modelled ``F_VIX`` by the same ratio, so this is exactly the β of
  the modelled future *under the scenarios used here*; real futures move less than spot,
  so it overstates ``|β_F|`` (fewer beta-hedge units). The rationale says when it is used.
- **Stress** (step 6) is instantaneous (no day of decay), unlike the one-day historical
  scenarios of step 3. The quick ratio uses the worst scenario's total P&L. Liquid assets
  are ``cash + T-bills − hedge premium paid``; condor credit is not counted as liquid (it
  stays with the broker as part of the margin). Margin of a new condor = its max loss
  ``R``; of existing legs = their worst payoff at expiry per (underlying, expiry) group
  (no credit netting: the entry price is not in the portfolio file).
- **Order of steps 5 and 6**: the hedge depends on the condor book (β before, crash loss)
  and the quick ratio on both, so the new condors are scaled along the proportional path
  ``floor(f·proposed)`` (``risk.proportional_path``), from the top: the first book that —
  with the hedge computed for it — meets the quick ratio is kept. Alternating "hedge, then
  scale" stalls: a full ladder's low β forbids the hedge that a smaller ladder would get.
  The rationale names the limit that refused the next larger book (the one that bound).
- **Crash limit when the hedge is capped** (SPEC silent): SPEC step 5 sizes ``h_tail`` to hold
  the ``crash`` loss within ``max_drawdown·E`` but caps the hedge at the β band's low and the
  premium budget. When a cap leaves the crash loss above the limit, the same path search
  also cuts the new condors until it fits (the only lever left), and the rationale says so.
  If the holdings and existing legs alone breach the limit, new condors are not cut for it
  (they are not the cause) and the rationale flags the breach.
- **EVA's average capital at risk** (SPEC §6 ``EVA = (IRR − WACC) · average capital at
  risk``; step 7). The proxy is the recommended book's own ``capital_at_risk``: new condor
  max losses × contracts + hedge units × unit premium (the ``capital_at_risk`` column), so
  EVA scales with the book sized here. The trailing average of ``risk.IrrResult`` belongs
  to the positions the IRR came from (the modelled 1-lot ladder, or a fills file) and is
  the same for every portfolio, so it is not used. Existing legs and holdings are not in
  it, as they are not in ``capital_at_risk``. NaN when the IRR is unknown.
- **Existing positions** (portfolio file): part of the book for β, stress and margin. A
  tranche whose expiry already holds an existing condor position gets no new contracts
  (the slot is taken: SPEC §4 "an existing position file can replace the modelled ladder").
  Expired legs are ignored. VIX legs use the hedge tenor's ``β_F``.
- **Monotonicity**: more equity gives at least as many contracts per tranche only while
  the cap/hurdle regime and the quick ratio do not bind differently: the WACC's β term
  falls with equity (holdings fixed), which can switch the cap regime, as the SPEC's rule
  intends.
"""

from tasks.sizing.book import (
    NewTranches,
    OpenBook,
    existing_legs,
    expiry_margin,
    leg_dollar_betas,
    new_tranches,
    open_book,
)
from tasks.sizing.cap import cap_fraction, n_cap
from tasks.sizing.capital import CapitalCost, capital_cost
from tasks.sizing.hedge import HedgeDecision, HedgeSpec, fallback_hedge_beta, hedge_units
from tasks.sizing.hurdle import Proposal, contract_multiplier, propose_contracts
from tasks.sizing.inputs import (
    LazyRows,
    MarketBook,
    Rules,
    SizingInputs,
    SizingResult,
    read_rules,
)
from tasks.sizing.ladder import Tranche, build_ladder
from tasks.sizing.limits import LimitDecision, fit_limits
from tasks.sizing.market import market_book
from tasks.sizing.output import (
    DAILY_SIZING_COLUMNS,
    DAILY_SIZING_EXTRAS,
    PORTFOLIO_RISK_COLUMNS,
    PORTFOLIO_RISK_EXTRAS,
    POSITIONS_COLUMNS,
)
from tasks.sizing.portfolio import size_portfolio
from tasks.sizing.scaling import RiskWeights, risk_weights, tranche_scenario_pnl
from tasks.sizing.stress import stress_pnl

__all__ = [
    "DAILY_SIZING_COLUMNS",
    "DAILY_SIZING_EXTRAS",
    "PORTFOLIO_RISK_COLUMNS",
    "PORTFOLIO_RISK_EXTRAS",
    "POSITIONS_COLUMNS",
    "CapitalCost",
    "HedgeDecision",
    "HedgeSpec",
    "LimitDecision",
    "MarketBook",
    "NewTranches",
    "OpenBook",
    "Proposal",
    "RiskWeights",
    "Rules",
    "SizingInputs",
    "SizingResult",
    "LazyRows",
    "Tranche",
    "build_ladder",
    "cap_fraction",
    "capital_cost",
    "contract_multiplier",
    "existing_legs",
    "expiry_margin",
    "fallback_hedge_beta",
    "fit_limits",
    "hedge_units",
    "leg_dollar_betas",
    "market_book",
    "n_cap",
    "new_tranches",
    "open_book",
    "propose_contracts",
    "read_rules",
    "risk_weights",
    "size_portfolio",
    "stress_pnl",
    "tranche_scenario_pnl",
]
