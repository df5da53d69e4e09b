"""Row validation and quarantine of ingested observations (SPEC §1.3).

One pandera ``DataFrameModel`` per source family checks a rows frame produced by
``tasks.ingest`` (after ``assign_available_at``). Validation is lazy: every failing row
is collected from ``SchemaErrors.failure_cases`` (rows with a non-null index) and goes to
quarantine with the failed check's name and a human-readable detail; the remaining rows
become observations. Failures that concern the frame rather than a row (a missing
column, a wrong dtype: failure cases whose index is None) raise
:class:`SchemaLevelError` — that source's task fails and no table changes.

Checks (names as they appear in ``quarantine.check_name``):

- ``date_parseable`` — the date parsed (not NaT).
- ``future_date`` — the row cannot exist yet on the run's session ``as_of`` (passed to
  :func:`validate`; the flow uses the machine's New York date when none is given): a
  daily row dated after it, a monthly or quarterly row whose period has not ended by
  it, an ALFRED vintage after it. The FOMC calendar is exempt: it lists scheduled
  meetings ahead by design.
- ``value_finite`` — the value is a finite number, unless it is the provider's missing
  marker (``value_missing``), which is recorded as a missing observation, not an error.
- ``value_in_bounds`` — plausibility bounds of the series (``schemas/series.py``).
- ``available_at_known`` — the observation could be placed on the session calendar.
- ``unique_dates`` — a repeated date: the first valid occurrence is kept.
- ``monotonic_dates`` — a date earlier than a previously accepted one.
- ``daily_jump`` — SPX |return| < 25 %, VIX-family day ratio in [0.2, 5], each measured
  against the previous *accepted* row, so one bad print does not condemn its neighbour.

The last three are decided in one sequential pass (:func:`sequence_checks`): whether a
row is the reference for the next depends on whether it was itself accepted, which is
inherently order-dependent. The pass is O(n) over numpy arrays (about 10 ms for 10,000
rows) and runs only on rows that passed the row-local checks.

Note on VVIX: CBOE's VVIX file holds genuine bad prints in 2006 (15.71 … 37.93 in
March, 36.14 on 2006-11-13, against a true level of 60–90). Measured: the SPEC's generic
checks do **not** catch them — 15.71/71.73 = 0.219 is inside the [0.2, 5] day-ratio band
and every later print is within the band of its predecessor. VVIX therefore gets a
tighter plausibility floor, ``schemas.series.VVIX_FLOOR`` = 40 (VVIX has never closed
below ~57 outside those six rows in 2006–2026), which quarantines exactly those six rows.
Its ceiling is raised to ``VVIX_CEILING`` = 400: the genuine 2020-03-16 close is 207.59.

Bounds and jump rules are the series registry's (``schemas/series.py``); the models
below are one per validation family and take their parameters from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.series import (
    FOMC_VALUES,
    LEVEL_BOUNDS,
    OPTIONAL_SERIES,
    RATE_BOUNDS,
    SERIES,
    SPX_BOUNDS,
    VIX_BOUNDS,
    VVIX_BOUNDS,
    Availability,
    Bounds,
    Frequency,
    SeriesSpec,
    period_end,
    spec,
)

OBSERVATION_COLUMNS = ["series_id", "date", "value", "available_at", "source"]
QUARANTINE_COLUMNS = ["source", "series_id", "raw", "check_name", "detail"]

SPX_MAX_ABS_RETURN = 0.25
VIX_RATIO_LOW, VIX_RATIO_HIGH = 0.2, 5.0
# a boolean column validate() adds: the row cannot exist yet on the run's session
FUTURE_COLUMN = "after_as_of"

# order of precedence when one row fails several checks: the first names the row
CHECK_ORDER = [
    "date_parseable",
    "future_date",
    "value_finite",
    "value_in_bounds",
    "available_at_known",
    "unique_dates",
    "monotonic_dates",
    "daily_jump",
]


class SchemaLevelError(ValueError):
    """The frame as a whole is unusable (missing column, wrong dtype...): reject the batch."""


# --------------------------------------------------------------------------- sequential pass


def _locally_valid(df: pd.DataFrame, model: type[ObservationRows]) -> np.ndarray:
    """Rows passing every row-local check (date, finiteness, bounds, calendar)."""
    value = df["value"].to_numpy(dtype="float64")
    missing = df["value_missing"].to_numpy(dtype=bool)
    finite = np.isfinite(value)
    # a future row must not become the reference of the order and jump checks
    present = ~df[FUTURE_COLUMN].to_numpy(dtype=bool) if FUTURE_COLUMN in df else True
    return (
        df["date"].notna().to_numpy()
        & present
        & (missing | finite)
        & (~finite | model.in_bounds(value))
        & df["available_at"].notna().to_numpy()
    )


def sequence_checks(df: pd.DataFrame, model: type[ObservationRows]) -> pd.DataFrame:
    """Decide ``unique_dates``, ``monotonic_dates`` and ``daily_jump`` in file order.

    Only locally valid rows take part. A row is a duplicate if its key was already
    accepted (key = date, or (date, realtime_start) for ALFRED vintages, where one date
    legitimately has several rows); out of order if its key precedes the last accepted
    key; a jump if the family has a jump rule and the value fails it against the last
    accepted non-missing value.

    Returns
    -------
    DataFrame
        Boolean columns ``dup``, ``nonmono``, ``jump`` (True = fails) and the reference
        ``ref_value`` / ``ref_date`` used, aligned with ``df``'s index.
    """
    n = len(df)
    dup = np.zeros(n, dtype=bool)
    nonmono = np.zeros(n, dtype=bool)
    jump = np.zeros(n, dtype=bool)
    ref_value = np.full(n, np.nan)
    ref_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")

    ok = _locally_valid(df, model)
    dates = df["date"].to_numpy(dtype="datetime64[ns]").astype("int64")
    if "realtime_start" in df.columns:
        rt = df["realtime_start"].to_numpy(dtype="datetime64[ns]").astype("int64")
    else:
        rt = np.zeros(n, dtype="int64")
    values = df["value"].to_numpy(dtype="float64")
    missing = df["value_missing"].to_numpy(dtype=bool)
    rule = model.jump_rule()

    seen: set[tuple[int, int]] = set()
    last_key: tuple[int, int] | None = None
    last_value = np.nan
    last_value_date = np.iinfo("int64").min
    for i in np.flatnonzero(ok):  # sequential by nature: see module docstring
        key = (int(dates[i]), int(rt[i]))
        if key in seen:
            dup[i] = True
            continue
        if last_key is not None and key < last_key:
            nonmono[i] = True
            ref_date[i] = np.datetime64(last_key[0], "ns")
            continue
        if rule is not None and not missing[i] and np.isfinite(last_value):
            if not _jump_ok(rule, values[i], last_value):
                jump[i] = True
                ref_value[i] = last_value
                ref_date[i] = np.datetime64(last_value_date, "ns")
                continue
        seen.add(key)
        last_key = key
        if not missing[i]:
            last_value = values[i]
            last_value_date = int(dates[i])
    return pd.DataFrame(
        {
            "dup": dup,
            "nonmono": nonmono,
            "jump": jump,
            "ref_value": ref_value,
            "ref_date": ref_date,
        },
        index=df.index,
    )


def _jump_ok(rule: str, value: float, ref: float) -> bool:
    if rule == "return":
        return abs(value / ref - 1.0) < SPX_MAX_ABS_RETURN
    ratio = value / ref
    return VIX_RATIO_LOW <= ratio <= VIX_RATIO_HIGH


# --------------------------------------------------------------------------- models


class ObservationRows(pa.DataFrameModel):
    """Checks shared by every family; subclasses set bounds and the jump rule.

    Family parameters are un-annotated underscore attributes (pandera would read any other
    class attribute as a column): ``_bounds`` the registry's :class:`~schemas.series.Bounds`
    and ``_jump`` the jump rule (``'return'``, ``'ratio'`` or None).
    """

    series_id: Series[str]
    date: Series[pd.Timestamp] = pa.Field(nullable=True)
    value: Series[float] = pa.Field(nullable=True)
    value_missing: Series[bool]
    raw: Series[str]
    available_at: Series[pd.Timestamp] = pa.Field(nullable=True)

    class Config:
        strict = False  # realtime_start may ride along
        coerce = False  # a wrong dtype is a schema-level failure, never a silent cast

    _bounds = Bounds()
    _jump = None

    # ---- family parameters as plain Python (used by the checks and by the details)
    @classmethod
    def in_bounds(cls, value: np.ndarray) -> np.ndarray:
        return cls._bounds.contains(value)

    @classmethod
    def bounds_text(cls) -> str:
        return cls._bounds.text()

    @classmethod
    def jump_rule(cls) -> str | None:
        return cls._jump

    # ---- row-local checks
    @pa.dataframe_check
    def date_parseable(cls, df: pd.DataFrame) -> Series[bool]:
        return df["date"].notna()

    @pa.dataframe_check
    def future_date(cls, df: pd.DataFrame) -> Series[bool]:
        if FUTURE_COLUMN not in df:  # validate() without an as_of: nothing to compare with
            return pd.Series(True, index=df.index)
        return ~df[FUTURE_COLUMN].astype(bool)

    @pa.dataframe_check
    def value_finite(cls, df: pd.DataFrame) -> Series[bool]:
        return df["value_missing"] | np.isfinite(df["value"])

    @pa.dataframe_check
    def value_in_bounds(cls, df: pd.DataFrame) -> Series[bool]:
        finite = np.isfinite(df["value"])
        return ~finite | pd.Series(cls.in_bounds(df["value"].to_numpy()), index=df.index)

    @pa.dataframe_check
    def available_at_known(cls, df: pd.DataFrame) -> Series[bool]:
        return df["date"].isna() | df["available_at"].notna()

    # ---- order-dependent checks (one sequential pass)
    @pa.dataframe_check
    def unique_dates(cls, df: pd.DataFrame) -> Series[bool]:
        return ~sequence_checks(df, cls)["dup"]

    @pa.dataframe_check
    def monotonic_dates(cls, df: pd.DataFrame) -> Series[bool]:
        return ~sequence_checks(df, cls)["nonmono"]

    @pa.dataframe_check
    def daily_jump(cls, df: pd.DataFrame) -> Series[bool]:
        return ~sequence_checks(df, cls)["jump"]


class SpxRows(ObservationRows):
    """S&P 500 closes: (0, 1e6), |daily return| < 25 %."""

    _bounds = SPX_BOUNDS
    _jump = "return"


class VixFamilyRows(ObservationRows):
    """VIX, VIX3M, VIX9D, VIX6M closes: [1, 200], day ratio in [0.2, 5]."""

    _bounds = VIX_BOUNDS
    _jump = "ratio"


class VvixRows(VixFamilyRows):
    """VVIX: day-ratio rule of the VIX family, bounds [:data:`VVIX_FLOOR`, :data:`VVIX_CEILING`].

    VVIX is the vol of VIX, on a higher scale than the VIX family's [1, 200]: its genuine
    close of 207.59 on 2020-03-16 would fail 200. The floor is explained in the module note.
    """

    _bounds = VVIX_BOUNDS


class RateRows(ObservationRows):
    """Rates in percent (DTB3, DFF): [-5, 30]. No jump rule (rates move in steps)."""

    _bounds = RATE_BOUNDS


class LevelRows(ObservationRows):
    """Price indices and levels (CPI, PPI, GDP, dollar indices): strictly positive."""

    _bounds = LEVEL_BOUNDS


class FomcRows(ObservationRows):
    """FOMC decision dates: value 1.0 (scheduled) or 0.0 (unscheduled)."""

    _bounds = FOMC_VALUES


FAMILY_MODELS: dict[str, type[ObservationRows]] = {
    "spx": SpxRows,
    "vix": VixFamilyRows,
    "vvix": VvixRows,
    "rate": RateRows,
    "level": LevelRows,
    "fomc": FomcRows,
}


def _model_of(s: SeriesSpec) -> type[ObservationRows]:
    """The family model of a registry record; it must carry the record's bounds and jump."""
    model = FAMILY_MODELS[s.family]
    if model._bounds != s.bounds or model.jump_rule() != s.jump:
        raise ValueError(f"series {s.series_id!r}: its registry record disagrees with {model}")
    return model


