"""One spec per threshold signal of SPEC §2: what it reads, how it computes, how it classifies.

A :class:`SignalSpec` names the signal, its input series, the indicator computed on their
point-in-time path, the age rule that makes it ``stale``, the parameters written to
``signal_states.params`` and the thresholds that turn a value into a :class:`SignalState`.
A signal with a secondary series (``usd``/``usd_real``, ``ppi``/``ppi_all``) carries a
:class:`Source` as its ``fallback``. :mod:`tasks.signals.evaluate` runs every spec through
one loop; ``fomc_window`` (:mod:`tasks.signals.fomc`) and ``risk_state``
(:mod:`tasks.signals.risk_state`) are not threshold signals and have their own modules.

Conventions (SPEC §2 where it speaks, written down where it is silent)
--------------------------------------------------------------------
- RSI: Wilder smoothing seeded with the simple mean of the first ``n`` gains/losses
  (TA-Lib's convention); 100 when the average loss is 0.
- MACD: the histogram; reported ``insufficient_history`` until ``slow + signal - 1``
  closes exist (TA-Lib's look-back), so a barely-started EMA never drives a state. The
  previous session's histogram is carried to detect a sign change (``*_cross``).
- z-scores: the latest value against the ``window`` values before it (observations: 252
  daily dollar-index rows, 12 monthly rows).
- Month-over-month (quarter-over-quarter) changes are taken between consecutive published
  periods, a missing period bridged geometrically
  (:func:`tasks.signals.indicators.per_period_growth`).
- GDP: ``(G_t / G_{t-1}) ** 4 - 1`` (quarter over quarter, annualised).
- ``term_structure`` = VIX / VIX3M on the newest session where both closes are known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from schemas.config import SignalParams
from tasks.conventions import SignalState as S
from tasks.signals.indicators import macd, per_period_growth, trailing_zscore, wilder_rsi
from tasks.signals.staleness import Staleness, daily_stale, monthly_stale, quarterly_stale

Indicator = Callable[[pd.DataFrame, SignalParams], pd.DataFrame]
"""(epoch path: one column per input series, indexed by date; params) → value column(s)."""
Classify = Callable[[pd.DataFrame, SignalParams], np.ndarray]
"""(picked frame: ``value`` and any extra columns per ``as_of``; params) → state per row."""
Describe = Callable[[SignalParams], dict[str, Any]]
"""params → the parameters written to ``signal_states.params`` (``series`` is added)."""


@dataclass(frozen=True)
class Source:
    """One way to read a signal's value: input series, indicator, age rule, parameters.

    With several ``inputs`` only dates where all are known are used (inner join).
    ``series`` is the name written to ``params`` (default: the inputs joined by ``/``).
    """

    inputs: tuple[str, ...]
    compute: Indicator
    staleness: Staleness
    describe: Describe
    series: str = ""

    @property
    def label(self) -> str:
        return self.series or "/".join(self.inputs)


@dataclass(frozen=True)
class SignalSpec:
    """A threshold signal of SPEC §2.

    ``inputs``/``compute``/``staleness``/``describe`` form the primary :class:`Source`;
    ``fallback`` is read when the primary is stale or empty (rule in
    :func:`tasks.signals.evaluate.use_fallback`). ``columns`` are what ``compute`` returns
    (``value`` first).
    """

    name: str
    inputs: tuple[str, ...]
    compute: Indicator
    classify: Classify
    staleness: Staleness
    describe: Describe
    fallback: Source | None = None
    columns: tuple[str, ...] = ("value",)

    @property
    def primary(self) -> Source:
        return Source(self.inputs, self.compute, self.staleness, self.describe)


def _only(path: pd.DataFrame) -> pd.Series:
    """The single input series of a one-input path."""
    return path.iloc[:, 0]


def _values(v: pd.DataFrame) -> np.ndarray:
    return v["value"].to_numpy()


# --------------------------------------------------------------------------- rsi_spx


def _rsi(path: pd.DataFrame, p: SignalParams) -> pd.DataFrame:
    return pd.DataFrame({"value": wilder_rsi(_only(path), p.rsi_window)})


def _rsi_state(v: pd.DataFrame, p: SignalParams) -> np.ndarray:
    x = _values(v)
    return np.select(
        [x >= p.rsi_overbought, x <= p.rsi_oversold], [S.OVERBOUGHT, S.OVERSOLD], S.NEUTRAL
    )


# --------------------------------------------------------------------------- macd_spx


def _macd(path: pd.DataFrame, p: SignalParams) -> pd.DataFrame:
    hist = macd(_only(path), p.macd_fast, p.macd_slow, p.macd_signal)["hist"]
    warmup = p.macd_slow + p.macd_signal - 1
    enough = np.arange(len(hist)) >= warmup - 1
    return pd.DataFrame({"value": hist.where(enough), "prev": hist.shift(1)})


def _macd_state(v: pd.DataFrame, p: SignalParams) -> np.ndarray:
    h, prev = _values(v), v["prev"].to_numpy()
    return np.select(
        [(h > 0) & (prev <= 0), (h <= 0) & (prev > 0), h > 0],
        [S.BULLISH_CROSS, S.BEARISH_CROSS, S.BULLISH],
        S.BEARISH,
    )


# --------------------------------------------------------------------------- vix_regime


def _level(path: pd.DataFrame, p: SignalParams) -> pd.DataFrame:
    return pd.DataFrame({"value": _only(path)})


def _vix_state(v: pd.DataFrame, p: SignalParams) -> np.ndarray:
    x = _values(v)
    return np.select(
        [x < p.vix_calm, x < p.vix_normal, x < p.vix_stressed],
        [S.CALM, S.NORMAL, S.STRESSED],
        S.CRISIS,
    )


# --------------------------------------------------------------------------- term_structure


def _vix_ratio(path: pd.DataFrame, p: SignalParams) -> pd.DataFrame:
    return pd.DataFrame({"value": path["vix"] / path["vix3m"]})


def _term_state(v: pd.DataFrame, p: SignalParams) -> np.ndarray:
    x = _values(v)
    return np.select([x < p.ts_contango, x < p.ts_flat], [S.CONTANGO, S.FLAT], S.BACKWARDATION)


# --------------------------------------------------------------------------- usd_strength


def _usd_daily(path: pd.DataFrame, p: SignalParams) -> pd.DataFrame:
    return pd.DataFrame({"value": trailing_zscore(_only(path), p.usd_window_sessions)})


def _usd_monthly(path: pd.DataFrame, p: SignalParams) -> pd.DataFrame:
    return pd.DataFrame({"value": trailing_zscore(_only(path), p.usd_window_months)})


def _usd_state(v: pd.DataFrame, p: SignalParams) -> np.ndarray:
    x = _values(v)
    return np.select([x >= p.usd_strong, x <= p.usd_weak], [S.STRONG, S.WEAK], S.NEUTRAL)


# --------------------------------------------------------------------------- ppi, cpi, gdp


def _mom_zscore(window: Callable[[SignalParams], int]) -> Indicator:
    """z-score of the latest month-over-month change vs the ``window`` changes before it."""

    def compute(path: pd.DataFrame, p: SignalParams) -> pd.DataFrame:
        return pd.DataFrame(
            {"value": trailing_zscore(per_period_growth(_only(path), 1), window(p))}
        )

    return compute


def _ppi_state(v: pd.DataFrame, p: SignalParams) -> np.ndarray:
    x = _values(v)
    return np.select([x >= p.ppi_hot, x <= p.ppi_cool], [S.HOT, S.COOL], S.INLINE)


def _cpi_state(v: pd.DataFrame, p: SignalParams) -> np.ndarray:
    return np.where(_values(v) >= p.cpi_shock, S.SHOCK, S.NORMAL)


def _gdp_growth(path: pd.DataFrame, p: SignalParams) -> pd.DataFrame:
    return pd.DataFrame({"value": (1.0 + per_period_growth(_only(path), 3)) ** 4 - 1.0})


def _gdp_state(v: pd.DataFrame, p: SignalParams) -> np.ndarray:
    x = _values(v)
    return np.select([x < 0.0, x < p.gdp_slow], [S.CONTRACTION, S.SLOW], S.EXPANSION)


# --------------------------------------------------------------------------- the table


def _usd_params(window: Callable[[SignalParams], int]) -> Describe:
    return lambda p: {"window": window(p), "strong": p.usd_strong, "weak": p.usd_weak}


def _ppi_params(p: SignalParams) -> dict[str, Any]:
    return {"window": p.ppi_window_months, "hot": p.ppi_hot, "cool": p.ppi_cool}


def _ppi_window(p: SignalParams) -> int:
    return p.ppi_window_months


SPECS: tuple[SignalSpec, ...] = (
    SignalSpec(
        name="rsi_spx",
        inputs=("spx",),
        compute=_rsi,
        classify=_rsi_state,
        staleness=daily_stale,
        describe=lambda p: {
            "n": p.rsi_window,
            "overbought": p.rsi_overbought,
            "oversold": p.rsi_oversold,
        },
    ),
    SignalSpec(
        name="macd_spx",
        inputs=("spx",),
        compute=_macd,
        classify=_macd_state,
        staleness=daily_stale,
        describe=lambda p: {"fast": p.macd_fast, "slow": p.macd_slow, "signal": p.macd_signal},
        columns=("value", "prev"),
    ),
    SignalSpec(
        name="vix_regime",
        inputs=("vix",),
        compute=_level,
        classify=_vix_state,
        staleness=daily_stale,
        describe=lambda p: {"calm": p.vix_calm, "normal": p.vix_normal, "stressed": p.vix_stressed},
    ),
    SignalSpec(
        name="term_structure",
        inputs=("vix", "vix3m"),
        compute=_vix_ratio,
        classify=_term_state,
        staleness=daily_stale,
        describe=lambda p: {"contango": p.ts_contango, "flat": p.ts_flat},
    ),
    # daily `usd` when fresh, else the monthly real broad dollar index `usd_real`
    SignalSpec(
        name="usd_strength",
        inputs=("usd",),
        compute=_usd_daily,
        classify=_usd_state,
        staleness=daily_stale,
        describe=_usd_params(lambda p: p.usd_window_sessions),
        fallback=Source(
            ("usd_real",), _usd_monthly, monthly_stale, _usd_params(lambda p: p.usd_window_months)
        ),
    ),
    # `ppi` (PPIFIS, final demand) when fresh, else `ppi_all` (PPIACO, all commodities)
    SignalSpec(
        name="ppi_surprise",
        inputs=("ppi",),
        compute=_mom_zscore(_ppi_window),
        classify=_ppi_state,
        staleness=monthly_stale,
        describe=_ppi_params,
        fallback=Source(("ppi_all",), _mom_zscore(_ppi_window), monthly_stale, _ppi_params),
    ),
    SignalSpec(
        name="cpi_shock",
        inputs=("cpi",),
        compute=_mom_zscore(lambda p: p.cpi_window_months),
        classify=_cpi_state,
        staleness=monthly_stale,
        describe=lambda p: {"window": p.cpi_window_months, "shock": p.cpi_shock},
    ),
    SignalSpec(
        name="gdp_trend",
        inputs=("gdp_real",),
        compute=_gdp_growth,
        classify=_gdp_state,
        staleness=quarterly_stale,
        describe=lambda p: {"slow": p.gdp_slow},
    ),
)
"""The threshold signals, in :data:`tasks.signals.SIGNALS` order."""
