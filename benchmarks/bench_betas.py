"""Benchmark: the ``betas`` table (SPEC §5) over a long history.

Run with ``.venv/bin/python benchmarks/bench_betas.py``. Times
:func:`tasks.risk.betas_table` for five assets on SPX over 9,000 sessions (about 36 years,
300 returns missing in one asset), reporting every session: the rolling regression is one
pass of cumulative sums per asset, so the whole table costs milliseconds, not a regression
per date. Target on a 2-core machine: at most 2 s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.config import RiskParams
from tasks.risk import betas_table

TARGET_SECONDS = 2.0
N_SESSIONS = 9000


def main() -> int:
    rng = np.random.default_rng(9)
    idx = pd.bdate_range("1990-01-01", periods=N_SESSIONS)
    rets = pd.DataFrame(rng.normal(0, 0.01, (N_SESSIONS, 6)), index=idx, columns=["spx", *"abcde"])
    rets.iloc[rng.choice(N_SESSIONS, 300), 2] = np.nan
    t0 = time.perf_counter()
    table = betas_table(rets, idx, window=RiskParams().beta_window)
    seconds = time.perf_counter() - t0
    print(
        f"betas_table: {len(table)} rows (5 assets × {N_SESSIONS} sessions), {seconds:.3f} s "
        f"(target ≤ {TARGET_SECONDS:.0f} s)"
    )
    return 0 if seconds <= TARGET_SECONDS and len(table) == 5 * N_SESSIONS else 1


if __name__ == "__main__":
    raise SystemExit(main())