SERIES_MODELS: dict[str, type[ObservationRows]] = {sid: _model_of(s) for sid, s in SERIES.items()}
# the optional sources (``schemas.series.OPTIONAL_SERIES``: CNDR) validate the same way
OPTIONAL_SERIES_MODELS: dict[str, type[ObservationRows]] = {
    sid: _model_of(s) for sid, s in OPTIONAL_SERIES.items()
}


def future_rows(df: pd.DataFrame, s: SeriesSpec, as_of: pd.Timestamp) -> np.ndarray:
    """Rows that cannot exist yet on the session ``as_of`` (the ``future_date`` check).

    A daily row dated after ``as_of``; a monthly or quarterly row whose period ends on or
    after ``as_of`` (a period's figure is published after it ends, never on its last day);
    an ALFRED vintage (``realtime_start``) after ``as_of``. FOMC meetings are scheduled
    ahead, so the calendar is never future. NaT dates are not future (``date_parseable``).
    """
    if s.availability is Availability.FOMC_SCHEDULE:
        return np.zeros(len(df), dtype=bool)
    day = pd.Timestamp(as_of).normalize()
    end = period_end(df["date"], s.frequency)
    future = (end > day) if s.frequency is Frequency.DAILY else (end >= day)
    if "realtime_start" in df.columns:
        future = future | (pd.to_datetime(df["realtime_start"]) > day)
    return future.fillna(False).to_numpy(dtype=bool)


