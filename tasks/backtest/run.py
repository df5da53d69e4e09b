"""SPEC §11: the §10 book loop over a range of sessions, for one portfolio and one variant.

The loop *is* :func:`tasks.book.sizing.run_book` (so :func:`tasks.book.step.step_book` and the
§7 sizing with the open book counted), started from the portfolio file
(:func:`tasks.book.sizing.start_from_portfolio`), with the warm start's lazy sizing: a full
sizing when a ladder slot is free, a hedge unit is due to roll, the hedge is monetised or the
last sizing is ``RESIZE_SESSIONS`` old. Each session's market — context, scenarios, signals —
is built once by :class:`MarketDays` and shared by every portfolio and variant.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable

import numpy as np
import pandas as pd

from schemas.config import Portfolio, deep_merge
from tasks.book import MarketDay, StepResult
from tasks.book.account import account_frame
from tasks.book.hedge_policy import variant_overrides
from tasks.book.orders import orders_frame
from tasks.book.positions import empty_legs
from tasks.book.sizing import run_book, start_from_portfolio
from tasks.market.frame import MarketContext, MarketDataMissing, context_at
from tasks.sizing import SizingInputs

BACKTEST_DAILY_COLUMNS = (
    "backtest_id", "as_of", "portfolio_id", "variant", "nav", "capital_at_risk", "pnl",
    "condor_pnl", "hedge_pnl", "drawdown",
)  # fmt: skip
"""SPEC §9 ``backtest_daily``."""

Progress = Callable[[int], None]


def joint_scenarios_all(
    spx: pd.Series, vix: pd.Series, days: pd.DatetimeIndex, window: int
) -> dict[pd.Timestamp, tuple[np.ndarray, np.ndarray]]:
    """:func:`tasks.risk.joint_scenarios` for every day at once (same pairs, one pass).

    Both series on the union of their dates; a pair at date ``t`` needs both closes at ``t``
    and at the previous date of that index; each day takes the last ``window`` pairs up to it.
    """
    both = pd.concat({"s": spx, "v": vix}, axis=1).sort_index()
    r = (both["s"] / both["s"].shift(1) - 1.0).to_numpy(float)
    q = (both["v"] / both["v"].shift(1)).to_numpy(float)
    ok = np.isfinite(r) & np.isfinite(q)
    idx = both.index[ok]
    r, q = r[ok], q[ok]
    ends = idx.searchsorted(days, side="right")  # pairs dated ≤ day
    return {
        d: (r[max(0, e - window) : e].copy(), q[max(0, e - window) : e].copy())
        for d, e in zip(days, ends, strict=True)
    }


class MarketDays:
    """Each session's ``(MarketDay, SizingInputs)`` computed once (point in time: the day's
    context reads closes up to it, the scenarios the pairs up to it, the signals that day's
    states) and reused by every portfolio and variant of a backtest.

    No chain is read (model marks throughout) and ``β_F`` is NaN (the sizing's point-in-time
    fallback): the backtest's sessions have no stored betas.
    """

    def __init__(self, market: pd.DataFrame, signals: pd.DataFrame, hist_window: int) -> None:
        self.market = market
        self.window = hist_window
        self._signals = {d: g for d, g in signals.groupby("as_of", sort=False)}
        self._cache: dict[pd.Timestamp, tuple[MarketDay, SizingInputs]] = {}
        # the contexts :meth:`sessions` builds to test a day is priceable, kept for __call__
        self._contexts: dict[pd.Timestamp, MarketContext] = {}
        self._scen: dict[pd.Timestamp, tuple[np.ndarray, np.ndarray]] = {}
        self._empty = signals.iloc[0:0]
        self._token = uuid.uuid4().hex  # this market's identity, kept through pickling

    def __dask_tokenize__(self) -> tuple[str, str]:
        """What Dask hashes for a task argument: this market's identity. Hashing its
        content — 9,200 sessions' signal frames and scenarios — took ~8 s per submitted run."""
        return ("MarketDays", self._token)

    def sessions(self, start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
        """The priceable sessions of ``[start, end]`` (a context can be built for each)."""
        out = []
        for d in self.market.loc[start:end].index:
            day = pd.Timestamp(d)
            try:
                self._contexts[day] = context_at(self.market, day)
            except MarketDataMissing:
                continue
            out.append(day)
        return out

    def prepare(self, days: list[pd.Timestamp]) -> None:
        """Compute the scenarios of ``days`` in one vectorised pass."""
        todo = pd.DatetimeIndex([d for d in days if d not in self._scen])
        if len(todo):
            self._scen.update(
                joint_scenarios_all(self.market["spx"], self.market["vix"], todo, self.window)
            )

    def __call__(self, day: pd.Timestamp) -> tuple[MarketDay, SizingInputs]:
        hit = self._cache.get(day)
        if hit is None:
            ctx = self._contexts.pop(day, None)  # the one sessions() built, when it did
            if ctx is None:
                ctx = context_at(self.market, day)
            if day not in self._scen:
                self.prepare([day])
            spx_r, vix_r = self._scen[day]
            sig = self._signals.get(day, self._empty)
            hit = (MarketDay(ctx), SizingInputs(ctx, sig, spx_r, vix_r, float("nan"), None))
            self._cache[day] = hit
        return hit


def backtest_portfolio(
    portfolio: Portfolio,
    variant: str,
    days: list[pd.Timestamp],
    market_days: Callable[[pd.Timestamp], tuple[MarketDay, SizingInputs]],
    progress: Progress | None = None,
) -> list[StepResult]:
    """Run the §10 loop for ``portfolio`` under hedge ``variant`` over ``days`` (in order)."""
    extra = variant_overrides(portfolio.params, variant)
    p = portfolio.model_copy(update={"overrides": deep_merge(portfolio.overrides, extra)})

    def inputs(day: pd.Timestamp) -> tuple[MarketDay, SizingInputs]:
        out = market_days(day)
        if progress is not None:
            progress(1)
        return out

    return run_book(start_from_portfolio(p), days, inputs, p, None, size_every_day=[],
                    keep=tearsheet_part)  # fmt: skip


_NO_LEGS = empty_legs()  # shared by every kept session (copy-on-write: never changed)


def tearsheet_part(res: StepResult) -> StepResult:
    """What a backtest keeps of a session: the account row, the orders and the sizing's
    ``portfolio_risk`` row (the mean WACC). The legs (so the ``book`` rows) and the
    sizing's per-leg frames are dropped: kept for 9,000 sessions they held ~4 GB per run."""
    slim = dataclasses.replace(res.decision, condors=[], hedge_legs=_NO_LEGS, sized=None,
                               rationale=[])  # fmt: skip
    return dataclasses.replace(res, state=res.state.with_(legs=_NO_LEGS), decision=slim)


def daily_rows(steps: list[StepResult], backtest_id: str, variant: str) -> pd.DataFrame:
    """The ``backtest_daily`` rows of one portfolio × variant run."""
    acc = account_frame([s.account_row for s in steps])
    out = acc.assign(backtest_id=backtest_id, variant=variant)
    return out[list(BACKTEST_DAILY_COLUMNS)]


def trades(steps: list[StepResult]) -> pd.DataFrame:
    """Every condor closed, one row per position: ``position_id, closed_on, reason, pnl``.

    ``pnl`` = what the tranche's round trip put in the cash account (credit at open − debit
    at close, net of commissions), from the orders of the run.
    """
    blocks = [b for s in steps for b in s.order_blocks]
    if not blocks:
        return pd.DataFrame(columns=["position_id", "closed_on", "reason", "pnl"])
    o = orders_frame(blocks)
    o = o[o["kind"] == "condor"] if "kind" in o.columns else o[o["underlying"] == "SPX"]
    sign = np.where(o["side"] == "sell", 1.0, -1.0)
    o = o.assign(
        cash=100.0 * sign * o["limit_price"] * o["contracts"] * o["qty"].abs() - o["commission"]
    )
    closes = o[o["action"] == "close"].drop_duplicates("order_id")
    flows = o.groupby("position_id")["cash"].sum()
    out = closes[["position_id", "as_of", "reason"]].rename(columns={"as_of": "closed_on"})
    out = out.assign(pnl=flows.reindex(out["position_id"]).to_numpy())
    return out.reset_index(drop=True)
