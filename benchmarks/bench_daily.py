"""Benchmark: ``condorcap run`` against a trivial two-task Prefect flow, as a user runs them.

Run with ``.venv/bin/python benchmarks/bench_daily.py [--repeat N]``. Every figure is the
wall time of a fresh process (``python -c`` / the ``condorcap`` entry point), started the
way a user or a scheduler starts it, with one Prefect home shared by all of them (so each
pays the same temporary-server start; its database already exists, as on any machine that
has run Prefect once). Measured:

- **trivial flow**: a flow calling two tasks, ``b(a())`` — the floor any Prefect run pays
  (import Prefect, start the temporary server, create a flow run and two task runs);
- **cold**: ``condorcap run --as-of 2026-07-21`` into an empty warehouse — the first run:
  every source parsed, validated and loaded, each portfolio's book warm-started;
- **steady**: ``condorcap run`` (2026-07-22, the snapshot's last session) into a copy of the
  cold run's warehouse — what a scheduled run sees every day after the first: yesterday's
  run stored, unchanged payloads skipped, one new session to add;
- the time to the first line a run prints, and ``condorcap --help``.

The issue's target: the steady daily run within 5 s of the trivial flow's wall time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_GAP_S = 5.0

TRIVIAL = """
from prefect import flow, task

@task
def a():
    return 1

@task
def b(x):
    return x + 1

@flow
def trivial():
    return b(a())

trivial()
"""


def _env(prefect_home: Path, db: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PREFECT_HOME=str(prefect_home),
        CONDORCAP_DB=str(db),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    env.pop("PREFECT_API_URL", None)  # the temporary server, as `condorcap run` on its own uses
    return env


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, seconds to the first line on stdout or stderr) of one process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    first = None
    out = []
    for line in proc.stdout:
        if first is None and line.strip():
            first = time.perf_counter() - t0
        out.append(line)
    rc = proc.wait()
    wall = time.perf_counter() - t0
    if rc != 0:
        sys.stderr.write("".join(out[-20:]))
        raise SystemExit(f"{' '.join(cmd)} exited {rc}")
    return wall, first if first is not None else wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="steady and trivial runs (median)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_daily_"))
    home, cold_db, db = tmp / "prefect", tmp / "cold.duckdb", tmp / "steady.duckdb"
    home.mkdir()
    condorcap = [str(BIN / "condorcap"), "run"]
    trivial = [sys.executable, "-c", TRIVIAL]
    try:
        timed(trivial, _env(home, db))  # creates the Prefect database (not counted)
        help_s = min(timed([str(BIN / "condorcap"), "--help"], _env(home, db))[0] for _ in range(3))
        cold, cold_first = timed([*condorcap, "--as-of", "2026-07-21"], _env(home, cold_db))
        trivial_s, steady_s, firsts = [], [], []
        for _ in range(args.repeat):  # interleaved, so machine load hits both alike
            trivial_s.append(timed(trivial, _env(home, db))[0])
            shutil.copyfile(cold_db, db)
            wall, first = timed(condorcap, _env(home, db))
            steady_s.append(wall)
            firsts.append(first)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t, s = statistics.median(trivial_s), statistics.median(steady_s)
    print(f"condorcap --help                      {help_s:6.2f} s (best of 3)")
    print(
        f"trivial two-task flow                 {t:6.2f} s wall (median of {args.repeat}: "
        + ", ".join(f"{x:.1f}" for x in trivial_s)
        + ")"
    )
    print(
        f"condorcap run, steady (yesterday run) {s:6.2f} s wall (median of {args.repeat}: "
        + ", ".join(f"{x:.1f}" for x in steady_s)
        + ")"
    )
    print(
        f"  gap to the trivial flow             {s - t:+6.2f} s (target ≤ {TARGET_GAP_S:.0f} s)"
        + ("" if s - t <= TARGET_GAP_S else "  MISSED")
    )
    print(f"  first output line                   {statistics.median(firsts):6.2f} s")
    print(
        f"condorcap run, cold (empty warehouse) {cold:6.2f} s wall (first line {cold_first:.2f} s)"
    )


if __name__ == "__main__":
    main()