# --------------------------------------------------------------------------- validate


@dataclass
class ValidationResult:
    """Outcome of :func:`validate`: accepted observations, quarantined rows and counts."""

    observations: pd.DataFrame
    quarantine: pd.DataFrame
    rows_parsed: int
    rows_accepted: int
    rows_quarantined: int


def _future_detail(row: pd.Series, s: SeriesSpec, as_of: pd.Timestamp | None) -> str:
    day = pd.Timestamp(row["date"])
    when = pd.Timestamp(as_of).date() if as_of is not None else "?"
    rt = row.get("realtime_start")
    if rt is not None and pd.notna(rt) and pd.Timestamp(rt) > pd.Timestamp(as_of):
        return f"{s.series_id} {day.date()}: vintage {pd.Timestamp(rt).date()} is after {when}"
    if s.frequency is Frequency.DAILY:
        return f"{s.series_id} {day.date()}: dated after the run's session {when}"
    end = period_end(pd.Series([day]), s.frequency).iloc[0].date()
    return (
        f"{s.series_id} {day.date()}: its {s.frequency} period ends {end}, "
        f"so it cannot have been published by {when}"
    )


def _detail(
    check: str,
    row: pd.Series,
    seq: pd.Series,
    model: type[ObservationRows],
    as_of: pd.Timestamp | None = None,
) -> str:
    sid, raw = row["series_id"], row["raw"]
    day = row["date"].date() if pd.notna(row["date"]) else None
    value = row["value"]
    if check == "date_parseable":
        return f"{sid}: unparseable date in {raw!r}"
    if check == "future_date":
        return _future_detail(row, SERIES[sid], as_of)
    if check == "value_finite":
        return f"{sid} {day}: value is not a finite number in {raw!r}"
    if check == "value_in_bounds":
        return f"{sid} {day}: value {value:g} outside {model.bounds_text()}"
    if check == "available_at_known":
        return f"{sid} {day}: date outside the session calendar, availability unknown"
    if check == "unique_dates":
        return f"{sid} {day}: duplicate date, first valid occurrence kept ({raw!r})"
    if check == "monotonic_dates":
        return f"{sid} {day}: out of order, after {pd.Timestamp(seq['ref_date']).date()}"
    if check == "daily_jump":
        ref, ref_day = seq["ref_value"], pd.Timestamp(seq["ref_date"]).date()
        if model.jump_rule() == "return":
            return (
                f"{sid} {day}: return {value / ref - 1.0:+.1%} from {ref:g} ({ref_day}) to "
                f"{value:g}; |return| must be < {SPX_MAX_ABS_RETURN:.0%}"
            )
        return (
            f"{sid} {day}: day ratio {value:g}/{ref:g} ({ref_day}) = {value / ref:.3f} "
            f"outside [{VIX_RATIO_LOW:g}, {VIX_RATIO_HIGH:g}]"
        )
    return f"{sid} {day}: failed {check}"


