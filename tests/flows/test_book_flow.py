"""The book through the daily flow (SPEC §10): three closes in a row into one warehouse, a rerun."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from paths import EXAMPLES

from warehouse import db

pytestmark = pytest.mark.usefixtures("prefect_harness")

DAYS = ("2026-07-20", "2026-07-21", "2026-07-22")
WARM = 15  # a short warm start keeps the test quick; the default replays 252 sessions


def _config(tmp: Path) -> Path:
    text = (EXAMPLES / "portfolios.toml").read_text()
    # every portfolio gets a short warm start (a per-portfolio override of the book rules)
    text = text.replace(
        'profile = "steward"',
        f'profile = "steward"\noverrides = {{ book = {{ warm_start_sessions = {WARM} }} }}',
    )
    text = text.replace(
        "[portfolios.overrides.ladder]",
        f"[portfolios.overrides.book]\nwarm_start_sessions = {WARM}\n\n[portfolios.overrides.ladder]",
    )
    path = tmp / "portfolios.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def three_days(
    tmp_path_factory: pytest.TempPathFactory, prefect_harness: None
) -> tuple[Path, Path]:
    from flows.daily import daily_flow

    tmp = tmp_path_factory.mktemp("book")
    cfg = _config(tmp)
    path = tmp / "w.duckdb"
    for d in DAYS:
        assert (
            daily_flow(as_of=d, db_path=str(path), config_path=str(cfg), artifacts=False).status
            == "completed"
        )
    return path, cfg


def _q(path: Path, sql: str) -> pd.DataFrame:
    return db.query(path, sql)


def test_positions_carry_over_unless_an_order_closed_them(three_days) -> None:
    path, _ = three_days
    book = _q(path, "SELECT * FROM book")
    orders = _q(path, "SELECT * FROM orders")
    for pid in ("steward_1m", "promoter_1m"):
        for d0, d1 in zip(DAYS, DAYS[1:], strict=False):
            b0 = book[(book["portfolio_id"] == pid) & (book["as_of"] == pd.Timestamp(d0))]
            b1 = book[(book["portfolio_id"] == pid) & (book["as_of"] == pd.Timestamp(d1))]
            o1 = orders[(orders["portfolio_id"] == pid) & (orders["as_of"] == pd.Timestamp(d1))]
            gone = set(o1.loc[o1["action"].isin(["close", "roll"]), "position_id"])
            k = ["position_id", "leg", "expiry", "strike", "opened_on", "entry_price"]
            kept = b0[~b0["position_id"].isin(gone)][k]
            merged = kept.merge(b1[k], how="left", indicator=True)
            assert (merged["_merge"] == "both").all(), merged
        for d in DAYS:
            c = book[(book["portfolio_id"] == pid) & (book["as_of"] == pd.Timestamp(d))
                     & (book["kind"] == "condor")].drop_duplicates("position_id")  # fmt: skip
            assert c["expiry"].is_unique and 1 <= len(c) <= 4
        first = book[(book["portfolio_id"] == pid) & (book["as_of"] == pd.Timestamp(DAYS[0]))]
        assert (first["opened_on"] < pd.Timestamp(DAYS[0])).any()  # the warm start's positions


def test_nav_moves_by_the_days_pnl_to_the_cent_and_irr_is_the_accounts(three_days) -> None:
    path, _ = three_days
    acc = _q(path, "SELECT * FROM account_daily ORDER BY portfolio_id, as_of")
    risk = _q(path, "SELECT * FROM portfolio_risk")
    irrs = {}
    for pid, a in acc.groupby("portfolio_id"):
        assert len(a) == WARM + 2
        nav = a["nav"].round(2).diff().iloc[1:]
        pnl = a["pnl"].round(2).iloc[1:]
        assert (nav - pnl).abs().max() <= 0.011
        r = risk[(risk["portfolio_id"] == pid) & (risk["as_of"] == pd.Timestamp(DAYS[-1]))].iloc[0]
        w = a.tail(252)
        pl = float((w["condor_pnl"] + w["hedge_pnl"]).iloc[1:].sum())
        cbar = float(w["capital_at_risk"].mean())
        days = (w["as_of"].iloc[-1] - w["as_of"].iloc[0]).days
        irr = (1 + pl / cbar) ** (365 / days) - 1
        assert r["irr"] == pytest.approx(irr, rel=1e-9)
        assert r["eva"] == pytest.approx((irr - r["wacc"]) * cbar, rel=1e-9)
        first, second = r["rationale"].split("; ")[:2]
        assert first.startswith("binding: ") and second.startswith("orders:")
        irrs[pid] = irr
    assert irrs["steward_1m"] != irrs["promoter_1m"]


def test_rerunning_a_day_recomputes_it_and_every_later_day_without_duplicates(
    three_days, tmp_path: Path
) -> None:
    from flows.daily import daily_flow

    path, cfg = three_days
    copy = tmp_path / "w.duckdb"
    shutil.copyfile(path, copy)
    daily_flow(as_of=DAYS[1], db_path=str(copy), config_path=str(cfg), artifacts=False)
    for table in ("book", "orders", "account_daily", "book_state"):
        a = _q(path, f"SELECT * FROM {table}")
        b = _q(copy, f"SELECT * FROM {table}")
        cols = list(a.columns)
        pd.testing.assert_frame_equal(
            a.sort_values(cols).reset_index(drop=True), b.sort_values(cols).reset_index(drop=True)
        )


def test_backfill_sizing_of_a_range_equals_the_daily_runs_of_its_days(
    three_days, tmp_path: Path
) -> None:
    from flows.backfill import backfill_flow

    path, cfg = three_days
    other = tmp_path / "b.duckdb"
    backfill_flow(start=DAYS[0], end=DAYS[-1], db_path=str(other), config_path=str(cfg),
                  sizing=True)  # fmt: skip
    for table, key in [
        ("book", ["as_of", "portfolio_id", "position_id", "leg"]),
        ("orders", ["as_of", "portfolio_id", "order_id", "leg"]),
        ("account_daily", ["as_of", "portfolio_id"]),
        ("portfolio_risk", ["as_of", "portfolio_id"]),
    ]:
        a = _q(path, f"SELECT * FROM {table} ORDER BY ALL").sort_values(key)
        b = _q(other, f"SELECT * FROM {table} ORDER BY ALL").sort_values(key)
        if table == "portfolio_risk":  # the daily runs wrote only their own days
            assert sorted(set(b["as_of"])) == [pd.Timestamp(d) for d in DAYS]
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_a_positions_file_that_differs_is_reconciled_and_the_file_wins(
    three_days, tmp_path: Path
) -> None:
    from flows.daily import daily_flow

    path, cfg = three_days
    copy = tmp_path / "w.duckdb"
    shutil.copyfile(path, copy)
    held = _q(path, f"SELECT * FROM book WHERE as_of = DATE '{DAYS[1]}' "
                    "AND portfolio_id = 'steward_1m' AND kind = 'condor' ORDER BY position_id, leg")  # fmt: skip
    ids = sorted(set(held["position_id"]))
    keep, cut = ids[0], ids[1]  # the file: the first condor at 1 contract, the second gone
    rows = held[held["position_id"] == keep]
    csv = tmp_path / "positions.csv"
    lines = ["position_id,kind,underlying,expiry,put_call,strike,qty"] + [
        f"broker-1,condor,SPX,{pd.Timestamp(r.expiry).date()},{r.put_call},{r.strike:g},{int(r.qty)}"
        for r in rows.itertuples()
    ]  # fmt: skip
    csv.write_text("\n".join(lines) + "\n")
    text = cfg.read_text().replace(
        'portfolio_id = "steward_1m"', f'portfolio_id = "steward_1m"\npositions_file = "{csv}"'
    )
    cfg2 = tmp_path / "p.toml"
    cfg2.write_text(text)
    daily_flow(as_of=DAYS[2], db_path=str(copy), config_path=str(cfg2), artifacts=False)

    risk = _q(copy, f"SELECT * FROM portfolio_risk WHERE as_of = DATE '{DAYS[2]}' "
                    "AND portfolio_id = 'steward_1m'").iloc[0]  # fmt: skip
    assert (
        f"{keep}: book " in risk["rationale"]
        and "file 1 contracts — the file wins" in risk["rationale"]
    )
    assert f"{cut}: in the book, not the file — dropped" in risk["rationale"]
    book = _q(
        copy, f"SELECT * FROM book WHERE as_of = DATE '{DAYS[2]}' AND portfolio_id = 'steward_1m'"
    )
    orders = _q(
        copy, f"SELECT * FROM orders WHERE as_of = DATE '{DAYS[2]}' AND portfolio_id = 'steward_1m'"
    )
    assert cut not in set(book["position_id"])
    if keep not in set(orders.loc[orders["action"] == "close", "position_id"]):
        assert set(book.loc[book["position_id"] == keep, "contracts"]) == {1}
    acc = _q(copy, "SELECT * FROM account_daily WHERE portfolio_id = 'steward_1m' ORDER BY as_of")
    assert (acc["nav"].diff().iloc[-1] - acc["pnl"].iloc[-1]) == pytest.approx(0.0, abs=0.011)
    # the other portfolio has no file: its day is the shadow book's, as before
    for table in ("book", "account_daily"):
        q = f"SELECT * FROM {table} WHERE portfolio_id = 'promoter_1m' ORDER BY ALL"
        pd.testing.assert_frame_equal(_q(path, q), _q(copy, q))


FILLS = """position_id,kind,open_date,close_date,contracts,width,credit,close_cost,premium,close_value
c-1,condor,2026-03-02,2026-04-10,2,50,1.5,0.5,,
h-1,hedge,2026-05-01,2026-06-01,1,,,,2.0,3.0
c-2,condor,2026-07-01,,1,50,2.0,,,
"""


def test_a_fills_file_replaces_the_books_history_for_the_irr(three_days, tmp_path: Path) -> None:
    """SPEC §6: with a fills file, IRR and EVA come from the user's fills, not the book."""
    import exchange_calendars as xcals

    from flows.daily import daily_flow

    path, cfg = three_days
    copy = tmp_path / "w.duckdb"
    shutil.copyfile(path, copy)
    fills = tmp_path / "fills.csv"
    fills.write_text(FILLS)
    cfg2 = tmp_path / "p.toml"
    cfg2.write_text(cfg.read_text().replace(
        'portfolio_id = "steward_1m"', f'portfolio_id = "steward_1m"\nfills_file = "{fills}"'
    ))  # fmt: skip
    daily_flow(as_of=DAYS[2], db_path=str(copy), config_path=str(cfg2), artifacts=False)
    risk = _q(copy, f"SELECT * FROM portfolio_risk WHERE as_of = DATE '{DAYS[2]}' "
                    "AND portfolio_id = 'steward_1m'").iloc[0]  # fmt: skip

    # by hand: P&L realised at close = (1.5 − 0.5)·100·2 + (3.0 − 2.0)·100·1 = $300; capital
    # at risk per session = (50 − 1.5)·200 while c-1 is open, 2.0·100 while h-1 is, then
    # (50 − 2.0)·100 for c-2; the window runs from the first fill (fewer than 252 sessions)
    cal = xcals.get_calendar("XNYS", start="2026-01-01")
    days = cal.sessions_in_range("2026-03-02", DAYS[2])
    cap = sum(
        9700.0 * (pd.Timestamp("2026-03-02") <= d < pd.Timestamp("2026-04-10"))
        + 200.0 * (pd.Timestamp("2026-05-01") <= d < pd.Timestamp("2026-06-01"))
        + 4800.0 * (d >= pd.Timestamp("2026-07-01"))
        for d in days
    ) / len(days)
    irr = (1 + 300.0 / cap) ** (365 / 142) - 1  # 2026-03-02 → 2026-07-22 is 142 days
    assert risk["irr"] == pytest.approx(irr, rel=1e-9)
    assert risk["eva"] == pytest.approx((irr - risk["wacc"]) * cap, rel=1e-9)
    assert f"from the fills file {fills}" in risk["rationale"]
    # the book itself is still the shadow book's: the fills file only replaces the history
    q = "SELECT * FROM book WHERE portfolio_id = 'steward_1m' ORDER BY ALL"
    pd.testing.assert_frame_equal(_q(path, q), _q(copy, q))


