"""Contracts of the output tables: one pandera model per derived table (SPEC §9).

The warehouse checks every frame against its table's model before writing it
(:func:`check_table`), so a method bug that would store a wrong category, a negative
contract count or a missing key fails the run with one line naming the table and the
column, instead of landing in the warehouse. The categorical columns are also guarded
by CHECK constraints in the database (migration ``003_checks``); the vocabularies here
and there are the same lists (a test keeps them, and :class:`tasks.conventions.SignalState`,
in step — ``schemas/`` may not import ``tasks/``).

The models check, they do not convert: ``coerce`` is on so a date column read back as
``datetime64[us]`` or an integer count held as a float passes when its values fit the
column's type, but the frame written is the caller's, unchanged.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

#: ``daily_sizing.kind`` / ``sizing_positions.kind``
POSITION_KINDS: tuple[str, ...] = ("condor", "hedge")
#: ``daily_sizing.put_call`` (NULL for a leg that is not an option)
PUT_CALL: tuple[str, ...] = ("P", "C")
#: ``daily_sizing.pricing_source`` / ``sizing_positions.pricing_source``
PRICING_SOURCES: tuple[str, ...] = ("chain", "model")
#: ``signal_states.state``: the values of ``tasks.conventions.SignalState``, and the states
#: ``tasks.signals`` emits as literals that are not yet members of that enum (the MACD
#: crossings, GDP's "slow")
SIGNAL_STATES: tuple[str, ...] = (
    "stale", "insufficient_history", "overbought", "oversold", "neutral", "bullish",
    "bearish", "bullish_cross", "bearish_cross", "calm", "normal", "stressed", "crisis",
    "contango", "flat", "backwardation", "strong", "weak", "hot", "cool", "inline", "shock",
    "expansion", "slow", "contraction", "event", "clear", "risk_on", "risk_off",
)  # fmt: skip
#: ``runs.status``
RUN_STATUSES: tuple[str, ...] = ("completed", "failed", "crashed")


class TableContractError(ValueError):
    """A frame about to be written breaks its table's contract (the message names the column)."""


class _Table(pa.DataFrameModel):
    class Config:
        coerce = True  # checks that values fit the column type; the written frame is untouched
        strict = False  # extra columns are DuckDB's business (an unknown one fails the INSERT)


class SignalStates(_Table):
    """``signal_states``: one row per (as_of, signal)."""

    as_of: Series[pd.Timestamp]
    signal: Series[str]
    value: Series[float] = pa.Field(nullable=True)
    state: Series[str] = pa.Field(isin=list(SIGNAL_STATES))
    params: Series[str]
    input_date: Series[pd.Timestamp] = pa.Field(nullable=True)

    @pa.dataframe_check(name="unique (as_of, signal)")
    @classmethod
    def unique_key(cls, df: pd.DataFrame) -> Series[bool]:
        return ~df.duplicated(["as_of", "signal"], keep=False)


class Betas(_Table):
    """``betas``: rolling CAPM regressions of each asset on SPX."""

    as_of: Series[pd.Timestamp]
    asset: Series[str]
    window_days: Series[int] = pa.Field(gt=0)
    beta: Series[float] = pa.Field(nullable=True)
    alpha: Series[float] = pa.Field(nullable=True)
    r2: Series[float] = pa.Field(nullable=True, ge=-1e-9, le=1.0 + 1e-9)
    n_obs: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)


class VixTerm(_Table):
    """``vix_term``: the modelled VIX futures curve of each session."""

    as_of: Series[pd.Timestamp]
    expiry: Series[pd.Timestamp]
    tenor_days: Series[int] = pa.Field(ge=0)
    future_model: Series[float] = pa.Field(nullable=True, gt=0.0)


class DailySizing(_Table):
    """``daily_sizing``: one row per leg of each recommended position."""

    as_of: Series[pd.Timestamp]
    portfolio_id: Series[str]
    position_id: Series[str]
    kind: Series[str] = pa.Field(isin=list(POSITION_KINDS))
    expiry: Series[pd.Timestamp] = pa.Field(nullable=True)
    leg: Series[str]
    put_call: Series[str] = pa.Field(nullable=True, isin=list(PUT_CALL))
    strike: Series[float] = pa.Field(nullable=True, gt=0.0)
    qty: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    contracts: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    spot: Series[float] = pa.Field(nullable=True)
    rate: Series[float] = pa.Field(nullable=True)
    div_yield: Series[float] = pa.Field(nullable=True)
    iv: Series[float] = pa.Field(nullable=True, ge=0.0)
    model_price: Series[float] = pa.Field(nullable=True)
    delta: Series[float] = pa.Field(nullable=True)
    pricing_source: Series[str] = pa.Field(nullable=True, isin=list(PRICING_SOURCES))


