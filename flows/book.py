"""The book step of the daily flow (SPEC §10): start from the previous session's book, run the
close, write ``book``/``orders``/``account_daily``; on a portfolio's first run, warm-start it
over the trailing IRR window; on a rerun, recompute every later stored session too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from report.tables import book_table, orders_table
from schemas.config import Params, Portfolio
from tasks.book import MarketDay, StepResult, account_eva, account_irr
from tasks.book.account import (
    SESSIONS_PER_YEAR,
    account_frame,
    resampled_years,
    with_policy_history,
)
from tasks.book.marks import mark_book
from tasks.book.positions import BookState, options_value, state_from_record, state_record
from tasks.book.reconcile import positions_frame, read_positions_csv, reconcile
from tasks.book.sizing import run_book, start_from_portfolio
from tasks.market import calendar
from tasks.market.chain import Chain, read_chain
from tasks.market.frame import MarketDataMissing, context_at, market_frame
from tasks.risk import fills_account, joint_scenarios, p_hurdle, read_fills_csv, trailing_sessions
from tasks.signals import compute_signals
from tasks.sizing import LazyRows, SizingInputs, SizingResult
from tasks.structures import vol_of_vol
from warehouse import backtest as wbacktest
from warehouse import book as wbook
from warehouse import db


@dataclass
class BookRun:
    """One portfolio's book run: the sessions stepped and today's outcome."""

    portfolio_id: str
    as_of: pd.Timestamp
    steps: list[StepResult]
    params: Params
    warm_started: bool
    recomputed: list[pd.Timestamp] = field(default_factory=list)
    sizing: SizingResult | None = None
    irr_note: str = ""
    sized: list[SizingResult] = field(default_factory=list)  # the ``extend`` days
    # the positions file against the shadow book: one line per difference (the file wins)
    reconciliation: list[str] = field(default_factory=list)
    #: where the IRR's history comes from (SPEC §6): the book, or the user's fills file
    irr_source: str = "the book's account"
    #: the backtest whose sessions before the book's first session extend the history
    #: (SPEC §6) and that first session: ("full-1990-2026", 2020-08-10), or None
    policy_history: tuple[str, pd.Timestamp] | None = None

    @property
    def today(self) -> StepResult:
        return next(s for s in self.steps if s.state.as_of == self.as_of)


def _market_until(con: object, last: pd.Timestamp, market: pd.DataFrame) -> pd.DataFrame:
    """The market frame through ``last`` (the analytics' frame when it already reaches it)."""
    if len(market) and market.index.max() >= last:
        return market
    obs = db.read_observations(con, as_of=last)
    return market_frame(obs).loc[:last]


def _day_inputs(
    market: pd.DataFrame,
    signals: pd.DataFrame,
    betas: pd.DataFrame,
    hedge_asset: str,
    chains: Callable[[pd.Timestamp], Chain | None],
    hist_window: int,
) -> Callable[[pd.Timestamp], tuple[MarketDay, SizingInputs]]:
    def inputs(day: pd.Timestamp) -> tuple[MarketDay, SizingInputs]:
        ctx = context_at(market, day)
        spx_r, vix_r = joint_scenarios(market["spx"], market["vix"], day, hist_window)
        row = betas[(betas["as_of"] == day) & (betas["asset"] == hedge_asset)]
        # a warm-start session has no stored β_F: the sizing's point-in-time fallback is used
        beta_f = float(row["beta"].iloc[0]) if len(row) else float("nan")
        ch = chains(day)
        sizing = SizingInputs(ctx, signals[signals["as_of"] == day], spx_r, vix_r, beta_f, None, ch)
        return MarketDay(ctx, ch), sizing

    return inputs


def _priceable(market: pd.DataFrame, days: list[pd.Timestamp]) -> list[pd.Timestamp]:
    out = []
    for d in days:
        try:
            context_at(market, d)
        except MarketDataMissing:
            continue
        out.append(d)
    return out


def _tables(steps: list[StepResult]) -> dict[str, pd.DataFrame]:
    states = pd.DataFrame([state_record(s.state) for s in steps])
    states["as_of"] = pd.to_datetime(states["as_of"]).astype("datetime64[ns]")
    parts = {
        "book": [b for b in (s.book for s in steps) if len(b)],  # each built once
        "orders": [s.orders for s in steps if len(s.orders)],
        "account_daily": [account_frame([s.account_row for s in steps])] if steps else [],
    }
    out = {k: pd.concat(v, ignore_index=True) for k, v in parts.items() if v}
    out["book_state"] = states
    return out


def _risk_from_account(
    run: BookRun, account: pd.DataFrame, window: int, on: pd.Timestamp | None = None
) -> SizingResult:
    """The sizing rows of day ``on`` (default: the run's day) with IRR, spread, EVA and
    p_hurdle from the book's own account up to that close (SPEC §6)."""
    on = run.as_of if on is None else on
    today = next(s for s in run.steps if s.state.as_of == on)
    d = today.decision
    account = account[pd.to_datetime(account["as_of"]) <= on]
    res = account_irr(account, on, window)
    assert d.risk_row is not None, f"no sizing ran on {on.date()}"
    risk = dict(d.risk_row)
    wacc = float(risk["wacc"])
    risk["irr"] = res.irr
    risk["spread_bps"] = (res.irr - wacc) * 1e4 if np.isfinite(res.irr) else np.nan
    risk["eva"] = account_eva(res.irr, wacc, res.capital)
    rk = run.params.risk
    p = p_hurdle(resampled_years(account, on, rk), wacc, float(risk["hurdle_bps"]))
    risk["p_hurdle"] = p
    source, resampled = run.irr_source, ""
    if run.policy_history is not None:
        # the history reaches back before the book: say from where (SPEC §6)
        bt, first = run.policy_history
        if res.start is not None and res.start < first:
            source = f"the backtest {bt} before {first.date()}, then {source}"
        used = pd.to_datetime(account["as_of"]).tail(rk.p_hurdle_max_years * SESSIONS_PER_YEAR)
        n_bt = int((used < first).sum())
        if n_bt:
            resampled = f" over {len(used):,} sessions, {n_bt:,} of them from the backtest {bt}"
    note = (
        f"IRR {res.irr:.2%} from {source}: P&L ${res.pnl:,.0f} on mean capital at "
        f"risk ${res.capital:,.0f} over {res.days} days ({res.sessions} sessions)"
        if np.isfinite(res.irr)
        else f"IRR unknown ({res.note})"
    )
    if np.isfinite(p):
        note += (
            f"; p_hurdle {p:.0%} (P(annual return on capital > WACC + hurdle), bootstrap"
            f"{resampled})"
        )

    orders = today.orders.drop_duplicates("order_id")
    lead = (
        "orders: "
        + "; ".join(
            f"{o.action} {o.contracts} {o.position_id} ({o.reason})" for o in orders.itertuples()
        )
        if len(orders)
        else "orders: none (hold the book)"
    )
    # the binding limit first (SPEC §7 step 7), then what the book does about it
    recon = (
        ["positions file: " + "; ".join(run.reconciliation)]
        if run.reconciliation and on == run.as_of
        else []
    )
    rationale = [*d.rationale[:1], lead, *recon, note, *d.rationale[1:]]
    risk["rationale"] = "; ".join(rationale)
    if on == run.as_of:
        run.irr_note = note
    daily = d.daily_sizing if d.daily_sizing is not None else pd.DataFrame()
    positions = d.positions if d.positions is not None else pd.DataFrame()
    return SizingResult(risk, rationale, LazyRows.of(daily, positions))


def _fills_history(path: str, last: pd.Timestamp) -> pd.DataFrame:
    """The sleeve's daily account from a user's fills file, every session from its first
    fill to ``last`` (realised P&L; see :func:`tasks.risk.fills.fills_account`)."""
    fills = read_fills_csv(path)
    opened = pd.concat([fills.condors["open_date"], fills.hedges["open_date"]])
    first = pd.Timestamp(opened.min()) if len(opened) else last
    return fills_account(fills, calendar.sessions(min(first, last), last))


def user_positions(portfolio: Portfolio) -> pd.DataFrame | None:
    """The portfolio's positions as the user hands them in (file, else the config's list),
    None when neither is given (the shadow book is the truth)."""
    if portfolio.positions_file:
        return read_positions_csv(portfolio.positions_file)
    if portfolio.positions:
        rows = pd.DataFrame([pos.model_dump() for pos in portfolio.positions])
        return positions_frame(rows, f"{portfolio.portfolio_id} positions")
    return None


def _joined(account: pd.DataFrame | None, rows: list[pd.DataFrame]) -> pd.DataFrame:
    parts = ([account] if account is not None and len(account) else []) + rows
    return pd.concat(parts, ignore_index=True)


def _reconciled(
    state: BookState,
    user: pd.DataFrame,
    inputs: Callable[[pd.Timestamp], tuple[MarketDay, SizingInputs]],
    params: Params,
) -> tuple[BookState, list[str]]:
    """The book at the previous close made what the user's file says (SPEC §10).

    A leg the book did not hold and the file gives no entry price for is marked at the
    previous close. The change in marked value is taken as traded at those marks: cash
    moves by the opposite amount, so NAV at that close (and every day's P&L) stays whole.
    """
    if state.as_of is None:
        return state, ["no previous close to reconcile against: the file is applied tomorrow"]
    rec = reconcile(state.legs, user, pd.Timestamp(state.as_of))
    if not rec.applied or not rec.differences:
        return state, rec.differences
    legs = rec.legs
    unpriced = ~np.isfinite(legs["mark"].to_numpy(float))
    if unpriced.any():
        day, _ = inputs(pd.Timestamp(state.as_of))
        pr = params.pricing
        marked = mark_book(legs[unpriced], day.ctx, day.chain, pr.div_yield,
                           vol_of_vol(day.ctx.vvix, pr), pr)  # fmt: skip
        legs.loc[unpriced, ["mark", "iv", "pricing_source"]] = marked[
            ["mark", "iv", "pricing_source"]
        ].to_numpy()
        legs.loc[unpriced, "entry_price"] = marked["mark"].to_numpy()
    delta = options_value(legs) - options_value(state.legs)
    return (
        dataclasses.replace(state, legs=legs, cash=state.cash - delta),
        rec.differences,
    )


@task(name="book", cache_policy=NO_CACHE)
def run_books(
    work_path: str,
    day: pd.Timestamp,
    portfolios: list[Portfolio],
    signals: pd.DataFrame,
    market: pd.DataFrame,
    betas: pd.DataFrame,
    hedge_asset_of: Callable[[int], str],
    chain_of: Callable[[pd.Timestamp], str | Path | None],
    extend: list[pd.Timestamp] | None = None,
) -> list[BookRun]:
    """SPEC §10 for every portfolio on ``day`` (writes the book tables in the work copy).

    ``chain_of(session)`` is the path of a chain quoted on that session, or None.
    ``extend``: further sessions after ``day`` to step in the same pass, each sized in full
    as a daily run would (a backfill's range); their sizing rows are in ``BookRun.sized``.
    """
    extend = sorted(pd.DatetimeIndex(extend or []))
    cache: dict[pd.Timestamp, Chain | None] = {}

    def chains(d: pd.Timestamp) -> Chain | None:
        if d not in cache:
            path = chain_of(d)
            cache[d] = read_chain(path) if path else None
        return cache[d]

    runs: list[BookRun] = []
    con = db.connect(work_path)
    try:
        for p in portfolios:
            params, pid = p.params, p.portfolio_id
            prev = wbook.previous_session(con, pid, day)
            later = wbook.later_sessions(con, pid, day)
            if prev is None:
                # warm start: the policy followed over the trailing IRR window, ending today.
                # A date before the stored book's first close starts a book of its own: the
                # later stored closes (a book begun later) are left as they are.
                later = []
                state, account = start_from_portfolio(p), None
                days = list(trailing_sessions(day, params.book.warm_start_sessions)) + later
            else:
                record, legs = wbook.read_state(con, pid, prev)
                state = state_from_record(record, legs)
                account = wbook.read_account(con, pid, before=day)
                days = [day, *later]
            days = sorted(set(days) | set(extend))
            mkt = _market_until(con, max(days), market)
            days = _priceable(mkt, days)
            sig = signals
            missing = [d for d in days if not (signals["as_of"] == d).any()]
            if missing:
                obs = db.read_observations(con, as_of=max(days))
                sig = pd.concat(
                    [signals, compute_signals(obs, pd.DatetimeIndex(missing), params.signals)],
                    ignore_index=True,
                )
            # a rerun's later dates: the betas their own runs stored
            known = betas if not later else pd.concat([betas, wbook.read_betas(con, later)])
            inputs = _day_inputs(mkt, sig, known, hedge_asset_of(params.hedge.tenor_days),
                                 chains, params.sizing.hist_window)  # fmt: skip
            # the warm start's past sessions size lazily; today and reruns size in full
            full_days = [day, *later, *extend]
            # SPEC §6: a fills file replaces the book's history for the IRR (and so the
            # hurdle rule): the sizing of the first stepped day reads the fills' account
            fills = _fills_history(p.fills_file, max(days)) if p.fills_file else None
            if fills is not None:
                account = fills[fills["as_of"] < min(days)]
            # SPEC §6: the sessions before the book existed come from the backtest of the same
            # policy (the latest one stored), for the IRR window and p_hurdle's history; a
            # fills file replaces both
            first = min(days) if account is None or account.empty else account["as_of"].min()
            policy, policy_id = None, None
            if fills is None:
                policy, policy_id = wbacktest.read_policy_history(
                    con, pid, params.book.hedge_policy, first
                )
                account, _ = with_policy_history(account, policy, first)
            user = user_positions(p)
            notes: list[str] = []
            if user is None:
                steps = run_book(state, days, inputs, p, account, size_every_day=full_days)
            else:  # the book up to the previous close, made what the file says, then today on
                before = [d for d in days if d < day]
                steps = run_book(state, before, inputs, p, account, size_every_day=full_days)
                if steps:
                    state = steps[-1].state
                    account = _joined(account, [account_frame([s.account_row for s in steps])])
                state, notes = _reconciled(state, user, inputs, params)
                steps += run_book(state, [d for d in days if d >= day], inputs, p, account,
                                  size_every_day=full_days)  # fmt: skip
            wbook.write_book_sessions(con, pid, days, _tables(steps))
            run = BookRun(pid, day, steps, params, prev is None, later, reconciliation=notes)
            full = wbook.read_account(con, pid)
            if fills is not None:
                full = fills
                run.irr_source = f"the fills file {p.fills_file}"
            elif policy is not None:
                full, n_policy = with_policy_history(full, policy, first)
                if n_policy and policy_id is not None:
                    run.policy_history = (policy_id, pd.Timestamp(first))
            run.sizing = _risk_from_account(run, full, params.risk.irr_window)
            stepped = {s.state.as_of for s in steps}
            run.sized = [
                _risk_from_account(run, full, params.risk.irr_window, on=d)
                for d in extend
                if d in stepped
            ]
            runs.append(run)
    finally:
        con.close()
    return runs


def orders_view(run: BookRun) -> pd.DataFrame:
    """Today's orders of one portfolio, one line per order, as a trader reads them."""
    return orders_table(run.today.orders)


def book_view(run: BookRun) -> pd.DataFrame:
    """The book after today's orders, one line per position."""
    return book_table(run.today.state.legs, run.as_of)


def account_line(run: BookRun) -> str:
    a = run.today.account.iloc[0]
    return (
        f"NAV ${a['nav']:,.0f} (P&L ${a['pnl']:,.0f}: condors ${a['condor_pnl']:,.0f}, hedge "
        f"${a['hedge_pnl']:,.0f}) | capital at risk ${a['capital_at_risk']:,.0f} | drawdown "
        f"{a['drawdown']:.1%} | {run.irr_note}"
        + (" | warm start: the book was built over the trailing window" if run.warm_started else "")
    )
