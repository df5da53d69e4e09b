"""SPX weekly and VIX expiry rules (SPEC §3.3) against known real expiries."""

from __future__ import annotations

import pandas as pd
import pytest

from tasks.market.expiries import (
    nearest_expiry,
    nearest_vix_expiry,
    spx_weekly_expiries,
    third_fridays,
    vix_expiries,
    vix_expiry_for_month,
)

# Real VX futures final settlement dates.
KNOWN_VIX_EXPIRIES = {
    # CFE "F (Jan 15)" contract: its last trade row in cboe_CFE_F15_VX_sample.csv is 01/21/2015
    "2015-01": "2015-01-21",
    "2024-02": "2024-02-14",
    "2024-03": "2024-03-20",
    "2024-12": "2024-12-18",
    "2025-01": "2025-01-22",
    # Good Friday 2025-04-18 is the third Friday of April: count 30 days back from Thu 04-17
    "2025-03": "2025-03-18",
    # 2024-06-19 (Juneteenth) is the Wednesday 30 days before 2024-07-19: previous session
    "2024-06": "2024-06-18",
    "2025-06": "2025-06-18",
}


@pytest.mark.parametrize(("month", "expiry"), sorted(KNOWN_VIX_EXPIRIES.items()))
def test_vix_expiry_for_month_matches_real_settlements(month: str, expiry: str) -> None:
    got = vix_expiry_for_month(pd.PeriodIndex([month], freq="M"))[0]
    assert got == pd.Timestamp(expiry)


def test_vix_expiries_vectorised_and_strictly_after_as_of() -> None:
    got = vix_expiries("2025-01-06", 8)
    assert len(got) == 8
    assert got[0] == pd.Timestamp("2025-01-22")
    assert got.is_monotonic_increasing
    assert (got > pd.Timestamp("2025-01-06")).all()
    # on an expiry day itself the next contract is the first one
    assert vix_expiries("2025-01-22", 1)[0] == pd.Timestamp("2025-02-19")


def test_vix_expiries_are_wednesdays_unless_a_holiday_rolled_them() -> None:
    exp = vix_expiries("2010-01-01", 200)
    months = exp.to_period("M")
    fridays = third_fridays(months + 1)
    plain = exp == fridays - pd.Timedelta(days=30)
    # brute-force naive loop: every expiry is the Wednesday 30 days before the next
    # month's third Friday, except for the few holiday-rolled ones, which are earlier
    for e, ok, f in zip(exp, plain, fridays, strict=True):
        if ok:
            assert e.day_name() == "Wednesday"
        else:
            assert e < f - pd.Timedelta(days=30)
    # the rolled ones: Good Friday as the third Friday (2014, 2019, 2022, 2025), Juneteenth
    # on the Wednesday (2024) or on the third Friday (2026-06-19)
    rolled = {str(d.date()) for d in exp[~plain]}
    assert rolled == {
        "2014-03-18",
        "2019-03-19",
        "2022-03-15",
        "2024-06-18",
        "2025-03-18",
        "2026-05-19",
    }


def test_third_fridays() -> None:
    got = third_fridays(pd.PeriodIndex(["2025-02", "2025-04", "2024-07"], freq="M"))
    assert list(got) == [
        pd.Timestamp("2025-02-21"),
        pd.Timestamp("2025-04-18"),
        pd.Timestamp("2024-07-19"),
    ]


def test_spx_weekly_expiries_roll_good_friday_to_thursday() -> None:
    got = spx_weekly_expiries("2025-04-01", 30)
    assert list(got) == [
        pd.Timestamp("2025-04-04"),
        pd.Timestamp("2025-04-11"),
        pd.Timestamp("2025-04-17"),  # Good Friday 2025-04-18
        pd.Timestamp("2025-04-25"),
    ]
    assert pd.Timestamp("2024-03-28") in spx_weekly_expiries("2024-03-20", 14)  # Good Friday 2024


def test_spx_weekly_expiries_exclude_as_of_and_respect_horizon() -> None:
    got = spx_weekly_expiries("2025-01-10", 14)  # a Friday
    assert list(got) == [pd.Timestamp("2025-01-17"), pd.Timestamp("2025-01-24")]
    assert len(spx_weekly_expiries("2025-01-06", 365)) == 52


def test_nearest_expiry() -> None:
    # 2025-01-06 + 28 days = Mon 2025-02-03: Fri 01-31 is 3 days away, Fri 02-07 four
    assert nearest_expiry("2025-01-06", 28) == pd.Timestamp("2025-01-31")
    # + 35 = Mon 02-10 → Fri 02-07
    assert nearest_expiry("2025-01-06", 35) == pd.Timestamp("2025-02-07")
    # target on a Friday is that Friday
    assert nearest_expiry("2025-01-03", 14) == pd.Timestamp("2025-01-17")


def test_nearest_vix_expiry_and_exclusion() -> None:
    # 2025-01-06 + 90 = 2025-04-06: 03-18 is 19 days away, 04-16 ten
    assert nearest_vix_expiry("2025-01-06", 90) == pd.Timestamp("2025-04-16")
    # + 30 = 02-05: 01-22 and 02-19 are both 14 days away → the earlier
    assert nearest_vix_expiry("2025-01-06", 30) == pd.Timestamp("2025-01-22")
    assert nearest_vix_expiry("2025-01-06", 30, exclude="2025-01-22") == pd.Timestamp("2025-02-19")


def test_expiry_tables_equal_the_calendar_every_day() -> None:
    """The weekly and monthly expiries come from tables built once: over 1990–2027 they must
    equal the rule applied directly on exchange_calendars' sessions."""
    import numpy as np

    from tasks.market.calendar import sessions

    def weekly(d: pd.Timestamp, horizon: int) -> pd.DatetimeIndex:
        fr = pd.date_range(d + pd.Timedelta(days=1), d + pd.Timedelta(days=horizon), freq="W-FRI")
        s = sessions(fr.min() - pd.Timedelta(days=15), fr.max())
        exp = pd.DatetimeIndex(s[s.searchsorted(fr, side="right") - 1])
        return exp[exp > d]

    def monthly(d: pd.Timestamp, n: int) -> pd.DatetimeIndex:
        exp = vix_expiry_for_month(pd.period_range(d.to_period("M"), periods=n + 2, freq="M"))
        return exp[exp > d][:n]

    for d in pd.bdate_range("1990-01-02", "2027-06-30")[::5]:
        for h in (21, 42, 63):  # nearest_expiry(d, dte) looks dte + 14 days ahead
            want = weekly(d, h)
            assert spx_weekly_expiries(d, h).equals(want), (d, h)
            target = d + pd.Timedelta(days=h - 14)
            near = want[int(np.argmin(np.abs(np.asarray((want - target).days))))]
            assert nearest_expiry(d, h - 14) == near, (d, h)
        assert vix_expiries(d, 4).equals(monthly(d, 4)), d