class SizingPositions(_Table):
    """``sizing_positions``: one row per recommended position (tranche or hedge)."""

    as_of: Series[pd.Timestamp]
    portfolio_id: Series[str]
    position_id: Series[str]
    kind: Series[str] = pa.Field(isin=list(POSITION_KINDS))
    expiry: Series[pd.Timestamp] = pa.Field(nullable=True)
    contracts: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    n_cap: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)  # NULL: a hedge has no cap
    pricing_source: Series[str] = pa.Field(nullable=True, isin=list(PRICING_SOURCES))


class PortfolioRisk(_Table):
    """``portfolio_risk``: one row per (as_of, portfolio): capital metrics and stress P&L."""

    as_of: Series[pd.Timestamp]
    portfolio_id: Series[str]
    equity: Series[float] = pa.Field(nullable=True)
    beta_before: Series[float] = pa.Field(nullable=True)
    beta_after: Series[float] = pa.Field(nullable=True)
    risk_free: Series[float] = pa.Field(nullable=True)
    cost_of_equity: Series[float] = pa.Field(nullable=True)
    wacc: Series[float] = pa.Field(nullable=True)
    irr: Series[float] = pa.Field(nullable=True)
    spread_bps: Series[float] = pa.Field(nullable=True)
    eva: Series[float] = pa.Field(nullable=True)
    p_hurdle: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    quick_ratio: Series[float] = pa.Field(nullable=True)
    stress_crash_pnl: Series[float] = pa.Field(nullable=True)
    stress_correction_pnl: Series[float] = pa.Field(nullable=True)
    stress_cpi_shock_pnl: Series[float] = pa.Field(nullable=True)
    stress_vol_spike_pnl: Series[float] = pa.Field(nullable=True)
    stress_rally_pnl: Series[float] = pa.Field(nullable=True)
    rationale: Series[str] = pa.Field(nullable=True)

    @pa.dataframe_check(name="unique (as_of, portfolio_id)")
    @classmethod
    def unique_key(cls, df: pd.DataFrame) -> Series[bool]:
        return ~df.duplicated(["as_of", "portfolio_id"], keep=False)


#: table name → its contract (the tables :func:`check_table` knows)
TABLE_MODELS: dict[str, type[_Table]] = {
    "signal_states": SignalStates,
    "betas": Betas,
    "vix_term": VixTerm,
    "daily_sizing": DailySizing,
    "sizing_positions": SizingPositions,
    "portfolio_risk": PortfolioRisk,
}


def check_table(table: str, rows: pd.DataFrame) -> None:
    """Check ``rows`` against ``table``'s contract; raise one line naming table and column.

    A table without a model here (the fact and log tables, guarded by their own
    ingestion checks) passes. An empty frame passes (nothing would be written).

    Raises
    ------
    TableContractError
        ``"daily_sizing.kind: isin(['condor', 'hedge']) failed on 1 row(s), e.g. 'spread'"``.
    """
    model = TABLE_MODELS.get(table)
    if model is None or rows.empty:
        return
    try:
        model.validate(rows, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise TableContractError(_first_failure(table, exc.failure_cases)) from None


def _first_failure(table: str, cases: pd.DataFrame) -> str:
    """One line for the first failing (column, check) of a pandera failure-case frame."""
    first = cases.iloc[0]
    column, check = str(first["column"]), str(first["check"])
    same = cases[(cases["column"] == first["column"]) & (cases["check"] == first["check"])]
    if first["schema_context"] == "DataFrameSchema":
        if check == "column_in_dataframe":
            return f"{table}: required column {first['failure_case']!s} is missing"
        return f"{table}: check {check} failed on {len(same)} row(s)"
    more = "" if len(cases) == len(same) else f" (and {len(cases) - len(same)} other failure(s))"
    return (
        f"{table}.{column}: {check} failed on {len(same)} row(s), "
        f"e.g. {first['failure_case']!r}{more}"
    )
