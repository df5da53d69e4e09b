"""SPEC §12: the model surface checked against Cboe's CNDR index (replication and fit figures)."""

from tasks.validation.check import cndr_months, roll_sessions
from tasks.validation.cndr import (
    CndrFormatError,
    index_excess_returns,
    monthly_expiries,
    parse_cndr,
)
from tasks.validation.fit import (
    TrackingFigures,
    cumulative,
    figures_by_year,
    tracking_figures,
)
from tasks.validation.replication import condor_months

__all__ = [
    "CndrFormatError",
    "TrackingFigures",
    "cndr_months",
    "condor_months",
    "cumulative",
    "figures_by_year",
    "index_excess_returns",
    "monthly_expiries",
    "parse_cndr",
    "roll_sessions",
    "tracking_figures",
]
