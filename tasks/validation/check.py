"""One CNDR check: the modelled months beside the index's, over a range of expiries (SPEC §12)."""

from __future__ import annotations

import pandas as pd

from schemas.config import PricingParams, ValidationParams
from tasks.validation.cndr import index_excess_returns, monthly_expiries
from tasks.validation.replication import condor_months

# a month opens on the previous monthly expiry: at most five weeks before its own
_ENTRY_LOOKBACK = pd.Timedelta(days=40)


def roll_sessions(start: object, end: object) -> pd.DatetimeIndex:
    """The roll sessions needed for every month whose expiry lies in ``[start, end]``."""
    start_ts = pd.Timestamp(start)
    rolls = monthly_expiries(start_ts - _ENTRY_LOOKBACK, end)
    first = max(int(rolls.searchsorted(start_ts, side="left")) - 1, 0)
    return rolls[first:]


def cndr_months(
    frame: pd.DataFrame,
    cndr: pd.Series,
    start: object,
    end: object,
    pricing: PricingParams,
    rules: ValidationParams,
) -> pd.DataFrame:
    """Model and index month by month, for the months expiring in ``[start, end]``.

    Parameters
    ----------
    frame : point-in-time market frame holding (at least) every roll session.
    cndr : CNDR closes (``parse_cndr``).
    start, end : range of expiry dates (a month belongs to the year it settles in, so
        consecutive ranges never share a month).
    pricing, rules : see :func:`tasks.validation.replication.condor_months`.

    Returns
    -------
    DataFrame
        The columns of ``condor_months`` plus ``index_return``, ``bill_return`` and
        ``index_excess``; months the model cannot price are absent, months the index file
        does not cover have NaN index columns.
    """
    rolls = roll_sessions(start, end)
    months = condor_months(frame, rolls, pricing, rules)
    months = months[
        (months["expiry"] >= pd.Timestamp(start)) & (months["expiry"] <= pd.Timestamp(end))
    ].reset_index(drop=True)
    index = index_excess_returns(
        cndr,
        pd.DatetimeIndex(months["entry"]),
        pd.DatetimeIndex(months["expiry"]),
        months["rate"].to_numpy(),
    )
    return pd.concat([months, index], axis=1)
