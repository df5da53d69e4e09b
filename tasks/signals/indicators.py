"""The indicators of SPEC §2 as plain functions of a series: Wilder RSI, MACD, trailing
z-scores and per-period growth. They know nothing of vintages or staleness; the signal
specs (:mod:`tasks.signals.specs`) apply them to point-in-time paths."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _wilder_smooth(x: np.ndarray, n: int) -> np.ndarray:
    """Wilder's running average of ``x``: seed = mean of the first ``n`` values, then
    ``avg_t = (avg_{t-1}·(n-1) + x_t) / n``. Returns ``len(x) - n + 1`` values, the first
    aligned with ``x[n-1]``.

    The recursion is an exponential average with ``alpha = 1/n`` started at the seed:
    pandas' ``ewm(adjust=False)`` runs it in C (bit-identical to ``scipy.signal.lfilter``
    with ``zi = a·seed``, without the second of import time scipy.signal costs a run).
    """
    seed = x[:n].mean()
    path = pd.Series(np.concatenate(([seed], x[n:])))
    return path.ewm(alpha=1.0 / n, adjust=False).mean().to_numpy()


def wilder_rsi(close: pd.Series, n: int) -> pd.Series:
    """Wilder RSI of ``close`` with window ``n`` (SPEC §2, TA-Lib's convention).

    ``d_t = P_t - P_{t-1}``; the first average gain/loss is the simple mean of the first
    ``n`` gains/losses; then ``avg_t = (avg_{t-1}·(n-1) + x_t)/n``;
    ``RSI = 100 - 100/(1 + avg_gain/avg_loss)``, 100 when ``avg_loss`` is 0.

    Parameters
    ----------
    close : pd.Series
        Closes in time order. NaN entries are skipped (the RSI runs over the non-missing
        closes) and are NaN in the result.
    n : int
        Window (SPEC default 30, ``SignalParams.rsi_window``).

    Returns
    -------
    pd.Series
        Same index as ``close``; NaN for the first ``n`` closes (no full window yet).
    """
    if n < 1:
        raise ValueError(f"RSI window must be >= 1, got {n}")
    valid = close.dropna()
    p = valid.to_numpy(dtype=float)
    out = np.full(p.shape, np.nan)
    if len(p) > n:
        d = np.diff(p)
        avg_gain = _wilder_smooth(np.maximum(d, 0.0), n)
        avg_loss = _wilder_smooth(np.maximum(-d, 0.0), n)
        with np.errstate(divide="ignore", invalid="ignore"):
            rsi = 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
        out[n:] = np.where(avg_loss == 0.0, 100.0, rsi)
    return pd.Series(out, index=valid.index, name=close.name).reindex(close.index)


def macd(close: pd.Series, fast: int, slow: int, signal: int) -> pd.DataFrame:
    """MACD of SPEC §2: EMAs with ``alpha = 2/(span+1)`` started at the first close, no bias
    adjustment (``ewm(span, adjust=False)``).

    Returns
    -------
    pd.DataFrame
        Columns ``macd`` (EMA_fast − EMA_slow), ``signal`` (EMA_signal of ``macd``) and
        ``hist`` (``macd − signal``), same index as ``close``. The values exist from the
        first close (NaN closes are skipped and NaN in the result); the ``macd_spx`` spec
        applies the warm-up rule.
    """
    valid = close.dropna().astype(float)
    line = valid.ewm(span=fast, adjust=False).mean() - valid.ewm(span=slow, adjust=False).mean()
    sig = line.ewm(span=signal, adjust=False).mean()
    out = pd.DataFrame({"macd": line, "signal": sig, "hist": line - sig}, index=valid.index)
    return out.reindex(close.index)


def trailing_zscore(x: pd.Series, window: int) -> pd.Series:
    """z-score of each value against the ``window`` values before it (SPEC §2).

    ``z_t = (x_t − mean(x_{t−w..t−1})) / std(x_{t−w..t−1}, ddof=1)``: the window ends
    *before* the value it scores. NaN until ``window`` earlier values exist, and where the
    window's std is 0 (undefined).
    """
    if window < 2:
        raise ValueError(f"a z-score needs a window of at least 2 values, got {window}")
    prior = x.astype(float).shift(1).rolling(window, min_periods=window)
    mean = prior.mean()
    std = prior.std(ddof=1)
    z = (x - mean) / std.where(std > 0.0)
    return z.rename(x.name)


def per_period_growth(level: pd.Series, months_per_period: int) -> pd.Series:
    """Growth per period between consecutive published periods of a monthly/quarterly
    series indexed by period-start dates; a gap of ``k`` periods is bridged geometrically,
    ``(P_t/P_prev)**(1/k) − 1``, so a missing month does not blank the whole window."""
    idx = pd.DatetimeIndex(level.index)
    month_no = idx.year.to_numpy() * 12 + idx.month.to_numpy()
    periods = np.diff(month_no, prepend=month_no[:1] if len(month_no) else month_no)
    k = periods / months_per_period
    p = level.to_numpy(dtype=float)
    ratio = np.full(p.shape, np.nan)
    if len(p) > 1:
        ratio[1:] = p[1:] / p[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(k > 0, ratio ** (1.0 / np.where(k > 0, k, 1.0)) - 1.0, np.nan)
    return pd.Series(growth, index=level.index, name=level.name)
