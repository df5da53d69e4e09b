"""Backfill: the daily method over a range of sessions, vectorised (not a loop of daily runs)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from prefect import flow

from flows import steps
from flows.book import run_books
from flows.daily import DEFAULT_CONFIG, SNAPSHOT_DIR, ingest, sizing_tables
from schemas.config import SourceUrls, load_portfolios
from tasks.market import calendar
from tasks.market.frame import MarketDataMissing, context_at
from warehouse import db
from warehouse.store import RunWorkspace

Progress = Callable[[str], None]


@dataclass
class BackfillResult:
    run_id: str
    start: pd.Timestamp
    end: pd.Timestamp
    sessions: int
    rows_written: int
    seconds: float
    timings: dict[str, float]


@flow(name="backfill", log_prints=True)
def backfill_flow(
    start: date | str | None = None,
    end: date | str | None = None,
    source: str = "snapshot",
    snapshot_dir: str | None = None,
    db_path: str | None = None,
    config_path: str | None = None,
    sizing: bool = False,
    progress: Progress | None = None,
) -> BackfillResult:
    """Fill the derived tables for every session in ``[start, end]``.

    Defaults: the snapshot's whole history (first SPX session on file to the
    latest session with complete daily data). Signals, betas, the VIX term curve and the
    modelled ladder are computed for all sessions at once; with ``sizing`` each portfolio of
    ``config_path`` carries its book (SPEC §10) through every session, sized in full each
    day exactly as the daily run sizes it (about 0.15 s a portfolio-session: use it on
    ranges; the backtest is the tool for decades).
    """
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    db_file = Path(db_path) if db_path else db.default_db_path()
    # the portfolio file's [method] table sets the run-wide parameters (sizing or not)
    portfolio_file = load_portfolios(config_path or DEFAULT_CONFIG)
    params = portfolio_file.run_params

    with RunWorkspace(db_file, flow="backfill") as ws:
        ws.as_of = end
        work = ws.path
        say("ingest")
        t = time.perf_counter()
        ingested = ingest(source, snapshot_dir, SourceUrls(), params)
        loaded = steps.load_facts(work, ingested, ws.run_id)
        timings["ingest"] = time.perf_counter() - t

        last = steps.latest_complete_session(work)
        first = steps.first_session(work)
        lo = max(pd.Timestamp(start), first) if start else first
        hi = min(pd.Timestamp(end), last) if end else last
        days = calendar.sessions(lo, hi)
        if len(days) == 0:
            raise ValueError(f"no sessions between {lo.date()} and {hi.date()}")

        say("signals")
        t = time.perf_counter()
        sig = steps.signal_states(work, list(days), params.signals)
        timings["signals"] = time.perf_counter() - t

        say("history and betas")
        t = time.perf_counter()
        portfolios = portfolio_file.portfolios if sizing else []
        facts = steps.analytics(
            work, list(days), params, steps.hedge_tenors_of([p.params for p in portfolios])
        )
        timings["history and betas"] = time.perf_counter() - t

        say("write")
        t = time.perf_counter()
        derived = {"signal_states": sig, "betas": facts.betas, "vix_term": facts.vix_term}
        written = steps.write_derived(work, derived, pd.DataFrame({"as_of": days}))
        written += steps.write_history(work, facts.history, days[-1], params)
        timings["write"] = time.perf_counter() - t
        if sizing:
            say("sizing")
            t = time.perf_counter()
            sized, skipped = _size_with_books(
                work, list(days), portfolios, sig, facts, snapshot_dir
            )
            if sized:
                written += steps.write_derived(work, sizing_tables(sized))
            timings["sizing"] = time.perf_counter() - t
            for note in skipped:
                print(f"not sized: {note}")
        rows = written + sum(loaded.values())
        ws.complete(rows, as_of=hi)
    return BackfillResult(
        run_id=ws.run_id,
        start=days[0],
        end=days[-1],
        sessions=len(days),
        rows_written=rows,
        seconds=time.perf_counter() - t0,
        timings=timings,
    )


def _size_with_books(
    work: str,
    days: list[pd.Timestamp],
    portfolios: list,
    signals: pd.DataFrame,
    facts: steps.Analytics,
    snapshot_dir: str | None,
) -> tuple[list, list[str]]:
    """Each portfolio's book stepped over the priceable ``days`` (SPEC §10), sized in full
    every day by the daily run's own book step; the unpriceable days are named."""
    priceable, skipped = [], []
    for d in days:
        try:
            context_at(facts.market, d)
        except MarketDataMissing as exc:  # only "no price for this day" is skipped
            skipped.append(str(exc))
            continue
        priceable.append(d)
    if not priceable:
        return [], skipped
    books = run_books(
        work, priceable[0], portfolios, signals, facts.market, facts.betas, steps.hedge_asset,
        lambda d: steps.find_chain(snapshot_dir or SNAPSHOT_DIR, d), extend=priceable[1:],
    )  # fmt: skip
    sized = [r for b in books for r in [b.sizing, *b.sized] if r is not None]
    return sized, skipped
