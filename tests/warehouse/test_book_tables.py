"""warehouse/book.py: the book tables, their round trip, idempotent and atomic rewrites."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tasks.book import ACCOUNT_COLUMNS, BOOK_COLUMNS, ORDER_COLUMNS, BookState
from tasks.book.positions import empty_legs, state_from_record, state_record
from warehouse import book as wbook
from warehouse import db

SPEC = {
    "book": ["as_of", "portfolio_id", "position_id", "kind", "expiry", "leg", "put_call",
             "strike", "contracts", "opened_on", "entry_price", "mark", "pricing_source"],
    "orders": ["as_of", "portfolio_id", "order_id", "action", "position_id", "kind", "expiry",
               "leg", "put_call", "strike", "contracts", "limit_price", "reason"],
    "account_daily": ["as_of", "portfolio_id", "nav", "cash", "capital_at_risk", "pnl",
                      "realised_pnl", "unrealised_pnl", "condor_pnl", "hedge_pnl", "drawdown"],
}  # fmt: skip


@pytest.fixture
def con(tmp_path: Path):
    c = db.connect(tmp_path / "w.duckdb")
    db.migrate(c)
    yield c
    c.close()


def _state(day: str, nav: float) -> BookState:
    legs = pd.DataFrame(
        {
            "position_id": "IC-2026-09-04-7000-7800",
            "kind": "condor",
            "underlying": "SPX",
            "expiry": pd.Timestamp("2026-09-04"),
            "leg": ["short_put", "long_put", "short_call", "long_call"],
            "put_call": ["P", "P", "C", "C"],
            "strike": [7000.0, 6950.0, 7800.0, 7850.0],
            "qty": [-1.0, 1.0, -1.0, 1.0],
            "contracts": np.int64(2),
            "opened_on": pd.Timestamp("2026-07-20"),
            "entry_price": [9.95, 6.05, 7.95, 5.05],
            "mark": [9.0, 5.5, 7.0, 4.5],
            "iv": np.nan,
            "pricing_source": "model",
        }
    )
    return BookState("p1", pd.Timestamp(day), legs, 1000.0, 2000.0, ((300.0, 1.0),), 0.0, 0.08,
                     100.0, -5.0, nav, nav, 7500.0, True)  # fmt: skip


def _tables(state: BookState) -> dict[str, pd.DataFrame]:
    book = state.legs.assign(as_of=state.as_of, portfolio_id=state.portfolio_id)
    account = pd.DataFrame([{c: 0.0 for c in ACCOUNT_COLUMNS}]).assign(
        as_of=state.as_of, portfolio_id="p1", nav=state.nav, condor_contracts=2, hedge_units=0
    )
    orders = pd.DataFrame(
        {
            "as_of": state.as_of, "portfolio_id": "p1", "order_id": "20260720-p1-01",
            "action": "open", "position_id": book["position_id"], "kind": "condor",
            "expiry": book["expiry"], "leg": book["leg"], "put_call": book["put_call"],
            "strike": book["strike"], "contracts": 2, "limit_price": book["entry_price"],
            "reason": "free ladder slot 49 DTE", "side": "sell", "qty": book["qty"],
            "mid": book["mark"], "commission": 1.3,
        }
    )  # fmt: skip
    record = pd.DataFrame([state_record(state)])
    return {
        "book": book[list(BOOK_COLUMNS)],
        "orders": orders[list(ORDER_COLUMNS)],
        "account_daily": account[list(ACCOUNT_COLUMNS)],
        "book_state": record,
    }


def test_book_tables_have_the_spec_columns_and_comments(con) -> None:
    for table, cols in SPEC.items():
        have = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        assert have[: len(cols)] == cols
    missing = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE table_name IN "
        "('book', 'orders', 'account_daily', 'book_state') AND comment IS NULL"
    ).fetchall()
    assert missing == []


def test_state_round_trips_through_the_warehouse(con) -> None:
    s = _state("2026-07-20", 1_000_000.0)
    wbook.write_book_sessions(con, "p1", [s.as_of], _tables(s))
    assert wbook.previous_session(con, "p1", pd.Timestamp("2026-07-21")) == s.as_of
    assert wbook.previous_session(con, "p1", s.as_of) is None
    record, legs = wbook.read_state(con, "p1", s.as_of)
    back = state_from_record(record, legs)
    assert (back.cash, back.tbills, back.holdings, back.other, back.monetised) == (
        1000.0, 2000.0, ((300.0, 1.0),), -5.0, True,
    )  # fmt: skip
    cols = ["position_id", "leg", "strike", "contracts", "entry_price", "expiry", "opened_on"]
    pd.testing.assert_frame_equal(
        back.legs[cols].sort_values("leg").reset_index(drop=True),
        s.legs[cols].sort_values("leg").reset_index(drop=True),
        check_dtype=False,
    )


def test_rewrite_replaces_without_duplicates_and_clears_empty_days(con) -> None:
    d1, d2 = _state("2026-07-20", 100.0), _state("2026-07-21", 110.0)
    wbook.write_book_sessions(con, "p1", [d1.as_of, d2.as_of], {
        k: pd.concat([_tables(d1)[k], _tables(d2)[k]]) for k in wbook.BOOK_TABLES
    })  # fmt: skip
    # a rerun of both days where day 2 has no orders and a new NAV
    t2 = _tables(_state("2026-07-21", 120.0))
    t2["orders"] = t2["orders"].iloc[0:0]
    tables = {k: pd.concat([_tables(d1)[k], t2[k]]) for k in wbook.BOOK_TABLES}
    wbook.write_book_sessions(con, "p1", [d1.as_of, d2.as_of], tables)
    counts = dict(con.execute("SELECT as_of::VARCHAR, count(*) FROM orders GROUP BY 1").fetchall())
    assert counts == {"2026-07-20": 4}
    navs = con.execute("SELECT nav FROM account_daily ORDER BY as_of").fetchall()
    assert navs == [(100.0,), (120.0,)]
    assert wbook.later_sessions(con, "p1", d1.as_of) == [d2.as_of]


def test_failed_write_leaves_the_previous_state(con) -> None:
    s = _state("2026-07-20", 100.0)
    wbook.write_book_sessions(con, "p1", [s.as_of], _tables(s))
    bad = _tables(_state("2026-07-20", 999.0))
    bad["book_state"] = bad["book_state"].assign(nav=None)  # NOT NULL violation, last table
    with pytest.raises(duckdb.Error):
        wbook.write_book_sessions(con, "p1", [s.as_of], bad)
    assert con.execute("SELECT nav FROM account_daily").fetchall() == [(100.0,)]
    assert con.execute("SELECT count(*) FROM book").fetchone() == (4,)


def test_empty_book_state_round_trips(con) -> None:
    s = _state("2026-07-20", 100.0).with_(legs=empty_legs())
    t = _tables(s)
    t["book"] = t["book"].iloc[0:0]
    t["orders"] = t["orders"].iloc[0:0]
    wbook.write_book_sessions(con, "p1", [s.as_of], t)
    record, legs = wbook.read_state(con, "p1", s.as_of)
    assert state_from_record(record, legs).legs.empty
