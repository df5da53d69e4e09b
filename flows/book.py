"""The book step of the daily flow (SPEC §10): start from the previous session's book, run the
close, write ``book``/``orders``/``account_daily``; on a portfolio's first run, warm-start it
over the trailing IRR window; on a rerun, recompute every later stored session too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from schemas.config import Params, Portfolio
from tasks.book import MarketDay, StepResult, account_eva, account_irr
from tasks.book.account import resampled_years
from tasks.book.positions import state_from_record, state_record
from tasks.book.sizing import run_book, start_from_portfolio
from tasks.market.chain import Chain, read_chain
from tasks.market.frame import MarketDataMissing, context_at, market_frame
from tasks.risk import joint_scenarios, p_hurdle, trailing_sessions
from tasks.signals import compute_signals
from tasks.sizing import SizingInputs, SizingResult
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

    @property
    def today(self) -> StepResult:
        return next(s for s in self.steps if s.state.as_of == self.as_of)


def _market_until(con: object, last: pd.Timestamp, market: pd.DataFrame) -> pd.DataFrame:
    """The market frame through ``last`` (the analytics' frame when it already reaches it)."""
    if len(market) and market.index.max() >= last:
        return market
    obs = db.read_observations(con, as_of=last)  # type: ignore[arg-type]
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
        "book": [s.book for s in steps if len(s.book)],
        "orders": [s.orders for s in steps if len(s.orders)],
        "account_daily": [s.account for s in steps],
    }
    out = {k: pd.concat(v, ignore_index=True) for k, v in parts.items() if v}
    out["book_state"] = states
    return out


def _risk_from_account(run: BookRun, account: pd.DataFrame, window: int) -> SizingResult:
    """Today's sizing rows with IRR, spread and EVA from the book's own account (SPEC §6)."""
    today = run.today
    d = today.decision
    res = account_irr(account, run.as_of, window)
    risk = d.risk.copy()
    wacc = float(risk["wacc"].iloc[0])
    risk["irr"] = res.irr
    risk["spread_bps"] = (res.irr - wacc) * 1e4 if np.isfinite(res.irr) else np.nan
    risk["eva"] = account_eva(res.irr, wacc, res.capital)
    rk = run.params.risk
    p = p_hurdle(resampled_years(account, run.as_of, rk), wacc, float(risk["hurdle_bps"].iloc[0]))
    risk["p_hurdle"] = p
    note = (
        f"IRR {res.irr:.2%} from the book's account: P&L ${res.pnl:,.0f} on mean capital at "
        f"risk ${res.capital:,.0f} over {res.days} days ({res.sessions} sessions)"
        if np.isfinite(res.irr)
        else f"IRR unknown ({res.note})"
    )
    if np.isfinite(p):
        note += f"; p_hurdle {p:.0%} (P(annual return on capital > WACC + hurdle), bootstrap)"

    orders = today.orders.drop_duplicates("order_id")
    lead = (
        "orders: "
        + "; ".join(
            f"{o.action} {o.contracts} {o.position_id} ({o.reason})" for o in orders.itertuples()
        )
        if len(orders)
        else "orders: none (hold the book)"
    )
    rationale = [lead, note, *d.rationale]
    risk["rationale"] = "; ".join(rationale)
    run.irr_note = note
    daily = d.daily_sizing if d.daily_sizing is not None else pd.DataFrame()
    positions = d.positions if d.positions is not None else pd.DataFrame()
    return SizingResult(daily, risk, positions, rationale)


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
) -> list[BookRun]:
    """SPEC §10 for every portfolio on ``day`` (writes the book tables in the work copy).

    ``chain_of(session)`` is the path of a chain quoted on that session, or None.
    """
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
            steps = run_book(state, days, inputs, p, account, size_every_day=[day, *later])
            wbook.write_book_sessions(con, pid, days, _tables(steps))
            run = BookRun(pid, day, steps, params, prev is None, later)
            full = wbook.read_account(con, pid)
            run.sizing = _risk_from_account(run, full, params.risk.irr_window)
            runs.append(run)
    finally:
        con.close()
    return runs


def orders_view(run: BookRun) -> pd.DataFrame:
    """Today's orders of one portfolio, one line per order, as a trader reads them."""
    o = run.today.orders
    if o.empty:
        return pd.DataFrame(columns=["action", "contracts", "position", "legs", "limit", "reason"])
    rows = []
    for _, g in o.groupby("order_id", sort=True):
        legs = " / ".join(
            f"{'+' if s == 'buy' else '−'}{r.put_call}{r.strike:g} {pd.Timestamp(r.expiry).date()}"
            for s, r in zip(g["side"], g.itertuples(), strict=True)
        )
        # net limit per unit, points: + = debit paid, − = credit received
        sign = np.where(g["side"] == "buy", 1.0, -1.0)
        net = float((g["limit_price"] * sign).sum())
        rows.append(
            {
                "action": g["action"].iloc[0],
                "contracts": int(g["contracts"].iloc[0]),
                "position": g["position_id"].iloc[0],
                "legs": legs,
                "limit": round(net, 2),
                "reason": g["reason"].iloc[0],
            }
        )
    return pd.DataFrame(rows)


def book_view(run: BookRun) -> pd.DataFrame:
    """The book after today's orders, one line per position (points per unit, DTE in days)."""
    legs = run.today.state.legs
    if legs.empty:
        return pd.DataFrame(columns=["position", "kind", "contracts", "dte", "entry", "mark"])
    g = legs.assign(e=legs["qty"] * legs["entry_price"], m=legs["qty"] * legs["mark"])
    out = g.groupby("position_id", sort=True).agg(
        kind=("kind", "first"),
        contracts=("contracts", "first"),
        opened=("opened_on", "first"),
        expiry=("expiry", "max"),
        entry=("e", "sum"),
        mark=("m", "sum"),
    )
    out["dte"] = (pd.DatetimeIndex(out["expiry"]) - run.as_of).days
    out["opened"] = pd.DatetimeIndex(out["opened"]).date
    out = out.reset_index().rename(columns={"position_id": "position"})
    return out[["position", "kind", "contracts", "opened", "dte", "entry", "mark"]]


def account_line(run: BookRun) -> str:
    a = run.today.account.iloc[0]
    return (
        f"NAV ${a['nav']:,.0f} (P&L ${a['pnl']:,.0f}: condors ${a['condor_pnl']:,.0f}, hedge "
        f"${a['hedge_pnl']:,.0f}) | capital at risk ${a['capital_at_risk']:,.0f} | drawdown "
        f"{a['drawdown']:.1%} | {run.irr_note}"
        + (" | warm start: the book was built over the trailing window" if run.warm_started else "")
    )
