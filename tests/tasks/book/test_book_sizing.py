"""The book driven by the real SPEC §7 sizing, with the open book counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from schemas.config import Holding, Portfolio
from tasks.book import MarketDay
from tasks.book.sizing import run_book, start_from_portfolio
from tasks.market.frame import MarketContext
from tasks.market.pricing import rate_from_tbill
from tasks.market.surface import VolTerm
from tasks.sizing import SizingInputs

DAYS = [pd.Timestamp(d) for d in ("2026-07-20", "2026-07-21", "2026-07-22", "2026-07-23")]
SPOTS = [7480.0, 7455.0, 7498.96, 7510.0]


def _scenarios(n: int = 252, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    spx = rng.standard_t(4, n) * 0.007
    return spx, np.exp(-5.0 * spx + rng.normal(0.0, 0.04, n))


SPX_R, VIX_R = _scenarios()


def _signals(day: pd.Timestamp) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "as_of": day,
            "signal": ["risk_state", "usd_strength", "ppi_surprise", "fomc_window"],
            "value": [0.0, 0.1, 0.0, 12.0],
            "state": ["risk_on", "neutral", "inline", "clear"],
            "params": ['{"rules": [], "stale": []}', "{}", "{}", "{}"],
            "input_date": day,
        }
    )


def _day(day: pd.Timestamp) -> tuple[MarketDay, SizingInputs]:
    spot = SPOTS[DAYS.index(day)]
    ctx = MarketContext(day, spot, VolTerm(14.88, 16.64, 19.54, np.nan), 95.55, 3.74,
                        float(rate_from_tbill(3.74)))  # fmt: skip
    inputs = SizingInputs(ctx, _signals(day), SPX_R, VIX_R, -3.5, None)
    return MarketDay(ctx), inputs


PORTFOLIO = Portfolio(
    portfolio_id="steward_1m",
    equity=1_000_000.0,
    cash=250_000.0,
    tbills=450_000.0,
    holdings=[Holding(name="index fund", value=300_000.0, beta=1.0)],
)


@pytest.fixture(scope="module")
def run():
    return run_book(start_from_portfolio(PORTFOLIO), DAYS, _day, PORTFOLIO)


def test_first_close_builds_a_ladder_and_later_closes_keep_it(run) -> None:
    first = run[0].book
    condors = first[first["kind"] == "condor"]
    assert 1 <= condors["position_id"].nunique() <= PORTFOLIO.params.ladder.n_tranches
    assert condors.groupby("position_id")["expiry"].nunique().eq(1).all()
    for prev, cur in zip(run, run[1:], strict=False):
        closed = set(cur.orders.loc[cur.orders["action"].isin(["close", "roll"]), "position_id"])
        keep = ["position_id", "leg", "expiry", "strike", "entry_price", "opened_on"]
        before = prev.book[~prev.book["position_id"].isin(closed)][keep]
        after = cur.book[cur.book["position_id"].isin(before["position_id"])][keep]
        pd.testing.assert_frame_equal(
            before.sort_values(["position_id", "leg"]).reset_index(drop=True),
            after.sort_values(["position_id", "leg"]).reset_index(drop=True),
        )
        c = cur.book[cur.book["kind"] == "condor"].drop_duplicates("position_id")
        assert c["expiry"].is_unique and len(c) <= PORTFOLIO.params.ladder.n_tranches


def test_nav_moves_by_the_days_pnl_and_sizing_uses_the_previous_nav(run) -> None:
    for prev, cur in zip(run, run[1:], strict=False):
        a0, a1 = prev.account.iloc[0], cur.account.iloc[0]
        assert round(a1["nav"] - a0["nav"], 2) == round(a1["pnl"], 2)
        assert cur.decision.risk.iloc[0]["equity"] == pytest.approx(a0["nav"])
    assert run[0].decision.risk.iloc[0]["equity"] == 1_000_000.0


def test_the_book_reaches_the_sizing_as_signed_contracts_at_todays_model_prices(run) -> None:
    """The book hands the sizing its condor legs as a priced leg frame: qty = signed
    contracts held, model price = the close's model mark (priced here by the sizing's own
    BSM path, marked by the book's revaluation path), plus a zero-quantity blocker on the
    expiry of every ladder slot that is not free."""
    from tasks.book.marks import mark_book
    from tasks.book.rules import free_slots, slot_expiry
    from tasks.book.sizing import book_positions
    from tasks.sizing.book import price_positions
    from tasks.structures import vol_of_vol

    market, inputs = _day(DAYS[-1])
    ctx, params = inputs.ctx, PORTFOLIO.params
    state = run[-2].state.with_(as_of=ctx.as_of)
    vov = vol_of_vol(ctx.vvix, params.pricing)
    slots = free_slots(state.legs, ctx.as_of, params.ladder)
    got, notes = price_positions(book_positions(state, slots, PORTFOLIO), ctx, params, vov)
    assert notes == []
    marked = mark_book(state.legs, ctx, None, params.pricing.div_yield, vov, params.pricing)
    condors = marked[marked["kind"] == "condor"].reset_index(drop=True)
    held = got[~got["position_id"].str.startswith("SLOT-")].reset_index(drop=True)
    assert len(condors) >= 4 and len(held) == len(condors)
    assert held["position_id"].tolist() == condors["position_id"].tolist()
    np.testing.assert_array_equal(held["qty"], condors["qty"] * condors["contracts"])
    np.testing.assert_allclose(held["model_price"], condors["mark"], rtol=1e-12)
    blockers = got[got["position_id"].str.startswith("SLOT-")]
    free = {sl.target_dte for sl in slots}
    taken = [d for d in params.ladder.target_dtes[: params.ladder.n_tranches] if d not in free]
    assert blockers["position_id"].tolist() == [f"SLOT-{d}" for d in taken]
    assert (blockers["qty"] == 0).all()
    assert list(blockers["expiry"]) == [slot_expiry(ctx.as_of, d) for d in taken]
