"""SPEC §7 with the open book counted: the production ``sizing_fn`` of :func:`step_book`.

The existing :func:`tasks.sizing.size_portfolio` already counts a portfolio's existing
positions in β, stress, margin, the quick ratio and the crash limit, and gives no new
contracts to a tranche whose expiry an existing condor holds. So the book is handed to it
as the portfolio's positions, with the previous close's NAV as ``E`` and today's cash, bills
and holdings. Ladder slots that are not free today (the book already holds ``n_tranches``
condors) are marked taken by a zero-quantity leg on their expiry: it blocks the slot and
adds nothing to any total. Held hedge units are *not* passed: the sizing's hedge is then
the whole target the book should hold, and :func:`tasks.book.rules.plan_hedge` moves the
held units toward it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from schemas.config import Holding, Portfolio, RiskParams
from tasks.book.account import SESSIONS_PER_YEAR, AccountTail, account_irr, resampled_years
from tasks.book.hedge_policy import apply_hedge_policy
from tasks.book.positions import BookState, start_state
from tasks.book.rules import Slot, hedge_long_calls, slot_expiry
from tasks.book.step import MarketDay, NewCondor, SizingDecision, SizingFn, StepResult, step_book
from tasks.market.expiries import days_to
from tasks.risk import IrrResult
from tasks.sizing import SizingInputs, size_portfolio
from tasks.sizing.book import PositionRows, price_positions
from tasks.structures import vol_of_vol

RESIZE_SESSIONS = 5
"""Warm start: the longest run of sessions between two full sizings (one trading week)."""


def book_positions(state: BookState, slots: list[Slot], portfolio: Portfolio) -> PositionRows:
    """The open condor legs as position rows (``qty`` = signed contracts), then a
    zero-quantity blocker on the expiry of every ladder slot that is not free today."""
    legs = state.leg_arrays  # the columns the step has read already
    c = legs.kind == "condor"
    lad = portfolio.params.ladder
    free = {s.target_dte for s in slots}
    taken = [int(d) for d in lad.target_dtes[: lad.n_tranches] if int(d) not in free]
    as_of = pd.Timestamp(state.as_of)
    n = int(c.sum()) + len(taken)

    def joined(held: np.ndarray, blockers: list[object], dtype: object = object) -> np.ndarray:
        return np.concatenate([held[c], np.array(blockers, dtype=dtype)])

    return PositionRows(
        position_id=joined(legs.position_id, [f"SLOT-{d}" for d in taken]),
        kind=np.full(n, "condor", dtype=object),
        underlying=np.full(n, "SPX", dtype=object),
        expiry=joined(
            legs.expiry,
            [slot_expiry(as_of, d) for d in taken],
            "datetime64[ns]",
        ),
        put_call=joined(legs.put_call, ["P"] * len(taken)),
        strike=joined(legs.strike, [5.0] * len(taken), float),
        qty=np.concatenate(
            [
                np.round(legs.qty[c] * legs.contracts[c].astype(float)),
                np.zeros(len(taken)),
            ]
        ),
    )


# the account's IRR has no per-position flows: one empty frame, shared and never changed
_NO_FLOWS = pd.DataFrame(columns=["date", "flow", "position_id", "event"])


def account_irr_result(
    account: pd.DataFrame | AccountTail | None, as_of: pd.Timestamp, risk: RiskParams
) -> IrrResult:
    """The account IRR in the form the sizing reads (``IrrResult``), with the bootstrapped
    years of p_hurdle when ``hurdle_rule`` is ``bootstrap`` (they cost ~50 ms).

    ``account``: the ``account_daily`` rows before ``as_of``, or a book loop's
    :class:`AccountTail` of them (its IRR read on its buffers, without a frame).
    """
    window = risk.irr_window
    no_history = IrrResult(float("nan"), as_of, as_of, 0, 0, float("nan"), _NO_FLOWS,
                           "no account history yet")  # fmt: skip
    bootstrap = risk.hurdle_rule == "bootstrap"
    if isinstance(account, AccountTail):
        if not len(account):
            return no_history
        res = account.irr(as_of, window)
        account = account.frame() if bootstrap else None  # p_hurdle's history reads a frame
    elif account is None or account.empty:
        return no_history
    else:
        res = account_irr(account, as_of, window)
    years = resampled_years(account, as_of, risk) if bootstrap and account is not None else None
    return IrrResult(
        irr=res.irr,
        window_start=res.start or as_of,
        window_end=res.end or as_of,
        n_condors=0,
        n_hedges=0,
        avg_capital_at_risk=res.capital,
        flows=_NO_FLOWS,
        note=res.note,
        resampled_years=years if years is not None else np.array([], dtype=float),
    )


def sizing_with_book(
    inputs: SizingInputs, portfolio: Portfolio, account: pd.DataFrame | AccountTail | None
) -> SizingFn:
    """A ``sizing_fn`` for :func:`step_book` on ``inputs.ctx.as_of``.

    ``account`` is the portfolio's ``account_daily`` up to the previous close; its IRR
    (SPEC §6) drives the hurdle rule of step 4.
    """

    def fn(state: BookState, day: MarketDay, slots: list[Slot]) -> SizingDecision:
        # the account holds the closes before this one: the IRR knowable this morning
        irr = account_irr_result(account, state.as_of, portfolio.params.risk)
        names = [h.name for h in portfolio.holdings]
        sized = portfolio.model_copy(
            update={
                "equity": max(state.nav, 1.0),
                "cash": max(state.cash, 0.0),
                "tbills": state.tbills,
                "holdings": [
                    Holding(name=n, value=v, beta=b)
                    for n, (v, b) in zip(names, state.holdings, strict=True)
                ],
                "positions": [],  # the book's legs are handed over as ``existing``
            }
        )
        ctx, params = inputs.ctx, portfolio.params
        existing, _ = price_positions(
            book_positions(state, slots, portfolio), ctx, params,
            vol_of_vol(ctx.vvix, params.pricing),
        )  # fmt: skip
        res = size_portfolio(dataclasses.replace(inputs, irr=irr), sized, existing)
        # the tranches given contracts, with their legs as priced (the book reads expiry,
        # leg, put_call, strike, qty, model_price, pricing_source); a tranche's leg frame
        # is built only when it opens
        condors = [
            NewCondor(t.target_dte, t.condor.legs, int(n))
            for t, n in zip(res.tranches, res.contracts, strict=True)
            if n > 0
        ]
        assert res.hedge_legs is not None
        return SizingDecision(
            condors=condors,
            hedge_legs=res.hedge_legs.reset_index(drop=True),
            hedge_kind=portfolio.params.hedge.kind,
            hedge_target=res.hedge_units,
            risk_row=res.risk_row,
            sized=res,
            rationale=res.rationale,
        )

    return fn


def run_book(
    state: BookState,
    days: list[pd.Timestamp],
    day_inputs: Callable[[pd.Timestamp], tuple[MarketDay, SizingInputs]],
    portfolio: Portfolio,
    account: pd.DataFrame | None = None,
    size_every_day: Sequence[pd.Timestamp] | None = None,
    keep: Callable[[StepResult], StepResult] | None = None,
) -> list[StepResult]:
    """Step the book over ``days`` in order (the daily run, a rerun's later dates, the warm
    start and the backtest all go through here).

    ``account`` = the stored history before the first day; each day's row joins it before
    the next day's IRR is read. ``size_every_day``: the days that always run the full
    sizing (default: all). On the others — the warm start's past sessions — the sizing
    runs when a ladder slot is free, a hedge unit is due to roll, the hedge is monetised,
    or the last sizing is :data:`RESIZE_SESSIONS` sessions old; in between, the last
    sizing's hedge target stands (docs/method-notes.md). That keeps a warm start of 252
    sessions to a fraction of the full-sizing time. ``keep``: what of each session's result
    to retain (default all; a 36-year backtest keeps only what its tearsheet reads).
    """
    params = portfolio.params
    always = None if size_every_day is None else set(pd.DatetimeIndex(size_every_day))
    results: list[StepResult] = []
    last: SizingDecision | None = None
    age = 0  # sessions since the last full sizing
    # the account rows a sizing reads: the IRR window, and p_hurdle's bootstrap history; the
    # stored history, then each session's row as it closes
    window = params.risk.irr_window
    if params.risk.hurdle_rule == "bootstrap":
        window = max(window, params.risk.p_hurdle_max_years * SESSIONS_PER_YEAR)
    tail = AccountTail(window, account)
    for day in days:
        market, inputs = day_inputs(day)

        def fn(
            s: BookState, d: MarketDay, slots: list[Slot], inputs: SizingInputs = inputs
        ) -> SizingDecision:
            nonlocal last, age
            age += 1
            if (
                always is None
                or d.ctx.as_of in always
                or last is None
                or slots
                or s.monetised
                or age >= RESIZE_SESSIONS
                or _roll_due(s, d.ctx.as_of, params.book.hedge_roll_days)
            ):
                last, age = sizing_with_book(inputs, portfolio, tail)(s, d, slots), 0
                return apply_hedge_policy(last, s, d.ctx, params)
            held = dataclasses.replace(last, condors=[], risk_row=None, sized=None, rationale=[])
            return apply_hedge_policy(held, s, d.ctx, params)

        res = step_book(state, market, fn, params)
        results.append(res if keep is None else keep(res))
        tail.append(res.account_row)
        state = res.state
    return results


def _roll_due(state: BookState, as_of: pd.Timestamp, roll_days: int) -> bool:
    legs = state.leg_arrays  # every session: the arrays the step has read already
    m = hedge_long_calls(legs)
    return bool(m.any() and (days_to(legs.expiry[m], as_of) <= roll_days).any())


def start_from_portfolio(portfolio: Portfolio) -> BookState:
    """A portfolio file's starting point: NAV = ``equity``, no options yet."""
    return start_state(
        portfolio.portfolio_id,
        portfolio.equity,
        portfolio.cash,
        portfolio.tbills,
        [(h.value, h.beta) for h in portfolio.holdings],
        portfolio.margin_debt,
        portfolio.margin_rate,
        portfolio.box_debt,
    )
