"""CNDR as an optional live source: stored when CBOE serves it, never failing the run.

The routes are the live-flow test's (every source replayed from real payloads on a
loopback server) plus CBOE's ``CNDR_History.csv``: the calibration file's cut in the
fixtures, or a body that is not a CNDR file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from httpreplay import ReplayServer, Reply
from paths import FIXTURES
from test_live_flow import AS_OF, _point_sources_at, _routes

from warehouse import db

pytestmark = pytest.mark.usefixtures("prefect_harness")

CNDR_FILE = FIXTURES / "validation" / "cboe_CNDR_History_2016-11_2018-01.csv"


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cndr: Reply) -> tuple[object, Path]:
    from flows.daily import daily_flow

    routes = _routes()
    routes["/cboe/CNDR_History.csv"] = [cndr]
    with ReplayServer(routes) as server:
        _point_sources_at(server, monkeypatch)
        path = tmp_path / "w.duckdb"
        res = daily_flow(as_of=AS_OF, source="live", db_path=str(path), artifacts=False)
        assert server.requests_for("/cboe/CNDR_History.csv")
    return res, path


def test_a_served_cndr_history_is_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = CNDR_FILE.read_bytes()
    res, path = _run(tmp_path, monkeypatch, Reply(200, body, content_type="text/csv"))
    assert res.status == "completed"
    rows = db.query(
        path, "SELECT date, value FROM observations WHERE series_id = 'cndr' ORDER BY date"
    )
    lines = body.decode().splitlines()[1:]
    assert len(rows) == len(lines)
    first_date, first_value = lines[0].split(",")
    assert str(rows["date"].iloc[0].date()) == "-".join(
        [first_date[6:], first_date[:2], first_date[3:5]]
    )
    assert rows["value"].iloc[0] == pytest.approx(float(first_value))


def test_a_broken_cndr_source_does_not_fail_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    res, path = _run(
        tmp_path, monkeypatch, Reply(200, b"<html>gone</html>", content_type="text/html")
    )
    assert res.status == "completed"
    assert (
        db.query(path, "SELECT count(*) AS n FROM observations WHERE series_id = 'cndr'")["n"][0]
        == 0
    )
    risk = db.query(path, "SELECT portfolio_id FROM portfolio_risk")
    assert len(risk) == 2  # the day was sized as usual
