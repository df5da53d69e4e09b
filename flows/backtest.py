"""SPEC §11: ``condorcap backtest`` — the §10 book loop over history for portfolios × hedge
variants, written to ``backtest_daily`` / ``backtest_summary`` / ``backtest_windows``.

The market of every session (context, scenarios, signals) is computed once, up front, for all
portfolios and variants (:class:`tasks.backtest.run.MarketDays`); each portfolio × variant is
then one Prefect task running :func:`tasks.book.sizing.run_book` — the daily run's code. With
``workers`` the tasks fan out on a local Dask cluster (as :mod:`flows.scale`).
"""

from __future__ import annotations

import gc
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.daily import DEFAULT_CONFIG
from flows.scale import _task_runner
from schemas.config import Portfolio, load_portfolios
from tasks.backtest.metrics import bill_returns
from tasks.backtest.run import MarketDays, backtest_portfolio, daily_rows
from tasks.backtest.tearsheet import summary_tables, tearsheet_markdown
from tasks.book.hedge_policy import HEDGE_POLICIES
from tasks.market.frame import market_frame
from tasks.signals import compute_signals
from warehouse import backtest as wbacktest
from warehouse import db
from warehouse.store import RunWorkspace

Tick = Callable[[int], None]


@dataclass
class BacktestResult:
    backtest_id: str
    start: pd.Timestamp
    end: pd.Timestamp
    sessions: int
    summary: pd.DataFrame
    windows: pd.DataFrame
    seconds_market: float
    seconds_loop: float
    rows_written: int
    run_id: str


@dataclass
class VariantRun:
    tables: dict[str, pd.DataFrame]
    seconds: float


@contextmanager
def long_run_gc() -> Iterator[None]:
    """Garbage collection tuned for a long book loop, restored after.

    A 36-year loop keeps its market (contexts, scenarios, signals) and a row per session
    alive; the collector's full passes re-scanned all of it and took 10–15 % of the loop.
    What exists when the loop starts is frozen out of the scans, and the young generation
    is collected every 10,000 allocations instead of 700 (cycles are still collected). It is
    process-wide: each run holds it around its own loop (one run at a time per process: the
    thread runner has one worker, a Dask worker one thread).
    """
    old = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def backtest_id_of(config_path: str, start: pd.Timestamp, end: pd.Timestamp) -> str:
    """A stable id for a range and a portfolio file (rerunning it replaces its rows)."""
    digest = hashlib.sha1(Path(config_path).read_bytes()).hexdigest()[:8]
    return f"bt-{start:%Y%m%d}-{end:%Y%m%d}-{digest}"


def run_variant(portfolio: Portfolio, variant: str, days: list[pd.Timestamp], md: MarketDays,
                backtest_id: str, tick: Tick | None = None) -> VariantRun:  # fmt: skip
    """One portfolio × variant: the book loop, then its daily, summary and window rows."""
    t0 = time.perf_counter()
    with long_run_gc():
        steps = backtest_portfolio(portfolio, variant, days, md, tick)
    seconds = time.perf_counter() - t0
    daily = daily_rows(steps, backtest_id, variant)
    bills = bill_returns(md.market["r"], pd.DatetimeIndex(daily["as_of"]))
    summary, windows = summary_tables(steps, daily, portfolio.equity, bills, seconds,
                                      pd.Timestamp(db.now()))  # fmt: skip
    return VariantRun(
        {"backtest_daily": daily, "backtest_summary": summary, "backtest_windows": windows},
        seconds,
    )


@task(name="backtest-variant", cache_policy=NO_CACHE)
def backtest_variant(portfolio: Portfolio, variant: str, days: list[pd.Timestamp],
                     md: MarketDays, backtest_id: str) -> VariantRun:  # fmt: skip
    return run_variant(portfolio, variant, days, md, backtest_id)


def _progress_bar() -> object:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,  # fmt: skip
        TimeRemainingColumn,
    )

    # redrawn twice a second: the refresh thread takes the GIL from the loop it reports on
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} sessions/s"), TimeElapsedColumn(),
        TextColumn("ETA"), TimeRemainingColumn(), refresh_per_second=2,
    )  # fmt: skip


def _market(db_path: str, start: pd.Timestamp | None, end: pd.Timestamp | None,
            portfolios: list[Portfolio], signal_params: object) -> tuple[MarketDays, list[pd.Timestamp]]:  # fmt: skip
    con = db.connect(db_path, read_only=True)
    try:
        obs = db.read_observations(con, as_of=end)
    finally:
        con.close()
    if obs.empty:
        raise ValueError(f"{db_path} holds no observations: run `condorcap backfill` first")
    mkt = market_frame(obs)
    end = end or mkt.index.max()
    mkt = mkt.loc[:end]
    start = start or mkt.index.min()
    windows = {p.params.sizing.hist_window for p in portfolios}
    if len(windows) != 1:
        raise ValueError("the portfolios of one backtest must share sizing.hist_window")
    sessions = pd.DatetimeIndex(mkt.loc[start:end].index)
    sig = compute_signals(obs, sessions, signal_params)  # type: ignore[arg-type]
    md = MarketDays(mkt, sig, windows.pop())
    days = md.sessions(pd.Timestamp(start), pd.Timestamp(end))
    if not days:
        raise ValueError(f"no priceable session between {start} and {end}")
    md.prepare(days)
    return md, days


