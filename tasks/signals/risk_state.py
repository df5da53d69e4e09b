"""``risk_state`` (SPEC §2): the composite of four other signals' states.

``risk_off`` when any rule fires. ``value`` = number of rules that fired; ``params``
lists them under ``rules`` and names the inputs that could not fire because they were
``stale`` or had ``insufficient`` history; ``input_date`` = the newest input date of its
four inputs. A stale or insufficient input carries a state that matches no rule, so it
fires nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.conventions import SignalState
from tasks.signals.rows import params_json
from tasks.signals.staleness import NS

# names of the risk_state rules, in SPEC order (the sizing step turns them into words)
RISK_RULES: tuple[str, ...] = ("vix_stressed", "backwardation", "bearish_oversold")
RISK_INPUTS: tuple[str, ...] = ("vix_regime", "term_structure", "macd_spx", "rsi_spx")


def _fired(rows: dict[str, pd.DataFrame]) -> np.ndarray:
    """(n_as_of, 3) booleans, one column per rule of :data:`RISK_RULES`."""
    vix = rows["vix_regime"]["state"].to_numpy()
    ts = rows["term_structure"]["state"].to_numpy()
    mac = rows["macd_spx"]["state"].to_numpy()
    rsi = rows["rsi_spx"]["state"].to_numpy()
    return np.column_stack(
        [
            np.isin(vix, [SignalState.STRESSED, SignalState.CRISIS]),
            ts == SignalState.BACKWARDATION,
            np.isin(mac, [SignalState.BEARISH, SignalState.BEARISH_CROSS])
            & (rsi == SignalState.OVERSOLD),
        ]
    )


def risk_state(as_of: np.ndarray, rows: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The ``risk_state`` rows from the rows of its four inputs (keyed by signal name)."""
    fired = _fired(rows)
    inputs = RISK_INPUTS
    inactive = {
        kind: np.column_stack([rows[s]["state"].to_numpy() == flag for s in inputs])
        for kind, flag in (("stale", SignalState.STALE), ("insufficient", SignalState.INSUFFICIENT))
    }
    # few distinct combinations: encode each row's flags as bits, write JSON once per combination
    flags = np.column_stack([fired, inactive["stale"], inactive["insufficient"]])
    codes, inverse = np.unique(flags, axis=0, return_inverse=True)
    texts = [
        params_json(
            rules=[r for r, on in zip(RISK_RULES, c[:3], strict=True) if on],
            stale=[s for s, on in zip(inputs, c[3:7], strict=True) if on],
            insufficient=[s for s, on in zip(inputs, c[7:], strict=True) if on],
        )
        for c in codes
    ]
    n_fired = fired.sum(axis=1).astype(float)
    newest = np.column_stack([rows[s]["input_date"].to_numpy().view("i8") for s in inputs])
    return pd.DataFrame(
        {
            "as_of": as_of,
            "signal": "risk_state",
            "value": n_fired,
            "state": np.where(n_fired > 0, SignalState.RISK_OFF, SignalState.RISK_ON).astype(
                object
            ),
            "params": np.asarray(texts, dtype=object)[inverse.ravel()],
            # NaT is int64's minimum, so the max ignores unknown input dates
            "input_date": newest.max(axis=1).view(NS),
        }
    )
