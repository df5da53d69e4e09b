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
- ``value_finite`` — the value is a finite number, unless it is the provider's missing
  marker (``value_missing``), which is recorded as a missing observation, not an error.
- ``value_in_bounds`` — plausibility bounds of the family.
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
tighter plausibility floor, :data:`VVIX_FLOOR` = 40 (VVIX has never closed below ~57
outside those six rows in 2006–2026), which quarantines exactly those six rows. Its
ceiling is raised to :data:`VVIX_CEILING` = 400: the genuine 2020-03-16 close is 207.59.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

OBSERVATION_COLUMNS = ["series_id", "date", "value", "available_at", "source"]
QUARANTINE_COLUMNS = ["source", "series_id", "raw", "check_name", "detail"]

SPX_MAX_ABS_RETURN = 0.25
VIX_RATIO_LOW, VIX_RATIO_HIGH = 0.2, 5.0
VVIX_FLOOR = 40.0
VVIX_CEILING = 400.0

# order of precedence when one row fails several checks: the first names the row
CHECK_ORDER = [
    "date_parseable",
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
    return (
        df["date"].notna().to_numpy()
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
    class attribute as a column): ``_lower``/``_upper`` bounds, ``_lower_open``/
    ``_upper_open`` whether the bound itself is excluded, ``_jump`` the jump rule
    (``'return'``, ``'ratio'`` or None), ``_allowed`` a finite set of allowed values.
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

    _lower = -np.inf
    _upper = np.inf
    _lower_open = False
    _upper_open = False
    _jump = None
    _allowed = None

    # ---- family parameters as plain Python (used by the checks and by the details)
    @classmethod
    def in_bounds(cls, value: np.ndarray) -> np.ndarray:
        v = np.asarray(value, dtype="float64")
        if cls._allowed is not None:
            return np.isin(v, cls._allowed)
        lo = v > cls._lower if cls._lower_open else v >= cls._lower
        hi = v < cls._upper if cls._upper_open else v <= cls._upper
        return lo & hi

    @classmethod
    def bounds_text(cls) -> str:
        if cls._allowed is not None:
            return "{" + ", ".join(f"{a:g}" for a in cls._allowed) + "}"
        left = "(" if cls._lower_open else "["
        right = ")" if cls._upper_open else "]"
        return f"{left}{cls._lower:g}, {cls._upper:g}{right}"

    @classmethod
    def jump_rule(cls) -> str | None:
        return cls._jump

    # ---- row-local checks
    @pa.dataframe_check
    def date_parseable(cls, df: pd.DataFrame) -> Series[bool]:
        return df["date"].notna()

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

    _lower, _upper, _lower_open, _upper_open = 0.0, 1e6, True, True
    _jump = "return"


class VixFamilyRows(ObservationRows):
    """VIX, VIX3M, VIX9D, VIX6M closes: [1, 200], day ratio in [0.2, 5]."""

    _lower, _upper = 1.0, 200.0
    _jump = "ratio"


class VvixRows(VixFamilyRows):
    """VVIX: day-ratio rule of the VIX family, bounds [:data:`VVIX_FLOOR`, :data:`VVIX_CEILING`].

    VVIX is the vol of VIX, on a higher scale than the VIX family's [1, 200]: its genuine
    close of 207.59 on 2020-03-16 would fail 200. The floor is explained in the module note.
    """

    _lower, _upper = VVIX_FLOOR, VVIX_CEILING


class RateRows(ObservationRows):
    """Rates in percent (DTB3, DFF): [-5, 30]. No jump rule (rates move in steps)."""

    _lower, _upper = -5.0, 30.0


class LevelRows(ObservationRows):
    """Price indices and levels (CPI, PPI, GDP, dollar indices): strictly positive."""

    _lower, _lower_open = 0.0, True


class FomcRows(ObservationRows):
    """FOMC decision dates: value 1.0 (scheduled) or 0.0 (unscheduled)."""

    _allowed = (0.0, 1.0)


SERIES_MODELS: dict[str, type[ObservationRows]] = {
    "spx": SpxRows,
    "vix": VixFamilyRows,
    "vix3m": VixFamilyRows,
    "vix9d": VixFamilyRows,
    "vix6m": VixFamilyRows,
    "vvix": VvixRows,
    "tbill_3m": RateRows,
    "fed_funds": RateRows,
    "cpi": LevelRows,
    "ppi": LevelRows,
    "ppi_all": LevelRows,
    "gdp_real": LevelRows,
    "usd": LevelRows,
    "usd_real": LevelRows,
    "fomc": FomcRows,
}


# --------------------------------------------------------------------------- validate


@dataclass
class ValidationResult:
    """Outcome of :func:`validate`: accepted observations, quarantined rows and counts."""

    observations: pd.DataFrame
    quarantine: pd.DataFrame
    rows_parsed: int
    rows_accepted: int
    rows_quarantined: int


def _detail(check: str, row: pd.Series, seq: pd.Series, model: type[ObservationRows]) -> str:
    sid, raw = row["series_id"], row["raw"]
    day = row["date"].date() if pd.notna(row["date"]) else None
    value = row["value"]
    if check == "date_parseable":
        return f"{sid}: unparseable date in {raw!r}"
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


def validate(rows: pd.DataFrame, source: str, series_id: str) -> ValidationResult:
    """Validate a rows frame of one series; split it into observations and quarantine.

    Parameters
    ----------
    rows : DataFrame
        Parser output with ``available_at`` (``tasks.ingest.assign_available_at``).
    source : str
        Source label written to both outputs (``'cboe'``, ``'snapshot'``, ...).
    series_id : str
        Canonical series id; selects the family model.

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
    model = SERIES_MODELS.get(series_id)
    if model is None:
        raise SchemaLevelError(f"no validation schema for series {series_id!r}")
    df = rows.reset_index(drop=True)
    if "series_id" in df.columns and not (df["series_id"] == series_id).all():
        others = sorted(set(df["series_id"].astype(str)) - {series_id})
        raise SchemaLevelError(f"{series_id} from {source}: rows of other series {others}")

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

    records = []
    if len(bad_idx):
        seq = sequence_checks(df, model)
        for idx in bad_idx:
            checks = sorted(
                set(failed[idx]), key=lambda c: CHECK_ORDER.index(c) if c in CHECK_ORDER else 99
            )
            row = df.loc[idx]
            detail = "; ".join(_detail(c, row, seq.loc[idx], model) for c in checks)
            records.append((source, series_id, str(row["raw"]), checks[0], detail))
    quarantine = pd.DataFrame(records, columns=QUARANTINE_COLUMNS)
    return ValidationResult(
        observations=obs,
        quarantine=quarantine,
        rows_parsed=len(df),
        rows_accepted=len(obs),
        rows_quarantined=len(quarantine),
    )