def run_backtest(
    db_path: str, config_path: str = str(DEFAULT_CONFIG), portfolio_ids: list[str] | None = None,
    start: date | str | None = None, end: date | str | None = None,
    variants: list[str] | None = None, backtest_id: str | None = None,
    workers: int | None = None, progress: bool = False, artifacts: bool = True,
) -> BacktestResult:  # fmt: skip
    """The body of :func:`backtest_flow` (the task runner is chosen by the caller)."""
    variants = list(variants or ["alvh"])
    bad = [v for v in variants if v not in HEDGE_POLICIES]
    if bad:
        raise ValueError(f"unknown variant {bad[0]!r}: one of {', '.join(HEDGE_POLICIES)}")
    pf = load_portfolios(config_path)
    ports = [p for p in pf.portfolios if not portfolio_ids or p.portfolio_id in portfolio_ids]
    missing = set(portfolio_ids or []) - {p.portfolio_id for p in ports}
    if missing or not ports:
        raise ValueError(f"no portfolio {', '.join(sorted(missing)) or ''} in {config_path}")
    t0 = time.perf_counter()
    s = pd.Timestamp(start).normalize() if start else None
    e = pd.Timestamp(end).normalize() if end else None
    md, days = _market(db_path, s, e, ports, pf.run_params.signals)
    bid = backtest_id or backtest_id_of(config_path, days[0], days[-1])
    t1 = time.perf_counter()
    jobs = [(p, v) for p in ports for v in variants]
    runs = _run_jobs(jobs, days, md, bid, workers, progress)
    t2 = time.perf_counter()
    tables = {k: pd.concat([r.tables[k] for r in runs], ignore_index=True)
              for k in wbacktest.BACKTEST_TABLES}  # fmt: skip
    with RunWorkspace(Path(db_path), flow="backtest") as ws:
        ws.as_of = days[-1]
        con = db.connect(ws.path)
        try:
            written = wbacktest.write_backtest(con, tables)
        finally:
            con.close()
        ws.complete(written)
    res = BacktestResult(bid, days[0], days[-1], len(days), tables["backtest_summary"],
                         tables["backtest_windows"], t1 - t0, t2 - t1, written, ws.run_id)  # fmt: skip
    if artifacts:
        from prefect.artifacts import create_markdown_artifact

        create_markdown_artifact(
            key="backtest-tearsheet",
            markdown=f"# Backtest {bid}: {days[0].date()} → {days[-1].date()}, {len(days)} "
            f"sessions\n\n" + tearsheet_markdown(res.summary, res.windows),
            description=f"SPEC §11 tearsheet of {bid}",
        )
    return res


def _run_jobs(jobs: list[tuple[Portfolio, str]], days: list[pd.Timestamp], md: MarketDays,
              bid: str, workers: int | None, progress: bool) -> list[VariantRun]:  # fmt: skip
    if workers:
        futures = [backtest_variant.submit(p, v, days, md, bid) for p, v in jobs]
        return [f.result() for f in futures]
    if not progress:
        return [backtest_variant(p, v, days, md, bid) for p, v in jobs]
    out = []
    with _progress_bar() as bar:  # type: ignore[attr-defined]
        for p, v in jobs:
            tid = bar.add_task(f"{p.portfolio_id} × {v}", total=len(days), rate="—")
            out.append(run_variant(p, v, days, md, bid, _ticker(bar, tid, len(days))))
    return out


def _ticker(bar: Any, tid: int, total: int) -> Tick:
    """A progress callback that moves the bar at most every 0.25 s (and at the end), with
    the rate in sessions per second: an update per session cost seconds of a long run."""
    t0 = last = time.perf_counter()
    done = shown = 0

    def tick(n: int) -> None:
        nonlocal done, shown, last
        done += n
        now = time.perf_counter()
        if now - last < 0.25 and done < total:
            return
        bar.update(tid, advance=done - shown, rate=f"{done / max(now - t0, 1e-9):,.0f}")
        shown, last = done, now

    return tick


@flow(name="backtest", task_runner=ThreadPoolTaskRunner(max_workers=1), log_prints=True)
def backtest_flow(
    db_path: str, config_path: str = str(DEFAULT_CONFIG), portfolio_ids: list[str] | None = None,
    start: date | str | None = None, end: date | str | None = None,
    variants: list[str] | None = None, backtest_id: str | None = None,
    workers: int | None = None, progress: bool = False, artifacts: bool = True,
) -> BacktestResult:  # fmt: skip
    """SPEC §11 backtest of ``portfolio_ids`` (default: all in the file) × ``variants``
    (default ``alvh``) over ``[start, end]`` (default: every session the warehouse holds).

    ``workers``: fan the portfolio × variant runs out on a local Dask cluster of that many
    processes (a subflow on the Dask runner, as ``size-many``)."""
    kw = dict(db_path=db_path, config_path=config_path, portfolio_ids=portfolio_ids, start=start,
              end=end, variants=variants, backtest_id=backtest_id, workers=workers,
              progress=progress, artifacts=artifacts)  # fmt: skip
    if not workers:
        return run_backtest(**kw)  # type: ignore[arg-type]
    on_dask = flow(name="backtest-dask", task_runner=_task_runner(workers, None),
                   log_prints=True)(run_backtest)  # fmt: skip
    return on_dask(**kw)  # type: ignore[arg-type]
