"""The book (SPEC §10): positions, exits, slots, hedge lifecycle, account and IRR, by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from schemas.config import BookParams, LadderParams, Params
from tasks.book import (
    BookState,
    MarketDay,
    NewCondor,
    SizingDecision,
    account_irr,
    capital_at_risk,
    condor_exits,
    free_slots,
    plan_hedge,
    start_state,
    step_book,
)
from tasks.book.account import carry
from tasks.book.positions import LegArrays, condor_id, empty_legs, hedge_id, kind_values
from tasks.market.chain import Chain
from tasks.market.frame import MarketContext
from tasks.market.pricing import rate_from_tbill
from tasks.market.surface import VolTerm

D1, D2 = pd.Timestamp("2026-07-20"), pd.Timestamp("2026-07-21")
EXPIRY = pd.Timestamp("2026-09-04")
STRIKES = {"short_put": 7000.0, "long_put": 6950.0, "short_call": 7800.0, "long_call": 7850.0}
QTY = {"short_put": -1.0, "long_put": 1.0, "short_call": -1.0, "long_call": 1.0}
PC = {"short_put": "P", "long_put": "P", "short_call": "C", "long_call": "C"}


def ctx(day: pd.Timestamp, vix: float = 16.64, spot: float = 7498.96) -> MarketContext:
    return MarketContext(
        as_of=day,
        spot=spot,
        term=VolTerm(14.88, vix, 19.54, np.nan),
        vvix=95.55,
        tbill_pct=3.74,
        risk_free=float(rate_from_tbill(3.74)),
    )


def condor_legs(mids: dict[str, float], expiry: pd.Timestamp = EXPIRY) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "expiry": expiry,
            "leg": list(STRIKES),
            "put_call": [PC[k] for k in STRIKES],
            "strike": list(STRIKES.values()),
            "qty": [QTY[k] for k in STRIKES],
            "model_price": [mids[k] for k in STRIKES],
            "pricing_source": "model",
        }
    )


def book_legs(entry: dict[str, float], mark: dict[str, float], contracts: int = 3,
              expiry: pd.Timestamp = EXPIRY) -> pd.DataFrame:  # fmt: skip
    legs = condor_legs(mark, expiry)
    return pd.DataFrame(
        {
            "position_id": condor_id(legs),
            "kind": "condor",
            "underlying": "SPX",
            "expiry": expiry,
            "leg": legs["leg"],
            "put_call": legs["put_call"],
            "strike": legs["strike"],
            "qty": legs["qty"],
            "contracts": np.int64(contracts),
            "opened_on": D1,
            "entry_price": [entry[k] for k in STRIKES],
            "mark": [mark[k] for k in STRIKES],
            "iv": np.nan,
            "pricing_source": "model",
        }
    )


def hedge_legs(expiry: str = "2026-10-21", strike: float = 24.0, units: int = 5,
               entry: float = 2.0) -> pd.DataFrame:  # fmt: skip
    return pd.DataFrame(
        {
            "position_id": f"HV-{expiry}-{strike:g}",
            "kind": "hedge",
            "underlying": "VIX",
            "expiry": pd.Timestamp(expiry),
            "leg": ["long_call"],
            "put_call": ["C"],
            "strike": [strike],
            "qty": [1.0],
            "contracts": np.int64(units),
            "opened_on": D1,
            "entry_price": [entry],
            "mark": [entry],
            "iv": [0.9],
            "pricing_source": "model",
        }
    )


ENTRY = {"short_put": 10.0, "long_put": 6.0, "short_call": 8.0, "long_call": 5.0}  # credit 7


# --------------------------------------------------------------------------- positions


def test_position_ids_name_the_structure() -> None:
    legs = condor_legs(ENTRY)
    assert condor_id(legs) == "IC-2026-09-04-7000-7800"
    assert hedge_id(hedge_legs()) == "HV-2026-10-21-24"
    assert hedge_id(hedge_legs(), "vix_call_spread").startswith("HS-")


def test_capital_at_risk_is_max_loss_plus_hedge_premium() -> None:
    # condor: 100·(50 − 7)·3 = 12,900; hedge: 100·2.00·5 = 1,000
    legs = pd.concat([book_legs(ENTRY, ENTRY), hedge_legs()], ignore_index=True)
    assert capital_at_risk(legs) == pytest.approx(13_900.0)
    assert capital_at_risk(empty_legs()) == 0.0


# --------------------------------------------------------------------------- exits


@pytest.mark.parametrize(
    ("mark", "as_of", "rule"),
    [
        # cost to close 3.5 = 50% of the 7.0 credit → profit target
        ({"short_put": 4.0, "long_put": 2.0, "short_call": 3.0, "long_call": 1.5}, D1,
         "profit_target"),
        # cost 21: loss 14 = 2 × credit → stop
        ({"short_put": 30.0, "long_put": 12.0, "short_call": 4.0, "long_call": 1.0}, D1, "stop"),
        # cost 5.0, 7 days left → DTE exit
        ({"short_put": 5.0, "long_put": 2.0, "short_call": 3.0, "long_call": 1.0},
         pd.Timestamp("2026-08-28"), "dte"),
        ({"short_put": 0.0, "long_put": 0.0, "short_call": 0.0, "long_call": 0.0}, EXPIRY,
         "expiry"),
    ],
)  # fmt: skip
def test_condor_exit_rules(mark: dict[str, float], as_of: pd.Timestamp, rule: str) -> None:
    exits = condor_exits(book_legs(ENTRY, mark), as_of, BookParams())
    assert [e.rule for e in exits] == [rule]


def test_no_exit_between_the_rules() -> None:
    # cost 5.0 > 3.5, loss −2 < 14, 46 days left
    mark = {"short_put": 5.0, "long_put": 2.0, "short_call": 3.0, "long_call": 1.0}
    assert condor_exits(book_legs(ENTRY, mark), D1, BookParams()) == []


# --------------------------------------------------------------------------- free slots


def test_free_slots_skip_held_expiries_and_respect_n_tranches() -> None:
    # 2026-07-20 + 28/35/42/49 days → Fridays 08-14, 08-21, 08-28, 09-04
    held = pd.concat(
        [
            book_legs(ENTRY, ENTRY, expiry=pd.Timestamp("2026-08-21")),
            book_legs(ENTRY, ENTRY, expiry=pd.Timestamp("2026-08-28")),
        ],
        ignore_index=True,
    )
    slots = free_slots(held, D1, LadderParams())
    assert [(s.target_dte, str(s.expiry.date())) for s in slots] == [
        (49, "2026-09-04"),
        (28, "2026-08-14"),
    ]
    three = pd.concat(
        [held, book_legs(ENTRY, ENTRY, expiry=pd.Timestamp("2026-07-31"))], ignore_index=True
    )
    assert [s.target_dte for s in free_slots(three, D1, LadderParams())] == [49]
    four = pd.concat([three, book_legs(ENTRY, ENTRY)], ignore_index=True)
    assert free_slots(four, D1, LadderParams()) == []
    assert len(free_slots(empty_legs(), D1, LadderParams())) == 4


# --------------------------------------------------------------------------- hedge


def test_hedge_monetise_then_wait_for_vix_below_rebuy() -> None:
    rules = BookParams()
    legs = hedge_legs(units=5)
    up = plan_hedge(legs, D1, 52.0, 8, False, rules)
    assert up.monetise and up.monetised
    wait = plan_hedge(empty_legs(), D2, 35.0, 8, True, rules)
    assert not wait.monetise and wait.monetised and wait.buy == 0
    back = plan_hedge(empty_legs(), D2, 29.5, 8, True, rules)
    assert not back.monetised and back.buy == 8


def test_hedge_dead_band_roll_and_resize() -> None:
    rules = BookParams()
    assert plan_hedge(hedge_legs(units=4), D1, 17.0, 5, False, rules).buy == 0  # gap 1: hold
    assert plan_hedge(hedge_legs(units=3), D1, 17.0, 5, False, rules).buy == 2
    assert plan_hedge(hedge_legs(units=8), D1, 17.0, 5, False, rules).sell == 3
    # long leg 2026-08-19 is 30 days after 2026-07-20 → roll; 31 days → hold
    assert plan_hedge(hedge_legs("2026-08-19"), D1, 17.0, 5, False, rules).rolls == (
        "HV-2026-08-19-24",
    )
    assert plan_hedge(hedge_legs("2026-08-20"), D1, 17.0, 5, False, rules).rolls == ()


# --------------------------------------------------------------------------- account


def test_carry_by_hand() -> None:
    c = carry(10, 0.01, ((100_000.0, 1.0), (50_000.0, 0.5)), 100_000.0, 200_000.0,
              0.04, 0.005, 0.0, 0.08, 100_000.0, 0.045)  # fmt: skip
    assert c.holdings_pnl == pytest.approx(1_000.0 + 250.0)
    assert [v for v, _ in c.holdings] == pytest.approx([101_000.0, 50_250.0])
    assert c.cash_interest == pytest.approx(100_000 * 0.005 * 10 / 365)  # 13.70
    assert c.tbill_interest == pytest.approx(200_000 * (math.exp(0.04 * 10 / 365) - 1))
    assert c.debt_cost == pytest.approx(100_000 * 0.045 * 10 / 365)  # 123.29


def test_account_irr_from_the_window() -> None:
    account = pd.DataFrame(
        {
            "as_of": pd.to_datetime(["2026-01-02", "2026-01-12", "2026-01-22"]),
            "condor_pnl": [999.0, 500.0, 300.0],  # the first session's P&L predates the window
            "hedge_pnl": [0.0, 100.0, 100.0],
            "capital_at_risk": [9_000.0, 10_000.0, 11_000.0],
        }
    )
    res = account_irr(account, "2026-01-22", 252)
    # P&L 1,000 on C̄ 10,000 over 20 days
    assert res.pnl == 1_000.0 and res.capital == 10_000.0 and res.days == 20
    assert res.irr == pytest.approx(1.1 ** (365 / 20) - 1)
    short = account_irr(account, "2026-01-22", 2)  # window: the last two sessions
    assert short.pnl == 400.0 and short.capital == 10_500.0 and short.days == 10
    assert np.isnan(account_irr(account.head(1), "2026-01-02", 252).irr)


# --------------------------------------------------------------------------- one session


def _chain(day: pd.Timestamp, mids: dict[str, float]) -> Chain:
    q = pd.DataFrame(
        {
            "quote_date": day,
            "expiry": EXPIRY,
            "root": "SPXW",
            "put_call": [PC[k] for k in STRIKES],
            "strike": list(STRIKES.values()),
            "bid": [mids[k] - 0.05 for k in STRIKES],
            "ask": [mids[k] + 0.05 for k in STRIKES],
            "mid": [mids[k] for k in STRIKES],
            "iv": np.nan,
            "delta": np.nan,
            "gamma": np.nan,
            "open_interest": 100,
        }
    )
    return Chain(q, 7498.96, day)


def _sizer(condors: list[NewCondor], hedge_target: int = 0):
    unit = pd.DataFrame(
        {
            "expiry": [pd.Timestamp("2026-10-21")],
            "leg": ["long_call"],
            "put_call": ["C"],
            "strike": [24.0],
            "qty": [1.0],
            "model_price": [2.0],
            "pricing_source": ["model"],
        }
    )

    def fn(state: BookState, day: MarketDay, slots) -> SizingDecision:
        return SizingDecision(list(condors), unit, "vix_call", hedge_target)

    return fn


def test_step_book_opens_then_takes_profit_by_hand() -> None:
    params = Params()
    state = start_state("p", 100_000.0, 100_000.0, 0.0, [])
    open_ = NewCondor(49, condor_legs(ENTRY), 2)
    r1 = step_book(state, MarketDay(ctx(D1)), _sizer([open_]), params)
    # fills: sell 9.95, buy 6.05, sell 7.95, buy 5.05 → credit 6.80; 2 contracts
    o = r1.orders
    assert list(o["action"]) == ["open"] * 4 and set(o["reason"].str[:15]) == {"free ladder slo"}
    assert list(o["limit_price"]) == pytest.approx([9.95, 6.05, 7.95, 5.05])
    a1 = r1.account.iloc[0]
    # marked at mid (value −1,400) after receiving 1,360 − 5.20 commission
    assert a1["condor_pnl"] == pytest.approx(-45.20)
    assert a1["realised_pnl"] == pytest.approx(-5.20)
    assert a1["capital_at_risk"] == pytest.approx(100 * (50 - 6.80) * 2)
    assert a1["nav"] == pytest.approx(100_000.0 - 45.20)
    assert set(r1.book["position_id"]) == {"IC-2026-09-04-7000-7800"}

    # next close: chain mids give a cost to close of 3.00 ≤ 50% of 6.80 → profit target
    mids = {"short_put": 4.0, "long_put": 2.5, "short_call": 3.0, "long_call": 1.5}
    r2 = step_book(r1.state, MarketDay(ctx(D2), _chain(D2, mids)), _sizer([]), params)
    o2 = r2.orders
    assert set(o2["action"]) == {"close"} and o2["reason"].str.startswith("profit target").all()
    assert list(o2["limit_price"]) == pytest.approx([4.05, 2.45, 3.05, 1.45])
    a2 = r2.account.iloc[0]
    # realised 100·2·(6.80 − 3.20) − 5.20; the day's condor P&L adds back the day-1 mark gap
    assert a2["realised_pnl"] == pytest.approx(714.80)
    assert a2["condor_pnl"] == pytest.approx(754.80)
    assert a2["unrealised_pnl"] == pytest.approx(40.0)
    carry_ = (100_000.0 + 1_360 - 5.20) * 0.005 * 1 / 365
    assert a2["pnl"] == pytest.approx(754.80 + carry_)
    assert a2["nav"] - a1["nav"] == pytest.approx(a2["pnl"], abs=1e-6)
    assert r2.book.empty and a2["capital_at_risk"] == 0.0


def test_step_book_keeps_positions_and_never_doubles_an_expiry() -> None:
    params = Params()
    state = start_state("p", 1_000_000.0, 300_000.0, 400_000.0, [(300_000.0, 1.0)])
    r1 = step_book(state, MarketDay(ctx(D1)), _sizer([NewCondor(49, condor_legs(ENTRY), 2)], 5),
                   params)  # fmt: skip
    assert r1.account.iloc[0]["hedge_units"] == 5
    # the sizing offers the same expiry again: it is held, so nothing opens
    r2 = step_book(r1.state, MarketDay(ctx(D2, spot=7520.0)),
                   _sizer([NewCondor(49, condor_legs(ENTRY), 3)], 6), params)  # fmt: skip
    assert r2.orders.empty  # hedge gap 1: dead band
    keep = ["position_id", "expiry", "strike", "contracts", "entry_price"]
    pd.testing.assert_frame_equal(r1.book[keep], r2.book[keep])
    a1, a2 = r1.account.iloc[0], r2.account.iloc[0]
    assert a2["nav"] - a1["nav"] == pytest.approx(a2["pnl"], abs=1e-6)
    assert a2["holdings_pnl"] == pytest.approx(300_000.0 * (7520.0 / 7498.96 - 1))
    # VIX at 55: every hedge unit sold; then none bought back at VIX 35, five at VIX 25
    d3 = pd.Timestamp("2026-07-22")
    r3 = step_book(r2.state, MarketDay(ctx(d3, vix=55.0)), _sizer([], 5), params)
    hedge_orders = r3.orders[r3.orders["kind"] == "hedge"]
    assert len(hedge_orders) == 1 and hedge_orders["reason"].str.startswith("monetise").all()
    assert r3.state.monetised and r3.account.iloc[0]["hedge_units"] == 0
    r4 = step_book(r3.state, MarketDay(ctx(pd.Timestamp("2026-07-23"), vix=35.0)), _sizer([], 5),
                   params)  # fmt: skip
    assert r4.orders.empty and r4.state.monetised
    r5 = step_book(r4.state, MarketDay(ctx(pd.Timestamp("2026-07-24"), vix=25.0)), _sizer([], 5),
                   params)  # fmt: skip
    bought = r5.orders[r5.orders["kind"] == "hedge"]
    assert list(bought["action"]) == ["open"] and bought["contracts"].iloc[0] == 5
    for prev, cur in ((r2, r3), (r3, r4), (r4, r5)):
        diff = cur.account.iloc[0]["nav"] - prev.account.iloc[0]["nav"]
        assert diff == pytest.approx(cur.account.iloc[0]["pnl"], abs=1e-6)


def test_a_step_carries_the_arrays_and_values_of_its_legs() -> None:
    """The arrays and marked values a step keeps in step as it trades, and hands the next
    step with the state, are those read afresh off the state's legs: through an open, a
    profit take at chain mids, a hedge added to, a monetisation and a rebuy."""
    params = Params()
    state = start_state("p", 1_000_000.0, 300_000.0, 400_000.0, [(300_000.0, 1.0)])
    mids = {"short_put": 4.0, "long_put": 2.5, "short_call": 3.0, "long_call": 1.5}
    d3, d4 = pd.Timestamp("2026-07-22"), pd.Timestamp("2026-07-23")
    sessions = [
        (MarketDay(ctx(D1)), _sizer([NewCondor(49, condor_legs(ENTRY), 2)], 5)),
        (MarketDay(ctx(D2), _chain(D2, mids)), _sizer([], 8)),
        (MarketDay(ctx(d3, vix=55.0)), _sizer([], 8)),
        (MarketDay(ctx(d4, vix=25.0)), _sizer([], 5)),
    ]
    actions = []
    for day, sizer in sessions:
        res = step_book(state, day, sizer, params)
        state = res.state
        actions.append(sorted(set(res.orders["action"])))
        fresh = LegArrays.of(state.legs)
        for name, carried, read in zip(LegArrays._fields, state.leg_arrays, fresh, strict=True):
            assert carried.dtype == read.dtype, name
            np.testing.assert_array_equal(carried, read, err_msg=name)
        assert state.marked_values == kind_values(state.legs)
        assert res.account_row["options_value"] == state.marked_values.total
    assert actions == [["open"], ["adjust", "close"], ["close"], ["open"]]
    # kept while the legs stay; a state given other legs reads them afresh
    assert state.with_(cash=0.0).leg_arrays is state.leg_arrays
    assert state.with_(legs=empty_legs()).marked_values == (0.0, 0.0, 0.0)


def test_step_book_refuses_to_go_backwards() -> None:
    state = start_state("p", 1.0, 1.0, 0.0, []).with_(as_of=D2)
    with pytest.raises(ValueError, match="cannot step"):
        step_book(state, MarketDay(ctx(D1)), _sizer([]), Params())


def test_capital_at_risk_takes_the_wider_wing() -> None:
    legs = book_legs(ENTRY, ENTRY, contracts=1)
    legs.loc[legs["leg"] == "long_call", "strike"] = 7875.0  # call wing 75 wide, put wing 50
    assert capital_at_risk(legs) == pytest.approx(100 * (75 - 7.0))


def test_the_backtest_fills_only_the_sessions_before_the_book() -> None:
    """SPEC §6: backtest rows dated before the book's first session are put in front of the
    book's; where they overlap the book's rows are kept, and a warm start (no book yet)
    takes the rows before its first session."""
    from tasks.book.account import with_policy_history

    d = pd.bdate_range("2026-01-05", periods=6)
    backtest = pd.DataFrame({"as_of": d, "capital_at_risk": 1.0, "condor_pnl": 1.0,
                             "hedge_pnl": 0.0})  # fmt: skip
    book = pd.DataFrame({"as_of": d[3:], "capital_at_risk": 9.0, "condor_pnl": 5.0,
                         "hedge_pnl": 1.0})  # fmt: skip
    out, n = with_policy_history(book, backtest, d[3])
    assert n == 3
    assert list(out["as_of"]) == list(d)
    assert list(out["capital_at_risk"]) == [1.0, 1.0, 1.0, 9.0, 9.0, 9.0]
    # a warm start (no stored book yet) starting on d[2]: the two sessions before it
    out, n = with_policy_history(None, backtest, d[2])
    assert n == 2 and list(out["as_of"]) == list(d[:2])
    # nothing before the book: the book as it is
    same, n = with_policy_history(book, backtest.iloc[3:], d[3])
    assert n == 0 and same is book


def test_orders_stack_from_their_blocks_with_the_orders_dtypes() -> None:
    """A session keeps its orders as column blocks; a backtest frames many sessions' blocks
    at once. Both must give the ``orders`` table's columns and dtypes (those of the empty
    frame a session without trades returns, text as strings), in the order placed."""
    from tasks.book.orders import ORDER_COLUMNS, empty_orders, orders_frame

    params = Params()
    state = start_state("p", 1_000_000.0, 300_000.0, 400_000.0, [(300_000.0, 1.0)])
    r1 = step_book(state, MarketDay(ctx(D1)), _sizer([NewCondor(49, condor_legs(ENTRY), 2)], 5),
                   params)  # fmt: skip
    assert len(r1.order_blocks) == 2  # the condor, then the hedge
    mids = {"short_put": 4.0, "long_put": 2.5, "short_call": 3.0, "long_call": 1.5}
    r2 = step_book(r1.state, MarketDay(ctx(D2), _chain(D2, mids)), _sizer([], 5), params)
    stacked = orders_frame(r1.order_blocks + r2.order_blocks)
    assert tuple(stacked.columns) == ORDER_COLUMNS
    for col, dtype in empty_orders().dtypes.items():  # text columns: any string dtype
        if pd.api.types.is_object_dtype(dtype):
            assert pd.api.types.is_string_dtype(stacked[col]), col
        else:
            assert stacked[col].dtype == dtype, col
    pd.testing.assert_frame_equal(
        stacked, pd.concat([r1.orders, r2.orders], ignore_index=True), check_exact=True
    )
    assert list(stacked["order_id"].drop_duplicates()) == [
        "20260720-p-01", "20260720-p-02", "20260721-p-01",
    ]  # fmt: skip
    assert list(stacked["kind"].iloc[:4]) == ["condor"] * 4 and stacked["contracts"].iloc[0] == 2


def test_the_account_tail_is_the_last_window_of_history_then_new_sessions() -> None:
    """What a sizing reads of the account: the last ``window`` sessions of the stored
    history followed by each new session's row, however many sessions have been appended
    (25 appended to a buffer of 14: it shifts twice)."""
    from tasks.book.account import IRR_COLUMNS, AccountTail

    days = pd.bdate_range("2024-01-01", periods=40)
    rows = [
        {
            "as_of": d,
            "capital_at_risk": 1000.0 + i,
            "condor_pnl": float(i),
            "hedge_pnl": -0.5 * i,
            "nav": 1.0,
        }
        for i, d in enumerate(days)
    ]
    stored = pd.DataFrame(rows[:15])
    tail = AccountTail(7, stored)
    frame = tail.frame()
    assert frame is not None and list(frame.columns) == list(IRR_COLUMNS)
    assert list(frame["as_of"]) == list(days[8:15])
    for r in rows[15:]:
        tail.append(r)
    got = tail.frame()
    assert got is not None and len(got) == 7
    want = pd.DataFrame(rows[-7:])[list(IRR_COLUMNS)]
    want["as_of"] = want["as_of"].astype("datetime64[ns]")
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert AccountTail(7).frame() is None


def test_the_account_tails_irr_is_the_irr_of_its_frame() -> None:
    """A backtest's sizing reads the IRR off the tail's buffers (:meth:`AccountTail.irr`):
    the same numbers as :func:`account_irr` of the frame the tail stands for, for a window
    shorter than the tail, as long as it and longer, and an as-of that cuts the last day."""
    from tasks.book.account import AccountTail

    days = pd.bdate_range("2024-01-01", periods=30)
    rng = np.random.default_rng(7)
    rows = [
        {
            "as_of": d,
            "capital_at_risk": 5000.0 + 100.0 * rng.standard_normal(),
            "condor_pnl": 50.0 * rng.standard_normal(),
            "hedge_pnl": -5.0 + rng.standard_normal(),
        }
        for d in days
    ]
    tail = AccountTail(12, pd.DataFrame(rows[:20]))
    for r in rows[20:]:
        tail.append(r)
    frame = tail.frame()
    assert frame is not None and len(tail) == 12
    for window, as_of in [(5, days[-1]), (12, days[-1]), (40, days[-1]), (12, days[-2])]:
        got, want = tail.irr(as_of, window), account_irr(frame, as_of, window)
        assert got == want  # every field: IRR, P&L, C̄, days, window dates, sessions, note
        assert np.isfinite(got.irr) and got.sessions == min(window, 12 - (as_of != days[-1]))
    assert len(AccountTail(5)) == 0
    assert AccountTail(5).irr(days[0], 5).note == "fewer than two sessions of account history"
