"""Signal states of SPEC §2: RSI, MACD, volatility regime, term structure, dollar strength,
inflation surprises, growth, the FOMC event window and the composite risk state.

:func:`compute_signals` turns the long observations frame (docs/contracts.md) into one row
per (``as_of``, ``signal``) with ``value``, ``state`` (a :class:`tasks.conventions.SignalState`
value), ``params`` (compact JSON of the parameters used and the series the value came from)
and ``input_date`` (the date of the newest observation used).

==================  ===================================================================
module              what it holds
==================  ===================================================================
``indicators``      Wilder RSI, MACD, trailing z-score, per-period growth (pure series maths)
``point_in_time``   the vintage-epoch engine: what was known at each ``as_of`` (SPEC §1.2)
``staleness``       the maximum-age rules (daily sessions, monthly/quarterly days)
``specs``           one :class:`SignalSpec` per threshold signal (inputs, compute, classify,
                    staleness, params, fallback series)
``fomc``            ``fomc_window`` (calendar events, not a series path)
``risk_state``      the composite ``risk_state`` rules
``evaluate``        the loop over the specs, the fallback rule, :func:`compute_signals`
==================  ===================================================================

Rows with ``value`` NaN ("recorded missing") carry no number: the observation date is
left out of the series (a later non-missing revision brings it in).
"""

from tasks.signals.evaluate import SIGNALS, compute_signals, evaluate_spec
from tasks.signals.indicators import macd, per_period_growth, trailing_zscore, wilder_rsi
from tasks.signals.point_in_time import point_in_time
from tasks.signals.risk_state import RISK_RULES
from tasks.signals.rows import OUTPUT_COLUMNS
from tasks.signals.specs import SPECS, SignalSpec, Source

__all__ = [
    "OUTPUT_COLUMNS",
    "RISK_RULES",
    "SIGNALS",
    "SPECS",
    "SignalSpec",
    "Source",
    "compute_signals",
    "evaluate_spec",
    "macd",
    "per_period_growth",
    "point_in_time",
    "trailing_zscore",
    "wilder_rsi",
]
