"""Small helpers the risk modules share (private to :mod:`tasks.risk`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

EPS = np.finfo(float).eps
"""Machine epsilon: the scale of the relative tolerances in betas, XIRR and weights."""


def check_index(index: pd.Index, name: str) -> None:
    """Dates must be unique and ascending (a regression or a return needs an order)."""
    if not index.is_unique:
        raise ValueError(f"{name} has duplicate dates")
    if not index.is_monotonic_increasing:
        raise ValueError(f"{name} dates are not in ascending order")


def scalar_or_array(a: np.ndarray) -> np.ndarray | float:
    """A 0-d result as a Python float, anything else as the array."""
    return float(a) if np.ndim(a) == 0 else a
