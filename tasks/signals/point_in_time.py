"""Point-in-time reading of the observations (SPEC §1.2): what was known at each ``as_of``.

The value for ``as_of`` uses only rows with ``available_at <= as_of``. The engine
(:func:`pick`) splits time into *vintage epochs*: a new epoch starts at every
``available_at`` on which an already-published observation date gets a different value
(a revision). Inside one epoch the information set only grows by appending first
publications, so the indicator is computed once on the epoch's final series and each
``as_of`` in the epoch takes the value at the newest observation date whose whole history
is known by then (``pd.merge_asof``-style search on the running maximum of
``available_at``). Market series without revisions form one epoch; revised macro series a
few hundred at most. This is exact, with one conservative choice: an observation
published *before* an earlier date's first row (out-of-order publication) is used only
once the gap is filled, so a series is always read as a gap-free prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tasks.signals.staleness import NS, session_array

OBS_COLUMNS: tuple[str, ...] = ("series_id", "date", "value", "available_at")
NAT = np.datetime64("NaT", "ns")
_END_OF_TIME = np.datetime64("2262-04-11", "ns")  # beyond every session, within ns range

Compute = Callable[[pd.DataFrame], pd.DataFrame]
"""An indicator over an epoch's path: a frame indexed by date, one column per input series
(no NaN), mapped to a frame on the same index with the signal's value column(s)."""


def _check_obs(obs: pd.DataFrame) -> None:
    missing = [c for c in OBS_COLUMNS if c not in obs.columns]
    if missing:
        raise ValueError(f"observations frame lacks column(s): {', '.join(missing)}")


def to_ns(values: Any) -> np.ndarray:
    """Dates as tz-naive ``datetime64[ns]`` at midnight."""
    idx = pd.DatetimeIndex(pd.to_datetime(values))
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    return idx.normalize().astype(NS).to_numpy()


def point_in_time(obs: pd.DataFrame, series_id: str, as_of: object) -> pd.Series:
    """The series ``series_id`` as it was known at ``as_of``.

    Rows with ``available_at <= as_of`` only; for each observation date the latest such
    row (the newest vintage). Recorded-missing values stay NaN.

    Returns
    -------
    pd.Series
        Values indexed by observation ``date`` (ascending), named ``series_id``.
    """
    _check_obs(obs)
    cutoff = to_ns([as_of])[0]
    rows = obs.loc[obs["series_id"] == series_id, ["date", "value", "available_at"]]
    rows = rows.assign(date=to_ns(rows["date"]), available_at=to_ns(rows["available_at"]))
    rows = rows[rows["available_at"] <= cutoff]
    rows = rows.sort_values(["date", "available_at"], kind="stable")
    rows = rows.drop_duplicates("date", keep="last")
    return pd.Series(
        rows["value"].to_numpy(dtype=float),
        index=pd.DatetimeIndex(rows["date"], name="date"),
        name=series_id,
    )


