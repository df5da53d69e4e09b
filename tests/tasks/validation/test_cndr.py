"""The CNDR history file, the roll calendar and the index's monthly excess return."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from paths import FIXTURES

from tasks.validation import CndrFormatError, index_excess_returns, monthly_expiries, parse_cndr

CNDR_FILE = FIXTURES / "validation" / "cboe_CNDR_History_2016-11_2018-01.csv"


def _raw_value(day: str) -> float:
    """The close printed on a line of the fixture, read as text (not through the parser)."""
    for line in CNDR_FILE.read_text().splitlines():
        if line.startswith(day + ","):
            return float(line.split(",")[1])
    raise KeyError(day)


def test_parse_reads_every_row_sorted_and_unique() -> None:
    s = parse_cndr(CNDR_FILE.read_bytes(), str(CNDR_FILE))
    assert len(s) == len(CNDR_FILE.read_text().splitlines()) - 1
    assert s.index.is_monotonic_increasing and s.index.is_unique
    assert s[pd.Timestamp("2017-01-20")] == _raw_value("01/20/2017")
    assert s.index[0] == pd.Timestamp("2016-11-01") and s.index[-1] == pd.Timestamp("2018-01-31")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (b"DATE,VALUE,EXTRA\n01/03/2017,1,2\n", "not a CBOE index history"),
        (b"DATE,CNDR\n", "no data rows"),
        (b"DATE,CNDR\n01/03/2017,740.1\n01/04/2017,abc\n01/05/2017,741\n", "line 3"),
        (b"DATE,CNDR\n01/03/2017,740.1\n2017-13-45,741\n", "line 3"),
        (b"DATE,CNDR\n01/03/2017,-5\n", "line 2"),
        (b"DATE,CNDR\n01/03/2017,740\n01/03/2017,741\n", "2017-01-03 is listed more than once"),
        (b"<html><body>blocked</body></html>", "HTML"),
        (b"", "empty"),
    ],
)
def test_a_malformed_file_is_refused_with_one_line_that_says_why(text: bytes, needle: str) -> None:
    with pytest.raises(CndrFormatError) as err:
        parse_cndr(text, "bad.csv")
    msg = str(err.value)
    assert needle in msg and "\n" not in msg and "bad.csv" in msg


def test_rolls_are_third_fridays_or_the_session_before_a_holiday() -> None:
    rolls = monthly_expiries("2014-01-01", "2014-12-31")
    assert len(rolls) == 12
    # Good Friday 2014-04-18 was the third Friday: the monthlies expired Thursday 04-17
    assert pd.Timestamp("2014-04-17") in rolls and pd.Timestamp("2014-04-18") not in rolls
    assert list(rolls[:3]) == [pd.Timestamp(d) for d in ("2014-01-17", "2014-02-21", "2014-03-21")]
    assert all(d.day_of_week in (3, 4) and 15 <= d.day <= 21 for d in rolls)


def test_index_excess_is_the_month_return_less_the_bill_return() -> None:
    cndr = parse_cndr(CNDR_FILE.read_bytes())
    entry = pd.DatetimeIndex(["2017-01-20"])
    expiry = pd.DatetimeIndex(["2017-02-17"])
    r = np.array([0.005])
    out = index_excess_returns(cndr, entry, expiry, r).iloc[0]
    ret = _raw_value("02/17/2017") / _raw_value("01/20/2017") - 1
    bill = math.exp(0.005 * 28 / 365) - 1
    assert out["index_return"] == pytest.approx(ret, rel=1e-12)
    assert out["index_excess"] == pytest.approx(ret - bill, rel=1e-12)


def test_a_roll_day_missing_from_the_file_takes_the_last_close_before_it() -> None:
    cndr = parse_cndr(b"DATE,CNDR\n01/18/2017,100\n01/19/2017,101\n02/17/2017,103\n")
    out = index_excess_returns(
        cndr, pd.DatetimeIndex(["2017-01-20"]), pd.DatetimeIndex(["2017-02-17"]), np.array([0.0])
    )
    assert out["index_return"].iloc[0] == pytest.approx(103 / 101 - 1)
    # a month past the end of the file has no index return (never carried forward for weeks)
    late = index_excess_returns(
        cndr, pd.DatetimeIndex(["2017-02-17"]), pd.DatetimeIndex(["2017-03-17"]), np.array([0.0])
    )
    assert late["index_return"].isna().all()
