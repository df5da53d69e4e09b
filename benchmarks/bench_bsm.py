"""Benchmark: the project's vectorised ``bsm`` vs a bare numpy formula vs a QuantLib loop.

Run with ``.venv/bin/python benchmarks/bench_bsm.py [n_options]`` (default 100,000).

- ``bare numpy``: the textbook BSM price formula in a few numpy lines (price only), the
  floor any vectorised implementation can hope for.
- ``bsm(greeks=False)``: the project's price-only path (same work plus T → 0 handling).
- ``bsm(greeks=True)``: price, delta, gamma, vega, theta.
- ``QuantLib loop``: one ``BlackScholesMertonProcess`` + ``AnalyticEuropeanEngine`` option
  per row, as a per-option library loop would be written. Skipped with a note when
  QuantLib is not installed (``pip install QuantLib``).

Prices are checked against each other (max absolute difference) before timings print.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.special import ndtr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.market.pricing import bsm


def random_options(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Random but realistic SPX-like options."""
    rng = np.random.default_rng(seed)
    S = rng.uniform(3000.0, 6000.0, n)
    return {
        "S": S,
        "K": S * rng.uniform(0.7, 1.3, n),
        "T": rng.integers(1, 366, n) / 365.0,
        "r": rng.uniform(0.0, 0.06, n),
        "q": rng.uniform(0.0, 0.03, n),
        "sigma": rng.uniform(0.08, 0.6, n),
        "is_call": rng.random(n) < 0.5,
    }


def bare_numpy_price(S, K, T, r, q, sigma, is_call):
    """The textbook formula, no guards: the reference floor for a vectorised price.

    The call is priced with two ``ndtr`` calls and the put by put–call parity, the
    cheapest way to price mixed calls and puts (``ndtr`` dominates the cost).
    """
    sqrt_t = np.sqrt(T)
    vol_sqrt_t = sigma * sqrt_t
    d1 = (np.log(S / K) + (r - q) * T) / vol_sqrt_t + 0.5 * vol_sqrt_t
    s_dq = S * np.exp(-q * T)
    k_dr = K * np.exp(-r * T)
    call = s_dq * ndtr(d1) - k_dr * ndtr(d1 - vol_sqrt_t)
    return np.where(is_call, call, call - s_dq + k_dr)


def quantlib_loop(S, K, T, r, q, sigma, is_call):
    """Per-option QuantLib pricing (flat curves, analytic European engine)."""
    import QuantLib as ql

    today = ql.Date(6, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot = ql.SimpleQuote(0.0)
    rq, qq, vq = ql.SimpleQuote(0.0), ql.SimpleQuote(0.0), ql.SimpleQuote(0.0)
    r_ts = ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(rq), dc))
    q_ts = ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(qq), dc))
    v_ts = ql.BlackVolTermStructureHandle(
        ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(vq), dc)
    )
    process = ql.BlackScholesMertonProcess(ql.QuoteHandle(spot), q_ts, r_ts, v_ts)
    engine = ql.AnalyticEuropeanEngine(process)
    out = np.empty(len(S))
    days = np.rint(T * 365.0).astype(int)
    for i in range(len(S)):  # the per-option loop is the point of this comparison
        spot.setValue(float(S[i]))
        rq.setValue(float(r[i]))
        qq.setValue(float(q[i]))
        vq.setValue(float(sigma[i]))
        kind = ql.Option.Call if is_call[i] else ql.Option.Put
        opt = ql.EuropeanOption(
            ql.PlainVanillaPayoff(kind, float(K[i])), ql.EuropeanExercise(today + int(days[i]))
        )
        opt.setPricingEngine(engine)
        out[i] = opt.NPV()
    return out


