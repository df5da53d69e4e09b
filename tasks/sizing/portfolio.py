"""``size_portfolio``: the SPEC §7 steps composed for one portfolio and one session."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from schemas.config import Params, Portfolio
from tasks.market.frame import MarketContext
from tasks.sizing.book import OpenBook, existing_legs, new_tranches, open_book
from tasks.sizing.capital import capital_cost
from tasks.sizing.hedge import hedge_spec, resolve_hedge_beta
from tasks.sizing.inputs import LazyRows, SizingInputs, SizingResult, day_rules
from tasks.sizing.market import market_book
from tasks.sizing.output import daily_sizing_rows, portfolio_risk_row, positions_rows
from tasks.sizing.passes import Decisions, settle_regime, size_pass
from tasks.sizing.rationale import explain
from tasks.sizing.scaling import risk_weights
from tasks.structures import vol_of_vol


def _open_book_of(
    portfolio: Portfolio,
    existing: pd.DataFrame | None,
    ctx: MarketContext,
    beta_F: float,
    params: Params,
) -> OpenBook:
    """The open book: ``existing`` legs when given (the book of SPEC §10), else the
    portfolio file's positions priced on the model."""
    if existing is None:
        legs, notes = existing_legs(portfolio, ctx, params, vol_of_vol(ctx.vvix, params.pricing))
    else:
        legs, notes = existing, []
    return open_book(
        legs, portfolio.holdings, portfolio.cash, portfolio.tbills, ctx, beta_F, params,
        tuple(notes),
    )  # fmt: skip


def size_portfolio(
    inputs: SizingInputs, portfolio: Portfolio, existing: pd.DataFrame | None = None
) -> SizingResult:
    """Size one portfolio for ``inputs.ctx.as_of`` (SPEC §7 steps 1–7).

    ``existing``: the open legs to count (a :func:`~tasks.sizing.book.existing_legs` frame);
    default the portfolio file's positions. Returns the ``daily_sizing`` rows (one per leg of
    every recommended position, zero-contract tranches included), the one-row
    ``portfolio_risk`` frame, one row per position, and the rationale. The package notes list
    the choices made where the SPEC is silent.
    """
    ctx, params = inputs.ctx, portfolio.params
    E = float(portfolio.equity)
    rules = day_rules(inputs)
    market = market_book(inputs, params, rules)  # step 1 and the per-unit P&L
    beta = resolve_hedge_beta(inputs.hedge_beta_F, inputs.spx_returns, inputs.vix_ratios)
    book = _open_book_of(portfolio, existing, ctx, beta.beta_F, params)
    new = new_tranches(market, book, ctx.spot, beta.beta_F)
    hedge = hedge_spec(market, beta)
    weights = risk_weights(  # step 3 does not depend on the cap regime
        market.scenario_pnl, len(new.ids), int(np.size(inputs.spx_returns)),
        params.sizing.target_vol * E,
    )  # fmt: skip
    capital = capital_cost(portfolio, ctx.risk_free, market, inputs.irr, params)
    pass_at = partial(
        size_pass, equity=E, book=book, new=new, weights=weights, hedge=hedge,
        capital=capital, rules=rules, params=params,
    )  # fmt: skip
    # the first regime comes from the β of the open book and holdings alone
    settled = settle_regime(
        capital.regime_at(book.dollar_beta / E), pass_at, params.sizing.max_passes
    )
    d = Decisions(rules, market, book, new, weights, hedge, capital, settled, params)
    lines = explain(d)
    kept, pid = settled.kept, portfolio.portfolio_id
    n, units = kept.limits.contracts, kept.limits.kept.hedge.units

    def rows() -> tuple[pd.DataFrame, pd.DataFrame]:
        return (
            daily_sizing_rows(
                ctx, pid, params.pricing.div_yield, market.tranches, n, hedge.legs, units
            ),
            positions_rows(
                ctx.as_of, pid, market.tranches, n, kept.proposal.n_cap, weights.q, new, hedge,
                units,
            ),
        )  # fmt: skip

    return SizingResult(
        portfolio_risk_row(ctx, portfolio, d, "; ".join(lines)),
        lines,
        LazyRows(rows),
        tranches=list(market.tranches),
        contracts=np.asarray(n, dtype=np.int64),
        hedge_legs=hedge.legs,
        hedge_units=int(units),
    )