def _quarantine(
    df: pd.DataFrame,
    failed: dict[int, list[str]],
    model: type[ObservationRows],
    source: str,
    series_id: str,
    as_of: pd.Timestamp | None,
) -> pd.DataFrame:
    """One quarantine row per failed row: the first failed check names it, all are detailed."""
    records = []
    if failed:
        seq = sequence_checks(df, model)
        for idx in sorted(failed):
            checks = sorted(
                set(failed[idx]), key=lambda c: CHECK_ORDER.index(c) if c in CHECK_ORDER else 99
            )
            row = df.loc[idx]
            detail = "; ".join(_detail(c, row, seq.loc[idx], model, as_of) for c in checks)
            records.append((source, series_id, str(row["raw"]), checks[0], detail))
    return pd.DataFrame(records, columns=QUARANTINE_COLUMNS)


def validate(
    rows: pd.DataFrame, source: str, series_id: str, as_of: pd.Timestamp | None = None
) -> ValidationResult:
    """Validate a rows frame of one series; split it into observations and quarantine.

    Parameters
    ----------
    rows : DataFrame
        Parser output with ``available_at`` (``tasks.ingest.assign_available_at``).
    source : str
        Source label written to both outputs (``'cboe'``, ``'snapshot'``, ...).
    series_id : str
        Canonical series id; selects the family model.
    as_of : Timestamp, optional
        The run's own session: rows that cannot exist yet on it fail ``future_date``
        (:func:`future_rows`). None skips that check (a pure function has no clock:
        the flow passes the machine's New York date when the run has no ``as_of``).

    Returns
    -------
    ValidationResult
        ``observations`` (columns :data:`OBSERVATION_COLUMNS`; missing-marker rows kept
        with NaN value) and ``quarantine`` (:data:`QUARANTINE_COLUMNS`). Every input row
        is in exactly one of them.

    Raises
    ------
    SchemaLevelError
        Unknown series, rows of another series, a missing column or a wrong dtype.
    """
    model = SERIES_MODELS.get(series_id) or OPTIONAL_SERIES_MODELS.get(series_id)
    if model is None:
        raise SchemaLevelError(f"no validation schema for series {series_id!r}")
    df = rows.reset_index(drop=True)
    if "series_id" in df.columns and not (df["series_id"] == series_id).all():
        others = sorted(set(df["series_id"].astype(str)) - {series_id})
        raise SchemaLevelError(f"{series_id} from {source}: rows of other series {others}")

    if as_of is not None:
        df[FUTURE_COLUMN] = future_rows(df, spec(series_id), as_of)

    failed: dict[int, list[str]] = {}
    try:
        model.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        frame_level = fc[fc["index"].isna()]
        if len(frame_level):
            what = "; ".join(
                f"{r.check} on {r.column} ({r.failure_case})"
                for r in frame_level.head(5).itertuples()
            )
            raise SchemaLevelError(
                f"{series_id} from {source}: the frame fails schema {model.__name__}: {what}"
            ) from None
        pairs = fc[["index", "check"]].drop_duplicates()
        for idx, check in zip(pairs["index"].astype(int), pairs["check"].astype(str), strict=True):
            failed.setdefault(idx, []).append(check)

    bad_idx = np.array(sorted(failed), dtype=int)
    good = np.ones(len(df), dtype=bool)
    good[bad_idx] = False

    obs = df.loc[good, ["date", "value", "available_at"]].copy()
    obs.insert(0, "series_id", series_id)
    obs["source"] = source
    obs = obs[OBSERVATION_COLUMNS].reset_index(drop=True)

    quarantine = _quarantine(df, failed, model, source, series_id, as_of)
    return ValidationResult(
        observations=obs,
        quarantine=quarantine,
        rows_parsed=len(df),
        rows_accepted=len(obs),
        rows_quarantined=len(quarantine),
    )
