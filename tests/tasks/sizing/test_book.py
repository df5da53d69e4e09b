"""The open book alone: margin of held legs, holdings in β and stress, taken slots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from schemas.config import Holding, params_for
from tasks.market.frame import MarketContext
from tasks.market.surface import VolTerm
from tasks.sizing.book import expiry_margin, open_book

CTX = MarketContext(
    as_of=pd.Timestamp("2026-07-22"),
    spot=7498.96,
    term=VolTerm(14.88, 16.64, 19.54, np.nan),
    vvix=95.55,
    tbill_pct=3.74,
    risk_free=0.038,
)


def _legs(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"underlying": "SPX", "expiry": pd.Timestamp(e), "put_call": pc, "strike": k,
             "qty": q, "kind": kind}
            for e, pc, k, q, kind in rows
        ]
    )  # fmt: skip


def test_expiry_margin_is_the_worst_payoff_per_expiry_by_hand() -> None:
    legs = _legs(
        [
            # 2 short 7000/6950 put spreads: worst below 6950, 100·2·50 = $10,000
            ("2026-08-21", "P", 7000.0, -2, "condor"),
            ("2026-08-21", "P", 6950.0, 2, "condor"),
            # a naked short 8000 call: unbounded, taken at twice the strike: 100·8,000
            ("2026-09-18", "C", 8000.0, -1, "condor"),
            # a long call alone needs no margin
            ("2026-10-16", "C", 7600.0, 3, "condor"),
        ]
    )
    assert expiry_margin(legs) == pytest.approx(10_000.0 + 800_000.0)
    assert expiry_margin(legs.iloc[:0]) == 0.0


def test_holdings_alone_enter_beta_and_stress() -> None:
    params = params_for("steward")
    book = open_book(
        pd.DataFrame(),
        [
            Holding(name="SPY", value=500_000.0, beta=1.0),
            Holding(name="TLT", value=100_000.0, beta=-0.2),
        ],
        cash=50_000.0,
        tbills=70_000.0,
        ctx=CTX,
        beta_F=-3.0,
        params=params,
    )
    assert book.dollar_beta == pytest.approx(480_000.0)
    # β_h·value_h·SPX move: crash −20%, correction −10%, cpi_shock −7%, vol_spike 0, rally +8%
    expected = 480_000.0 * np.array([-0.20, -0.10, -0.07, 0.0, 0.08])
    np.testing.assert_allclose(book.stress.to_numpy(), expected)
    assert list(book.stress.index) == ["crash", "correction", "cpi_shock", "vol_spike", "rally"]
    assert book.margin == 0.0 and book.condor_expiries == frozenset()
    assert (book.cash, book.tbills) == (50_000.0, 70_000.0)
