"""CBOE chain download parsing and box-spread rates, on a trimmed copy of the 2025-01-06 chain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from paths import FIXTURES

from tasks.market.chain import (
    CHAIN_COLUMNS,
    ChainFormatError,
    box_price,
    box_rate,
    box_rate_for_target,
    chain_as_of,
    prefer_root,
    read_chain,
)
from tasks.market.pricing import rate_from_tbill

FIXTURE = FIXTURES / "chain" / "cboe_spx_options_chain_2025-01-06_trimmed.csv"
DTB3_20250106 = 4.21  # FRED DTB3, 2025-01-06 (percent, discount basis)


@pytest.fixture(scope="module")
def chain():
    return read_chain(FIXTURE)


def test_header_values(chain) -> None:
    assert chain.spot == pytest.approx(5975.3799)
    assert chain.as_of == pd.Timestamp("2025-01-06")
    assert chain_as_of(FIXTURE) == pd.Timestamp("2025-01-06")


def test_older_date_line_format_parses(tmp_path: Path) -> None:
    lines = FIXTURE.read_text().splitlines()
    lines[2] = '"Date: June 11, 2022, 8:47 PM EDT",Bid: 3900.1,Ask: 3901.2,Size: 1*1,Volume: 0'
    path = tmp_path / "old.csv"
    path.write_text("\n".join(lines) + "\n")
    assert chain_as_of(path) == pd.Timestamp("2022-06-11")


def test_counts_roots_and_columns(chain) -> None:
    q = chain.quotes
    # the fixture has 6 (Jan 6) + 219 (Jan 17 SPX) + 219 (Jan 17 SPXW) + 230 (Jan 31) lines,
    # each a call and a put
    n_lines = sum(1 for _ in FIXTURE.open()) - 4
    assert n_lines == 674
    assert len(q) == 2 * n_lines
    assert list(q.columns) == CHAIN_COLUMNS
    assert q["root"].value_counts().to_dict() == {"SPXW": 2 * (6 + 219 + 230), "SPX": 2 * 219}
    assert set(q["put_call"]) == {"P", "C"}
    assert str(q["expiry"].dtype) == "datetime64[ns]"


def test_known_row(chain) -> None:
    # line: Fri Jan 17 2025,SPXW250117C05800000,...,5800.00,SPXW250117P05800000,12.4,-6.75,
    #       11.2,11.6,683,0.1658,-0.133,0.0013,2903
    q = chain.quotes
    row = q[
        (q["expiry"] == "2025-01-17")
        & (q["root"] == "SPXW")
        & (q["put_call"] == "P")
        & (q["strike"] == 5800)
    ]
    assert len(row) == 1
    r = row.iloc[0]
    assert (r["bid"], r["ask"], r["iv"], r["delta"], r["gamma"], r["open_interest"]) == (
        11.2,
        11.6,
        0.1658,
        -0.133,
        0.0013,
        2903,
    )
    assert r["mid"] == pytest.approx(11.4)


def test_zero_iv_means_not_computable(chain) -> None:
    q = chain.quotes
    # Mon Jan 06 2025 2400 call: IV, delta, gamma all quoted as 0
    row = q[(q["expiry"] == "2025-01-06") & (q["strike"] == 2400) & (q["put_call"] == "C")].iloc[0]
    assert np.isnan(row["iv"]) and np.isnan(row["delta"]) and np.isnan(row["gamma"])
    assert row["mid"] == pytest.approx((3566.8 + 3584.7) / 2)


def test_prefer_root_keeps_spxw(chain) -> None:
    q = prefer_root(chain.quotes)
    assert not q.duplicated(["expiry", "put_call", "strike"]).any()
    jan17 = q[q["expiry"] == "2025-01-17"]
    assert set(jan17["root"]) == {"SPXW"}
    # nothing else lost: every (expiry, put_call, strike) of the raw chain is still there
    raw_keys = chain.quotes[["expiry", "put_call", "strike"]].drop_duplicates()
    assert len(raw_keys) == len(q)


def test_bad_header_is_rejected(tmp_path: Path) -> None:
    lines = FIXTURE.read_text().splitlines()
    lines[3] = lines[3].replace("Strike", "Exercise")
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ChainFormatError, match="header"):
        read_chain(path)


def test_box_rate_by_hand(chain) -> None:
    # Jan 31 2025 (SPXW) quotes from the file: C5500 496.8/504, C6500 0.3/0.45,
    # P6500 500.3/507.9, P5500 7.5/7.9
    p_box = (496.8 + 504) / 2 - (0.3 + 0.45) / 2 + (500.3 + 507.9) / 2 - (7.5 + 7.9) / 2
    expected = np.log(1000.0 / p_box) / (25 / 365)
    assert box_price(chain, "2025-01-31", 5500.0, 6500.0) == pytest.approx(p_box)
    assert box_rate(chain, "2025-01-31", 5500.0, 6500.0) == pytest.approx(expected, rel=1e-12)
    assert np.isnan(box_rate(chain, "2025-01-31", 5500.0, 9999.0))


def test_box_rate_for_target_is_a_plausible_rate(chain) -> None:
    rate, expiry, boxes = box_rate_for_target(chain, 25, width=1000.0, n_boxes=5)
    assert expiry == pd.Timestamp("2025-01-31")
    assert len(boxes) == 5
    assert (boxes["K2"] - boxes["K1"] == 1000.0).all()
    assert rate == pytest.approx(float(np.median(boxes["rate"])))
    # SPEC §6 sanity: within ±1.5% of the 3-month T-bill rate of the day
    r_f = float(rate_from_tbill(DTB3_20250106))
    assert abs(rate - r_f) < 0.015, rate
