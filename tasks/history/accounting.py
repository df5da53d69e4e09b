"""Position accounting on the session axis: daily P&L scattered from per-position marks,
sums over open positions, and the event frames' date normalisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from tasks.conventions import MULTIPLIER
from tasks.history.sessions import (
    FloatArray,
    IntArray,
)


def _scatter_position_pnl(
    n: int,
    entry: IntArray,
    marks: FloatArray,
    n_cols: IntArray,
    open_cash: FloatArray,
    close_cash: FloatArray,
    closed: NDArray[np.bool_],
    sign: float,
) -> FloatArray:
    """Daily P&L (USD) of many positions onto the session axis.

    ``marks[k, j]`` is position k's model value (points, per unit) at session
    ``entry[k] + j`` for ``j < n_cols[k]`` (the exit session is column ``n_cols[k] − 1`` when
    ``closed``). ``sign`` = −1 for a liability (a short condor: value is the cost to close),
    +1 for an asset (a hedge). ``open_cash`` / ``close_cash`` are the signed cash flows in
    points (e.g. +C and −X for a condor).

    Entry session: ``open_cash + sign·mark_0``; later sessions ``sign·(mark_j − mark_{j−1})``;
    exit session: ``close_cash − sign·mark_{j−1}``.
    """
    pnl = np.zeros(n)
    if len(entry) == 0:
        return pnl
    cols = np.arange(marks.shape[1])[None, :]
    prev = np.concatenate([np.zeros((len(entry), 1)), marks[:, :-1]], axis=1)
    step = sign * (marks - prev)
    step[:, 0] = open_cash + sign * marks[:, 0]
    last = n_cols - 1
    rows = np.arange(len(entry))
    exit_step = close_cash - sign * prev[rows, last]
    step[rows[closed], last[closed]] = exit_step[closed]
    valid = cols < n_cols[:, None]
    sess = entry[:, None] + cols
    np.add.at(pnl, sess[valid], MULTIPLIER * step[valid])
    return pnl


def _open_span_sum(n: int, entry: IntArray, stop: IntArray, amount: FloatArray) -> FloatArray:
    """Σ amount over positions open at the close of each session: ``entry <= t < stop``."""
    acc = np.zeros(n + 1)
    np.add.at(acc, entry, amount)
    np.add.at(acc, stop, -amount)
    return np.cumsum(acc)[:n]


def _normalise_dates(frame: pd.DataFrame, cols: tuple[str, ...]) -> pd.DataFrame:
    for c in cols:
        frame[c] = pd.to_datetime(frame[c]).astype("datetime64[ns]")
    return frame
