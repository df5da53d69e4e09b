"""SPEC §7 steps 5–6 alone: the hedge of a book, its totals, and the path search.

Synthetic per-unit numbers (one tranche, two scenarios) so every outcome is hand-computed:
a new condor has max loss $1,000, dollar beta +100, crash P&L −$2,000 and rally +$300 per
contract; a hedge unit costs $200 (90 days), has dollar beta −1,000, crash +$3,000 and
rally −$100. Equity $100,000, so the crash limit at max_drawdown 0.10 is $10,000.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from schemas.config import params_for
from tasks.sizing.book import NewTranches, OpenBook
from tasks.sizing.hedge import HedgeBeta, HedgeSpec
from tasks.sizing.limits import check_book, fit_limits, hedge_for_book
from tasks.sizing.rationale import limit_lines
from tasks.structures import HedgeUnit

E = 100_000.0
SCEN = {
    "crash": {"spx_return": -0.20, "vix_mult": 3.0},
    "rally": {"spx_return": 0.08, "vix_mult": 0.7},
}
NEW = NewTranches(
    ids=("IC1",),
    max_loss=np.array([1_000.0]),
    dollar_beta=np.array([100.0]),
    stress=pd.DataFrame({"IC1": [-2_000.0, 300.0]}, index=["crash", "rally"]),
    slot_taken=np.array([False]),
)
HEDGE = HedgeSpec(
    unit=HedgeUnit(pd.Timestamp("2026-07-22"), "vix_call", 0.9, pd.DataFrame(), 2.0, 200.0, 0.5),
    position_id="ALVH-2026-10-21",
    legs=pd.DataFrame(),
    tenor_days=90,
    dollar_beta=-1_000.0,
    stress=pd.Series({"crash": 3_000.0, "rally": -100.0}),
    beta=HedgeBeta(-3.0, "betas"),
)


def _params(**sizing):
    return params_for("steward", {"sizing": {"scenarios": SCEN, **sizing}})


def _book(cash=100_000.0, holdings_db=0.0, crash=0.0, margin=0.0) -> OpenBook:
    return OpenBook(
        legs=pd.DataFrame(),
        holdings_dollar_beta=holdings_db,
        legs_dollar_beta=0.0,
        stress=pd.Series({"crash": crash, "rally": 0.0}),
        margin=margin,
        cash=cash,
        tbills=0.0,
        notes=(),
    )


def test_hedge_and_totals_of_one_book_by_hand() -> None:
    params = _params()
    book = _book(holdings_db=50_000.0, crash=-5_000.0)
    n = np.array([2])
    hd = hedge_for_book(n, E, book, NEW, HEDGE, False, params)
    # β before = (50,000 + 2·100)/100,000 = 0.502; h_β = (0.502 − 0.4)·E/1,000 = 10.2
    assert hd.beta_before == pytest.approx(0.502)
    assert hd.h_beta == pytest.approx(10.2)
    # crash unhedged −5,000 − 2·2,000 = −9,000 is within $10,000: no tail units
    assert hd.crash_pnl_unhedged == pytest.approx(-9_000.0) and hd.h_tail == 0.0
    # ceil(10.2) = 11 < caps: β band floor(30.2) = 30, premium floor(1,000/66.67) = 15
    assert (hd.units, hd.cap_beta, hd.cap_premium) == (11, 30, 15)
    c = check_book(n, E, book, NEW, HEDGE, False, params)
    assert c.stress_total["crash"] == pytest.approx(-9_000.0 + 11 * 3_000.0)
    assert c.stress_total["rally"] == pytest.approx(2 * 300.0 - 11 * 100.0)
    # (cash − 11·200) / (margin 2·1,000 + worst loss 500)
    assert c.quick_ratio == pytest.approx((100_000.0 - 2_200.0) / 2_500.0)


def test_crash_limit_alone_binds() -> None:
    # β of at most 0.0008 is under the band's low: no hedge; crash −2,000·n ≥ −10,000 → n ≤ 5
    d = fit_limits(np.array([8]), E, _book(), NEW, HEDGE, False, _params())
    assert int(d.contracts[0]) == 5 and d.kept.hedge.units == 0
    assert d.crash_rule and d.feasible and not d.crash_breach and d.scaled
    assert d.rejected == (("crash",),) * 3  # 8, 7, 6
    assert d.binding == ("crash",) and d.cut_by == ("crash",) and d.crash_scaled
    lines = limit_lines(d, E, _params())
    assert lines[0].startswith("crash limit: new condors cut 8 → 5 contracts")
    assert lines[1] == f"quick ratio {100_000 / 15_000:.2f} ≥ 1.5"


def test_crash_limit_binds_below_where_the_quick_ratio_did() -> None:
    # quick ratio 30,000 / (3,000·n) ≥ 1.5 → n ≤ 6; crash → n ≤ 5
    d = fit_limits(np.array([8]), E, _book(cash=30_000.0), NEW, HEDGE, False, _params())
    assert int(d.contracts[0]) == 5
    assert d.rejected == (("quick_ratio", "crash"), ("quick_ratio", "crash"), ("crash",))
    # the largest book was refused by the quick ratio first, but the crash limit is what
    # stops the book at 5: it is named, the quick ratio (2.00 ≥ 1.5 now) is not blamed
    assert d.binding == ("crash",) and d.cut_by == ("quick_ratio", "crash")
    assert not d.crash_scaled  # the first refusal's reason
    lines = limit_lines(d, E, _params())
    assert lines[0].startswith("crash limit: new condors cut 8 → 5")
    assert lines[1] == "quick ratio 2.00 ≥ 1.5"
    assert not any("to keep the quick ratio" in line for line in lines)


def test_quick_ratio_alone_binds() -> None:
    params = _params(max_drawdown=0.5)  # crash limit $50,000: n ≤ 25
    d = fit_limits(np.array([8]), E, _book(cash=30_000.0), NEW, HEDGE, False, params)
    assert int(d.contracts[0]) == 6 and d.binding == ("quick_ratio",)
    assert limit_lines(d, E, params) == [
        "new condors scaled 8 → 6 contracts to keep the quick ratio ≥ 1.5 (now 1.67)"
    ]


def test_infeasible_book_keeps_no_new_condors() -> None:
    d = fit_limits(np.array([3]), E, _book(cash=0.0, margin=1_000.0), NEW, HEDGE, False, _params())
    assert int(d.contracts[0]) == 0 and not d.feasible and d.kept.quick_ratio == 0.0
    assert len(d.rejected) == 4  # 3, 2, 1 and the empty book itself
    assert limit_lines(d, E, _params())[-1].startswith("book infeasible: quick ratio 0.00 < 1.5")


def test_open_book_beyond_the_crash_limit_opens_no_new_condors() -> None:
    # new condors would only add to a crash loss the open book already exceeds
    d = fit_limits(np.array([4]), E, _book(crash=-20_000.0), NEW, HEDGE, False, _params())
    assert not d.crash_rule and int(d.contracts[0]) == 0 and d.scaled
    assert d.crash_breach and d.binding == ("crash",)
    line = limit_lines(d, E, _params())[0]
    assert line.startswith("crash loss $20,000 exceeds max drawdown $10,000")  # the book alone
    assert "no new condors, hedge capped" in line


def test_nothing_proposed_nothing_cut() -> None:
    d = fit_limits(np.array([0]), E, _book(), NEW, HEDGE, False, _params())
    assert int(d.contracts[0]) == 0 and not d.scaled and d.rejected == () and d.feasible