def test_a_malformed_fills_file_is_refused_before_the_run_naming_line_and_column(
    tmp_path: Path,
) -> None:
    from flows.preflight import InputError, load_config

    fills = tmp_path / "fills.csv"
    fills.write_text(
        FILLS.replace("c-2,condor,2026-07-01,,1,50,2.0", "c-2,condor,2026-07-01,,1,50,two")
    )
    cfg = tmp_path / "p.toml"
    cfg.write_text((EXAMPLES / "portfolios.toml").read_text().replace(
        'portfolio_id = "steward_1m"', f'portfolio_id = "steward_1m"\nfills_file = "{fills}"'
    ))  # fmt: skip
    with pytest.raises(InputError) as err:
        load_config(cfg)
    msg = str(err.value)
    assert msg.startswith(f"{cfg}: portfolio steward_1m: ")
    assert "line 4" in msg and "credit" in msg


def test_sessions_before_the_book_come_from_the_backtest_of_the_same_policy(
    three_days, tmp_path: Path
) -> None:
    """SPEC §6: the IRR window and p_hurdle's history reach back before the book's first
    session through the latest stored backtest of the same portfolio and policy."""
    import duckdb
    import exchange_calendars as xcals

    from flows.daily import daily_flow

    path, cfg = three_days
    copy = tmp_path / "w.duckdb"
    shutil.copyfile(path, copy)
    first = _q(path, "SELECT min(as_of) AS d FROM account_daily "
                     "WHERE portfolio_id = 'steward_1m'")["d"].iloc[0]  # fmt: skip
    first = pd.Timestamp(first)
    cal = xcals.get_calendar("XNYS", start="2024-01-01")
    # a year and a half of a made-up backtest: $10,000 at risk, +$12 a session; it also
    # overlaps the book's sessions, which must not be counted twice
    bt_days = cal.sessions_in_range("2025-01-02", DAYS[2])
    rows = pd.DataFrame({
        "backtest_id": "bt-test", "as_of": bt_days.date, "portfolio_id": "steward_1m",
        "variant": "alvh", "nav": 1e6, "capital_at_risk": 10_000.0, "pnl": 12.0,
        "condor_pnl": 12.0, "hedge_pnl": 0.0, "drawdown": 0.0,
    })  # fmt: skip
    con = duckdb.connect(str(copy))
    con.register("r", rows)
    con.execute("INSERT INTO backtest_daily SELECT * FROM r")
    con.execute(
        'INSERT INTO backtest_summary (backtest_id, portfolio_id, variant, start, "end", '
        "trades, sessions, exit_reasons, computed_at) VALUES ('bt-test', 'steward_1m', 'alvh', "
        f"DATE '2025-01-02', DATE '{DAYS[2]}', 0, {len(rows)}, '', now())"
    )
    con.close()
    daily_flow(as_of=DAYS[2], db_path=str(copy), config_path=str(cfg), artifacts=False)
    risk = _q(copy, f"SELECT * FROM portfolio_risk WHERE as_of = DATE '{DAYS[2]}' "
                    "AND portfolio_id = 'steward_1m'").iloc[0]  # fmt: skip
    book = _q(copy, f"SELECT as_of, capital_at_risk, condor_pnl, hedge_pnl FROM account_daily "
                    f"WHERE portfolio_id = 'steward_1m' AND as_of <= DATE '{DAYS[2]}' "
                    "ORDER BY as_of")  # fmt: skip
    assert pd.Timestamp(book["as_of"].iloc[0]) == first  # the book is unchanged in extent
    # by hand: the 252-session window = the backtest's last sessions before the book's
    # first session, then every book session; flows −C̄ at its first close, C̄ + P&L at as_of
    n_book = len(book)
    before = [d for d in bt_days if d < first][-(252 - n_book) :]
    cap = (10_000.0 * len(before) + book["capital_at_risk"].sum()) / 252
    pnl = 12.0 * (len(before) - 1) + (book["condor_pnl"] + book["hedge_pnl"]).sum()
    days = (pd.Timestamp(DAYS[2]) - pd.Timestamp(before[0])).days
    irr = (1 + pnl / cap) ** (365 / days) - 1
    assert risk["irr"] == pytest.approx(irr, rel=1e-9)
    assert (
        f"from the backtest bt-test before {first.date()}, then the book's account"
        in (risk["rationale"])
    )
    n_bt = sum(d < first for d in bt_days)
    assert (
        f"over {n_bt + n_book:,} sessions, {n_bt:,} of them from the backtest bt-test"
        in (risk["rationale"])
    )
    # without the backtest the same rerun reads the book alone (fewer than 252 sessions)
    plain = _q(path, f"SELECT irr, rationale FROM portfolio_risk WHERE as_of = DATE '{DAYS[2]}' "
                     "AND portfolio_id = 'steward_1m'").iloc[0]  # fmt: skip
    assert "bt-test" not in plain["rationale"] and plain["irr"] != pytest.approx(irr)
