"""Tests of tasks/ingest/availability.py: available_at by the SPEC §1.2 rule of each series."""

from __future__ import annotations

import calendar as pycal
from datetime import date, timedelta

import pandas as pd
from ingest_support import FIX, _next_session
from paths import SNAPSHOT

from schemas.config import ReleaseLags
from tasks.ingest import (
    assign_available_at,
    parse_cboe_index,
    parse_fred_api,
    parse_fred_graph,
    parse_snapshot,
)

# --------------------------------------------------------------------------- available_at


def _month_end(d: pd.Timestamp) -> date:
    return date(d.year, d.month, pycal.monthrange(d.year, d.month)[1])


def test_available_at_cpi_month_end_plus_lag() -> None:
    lags = ReleaseLags()
    rows = parse_fred_graph((FIX / "fred_CPIAUCSL_tail30.csv").read_bytes(), "cpi")
    out = assign_available_at(rows, "cpi", lags)
    expected = [_next_session(_month_end(d) + timedelta(days=lags.cpi)) for d in rows["date"]]
    assert out["available_at"].tolist() == expected
    # one worked case: July 2026 -> 2026-07-31 + 20 d = Thu 2026-08-20, a session
    july = out.loc[out["date"] == pd.Timestamp("2026-07-01"), "available_at"].item()
    assert july == pd.Timestamp("2026-08-20")


def test_available_at_other_lag_rules() -> None:
    lags = ReleaseLags(cpi=20, ppi=25, gdp_real=31, usd_monthly=45)

    def stamp(sid: str, dates: list[str], values: list[float] | None = None) -> list[pd.Timestamp]:
        rows = pd.DataFrame(
            {
                "series_id": sid,
                "date": pd.to_datetime(dates),
                "value": values or [1.0] * len(dates),
                "value_missing": False,
                "raw": dates,
            }
        )
        return assign_available_at(rows, sid, lags)["available_at"].tolist()

    # market close: own session; a FRED holiday row (2016-02-15, Presidents Day) rolls forward
    assert stamp("vix", ["2026-07-22", "2016-02-15"]) == [
        pd.Timestamp("2026-07-22"),
        pd.Timestamp("2016-02-16"),
    ]
    # daily rates: the next session (Fri 2026-07-17 -> Mon 2026-07-20; Thu 2026-07-02 -> Mon 07-06)
    assert stamp("tbill_3m", ["2026-07-17", "2026-07-02"]) == [
        _next_session(date(2026, 7, 18)),
        _next_session(date(2026, 7, 3)),
    ]
    assert stamp("fed_funds", ["2026-07-02"]) == [pd.Timestamp("2026-07-06")]
    # usd daily: + 7 days
    assert stamp("usd", ["2026-07-24"]) == [_next_session(date(2026, 7, 31))]
    # ppi uses lags.ppi, ppi_all too
    for sid in ("ppi", "ppi_all"):
        assert stamp(sid, ["2025-09-01"]) == [_next_session(date(2025, 9, 30) + timedelta(25))]
    # gdp: quarter end + lag
    assert stamp("gdp_real", ["2026-01-01"]) == [_next_session(date(2026, 3, 31) + timedelta(31))]
    # usd_real: month end + 45
    assert stamp("usd_real", ["2023-10-01"]) == [_next_session(date(2023, 10, 31) + timedelta(45))]
    # fomc: scheduled known from July 1 of the previous year; unscheduled on its own date
    assert stamp("fomc", ["2024-03-20", "2020-03-15"], [1.0, 0.0]) == [
        _next_session(date(2023, 7, 1)),
        pd.Timestamp("2020-03-16"),  # a Sunday action: first session after
    ]


def test_available_at_vintages_and_unparseable_dates() -> None:
    rows = parse_fred_api((FIX / "fred_api_CPIAUCSL_vintages.json").read_bytes(), "cpi")
    out = assign_available_at(rows, "cpi", ReleaseLags())
    expected = [_next_session(d) for d in rows["realtime_start"]]
    assert out["available_at"].tolist() == expected
    assert out["available_at"].iloc[0] == pd.Timestamp("2025-12-15")  # Sat 12-13 -> Mon
    bad = parse_cboe_index(b"DATE,VVIX\nxx/yy/2006,71.73\n", "vvix")
    assert assign_available_at(bad, "vvix", ReleaseLags())["available_at"].isna().all()


def test_available_at_is_never_before_the_observation() -> None:
    frames = parse_snapshot(SNAPSHOT)
    for sid, rows in frames.items():
        out = assign_available_at(rows, sid, ReleaseLags())
        if sid == "fomc":
            continue  # scheduled meetings are known in advance by design
        assert (out["available_at"] >= out["date"]).all(), sid


def test_alfred_vintages_do_not_delay_a_market_close() -> None:
    """FRED posts SP500 the next day; the close was still knowable at its own close."""
    rows = pd.DataFrame(
        {
            "series_id": ["spx", "cpi"],
            "date": pd.to_datetime(["2026-02-11", "2026-01-01"]),
            "value": [6941.47, 326.588],
            "value_missing": False,
            "raw": ["", ""],
            "realtime_start": pd.to_datetime(["2026-02-12", "2026-02-13"]),
        }
    )
    spx = assign_available_at(rows.iloc[[0]], "spx", ReleaseLags())
    cpi = assign_available_at(rows.iloc[[1]], "cpi", ReleaseLags())
    assert spx["available_at"].iloc[0] == pd.Timestamp("2026-02-11")
    assert cpi["available_at"].iloc[0] == pd.Timestamp("2026-02-13")  # the vintage date
