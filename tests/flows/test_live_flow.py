"""The daily flow with `source='live'`, against a loopback server replaying real payloads.

CBOE index histories are served byte for byte from the bundled snapshot (raw CBOE files);
SPX comes from a raw FRED `fredgraph.csv` download; the other FRED series from the
snapshot's FRED files, served at fredgraph's URL. Base URLs come from the environment
(`CONDORCAP_*`), as a user would point condorcap at a proxy or mirror.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from httpreplay import ReplayServer, Reply
from paths import FIXTURES as FIXTURE_ROOT
from paths import SNAPSHOT

from tasks import ingest as sources
from warehouse import db

pytestmark = pytest.mark.usefixtures("prefect_harness")

FIXTURES = FIXTURE_ROOT / "sources"
AS_OF = "2026-02-11"  # the last close in the recorded FRED SP500 download


def _routes() -> dict[str, list[Reply]]:
    # the newest file of each series (GDP has two; the later one covers the recent quarters)
    files = sorted(sources.read_manifest(SNAPSHOT)["files"], key=lambda e: str(e["snapshot_date"]))
    manifest = {e["series_id"]: e["path"] for e in files}
    routes: dict[str, list[Reply]] = {}
    for sid, (kind, sym) in sources.LIVE_SOURCES.items():
        if kind == "cboe":
            body = (SNAPSHOT / manifest[sid]).read_bytes()
            routes[f"/cboe/{sym}_History.csv"] = [Reply(200, body, content_type="text/csv")]
        elif kind == "fred":
            path = (
                FIXTURES / "fredgraph_SP500_2025_2026.csv"
                if sid == "spx"
                else SNAPSHOT / manifest[sid]
            )
            routes[f"/fredgraph.csv?id={sym}"] = [
                Reply(200, path.read_bytes(), content_type="text/csv")
            ]
    # the first VIX request fails with a 503: the session's retry must absorb it
    routes["/cboe/VIX_History.csv"].insert(0, Reply(503, b"busy", content_type="text/plain"))
    return routes


def _point_sources_at(server: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every live source at the replay server (no FRED key: FRED's graph CSV is used)."""
    monkeypatch.setenv("CONDORCAP_CBOE_INDEX", f"{server.url}/cboe")
    monkeypatch.setenv("CONDORCAP_FRED_GRAPH", f"{server.url}/fredgraph.csv")
    monkeypatch.setenv("CONDORCAP_BACKOFF_FACTOR", "0.01")
    monkeypatch.delenv("FRED_API_KEY", raising=False)


def test_live_run_fetches_every_source_and_logs_each_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.daily import daily_flow

    with ReplayServer(_routes()) as server:
        _point_sources_at(server, monkeypatch)
        path = tmp_path / "w.duckdb"
        res = daily_flow(as_of=AS_OF, source="live", db_path=str(path), artifacts=False)
        vix_requests = server.requests_for("/cboe/VIX_History.csv")
    assert res.status == "completed"
    assert len(vix_requests) == 2  # 503, then 200
    assert all("condorcap" in r.headers.get("User-Agent", "") for r in vix_requests)
    log = db.query(
        path, "SELECT series_id, source, url, status, bytes, sha256, rows_accepted FROM raw_fetch"
    )
    live = log[log["source"] != "calendar"]
    assert set(live["series_id"]) == {
        s for s, (k, _) in sources.LIVE_SOURCES.items() if k != "calendar"
    }
    assert (live["status"] == 200).all() and (live["bytes"] > 0).all()
    assert live["url"].str.startswith(server.url).all()
    assert (live["sha256"].str.len() == 64).all()
    spx = db.query(path, f"SELECT value FROM observations WHERE series_id='spx' AND date='{AS_OF}'")
    assert spx["value"].tolist() == [6941.47]  # the recorded FRED close
    risk = db.query(path, "SELECT portfolio_id, wacc FROM portfolio_risk")
    assert len(risk) == 2 and risk["wacc"].between(0.0, 0.2).all()


def test_every_source_that_fails_validation_is_named_one_line_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.daily import daily_flow

    routes = _routes()
    page = b"<html><body>Access denied</body></html>"
    for route in ("/cboe/VIX3M_History.csv", "/fredgraph.csv?id=DTB3"):
        routes[route] = [Reply(200, page, content_type="text/html")]
    with ReplayServer(routes) as server:
        _point_sources_at(server, monkeypatch)
        path = tmp_path / "w.duckdb"
        with pytest.raises(sources.SourceParseError) as err:
            daily_flow(as_of=AS_OF, source="live", db_path=str(path), artifacts=False)
    lines = str(err.value).splitlines()
    assert lines[0].startswith("2 of ") and lines[0].endswith(" sources failed validation:")
    assert sorted(line.split(" ", 1)[0] for line in lines[1:3]) == ["tbill_3m", "vix3m"]
    assert all("got an HTML/XML page" in line for line in lines[1:3])
    assert lines[3].startswith("hint: ") and "--source snapshot" in lines[3]
    assert db.query(path, "SELECT count(*) n FROM observations")["n"][0] == 0
