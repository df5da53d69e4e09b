"""Assembling ``signal_states`` rows: one frame per signal, the data-quality states applied."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from tasks.conventions import SignalState
from tasks.signals.staleness import NS

OUTPUT_COLUMNS: tuple[str, ...] = ("as_of", "signal", "value", "state", "params", "input_date")


def params_json(**items: Any) -> str:
    """Compact JSON of a signal's parameters (the ``signal_states.params`` column)."""
    return json.dumps(items, separators=(",", ":"))


def finish(
    as_of: np.ndarray,
    signal: str,
    picked: pd.DataFrame,
    value: np.ndarray,
    state: np.ndarray,
    stale: np.ndarray,
    params: str | np.ndarray,
) -> pd.DataFrame:
    """One signal's rows: ``insufficient_history`` where the value is NaN, ``stale`` where
    the input is too old, the threshold state otherwise.

    A signal without enough history (or with no data at all yet) has ``value`` NaN and
    state ``insufficient_history``; a stale one keeps its value and has state ``stale``.
    States are written as plain strings (the enum's values).
    """
    value = np.asarray(value, dtype=float)
    final = np.where(
        np.isnan(value),
        SignalState.INSUFFICIENT,
        np.where(stale, SignalState.STALE, state),
    )
    return pd.DataFrame(
        {
            "as_of": as_of,
            "signal": signal,
            "value": value,
            "state": final.astype(object),
            "params": params,
            "input_date": picked["input_date"].to_numpy().astype(NS),
        }
    )