def quantlib_loop_naive(S, K, T, r, q, sigma, is_call):
    """Per-option QuantLib pricing written the tutorial way: curves and process per option."""
    import QuantLib as ql

    today = ql.Date(6, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    out = np.empty(len(S))
    days = np.rint(T * 365.0).astype(int)
    for i in range(len(S)):  # the per-option loop is the point of this comparison
        r_ts = ql.YieldTermStructureHandle(ql.FlatForward(today, float(r[i]), dc))
        q_ts = ql.YieldTermStructureHandle(ql.FlatForward(today, float(q[i]), dc))
        v_ts = ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(today, ql.NullCalendar(), float(sigma[i]), dc)
        )
        process = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(ql.SimpleQuote(float(S[i]))), q_ts, r_ts, v_ts
        )
        kind = ql.Option.Call if is_call[i] else ql.Option.Put
        opt = ql.EuropeanOption(
            ql.PlainVanillaPayoff(kind, float(K[i])), ql.EuropeanExercise(today + int(days[i]))
        )
        opt.setPricingEngine(ql.AnalyticEuropeanEngine(process))
        out[i] = opt.NPV()
    return out


def best_time(func: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Best wall time of ``repeat`` runs (the minimum is the least noisy estimate)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main(n: int = 100_000) -> None:
    o = random_options(n)
    args = (o["S"], o["K"], o["T"], o["r"], o["q"], o["sigma"], o["is_call"])
    rows: list[tuple[str, float, float]] = []

    t_bare, p_bare = best_time(lambda: bare_numpy_price(*args), 30)
    t_fast, g_fast = best_time(lambda: bsm(*args, greeks=False), 30)
    t_full, g_full = best_time(lambda: bsm(*args), 30)
    p_fast = g_fast.price  # type: ignore[union-attr]
    p_full = g_full.price  # type: ignore[union-attr]
    rows.append(("bare numpy (price only)", t_bare, 0.0))
    rows.append(("bsm(greeks=False)", t_fast, float(np.max(np.abs(p_fast - p_bare)))))
    rows.append(("bsm(greeks=True)", t_full, float(np.max(np.abs(p_full - p_bare)))))

    try:
        import QuantLib  # noqa: F401

        has_ql = True
    except ImportError:
        has_ql = False
    t_ql = t_qln = float("nan")
    if has_ql:
        t_ql, p_ql = best_time(lambda: quantlib_loop(*args), 1)
        rows.append(("QuantLib loop (reused engine)", t_ql, float(np.max(np.abs(p_ql - p_bare)))))  # type: ignore[operator]
        t_qln, p_qln = best_time(lambda: quantlib_loop_naive(*args), 1)
        rows.append(("QuantLib loop (per-option)", t_qln, float(np.max(np.abs(p_qln - p_bare)))))  # type: ignore[operator]

    print(f"BSM benchmark, {n:,} random European options (best of repeated runs)\n")
    print(f"{'method':<32}{'seconds':>12}{'µs/option':>12}{'max |Δprice| vs bare':>24}")
    for name, t, diff in rows:
        print(f"{name:<32}{t:>12.5f}{t / n * 1e6:>12.3f}{diff:>24.2e}")
    print()
    print(f"bsm(greeks=False) / bare numpy : {t_fast / t_bare:6.2f}×  (target ≤ 2×)")
    print(f"bsm(greeks=True)  / bare numpy : {t_full / t_bare:6.2f}×  (price + 4 greeks)")
    if has_ql:
        print(
            f"QuantLib reused-engine loop / bsm(greeks=False): {t_ql / t_fast:6.0f}×  (target ≥ 500×)"
        )
        print(f"QuantLib reused-engine loop / bsm(greeks=True) : {t_ql / t_full:6.0f}×")
        print(f"QuantLib per-option loop    / bsm(greeks=False): {t_qln / t_fast:6.0f}×")
        print(f"QuantLib per-option loop    / bsm(greeks=True) : {t_qln / t_full:6.0f}×")
    else:
        print(
            "QuantLib not installed: the per-option loop comparison was skipped "
            "(pip install QuantLib to include it)."
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
