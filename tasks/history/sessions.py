"""The market frame as arrays, one entry per session, and the array helpers the ladder's
condor and hedge paths share (calendar day numbers, forward fills, next-true search)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from tasks.market.surface import VolTerm

FloatArray = NDArray[np.float64]


IntArray = NDArray[np.int64]


_TERM_COLUMNS = ("vix9d", "vix", "vix3m", "vix6m")


@dataclass(frozen=True)
class _Market:
    """The market frame as arrays, one entry per session."""

    dates: pd.DatetimeIndex
    day: IntArray  # calendar day numbers (days since 1970-01-01)
    spot: FloatArray
    spot_ffill: FloatArray  # last known SPX close (expiry settlement on a gap day)
    rate: FloatArray
    term: VolTerm  # fields of shape (n,)
    vix_ffill: FloatArray
    vvix: FloatArray
    complete: NDArray[np.bool_]  # SPX, VIX and the rate all known

    @property
    def n(self) -> int:
        return len(self.dates)


def _market_arrays(market: pd.DataFrame, start: object, end: object) -> _Market:
    frame = market.sort_index()
    frame = frame.loc[
        (pd.Timestamp(start) if start is not None else frame.index.min()) : (
            pd.Timestamp(end) if end is not None else frame.index.max()
        )
    ]
    col = {c: frame[c].to_numpy(dtype=float) for c in ("spx", "vix", "r", *_TERM_COLUMNS, "vvix")}
    complete = np.isfinite(col["spx"]) & np.isfinite(col["vix"]) & np.isfinite(col["r"])
    # drop trailing sessions without a complete market: nothing can be marked on them
    last = np.flatnonzero(complete)
    frame = frame.iloc[: (last[-1] + 1 if len(last) else 0)]
    col = {k: v[: len(frame)] for k, v in col.items()}
    complete = complete[: len(frame)]
    dates = pd.DatetimeIndex(frame.index).normalize()
    return _Market(
        dates=dates,
        day=_day_numbers(dates),
        spot=col["spx"],
        spot_ffill=pd.Series(col["spx"]).ffill().to_numpy(),
        rate=col["r"],
        term=VolTerm(col["vix9d"], col["vix"], col["vix3m"], col["vix6m"]),
        vix_ffill=pd.Series(col["vix"]).ffill().to_numpy(),
        vvix=col["vvix"],
        complete=complete,
    )


def _day_numbers(dates: pd.DatetimeIndex | pd.Series) -> IntArray:
    """Calendar day numbers, so DTE arithmetic is integer subtraction."""
    return np.asarray(pd.DatetimeIndex(dates).values.astype("datetime64[D]").astype(np.int64))


def _term_at(term: VolTerm, idx: NDArray[np.integer]) -> VolTerm:
    return term.map(lambda v: v[idx])


def _ffill_along_rows(values: FloatArray) -> FloatArray:
    """Forward-fill NaNs along axis 1 (column 0 must be finite)."""
    ok = np.isfinite(values)
    pos = np.where(ok, np.arange(values.shape[1])[None, :], 0)
    np.maximum.accumulate(pos, axis=1, out=pos)
    return np.take_along_axis(values, pos, axis=1)


def _next_true(mask: NDArray[np.bool_]) -> IntArray:
    """``out[j]`` = the first index ``i >= j`` with ``mask[i]``; ``len(mask)`` when none."""
    n = len(mask)
    idx = np.where(mask, np.arange(n), n)
    return np.minimum.accumulate(idx[::-1])[::-1] if n else idx.astype(np.int64)
