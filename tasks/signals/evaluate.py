"""The loop that evaluates every signal of SPEC §2 for every ``as_of`` session.

Each indicator is computed once over the whole series and the value for each ``as_of``
is *picked* (:func:`tasks.signals.point_in_time.pick`), never recomputed per day, so the
same code serves the daily flow (one ``as_of``) and the backfill (every session since 1990).

Primary/secondary series (``usd``/``usd_real``, ``ppi``/``ppi_all``): the primary is used
when it is fresh and has a value; else the secondary when it is fresh and has a value;
when neither is usable the one with the newer ``input_date`` is reported (primary on
ties), so a stale signal still shows the most recent information.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
import pandas as pd

from schemas.config import SignalParams
from tasks.signals.fomc import fomc_window
from tasks.signals.point_in_time import as_of_array, pick, prepare
from tasks.signals.risk_state import risk_state
from tasks.signals.rows import OUTPUT_COLUMNS, finish, params_json
from tasks.signals.specs import SPECS, SignalSpec, Source

SIGNALS: tuple[str, ...] = (*(s.name for s in SPECS), "fomc_window", "risk_state")
"""Every signal, in the order of the output rows."""


def use_fallback(
    primary: pd.DataFrame,
    primary_stale: np.ndarray,
    fallback: pd.DataFrame,
    fallback_stale: np.ndarray,
) -> np.ndarray:
    """True where the secondary series should be used (see the module notes)."""
    has_p = primary["value"].notna().to_numpy()
    has_f = fallback["value"].notna().to_numpy()
    usable_p = has_p & ~primary_stale
    usable_f = has_f & ~fallback_stale
    in_p = primary["input_date"].to_numpy()
    in_f = fallback["input_date"].to_numpy()
    fallback_newer = has_f & (~has_p | (in_f > in_p))
    return (~usable_p & usable_f) | (~usable_p & ~usable_f & fallback_newer)


def _combine(use_fb: np.ndarray, primary: pd.DataFrame, fallback: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "input_date": np.where(
                use_fb, fallback["input_date"].to_numpy(), primary["input_date"].to_numpy()
            ),
            "value": np.where(use_fb, fallback["value"], primary["value"]),
        }
    )


def _read(
    source: Source,
    columns: Sequence[str],
    groups: dict[str, pd.DataFrame],
    days: np.ndarray,
    p: SignalParams,
) -> tuple[pd.DataFrame, np.ndarray, str]:
    """One source's picked values, staleness and params JSON at every ``as_of``."""
    picked = pick(groups, source.inputs, days, partial(source.compute, p=p), columns)
    stale = source.staleness(picked, days, p)
    return picked, stale, params_json(**source.describe(p), series=source.label)


def evaluate_spec(
    spec: SignalSpec, groups: dict[str, pd.DataFrame], days: np.ndarray, p: SignalParams
) -> pd.DataFrame:
    """The rows of one threshold signal at every ``as_of`` in ``days``."""
    picked, stale, params = _read(spec.primary, spec.columns, groups, days, p)
    if spec.fallback is not None:
        fb, fb_stale, fb_params = _read(spec.fallback, spec.columns, groups, days, p)
        use_fb = use_fallback(picked, stale, fb, fb_stale)
        picked = _combine(use_fb, picked, fb)
        stale = np.where(use_fb, fb_stale, stale)
        params = np.where(use_fb, fb_params, params).astype(object)
    value = picked["value"].to_numpy()
    return finish(days, spec.name, picked, value, spec.classify(picked, p), stale, params)


def compute_signals(
    obs: pd.DataFrame, as_of: pd.DatetimeIndex | Sequence, params: SignalParams
) -> pd.DataFrame:
    """Signal states of SPEC §2 for every ``as_of`` session, point-in-time.

    Parameters
    ----------
    obs : pd.DataFrame
        Long observations frame (docs/contracts.md): ``series_id, date, value,
        available_at`` (``source`` and other columns are ignored). Series read: ``spx``,
        ``vix``, ``vix3m``, ``usd`` (fallback ``usd_real``), ``ppi`` (fallback ``ppi_all``),
        ``cpi``, ``gdp_real``, ``fomc``.
    as_of : DatetimeIndex or sequence of dates
        NYSE sessions: one (daily flow) or thousands (backfill). Duplicates are dropped.
    params : SignalParams
        Windows, thresholds and maximum ages.

    Returns
    -------
    pd.DataFrame
        Columns ``as_of, signal, value, state, params, input_date``; one row per
        (``as_of``, ``signal``), sorted by ``as_of`` then :data:`SIGNALS` order.

    Raises
    ------
    ValueError
        If ``obs`` lacks a column or an ``as_of`` is not an NYSE session.
    """
    days = as_of_array(as_of)
    groups = prepare(obs)
    rows = {spec.name: evaluate_spec(spec, groups, days, params) for spec in SPECS}
    rows["fomc_window"] = fomc_window(groups, days, params)
    rows["risk_state"] = risk_state(days, rows)
    out = pd.concat([rows[s] for s in SIGNALS], ignore_index=True)
    out = out.sort_values("as_of", kind="stable", ignore_index=True)
    return out[list(OUTPUT_COLUMNS)]
