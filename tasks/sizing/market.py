"""The day's portfolio-independent pricing: ladder, hedge unit, stress and scenario P&L."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.config import Params
from tasks import risk
from tasks.market.chain import box_rate_for_target
from tasks.sizing.inputs import MarketBook, Rules, SizingInputs
from tasks.sizing.ladder import build_ladder, stack_legs
from tasks.sizing.scaling import tranche_scenario_pnl
from tasks.sizing.stress import stress_pnl
from tasks.structures import hedge_unit


def market_book(inputs: SizingInputs, params: Params, rules: Rules) -> MarketBook:
    """Ladder, hedge unit, stress and historical-scenario P&L of one day (memoised on inputs).

    A chain quoted on another day than ``as_of`` is ignored (with a note). The box rate is
    read from the chain at ``box_target_days`` when it can be, else ``r_f + box_spread``.
    """
    # the book's rules (SPEC §10, e.g. a backtest's hedge variant) price nothing here: a day's
    # market book is shared by every variant of the same pricing and sizing parameters
    key = params.model_dump_json(exclude={"book"})
    hit = inputs.cache.get(key)
    if isinstance(hit, MarketBook):
        return hit
    ctx, pr, hp = inputs.ctx, params.pricing, params.hedge
    chain, note = inputs.chain, None
    if chain is not None and pd.Timestamp(chain.as_of).normalize() != ctx.as_of:
        note = (
            f"chain quoted {pd.Timestamp(chain.as_of).date()} is not of {ctx.as_of.date()}: ignored"
        )
        chain = None
    tranches = build_ladder(ctx, params, rules, chain)
    # the per-position P&L frames come in the order of the stacked legs, i.e. ladder order
    legs = stack_legs(tranches)
    hedge = hedge_unit(ctx.as_of, ctx.term, ctx.risk_free, pr, hp, ctx.vvix)
    hedge_id = f"ALVH-{hedge.legs['expiry'].max().date()}"
    hedge_legs = hedge.legs.assign(position_id=hedge_id)
    spx_r = np.asarray(inputs.spx_returns, float)
    vix_r = np.asarray(inputs.vix_ratios, float)
    scen = (
        tranche_scenario_pnl(ctx, legs, spx_r, vix_r, params).to_numpy()
        if spx_r.size >= 2 and spx_r.size == vix_r.size
        else None
    )
    # the ladder and the hedge unit stressed in one revaluation: columns = the tranches in
    # ladder order, then the unit
    stress = stress_pnl(ctx, [legs, hedge_legs], params)
    box_rate, box_source = float("nan"), "spread"
    if chain is not None:
        box_rate, box_source = box_rate_for_target(chain, params.risk.box_target_days)[0], "chain"
    if not np.isfinite(box_rate):
        box_rate = risk.box_rate_fallback(ctx.risk_free, params.risk.box_spread)
        box_source = "spread"
    book = MarketBook(
        chain=chain,
        chain_note=note,
        tranches=tranches,
        legs=legs,
        hedge=hedge,
        hedge_legs=hedge_legs,
        condor_stress=stress.iloc[:, : len(tranches)],
        hedge_stress=stress[hedge_id],
        scenario_pnl=scen,
        box_rate=box_rate,
        box_source=box_source,
    )
    inputs.cache[key] = book
    return book
