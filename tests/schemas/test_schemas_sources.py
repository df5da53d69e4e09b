"""Tests of schemas/sources.py: pandera validation and quarantine of ingested rows."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import FIXTURES

from schemas.config import ReleaseLags
from schemas.sources import (
    OBSERVATION_COLUMNS,
    QUARANTINE_COLUMNS,
    SchemaLevelError,
    ValidationResult,
    validate,
)
from tasks.ingest import (
    assign_available_at,
    parse_cboe_index,
    parse_fomc_calendar,
    parse_fred_api,
    parse_fred_graph,
    parse_yahoo_close,
)

FIX = FIXTURES / "sources"
LAGS = ReleaseLags()


def _vix_lines() -> list[str]:
    return (FIX / "cboe_VIX_History_tail300.csv").read_text().splitlines()


def _run(
    parser, text: str, sid: str, source: str = "test"
) -> tuple[pd.DataFrame, ValidationResult]:
    rows = assign_available_at(parser(text.encode(), sid), sid, LAGS)
    return rows, validate(rows, source, sid)


def _assert_partition(rows: pd.DataFrame, res: ValidationResult) -> None:
    """Every parsed row is in exactly one output (matched by its raw text and order)."""
    assert res.rows_parsed == len(rows)
    assert res.rows_accepted == len(res.observations)
    assert res.rows_quarantined == len(res.quarantine)
    assert res.rows_accepted + res.rows_quarantined == res.rows_parsed
    assert sorted(res.quarantine["raw"].tolist() + _accepted_raw(rows, res)) == sorted(
        rows["raw"].tolist()
    )


def _accepted_raw(rows: pd.DataFrame, res: ValidationResult) -> list[str]:
    quarantined = res.quarantine["raw"].tolist()
    left = list(rows["raw"])
    for q in quarantined:
        left.remove(q)
    assert len(left) == len(res.observations)
    return left


def test_clean_real_file_is_fully_accepted() -> None:
    rows, res = _run(parse_cboe_index, "\n".join(_vix_lines()) + "\n", "vix", "cboe")
    assert list(res.observations.columns) == OBSERVATION_COLUMNS
    assert list(res.quarantine.columns) == QUARANTINE_COLUMNS
    assert res.rows_quarantined == 0 and res.rows_accepted == 300
    assert (res.observations["source"] == "cboe").all()
    assert (res.observations["series_id"] == "vix").all()
    pd.testing.assert_series_equal(res.observations["value"], rows["value"], check_names=False)


def test_malformed_rows_go_to_quarantine_with_reasons() -> None:
    lines = _vix_lines()
    bad = {
        "07/23/2026,17.0,18.0,16.0,-5.000000": (
            "value_in_bounds",
            "vix 2026-07-23: value -5 outside [1, 200]",
        ),
        "13/45/2026,17.0,18.0,16.0,17.5": ("date_parseable", "unparseable date"),
        "<<garbage>>": ("date_parseable", "unparseable date"),
        "07/24/2026,17.0,18.0,16.0,n/a": ("value_finite", "not a finite number"),
        "07/27/2026,17.0,18.0": ("value_finite", "not a finite number"),
    }
    # interleave the bad lines with good ones, in date order where they have a date
    text = "\n".join(lines[:150] + list(bad)[:1] + lines[150:] + list(bad)[1:]) + "\n"
    # (the -5 print sits mid-file with a 2026-07-23 date: also out of order, but the bounds
    # check names it first)
    rows, res = _run(parse_cboe_index, text, "vix")
    _assert_partition(rows, res)
    assert res.rows_quarantined == len(bad)
    q = res.quarantine.set_index("raw")
    for raw, (check, fragment) in bad.items():
        assert q.loc[raw, "check_name"] == check, raw
        assert fragment in q.loc[raw, "detail"], q.loc[raw, "detail"]
    assert (res.quarantine["source"] == "test").all()
    # every good line was accepted, with its value
    good_close = [float(r[4]) for r in csv.reader(lines[1:])]
    assert res.observations["value"].tolist() == good_close


def test_missing_markers_are_observations_not_quarantine() -> None:
    for name, sid in [
        ("fredgraph_DGS3MO_legacy_head300.csv", "tbill_3m"),
        ("fredgraph_DTWEXBGS_head300.csv", "usd"),
    ]:
        text = (FIX / name).read_text()
        n_missing = sum(1 for r in csv.reader(text.splitlines()[1:]) if r[1] in {"", "."})
        rows, res = _run(parse_fred_graph, text, sid)
        assert res.rows_quarantined == 0
        assert res.observations["value"].isna().sum() == n_missing > 0
        _assert_partition(rows, res)


def test_fred_api_missing_marker_is_an_observation() -> None:
    rows = assign_available_at(
        parse_fred_api((FIX / "fred_api_CPIAUCSL.json").read_bytes(), "cpi"), "cpi", LAGS
    )
    res = validate(rows, "fred_api", "cpi")
    assert res.rows_quarantined == 0 and res.rows_accepted == 31
    oct25 = res.observations[res.observations["date"] == pd.Timestamp("2025-10-01")]
    assert len(oct25) == 1 and np.isnan(oct25["value"].item())


def test_vintages_keep_both_revisions() -> None:
    rows = assign_available_at(
        parse_fred_api((FIX / "fred_api_CPIAUCSL_vintages.json").read_bytes(), "cpi"), "cpi", LAGS
    )
    res = validate(rows, "fred_api", "cpi")
    assert res.rows_accepted == 6 and res.rows_quarantined == 0
    march = res.observations[res.observations["date"] == pd.Timestamp("2021-03-01")]
    assert march["value"].tolist() == [264.847, 264.961]
    assert march["available_at"].is_monotonic_increasing and march["available_at"].is_unique


def test_duplicate_dates_keep_the_first() -> None:
    lines = _vix_lines()
    dup = lines[100].rsplit(",", 1)[0] + ",99.000000"  # same date as row 100, other close
    text = "\n".join(lines[:101] + [dup] + lines[101:]) + "\n"
    rows, res = _run(parse_cboe_index, text, "vix")
    _assert_partition(rows, res)
    assert res.quarantine["raw"].tolist() == [dup]
    assert res.quarantine["check_name"].tolist() == ["unique_dates"]
    day = rows["date"].iloc[100]
    kept = res.observations.loc[res.observations["date"] == day, "value"]
    assert kept.tolist() == [float(lines[100].split(",")[4])]


def test_out_of_order_row_is_quarantined_alone() -> None:
    lines = _vix_lines()
    moved = lines[50]
    text = "\n".join(lines[:50] + lines[51:200] + [moved] + lines[200:]) + "\n"
    rows, res = _run(parse_cboe_index, text, "vix")
    _assert_partition(rows, res)
    assert res.quarantine["raw"].tolist() == [moved]
    assert res.quarantine["check_name"].tolist() == ["monotonic_dates"]


def _reference_jump_filter(values: list[float], ok) -> list[bool]:
    """Naive reference: accept a value iff it passes `ok` against the last accepted one."""
    accepted, last = [], None
    for v in values:
        a = last is None or ok(v, last)
        accepted.append(a)
        if a:
            last = v
    return accepted


def test_vix_jump_against_previous_valid_row() -> None:
    lines = _vix_lines()
    # replace row 120's close by a 6x print: only that row fails; row 121 compares to row 119
    parts = lines[120].split(",")
    spike = float(lines[119].split(",")[4]) * 6.0
    lines[120] = ",".join([*parts[:4], f"{spike:.6f}"])
    rows, res = _run(parse_cboe_index, "\n".join(lines) + "\n", "vix")
    _assert_partition(rows, res)
    ref = _reference_jump_filter(rows["value"].tolist(), lambda v, p: 0.2 <= v / p <= 5.0)
    assert res.quarantine["raw"].tolist() == [
        r for r, a in zip(rows["raw"], ref, strict=True) if not a
    ]
    assert res.quarantine["raw"].tolist() == [lines[120]]
    assert res.quarantine["check_name"].tolist() == ["daily_jump"]
    assert "outside [0.2, 5]" in res.quarantine["detail"].item()


def test_spx_jump_check_uses_previous_valid_row() -> None:
    lines = (FIX / "spx_daily_yahoo_close_tail300.csv").read_text().splitlines()
    # two consecutive bad prints (-40 %): both quarantined, the recovery row accepted
    for i in (200, 201):
        d, c, v = lines[i].split(",")
        lines[i] = f"{d},{float(c) * 0.6},{v}"
    rows, res = _run(parse_yahoo_close, "\n".join(lines) + "\n", "spx")
    _assert_partition(rows, res)
    ref = _reference_jump_filter(rows["value"].tolist(), lambda v, p: abs(v / p - 1) < 0.25)
    assert res.quarantine["raw"].tolist() == [
        r for r, a in zip(rows["raw"], ref, strict=True) if not a
    ]
    assert res.quarantine["raw"].tolist() == [lines[200], lines[201]]
    prev = float(lines[199].split(",")[1])
    expected = float(lines[200].split(",")[1]) / prev - 1.0
    assert f"return {expected:+.1%} from {prev:g}" in res.quarantine["detail"].iloc[0]


def test_vvix_2006_bad_prints_are_quarantined() -> None:
    text = (FIX / "cboe_VVIX_History_2006.csv").read_text()
    data = list(csv.reader(text.splitlines()[1:]))
    rows, res = _run(parse_cboe_index, text, "vvix", "cboe")
    _assert_partition(rows, res)
    low = [",".join(r) for r in data if float(r[1]) < 40]
    assert len(low) == 6
    assert res.quarantine["raw"].tolist() == low
    # verification behind VvixRows: the SPEC's day-ratio band alone would accept them all
    values = [float(r[1]) for r in data]
    ratio_only = _reference_jump_filter(values, lambda v, p: 0.2 <= v / p <= 5.0)
    assert all(ratio_only)


def test_fomc_values_are_checked() -> None:
    text = (FIX / "fomc_calendar.csv").read_text() + "2027-01-27,tentative\n"
    rows, res = _run(parse_fomc_calendar, text, "fomc", "calendar")
    _assert_partition(rows, res)
    assert res.quarantine["raw"].tolist() == ["2027-01-27,tentative"]
    assert set(res.observations["value"]) == {0.0, 1.0}


def test_rate_bounds() -> None:
    text = "date,value\n2026-08-17,3.71\n2026-08-18,37.1\n2026-08-19,-6\n2026-08-20,3.70\n"
    rows, res = _run(parse_fred_graph, text, "tbill_3m")
    assert res.quarantine["raw"].tolist() == ["2026-08-18,37.1", "2026-08-19,-6"]
    assert res.observations["value"].tolist() == [3.71, 3.70]


def test_schema_level_failures_raise() -> None:
    rows = assign_available_at(
        parse_cboe_index("\n".join(_vix_lines()).encode(), "vix"), "vix", LAGS
    )
    with pytest.raises(SchemaLevelError, match="available_at"):
        validate(rows.drop(columns="available_at"), "cboe", "vix")
    wrong = rows.assign(value=rows["value"].astype(str))
    with pytest.raises(SchemaLevelError, match="value"):
        validate(wrong, "cboe", "vix")
    with pytest.raises(SchemaLevelError, match="other series"):
        validate(rows, "cboe", "vix3m")
    with pytest.raises(SchemaLevelError, match="no validation schema"):
        validate(rows, "cboe", "skew")


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=299),
            st.sampled_from(["-1.0", "abc", "", "0.01", "1e9", "nan", "inf", "20.0"]),
            st.sampled_from(["", "13/01/2026", "garbage", "01/02/2026", "same"]),
        ),
        max_size=12,
    )
)
def test_every_row_lands_in_exactly_one_output(edits) -> None:
    lines = _vix_lines()
    data = lines[1:]
    for pos, value, date_text in edits:
        parts = data[pos].split(",")
        if date_text == "same":
            date_text = parts[0]
        data.insert(pos, ",".join([date_text or parts[0], *parts[1:4], value]))
    rows, res = _run(parse_cboe_index, "\n".join([lines[0], *data]) + "\n", "vix")
    _assert_partition(rows, res)
    obs = res.observations
    assert obs["date"].is_monotonic_increasing and obs["date"].is_unique
    v = obs["value"].to_numpy()
    assert not np.isnan(v).any()  # CBOE has no missing marker: an empty close is malformed
    assert np.all((v >= 1) & (v <= 200))
    assert np.all((v[1:] / v[:-1] >= 0.2) & (v[1:] / v[:-1] <= 5))


# --------------------------------------------------------------------------- future_date


def test_market_rows_after_the_session_are_quarantined_as_future() -> None:
    # the audit's case: a 2027-06-01 row inside the calendar's horizon, before later rows
    lines = _vix_lines()
    future = "06/01/2027,17.0,17.5,16.9,17.2"
    text = "\n".join([*lines[:100], future, *lines[100:]]) + "\n"
    rows = assign_available_at(parse_cboe_index(text.encode(), "vix"), "vix", LAGS)
    assert rows.loc[rows["raw"] == future, "available_at"].notna().all()  # on the calendar
    res = validate(rows, "cboe", "vix", as_of=pd.Timestamp("2026-07-22"))
    _assert_partition(rows, res)
    assert res.quarantine["raw"].tolist() == [future]
    (q,) = res.quarantine.itertuples()
    assert q.check_name == "future_date"
    assert q.detail == "vix 2027-06-01: dated after the run's session 2026-07-22"
    # the future row was never the reference of the order check: every real row loads
    assert res.rows_accepted == 300
    # without the cut-off the row was accepted, and every later row was "out of order"
    old = validate(rows, "cboe", "vix")
    assert future not in set(old.quarantine["raw"])
    assert set(old.quarantine["check_name"]) == {"monotonic_dates"}


def test_the_session_itself_is_not_future_and_a_backfill_cuts_at_its_as_of() -> None:
    rows = assign_available_at(
        parse_cboe_index("\n".join(_vix_lines()).encode(), "vix"), "vix", LAGS
    )
    last = rows["date"].max()
    assert validate(rows, "cboe", "vix", as_of=last).rows_quarantined == 0
    earlier = rows["date"].iloc[-3]
    res = validate(rows, "cboe", "vix", as_of=earlier)
    assert res.rows_quarantined == 2 and set(res.quarantine["check_name"]) == {"future_date"}
    assert res.observations["date"].max() == earlier


def test_macro_periods_that_cannot_have_been_published_are_future() -> None:
    cpi = "date,value\n2026-09-01,330.1\n2026-10-01,330.9\n2026-11-01,331.4\n"
    rows, _ = _run(parse_fred_graph, cpi, "cpi")
    # on 2026-11-30 November has not ended; October has (published or not, it can exist)
    res = validate(rows, "fred_graph", "cpi", as_of=pd.Timestamp("2026-11-30"))
    assert res.quarantine["raw"].tolist() == ["2026-11-01,331.4"]
    assert res.quarantine["detail"].item() == (
        "cpi 2026-11-01: its monthly period ends 2026-11-30, so it cannot have been "
        "published by 2026-11-30"
    )
    gdp = "date,value\n2026-04-01,24100.0\n2026-07-01,24200.0\n"
    rows, _ = _run(parse_fred_graph, gdp, "gdp_real")
    res = validate(rows, "fred_graph", "gdp_real", as_of=pd.Timestamp("2026-09-15"))
    assert res.quarantine["raw"].tolist() == ["2026-07-01,24200.0"]  # Q3 ends 2026-09-30


def test_fomc_schedule_is_never_future_but_a_future_vintage_is() -> None:
    text = (FIX / "fomc_calendar.csv").read_text()
    rows, _ = _run(parse_fomc_calendar, text, "fomc", "calendar")
    assert (
        validate(rows, "calendar", "fomc", as_of=pd.Timestamp("2001-01-02")).rows_quarantined == 0
    )
    vint = assign_available_at(
        parse_fred_api((FIX / "fred_api_CPIAUCSL_vintages.json").read_bytes(), "cpi"), "cpi", LAGS
    )
    cut = vint["realtime_start"].sort_values().iloc[-1]
    res = validate(vint, "fred_api", "cpi", as_of=cut - pd.Timedelta(days=1))
    assert res.rows_quarantined == (vint["realtime_start"] == cut).sum() > 0
    assert res.quarantine["detail"].str.contains("vintage").all()
