"""The modelled strategy history (SPEC §8): the condor ladder and its ALVH hedge, traded
like an account, and the constant-maturity modelled VIX future of the ``betas`` table.

==============  ========================================================================
module          what it holds
==============  ========================================================================
``ladder``      :func:`model_ladder`, :func:`vix_future_series`, the output layouts;
                its docstring states the trading rules
``condors``     the condor slots: candidates, exits, chained trades, events and P&L
``hedges``      the time-shifted ALVH hedge: units, rolls, events and P&L
``sessions``    the market frame as per-session arrays, and array helpers
``accounting``  daily P&L from per-position marks, sums over open positions
==============  ========================================================================
"""

from tasks.history.ladder import (
    CONDOR_EXTRA_COLUMNS,
    DAILY_COLUMNS,
    HEDGE_EXTRA_COLUMNS,
    LadderHistory,
    model_ladder,
    vix_future_series,
)

__all__ = [
    "CONDOR_EXTRA_COLUMNS",
    "DAILY_COLUMNS",
    "HEDGE_EXTRA_COLUMNS",
    "LadderHistory",
    "model_ladder",
    "vix_future_series",
]
