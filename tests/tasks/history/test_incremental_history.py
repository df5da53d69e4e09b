"""tasks/history/incremental.py: extending a stored history equals recomputing it in full."""

from __future__ import annotations

import pandas as pd
import pytest
from paths import SNAPSHOT

from schemas.config import Params
from schemas.sources import validate
from tasks import ingest as sources
from tasks.history import LadderHistory, model_ladder
from tasks.history.incremental import find_splice, splice_history
from tasks.market.frame import MARKET_SERIES, market_frame

CONDOR_COLS = [
    "position_id", "slot", "open_date", "close_date", "expiry", "credit", "close_cost",
    "k_long_put", "k_short_put", "k_short_call", "k_long_call", "exit_reason", "pnl",
]  # fmt: skip
HEDGE_COLS = ["position_id", "open_date", "close_date", "expiry", "strike", "premium",
              "close_value", "exit_reason"]  # fmt: skip
DAILY_COLS = ["as_of", "pnl", "capital_at_risk", "strategy_return", "open_condors", "open_hedges"]


@pytest.fixture(scope="module")
def market() -> pd.DataFrame:
    """The bundled snapshot's point-in-time market frame (as the daily run builds it)."""
    p = Params()
    frames = []
    for series_id, rows in sources.parse_snapshot(SNAPSHOT).items():
        if series_id in MARKET_SERIES:
            stamped = sources.assign_available_at(rows, series_id, p.release_lags)
            frames.append(validate(stamped, "snapshot", series_id).observations)
    return market_frame(pd.concat(frames, ignore_index=True)).loc[:"2026-07-22"]


def _extend(stored: LadderHistory, market: pd.DataFrame, valid_until: pd.Timestamp):
    p = Params()
    opens = stored.hedge_events["open_date"]
    start = opens[opens <= market.index[-1040]].max()  # as flows.steps.modelled_history does
    recent = model_ladder(market, p, start=start)
    return find_splice(stored, recent, valid_until, p.history.return_base_sessions), recent


def _same(a: pd.DataFrame, b: pd.DataFrame, cols: list[str], keys: list[str]) -> None:
    def norm(df: pd.DataFrame) -> pd.DataFrame:
        return df[cols].sort_values(keys, kind="stable").reset_index(drop=True)

    pd.testing.assert_frame_equal(norm(a), norm(b), check_dtype=False)


def test_one_new_session_extends_the_stored_history_to_the_full_recompute(market) -> None:
    p = Params()
    yesterday, today = market.index[-2], market.index[-1]
    stored = model_ladder(market.loc[:yesterday], p)  # what yesterday's run stored
    cut, recent = _extend(stored, market, yesterday + pd.Timedelta(days=1))
    assert cut is not None
    assert len(recent.daily) < len(market) / 5  # the new run covers years, not 36 of them
    got = splice_history(stored, recent, cut)
    full = model_ladder(market, p)
    assert got.daily["as_of"].max() == today
    _same(got.condor_events, full.condor_events, CONDOR_COLS, ["slot", "open_date"])
    _same(got.hedge_events, full.hedge_events, HEDGE_COLS, ["open_date"])
    _same(got.daily, full.daily, DAILY_COLS, ["as_of"])


def test_a_change_in_the_distant_past_refuses_the_splice(market) -> None:
    # a revised close before the new run's window: the stored rows after it are not the
    # full run's, and no session before it is shared with the window
    stored = model_ladder(market.loc[: market.index[-2]], Params())
    cut, _ = _extend(stored, market, market.index[-1200])
    assert cut is None
    # a change after the splice sessions does not matter: the rows before them stand
    cut, _ = _extend(stored, market, market.index[-60])
    assert cut is not None and cut.daily_from < market.index[-60]
