"""The daily and backfill flows on the bundled real snapshot, through Prefect.

These are the user-facing guarantees: every SPEC series lands, one row per signal,
reruns are idempotent, bad rows are quarantined with reasons while good rows load,
a failed run leaves the warehouse as it was, and the chain path prices from quotes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from paths import BENCHMARKS

from warehouse import db

pytestmark = pytest.mark.usefixtures("prefect_harness")

AS_OF = "2026-07-22"
SPEC_SERIES = {
    "spx", "vix", "vix3m", "vix9d", "vix6m", "vvix", "tbill_3m", "fed_funds",
    "cpi", "ppi", "gdp_real", "usd", "fomc",
}  # fmt: skip
DATA_TABLES = (
    "observations", "quarantine", "signal_states", "betas", "daily_sizing", "portfolio_risk",
    "vix_term", "sizing_positions", "ladder_events", "hedge_events", "ladder_daily",
)  # fmt: skip


def _dump(path: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for t in DATA_TABLES:
        df = (
            db.query(path, f"SELECT * EXCLUDE ({_volatile(t)}) FROM {t}")
            if _volatile(t)
            else db.query(path, f"SELECT * FROM {t}")
        )
        out[t] = df.sort_values(list(df.columns)).reset_index(drop=True)
    return out


def _volatile(table: str) -> str:
    """Columns that record *when*, not *what* (kept as first written, but excluded to be safe)."""
    return {"observations": "ingested_at", "quarantine": "quarantined_at, run_id"}.get(table, "")


def test_daily_run_lands_every_series_every_signal_and_a_run_row(daily_db: Path) -> None:
    series = set(db.query(daily_db, "SELECT DISTINCT series_id FROM observations")["series_id"])
    assert SPEC_SERIES <= series, SPEC_SERIES - series
    sig = db.query(daily_db, f"SELECT signal, state FROM signal_states WHERE as_of = '{AS_OF}'")
    from tasks.signals import SIGNALS

    assert sorted(sig["signal"]) == sorted(SIGNALS)
    runs = db.query(daily_db, "SELECT flow, as_of::VARCHAR d, status FROM runs")
    assert runs.to_dict("records") == [{"flow": "daily", "d": AS_OF, "status": "completed"}]
    # point in time: nothing dated after as_of was used by the signals
    late = db.query(
        daily_db,
        f"SELECT count(*) n FROM signal_states WHERE input_date > '{AS_OF}' AND signal <> 'fomc_window'",
    )
    assert late["n"][0] == 0
    risk = db.query(daily_db, f"SELECT * FROM portfolio_risk WHERE as_of = '{AS_OF}'")
    assert sorted(risk["portfolio_id"]) == ["promoter_1m", "steward_1m"]
    assert risk["rationale"].str.len().min() > 50


def test_rerunning_the_same_day_leaves_identical_tables(daily_db: Path, tmp_path: Path) -> None:
    from flows.daily import daily_flow

    copy = tmp_path / "again.duckdb"
    copy.write_bytes(daily_db.read_bytes())
    before = _dump(copy)
    daily_flow(as_of=AS_OF, db_path=str(copy), artifacts=False)
    after = _dump(copy)
    for t in DATA_TABLES:
        pd.testing.assert_frame_equal(before[t], after[t], obj=t)
    assert len(db.query(copy, "SELECT * FROM runs")) == 2  # the run log does grow


def test_corrupt_rows_are_quarantined_with_reasons_and_good_rows_load(
    snapshot_copy: Path, tmp_path: Path
) -> None:
    from flows.daily import daily_flow

    vix = snapshot_copy / "cboe_VIX_History.csv"
    lines = vix.read_text().splitlines(keepends=True)
    target = next(i for i, line in enumerate(lines) if line.startswith("07/15/2026"))
    parts = lines[target].rstrip("\n").split(",")
    lines[target] = ",".join(parts[:4] + ["-5.000000"]) + "\n"  # a negative VIX close
    lines.insert(target + 1, "13/45/2026,17.0,17.5,16.9,17.2\n")  # an unparseable date
    lines.insert(target + 2, "garbage line without commas\n")  # a garbage line
    vix.write_text("".join(lines))

    path = tmp_path / "w.duckdb"
    res = daily_flow(
        as_of=AS_OF, snapshot_dir=str(snapshot_copy), db_path=str(path), artifacts=False
    )
    q = db.query(path, "SELECT raw, check_name, detail FROM quarantine WHERE series_id = 'vix'")
    raws = dict(zip(q["raw"], q["check_name"], strict=True))
    assert raws[lines[target].strip()] == "value_in_bounds"
    assert raws["13/45/2026,17.0,17.5,16.9,17.2"] == "date_parseable"
    assert "garbage line without commas" in raws
    assert q["detail"].str.len().min() > 5
    assert (res.quarantined["series_id"] == "vix").sum() == 3
    # every other VIX row of the file loaded
    n_vix = db.query(path, "SELECT count(*) n FROM observations WHERE series_id = 'vix'")["n"][0]
    assert n_vix == sum(1 for line in vix.read_text().splitlines()[1:]) - 3


def test_an_unparseable_source_fails_the_run_and_changes_nothing(
    daily_db: Path, snapshot_copy: Path, tmp_path: Path
) -> None:
    from flows.daily import daily_flow

    (snapshot_copy / "cboe_VIX3M_History.csv").write_text(
        "<!DOCTYPE html><html><body>Please verify you are a human</body></html>"
    )
    path = tmp_path / "w.duckdb"
    path.write_bytes(daily_db.read_bytes())
    before = _dump(path)
    with pytest.raises(Exception, match="(?i)html"):
        daily_flow(as_of=AS_OF, snapshot_dir=str(snapshot_copy), db_path=str(path), artifacts=False)
    after = _dump(path)
    for t in DATA_TABLES:
        pd.testing.assert_frame_equal(before[t], after[t], obj=t)
    runs = db.query(path, "SELECT status, message FROM runs ORDER BY started_at")
    assert runs["status"].tolist() == ["completed", "failed"]
    assert "html" in runs["message"].iloc[-1].lower()


def test_a_holiday_is_not_a_session(tmp_path: Path) -> None:
    from flows.daily import daily_flow

    res = daily_flow(as_of="2026-07-03", db_path=str(tmp_path / "w.duckdb"), artifacts=False)
    assert res.status == "skipped" and "not an NYSE session" in res.message
    assert not (tmp_path / "w.duckdb").exists()


def test_the_chain_day_prices_from_quotes_and_reports_the_box_rate(tmp_path: Path) -> None:
    from flows.daily import daily_flow

    path = tmp_path / "w.duckdb"
    daily_flow(as_of="2025-01-06", db_path=str(path), artifacts=False)
    src = db.query(
        path,
        "SELECT DISTINCT pricing_source FROM daily_sizing WHERE kind = 'condor' AND as_of = '2025-01-06'",
    )
    assert "chain" in set(src["pricing_source"])
    box = db.query(path, "SELECT box_rate, box_rate_source FROM portfolio_risk")
    assert set(box["box_rate_source"]) == {"chain"}
    # 2025-01-06: 3-month bill 4.2% → the box financed within 150 bp of it
    assert ((box["box_rate"] > 0.027) & (box["box_rate"] < 0.057)).all()


def test_backfill_fills_every_session_of_the_range(tmp_path: Path) -> None:
    from flows.backfill import backfill_flow
    from tasks.market import calendar
    from tasks.signals import SIGNALS

    path = tmp_path / "w.duckdb"
    res = backfill_flow(start="2026-06-01", end=AS_OF, db_path=str(path))
    days = calendar.sessions("2026-06-01", AS_OF)
    assert res.sessions == len(days)
    got = db.query(path, "SELECT as_of, count(*) n FROM signal_states GROUP BY as_of")
    assert len(got) == len(days) and (got["n"] == len(SIGNALS)).all()
    vt = db.query(path, "SELECT count(DISTINCT as_of) n FROM vix_term")["n"][0]
    assert vt == len(days)


def test_backfill_with_sizing_sizes_every_portfolio_on_every_session(tmp_path: Path) -> None:
    from flows.backfill import backfill_flow
    from tasks.market import calendar

    path = tmp_path / "w.duckdb"
    backfill_flow(start="2026-07-13", end=AS_OF, db_path=str(path), sizing=True)
    days = calendar.sessions("2026-07-13", AS_OF)
    got = db.query(path, "SELECT as_of, count(*) n FROM portfolio_risk GROUP BY as_of")
    assert len(got) == len(days) and (got["n"] == 2).all()
    # (the daily run now sizes with each portfolio's book — open positions, NAV as equity —
    # so its sizing is no longer the backfill's fresh ladder: tests/flows/test_book_flow.py)


def test_size_many_sizes_every_generated_portfolio(daily_db: Path, tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(BENCHMARKS))
    from portfolios import generate

    from flows.scale import size_many_flow

    config = tmp_path / "many.toml"
    config.write_text(generate(12))
    path = tmp_path / "w.duckdb"
    path.write_bytes(daily_db.read_bytes())
    res = size_many_flow(AS_OF, str(config), str(path))
    assert res.portfolios == 12
    got = db.query(path, f"SELECT portfolio_id FROM portfolio_risk WHERE as_of = '{AS_OF}'")
    assert sum(got["portfolio_id"].str.startswith("gen_")) == 12
    # the daily run's portfolios of the same day are still there
    assert {"steward_1m", "promoter_1m"} <= set(got["portfolio_id"])
    caps = db.query(
        path,
        "SELECT p.contracts, p.n_cap FROM sizing_positions p WHERE kind = 'condor' "
        "AND portfolio_id LIKE 'gen_%'",
    )
    assert (caps["contracts"] <= caps["n_cap"]).all()


def test_every_portfolio_hedge_tenor_gets_its_beta(daily_db: Path) -> None:
    from flows import steps
    from schemas.config import params_for

    overridden = params_for("steward", {"hedge": {"tenor_days": 60}})
    tenors = steps.hedge_tenors_of([params_for("steward"), overridden])
    assert tenors == {90, 60}
    facts = steps.analytics.fn(str(daily_db), [pd.Timestamp(AS_OF)], params_for("steward"), tenors)
    assets = set(facts.betas["asset"])
    assert {"vix_future_60d", "vix_future_90d", "vix", "vix3m", "strategy"} <= assets
    row = facts.betas.set_index("asset").loc["vix_future_60d"]
    assert row["n_obs"] == 252 and row["beta"] < 0  # VIX futures fall when SPX rises


def test_rerunning_an_older_day_keeps_the_newer_modelled_history(
    daily_db: Path, tmp_path: Path
) -> None:
    from flows.daily import daily_flow

    path = tmp_path / "w.duckdb"
    path.write_bytes(daily_db.read_bytes())
    q = "SELECT max(as_of)::VARCHAR d, count(*) n FROM ladder_daily"
    before = db.query(path, q)
    daily_flow(as_of="2025-01-06", db_path=str(path), artifacts=False)
    assert db.query(path, q).equals(before)
    assert before["d"][0] == AS_OF


def test_a_default_run_refuses_a_source_that_ends_years_before_its_peers(
    snapshot_copy: Path, tmp_path: Path
) -> None:
    """Issue 12 case 4: VIX3M cut cleanly after 2018-02-15 must not size 2018-02-15."""
    from flows.daily import daily_flow
    from tasks.ingest import SourceStaleError

    vix3m = snapshot_copy / "cboe_VIX3M_History.csv"
    lines = vix3m.read_text().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if line.startswith("02/15/2018"))
    vix3m.write_text("".join(lines[: cut + 1]))
    path = tmp_path / "fresh.duckdb"
    with pytest.raises(SourceStaleError) as err:
        daily_flow(snapshot_dir=str(snapshot_copy), db_path=str(path), artifacts=False)
    first = str(err.value).splitlines()[0]
    assert first.startswith("vix3m: newest row 2018-02-15 is ")
    assert "sessions behind vix (2026-07-22), more than 5" in first
    runs = db.query(path, "SELECT status, as_of FROM runs")
    assert runs["status"].tolist() == ["failed"]
    n = db.query(path, "SELECT count(*) n FROM observations")["n"][0]
    assert n == 0  # the failed run published nothing
