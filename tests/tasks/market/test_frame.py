"""tasks/market/frame.py: the point-in-time market frame every pricing step reads."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from schemas.config import ReleaseLags
from tasks.market import calendar
from tasks.market.frame import context_at, market_frame

DAYS = calendar.sessions("2024-01-02", "2024-02-15")
RATE_CARRY_SESSIONS = ReleaseLags().rate_carry_sessions


def _obs(series: str, dates, values, available) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series_id": series,
            "date": pd.to_datetime(dates),
            "value": values,
            "available_at": pd.to_datetime(available),
            "source": "test",
        }
    )


def _base() -> pd.DataFrame:
    spx = _obs("spx", DAYS, np.linspace(4700, 4900, len(DAYS)), DAYS)
    vix = _obs("vix", DAYS, np.linspace(13, 15, len(DAYS)), DAYS)
    # a bill print is published the next session
    nxt = [calendar.next_session(d) for d in DAYS]
    bill = _obs("tbill_3m", DAYS, np.linspace(5.20, 5.30, len(DAYS)), nxt)
    return pd.concat([spx, vix, bill], ignore_index=True)


def _value(obs: pd.DataFrame, series: str, day: str) -> float:
    row = obs[(obs["series_id"] == series) & (obs["date"] == pd.Timestamp(day))]
    return float(row["value"].iloc[0])


def _as_of(obs: pd.DataFrame, day: str) -> pd.DataFrame:
    """What a run for ``day`` reads from the warehouse."""
    return obs[obs["available_at"] <= pd.Timestamp(day)]


def test_closes_on_their_session_and_the_bill_one_session_late() -> None:
    obs = _base()
    f = market_frame(_as_of(obs, "2024-02-15"), DAYS)
    assert f.loc["2024-01-10", "spx"] == _value(obs, "spx", "2024-01-10")
    # on 2024-01-10 the newest bill print knowable is the one dated 2024-01-09
    bill = obs.query("series_id=='tbill_3m'").set_index("date")["value"]
    assert f.loc["2024-01-10", "tbill_3m"] == bill.loc["2024-01-09"]
    assert f.loc["2024-01-10", "r"] == pytest.approx(math.log(1 + bill.loc["2024-01-09"] / 100))
    assert np.isnan(f.loc["2024-01-02", "tbill_3m"])  # nothing published yet


def test_a_revised_close_is_used_from_when_it_was_known_and_never_blanks_the_date() -> None:
    obs = _base()
    rev = _obs("spx", ["2024-01-10"], [9999.0], ["2024-01-12"])
    both = pd.concat([obs, rev], ignore_index=True)
    before = market_frame(_as_of(both, "2024-01-11"), DAYS)
    after = market_frame(_as_of(both, "2024-01-12"), DAYS)
    original = _value(obs, "spx", "2024-01-10")
    assert before.loc["2024-01-10", "spx"] == original
    assert after.loc["2024-01-10", "spx"] == 9999.0


def test_a_late_revision_of_an_old_bill_print_does_not_become_todays_rate() -> None:
    obs = _base()
    rev = _obs("tbill_3m", ["2024-01-03"], [7.77], ["2024-01-25"])
    f = market_frame(_as_of(pd.concat([obs, rev], ignore_index=True), "2024-01-25"), DAYS)
    bill = obs.query("series_id=='tbill_3m'").set_index("date")["value"]
    assert f.loc["2024-01-25", "tbill_3m"] == bill.loc["2024-01-24"]
    assert f.loc["2024-01-04", "tbill_3m"] == 7.77  # the revised value of that old print


def test_the_bill_is_carried_a_limited_number_of_sessions() -> None:
    obs = _base()
    gap = calendar.sessions("2024-01-16", "2024-02-15")
    obs = obs[~((obs["series_id"] == "tbill_3m") & obs["date"].isin(gap))]
    f = market_frame(obs, DAYS)
    last = calendar.sessions("2024-01-12", "2024-02-15")  # 2024-01-12 printed, known 01-16
    carried = f.loc[last[1] : last[RATE_CARRY_SESSIONS], "tbill_3m"]
    assert carried.notna().all()
    assert np.isnan(f.loc[last[RATE_CARRY_SESSIONS + 1], "tbill_3m"])
    with pytest.raises(ValueError, match="tbill_3m"):
        context_at(f, last[RATE_CARRY_SESSIONS + 1])
    # the carry is ReleaseLags.rate_carry_sessions: two sessions drop the third
    short = market_frame(obs, DAYS, rate_carry_sessions=2)
    assert short.loc[last[1] : last[2], "tbill_3m"].notna().all()
    assert np.isnan(short.loc[last[3], "tbill_3m"])


def test_context_at_carries_the_surface_inputs() -> None:
    f = market_frame(_base(), DAYS)
    ctx = context_at(f, pd.Timestamp("2024-01-10"))
    assert ctx.spot == f.loc["2024-01-10", "spx"] and ctx.vix == f.loc["2024-01-10", "vix"]
    assert np.isnan(ctx.term.vix3m)  # not printed: the surface drops that knot
