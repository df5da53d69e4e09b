"""The ingest steps of flows/steps.py through Prefect: what a hostile or broken source can
and cannot do to a run (issue 12, items 2–5).

An upstream echoing the API key leaks it into no Prefect log, state or console line; a
future-dated row is quarantined instead of becoming the default ``as_of``; a truncated
source fails the run; a flood of junk is refused with its count.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from echoserver import Echo, EchoServer

from schemas.config import ReleaseLags, SourceUrls
from tasks import ingest as sources
from warehouse import db

pytestmark = pytest.mark.usefixtures("prefect_harness")

KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def _prefect_database() -> bytes:
    """Every byte of the harness's SQLite database (with its write-ahead log)."""
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    path = Path(PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split(":///", 1)[1])
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


def test_an_echoing_upstream_leaks_the_key_into_no_prefect_log_state_or_output(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from prefect import flow
    from prefect.logging.handlers import APILogHandler

    from flows import steps

    monkeypatch.setenv("FRED_API_KEY", KEY)

    @flow(name="echo-leak-check")
    def fetch_and_validate(urls: SourceUrls) -> object:
        fetch = steps.fetch_live("spx", urls)
        return steps.ingest_source(fetch, ReleaseLags())

    with EchoServer(Echo.HTML_200) as srv:
        urls = SourceUrls(fred_api=f"{srv.url}/fred", retries=0, backoff_factor=0.0)
        state = fetch_and_validate(urls, return_state=True)
    assert any(f"api_key={KEY}" in seen for seen in srv.seen)  # the key went out, and came back
    assert state.is_failed()
    with pytest.raises(sources.SourceParseError) as err:
        state.result()
    assert KEY not in str(err.value) and "Blocked: series_id=SP500&api_key=***" in str(err.value)
    APILogHandler().flush()  # send the queued logs and wait for them
    blob = _prefect_database()
    assert b"api_key=***" in blob  # the failure did reach Prefect's database, redacted
    assert KEY.encode() not in blob
    out, errors = capfd.readouterr()
    assert KEY not in out + errors


def _insert_after(path: Path, prefix: str, line: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    at = next(i for i, ln in enumerate(lines) if ln.startswith(prefix)) + 1
    path.write_text("".join([*lines[:at], line + "\n", *lines[at:]]))


def test_future_dated_rows_are_quarantined_and_the_default_as_of_stays(
    snapshot_copy: Path, tmp_path: Path
) -> None:
    from flows.daily import daily_flow

    # the audit's case: a 2027-06-01 row in SPX, VIX and VIX3M (inside the calendar)
    _insert_after(snapshot_copy / "cboe_VIX_History.csv", "07/22/2026", "06/01/2027,17,18,16,17")
    _insert_after(snapshot_copy / "cboe_VIX3M_History.csv", "07/22/2026", "06/01/2027,19,20,18,19")
    spx = snapshot_copy / "spx_daily_yahoo_close_1990_2026.csv"
    _insert_after(spx, "2026-08-21", "2027-06-01,6900.0,1000")
    path = tmp_path / "w.duckdb"
    res = daily_flow(snapshot_dir=str(snapshot_copy), db_path=str(path), artifacts=False)
    assert res.status == "completed" and str(res.as_of.date()) == "2026-07-22"
    q = db.query(path, "SELECT series_id, check_name, detail FROM quarantine")
    future = q[q["check_name"] == "future_date"]
    assert sorted(future["series_id"]) == ["spx", "vix", "vix3m"]
    assert future["detail"].str.contains("2027-06-01: dated after the run's session").all()
    n = db.query(path, "SELECT count(*) n FROM observations WHERE date > '2026-12-31'")["n"][0]
    assert n == 0


def test_a_truncated_source_fails_the_run_naming_it(snapshot_copy: Path, tmp_path: Path) -> None:
    from flows.daily import daily_flow

    vix3m = snapshot_copy / "cboe_VIX3M_History.csv"
    text = vix3m.read_text()
    start = text.index("\n02/15/2018,") + 1
    vix3m.write_text(text[: start + len("02/15/2018,17.2")])  # cut mid-number, in 2018
    path = tmp_path / "w.duckdb"
    with pytest.raises(sources.SourceParseError, match="vix3m from snapshot .*truncated"):
        daily_flow(snapshot_dir=str(snapshot_copy), db_path=str(path), artifacts=False)
    runs = db.query(path, "SELECT status, message FROM runs")
    assert runs["status"].tolist() == ["failed"]
    assert (
        "truncated" in runs["message"].iloc[0]
        and "cboe_VIX3M_History.csv" in runs["message"].iloc[0]
    )


def test_a_flood_of_junk_is_refused_before_validation(snapshot_copy: Path) -> None:
    from prefect import flow

    from flows import steps

    vvix = snapshot_copy / "cboe_VVIX_History.csv"
    vvix.write_bytes(vvix.read_bytes() + b"".join(b"junk %d\n" % i for i in range(50_000)))
    (fetch,) = [f for f in sources.read_snapshot(snapshot_copy) if f.series_id == "vvix"]

    @flow(name="junk-check")
    def validate_one() -> object:
        return steps.ingest_source(fetch, ReleaseLags())

    state = validate_one(return_state=True)
    assert state.is_failed()
    with pytest.raises(sources.SourceRejectedError, match=r"50,000 of 55,066 rows") as err:
        state.result()
    assert "vvix from snapshot" in str(err.value) and "unparseable date or value" in str(err.value)
