"""Benchmark: size 1,000 generated portfolios for one day (target ≤ 60 s on 2 cores).

Runs the daily flow once on the bundled snapshot (2026-07-22) into a temporary
warehouse, then the `size-many` flow on 1,000 generated portfolios, with Prefect's
thread runner and with a local Dask cluster of 2 worker processes.

    .venv/bin/pip install -e '.[dask]' && .venv/bin/python benchmarks/bench_portfolios.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portfolios import generate

import flows  # noqa: F401 - Prefect start-up defaults

AS_OF = "2026-07-22"
N = 1000


def main() -> None:
    from flows.daily import daily_flow
    from flows.scale import size_many_flow

    tmp = Path(tempfile.mkdtemp(prefix="condorcap-bench-"))
    db_path = tmp / "w.duckdb"
    config = tmp / "portfolios.toml"
    config.write_text(generate(N))
    t = time.perf_counter()
    daily_flow(as_of=AS_OF, db_path=str(db_path), artifacts=False)
    print(f"daily flow (ingest + 2 portfolios): {time.perf_counter() - t:.1f} s")
    rows = []
    for label, workers in (("thread runner", None), ("Dask, 2 workers", 2)):
        try:
            t = time.perf_counter()
            res = size_many_flow(AS_OF, str(config), str(db_path), workers=workers)
        except ImportError:
            print(f"{label}: skipped (pip install -e '.[dask]')")
            continue
        total = time.perf_counter() - t
        rows.append((label, total, res))
    print(f"\n{N} portfolios, as_of {AS_OF}")
    print(
        f"{'runner':<18}{'total s':>9}{'market s':>10}{'sizing s':>10}{'write s':>9}{'contracts':>11}"
    )
    for label, total, r in rows:
        print(
            f"{label:<18}{total:>9.1f}{r.seconds_market:>10.1f}{r.seconds_sizing:>10.1f}"
            f"{r.seconds_write:>9.1f}{r.contracts:>11}"
        )


if __name__ == "__main__":
    main()
