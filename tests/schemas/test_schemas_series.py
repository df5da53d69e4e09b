"""Tests of schemas/series.py: the series registry against the SPEC table and its readers."""

from __future__ import annotations

import pandas as pd
import pytest

from schemas.config import MaxAge, Params, ReleaseLags
from schemas.series import (
    SERIES,
    Availability,
    Bounds,
    Frequency,
    period_end,
    series_with,
    spec,
)
from schemas.sources import SERIES_MODELS
from tasks.ingest import LIVE_SOURCES

# SPEC §1.1, §1.2, §1.3 restated by hand: id -> (symbol, frequency, rule)
SPEC_TABLE = {
    "spx": ("SP500", "daily", "market_close"),
    "vix": ("VIX", "daily", "market_close"),
    "vix3m": ("VIX3M", "daily", "market_close"),
    "vix9d": ("VIX9D", "daily", "market_close"),
    "vix6m": ("VIX6M", "daily", "market_close"),
    "vvix": ("VVIX", "daily", "market_close"),
    "tbill_3m": ("DTB3", "daily", "next_session"),
    "fed_funds": ("DFF", "daily", "next_session"),
    "cpi": ("CPIAUCSL", "monthly", "month_end_lag"),
    "ppi": ("PPIFIS", "monthly", "month_end_lag"),
    "ppi_all": ("PPIACO", "monthly", "month_end_lag"),
    "gdp_real": ("GDPC1", "quarterly", "quarter_end_lag"),
    "usd": ("DTWEXBGS", "daily", "weekly_published"),
    "usd_real": ("RBUSBIS", "monthly", "month_end_lag"),
    "fomc": ("fomc_calendar.csv", "event", "fomc_schedule"),
}


def test_registry_matches_the_spec_table() -> None:
    assert list(SERIES) == list(SPEC_TABLE)
    for sid, (symbol, freq, rule) in SPEC_TABLE.items():
        s = spec(sid)
        assert (s.series_id, s.symbol, s.frequency, s.availability) == (sid, symbol, freq, rule)
    with pytest.raises(ValueError, match="unknown series 'skew'"):
        spec("skew")


def test_lags_and_max_ages_name_config_fields() -> None:
    lags, ages = ReleaseLags(), MaxAge()
    for s in SERIES.values():
        if s.lag is not None:
            assert isinstance(getattr(lags, s.lag), int), s.series_id
        if s.max_age is not None:
            assert isinstance(getattr(ages, s.max_age), int), s.series_id
    # the lagged rules all have a lag; the others none
    lagged = {Availability.MONTH_END_LAG, Availability.QUARTER_END_LAG,
              Availability.WEEKLY_PUBLISHED}  # fmt: skip
    assert all((s.lag is not None) == (s.availability in lagged) for s in SERIES.values())
    assert Params().release_lags.weekly_publication_days == 7


def test_spec_bounds_are_the_validation_bounds() -> None:
    assert set(SERIES_MODELS) == set(SERIES)
    for sid, model in SERIES_MODELS.items():
        assert model._bounds == spec(sid).bounds and model.jump_rule() == spec(sid).jump
    assert spec("spx").bounds.text() == "(0, 1e+06)" and spec("vix").bounds.text() == "[1, 200]"
    assert spec("vvix").bounds == Bounds(40.0, 400.0)
    assert spec("fomc").bounds.contains([0.0, 1.0, 0.5]).tolist() == [True, True, False]


def test_live_sources_and_views_come_from_the_registry() -> None:
    assert LIVE_SOURCES == {sid: (s.provider, s.symbol) for sid, s in SERIES.items()}
    assert series_with(availability=Availability.MARKET_CLOSE) == (
        "spx", "vix", "vix3m", "vix9d", "vix6m", "vvix",
    )  # fmt: skip
    assert series_with(provider="calendar") == ("fomc",)


def test_period_end() -> None:
    d = pd.Series(pd.to_datetime(["2026-02-01", "2026-11-15", "2024-02-10"]))
    assert period_end(d, Frequency.MONTHLY).dt.strftime("%Y-%m-%d").tolist() == [
        "2026-02-28", "2026-11-30", "2024-02-29",
    ]  # fmt: skip
    assert period_end(d, Frequency.QUARTERLY).dt.strftime("%Y-%m-%d").tolist() == [
        "2026-03-31", "2026-12-31", "2024-03-31",
    ]  # fmt: skip
    assert period_end(d, Frequency.DAILY).equals(d.astype("datetime64[ns]"))