def prepare(obs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split the observations by series: sorted by (date, available_at), with repeated
    identical versions of a date removed (a re-ingested unchanged value is not a revision)
    and each remaining later version flagged ``revision``."""
    _check_obs(obs)
    frame = pd.DataFrame(
        {
            "series_id": obs["series_id"].to_numpy(),
            "date": to_ns(obs["date"]),
            "value": pd.to_numeric(obs["value"], errors="coerce").to_numpy(dtype=float),
            "available_at": to_ns(obs["available_at"]),
        }
    )
    frame = frame.sort_values(["series_id", "date", "available_at"], kind="stable")
    same_key = (frame["series_id"] == frame["series_id"].shift()) & (
        frame["date"] == frame["date"].shift()
    )
    prev = frame["value"].shift()
    same_value = (frame["value"] == prev) | (frame["value"].isna() & prev.isna())
    frame = frame[~(same_key & same_value)]
    frame = frame.assign(
        revision=(frame["series_id"] == frame["series_id"].shift())
        & (frame["date"] == frame["date"].shift())
    )
    return {
        str(sid): g.drop(columns="series_id").reset_index(drop=True)
        for sid, g in frame.groupby("series_id", sort=False)
    }


def pick(
    groups: dict[str, pd.DataFrame],
    series_ids: Sequence[str],
    as_of: np.ndarray,
    compute: Compute,
    columns: Sequence[str],
) -> pd.DataFrame:
    """Compute an indicator once per vintage epoch and pick its value at each ``as_of``.

    Parameters
    ----------
    groups : dict
        Output of :func:`prepare`.
    series_ids : sequence of str
        Input series; with several, only dates where all are known are used (inner join),
        and a date is known once the last of its inputs is.
    as_of : np.ndarray
        Sorted ``datetime64[ns]`` sessions.
    compute : callable
        Maps the epoch's series (DataFrame indexed by date, one column per series id, no
        NaN) to a DataFrame with the same index and the given ``columns``.

    Returns
    -------
    pd.DataFrame
        One row per ``as_of`` (positional index): ``input_date`` (NaT when nothing is
        known yet) and ``columns`` (NaN when nothing is known yet).
    """
    n = len(as_of)
    out: dict[str, np.ndarray] = {c: np.full(n, np.nan) for c in columns}
    input_date = np.full(n, NAT)
    frames = [groups.get(s) for s in series_ids]
    if n == 0 or any(f is None or f.empty for f in frames):
        return pd.DataFrame({"input_date": input_date, **out})

    revision_times = np.unique(
        np.concatenate([f.loc[f["revision"], "available_at"].to_numpy() for f in frames])
    )
    # epoch k covers [revision_times[k-1], revision_times[k]); epoch 0 starts at -inf
    epoch_of = np.searchsorted(revision_times, as_of, side="right")
    for k in np.unique(epoch_of):
        end = revision_times[k] if k < len(revision_times) else _END_OF_TIME
        values, known = [], []
        for sid, f in zip(series_ids, frames, strict=True):
            state = f[f["available_at"] < end].drop_duplicates("date", keep="last")
            state = state[state["value"].notna()]
            index = pd.DatetimeIndex(state["date"])
            values.append(pd.Series(state["value"].to_numpy(), index=index, name=sid))
            known.append(pd.Series(state["available_at"].to_numpy(), index=index, name=sid))
        path = pd.concat(values, axis=1, join="inner")
        if path.empty:
            continue
        known_at = pd.concat(known, axis=1, join="inner").max(axis=1).to_numpy().astype(NS)
        # a date is usable once it and every earlier date are known: running maximum
        known_at = np.maximum.accumulate(known_at)
        result = compute(path)
        sel = np.flatnonzero(epoch_of == k)
        pos = np.searchsorted(known_at, as_of[sel], side="right") - 1
        hit = pos >= 0
        rows, at = sel[hit], pos[hit]
        input_date[rows] = path.index.to_numpy().astype(NS)[at]
        for c in columns:
            out[c][rows] = result[c].to_numpy(dtype=float)[at]
    return pd.DataFrame({"input_date": input_date, **out})


def as_of_array(as_of: pd.DatetimeIndex | Sequence | object) -> np.ndarray:
    """Sorted unique ``datetime64[ns]`` sessions; a non-session ``as_of`` is an error."""
    if isinstance(as_of, str) or not isinstance(
        as_of, Sequence | np.ndarray | pd.Index | pd.Series
    ):
        as_of = [as_of]
    days = np.unique(to_ns(as_of))
    if np.isnat(days).any():
        raise ValueError("as_of contains a missing date")
    not_sessions = days[~np.isin(days, session_array())]
    if len(not_sessions):
        shown = ", ".join(str(d)[:10] for d in not_sessions[:5])
        raise ValueError(f"as_of must be NYSE sessions; not sessions: {shown}")
    return days
