"""Speed of the SPEC §11 backtest: one portfolio × one variant over a range (default: every
session the warehouse holds), the book loop timed apart from the market set-up.

    python benchmarks/bench_backtest.py --db data/condorcap.duckdb [--start 2019-01-02]
        [--end 2019-12-31] [--variant alvh] [--portfolio steward_1m] [--profile]

Prints the sessions, the market set-up seconds, the loop seconds (the book loop and the
variant's daily, summary and window rows, as the flow's task runs them) and sessions per second;
``--profile`` adds the top of a cProfile of the loop (cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

import pandas as pd

from flows.backtest import _market, run_variant
from flows.daily import DEFAULT_CONFIG
from schemas.config import load_portfolios


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--start")
    ap.add_argument("--end")
    ap.add_argument("--variant", default="alvh")
    ap.add_argument("--portfolio", default="steward_1m")
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    pf = load_portfolios(DEFAULT_CONFIG)
    p = next(x for x in pf.portfolios if x.portfolio_id == a.portfolio)
    t0 = time.perf_counter()
    md, days = _market(a.db, pd.Timestamp(a.start) if a.start else None,
                       pd.Timestamp(a.end) if a.end else None, [p], pf.run_params.signals)  # fmt: skip
    t1 = time.perf_counter()
    prof = cProfile.Profile() if a.profile else None
    if prof:
        prof.enable()
    run_variant(p, a.variant, days, md, "bench")  # as the flow's task runs it
    if prof:
        prof.disable()
    t2 = time.perf_counter()
    print(f"{p.portfolio_id} × {a.variant}: {len(days)} sessions {days[0].date()} → "
          f"{days[-1].date()}; market set-up {t1 - t0:.1f} s; book loop {t2 - t1:.1f} s = "
          f"{len(days) / (t2 - t1):.1f} sessions/s ({(t2 - t1) / len(days) * 1e3:.1f} ms/session)")  # fmt: skip
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
