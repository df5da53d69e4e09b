"""The modelled strategy history (SPEC §8): the condor ladder and its ALVH hedge, traded
like an account (:mod:`tasks.history.ladder`, whose docstring describes the trading rules),
and the constant-maturity modelled VIX future of the ``betas`` table."""

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
