"""Benchmark: the modelled ladder (SPEC §8) over the whole bundled snapshot.

Run with ``.venv/bin/python benchmarks/bench_history.py [snapshot_dir]`` (default
``warehouse/snapshot``). Builds the point-in-time market frame from the snapshot files
(parse → ``available_at`` → pandera validation → :func:`tasks.market.market_frame`), then
times :func:`tasks.history.model_ladder` with the default parameters and prints the trade
statistics. SPEC §8 asks for "decades of sessions in seconds, not minutes"; the target on a
2-core machine is at most 30 s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.config import Params
from schemas.sources import validate
from tasks import ingest as sources
from tasks.history import model_ladder
from tasks.market.frame import MARKET_SERIES, market_frame

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 30.0


def snapshot_market(snapshot_dir: Path, params: Params) -> pd.DataFrame:
    """The market frame of the bundled snapshot (only the series the pricing needs)."""
    frames = []
    for series_id, rows in sources.parse_snapshot(snapshot_dir).items():
        if series_id not in MARKET_SERIES:
            continue
        stamped = sources.assign_available_at(rows, series_id, params.release_lags)
        frames.append(validate(stamped, "snapshot", series_id).observations)
    return market_frame(pd.concat(frames, ignore_index=True))


def main(snapshot_dir: Path) -> int:
    params = Params()
    t0 = time.perf_counter()
    market = snapshot_market(snapshot_dir, params)
    t_market = time.perf_counter() - t0

    t0 = time.perf_counter()
    hist = model_ladder(market, params)
    seconds = time.perf_counter() - t0

    ev, he, daily = hist.condor_events, hist.hedge_events, hist.daily
    closed = ev[ev["exit_reason"] != "open"]
    h_closed = he[he["exit_reason"] != "open"]
    print(f"market frame: {len(market)} sessions in {t_market:.2f} s")
    print(
        f"model_ladder: {len(daily)} sessions {daily['as_of'].iloc[0].date()} → "
        f"{daily['as_of'].iloc[-1].date()}, {len(ev)} condor trades, {len(he)} hedge units, "
        f"{seconds:.2f} s (target ≤ {TARGET_SECONDS:.0f} s)"
    )
    print(f"  condors closed: {len(closed)}, win rate {(closed['pnl'] > 0).mean():.1%}")
    print(f"  average P&L per closed condor: ${closed['pnl'].mean():,.2f}")
    print(f"  total condor P&L (closed): ${closed['pnl'].sum():,.0f}")
    print(f"  total hedge P&L (closed): ${h_closed['pnl'].sum():,.0f}")
    print(f"  total daily mark-to-model P&L: ${daily['pnl'].sum():,.0f}")
    print(f"  mean capital at risk: ${daily['capital_at_risk'].mean():,.0f}")
    print("  exit reasons:")
    for reason, count in ev["exit_reason"].value_counts().items():
        avg = ev.loc[ev["exit_reason"] == reason, "pnl"].mean()
        print(f"    {reason:<14} {count:>6}   avg P&L ${avg:,.2f}")
    return 0 if seconds <= TARGET_SECONDS else 1


if __name__ == "__main__":
    arg = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "warehouse" / "snapshot"
    raise SystemExit(main(arg))
