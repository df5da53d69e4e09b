"""End to end on a real Prefect server: serve the deployments, trigger a run, read artifacts.

Starts ``prefect server start`` on 127.0.0.1 and ``condorcap serve`` as separate
processes, exactly as the README's "Run it on a schedule" does, then drives them
through the REST API only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.prefect

BIN = Path(sys.executable).parent
AS_OF = "2026-07-22"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited with {proc.returncode}")
        try:
            got = predicate()
        except requests.RequestException:
            got = None
        if got:
            return got
        time.sleep(1.0)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _post_json(url: str, body: dict) -> dict | list:
    """POST and return the JSON, or an empty value on a transient error.

    The SQLite-backed test server answers 503 while it is busy (serve registering
    deployments, a scheduler tick): :func:`_wait` simply tries again.
    """
    r = requests.post(url, json=body, timeout=10)
    if r.status_code >= 500:
        return {}
    r.raise_for_status()
    return r.json()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture(scope="module")
def prefect_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, dict[str, str]]]:
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_API_URL": api,
    }
    log = open(home / "server.log", "w")
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env={k: v for k, v in env.items() if k != "PREFECT_API_URL"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait(lambda: requests.get(f"{api}/health", timeout=2).ok, 180, "Prefect API", server)
        yield api, env
    finally:
        _stop(server)
        log.close()


def test_served_daily_deployment_runs_and_publishes_artifacts(
    prefect_server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    api, env = prefect_server
    db_path = tmp_path / "w.duckdb"
    serve_log = open(tmp_path / "serve.log", "w")
    served = subprocess.Popen(
        [str(BIN / "condorcap"), "serve", "--source", "snapshot", "--db", str(db_path)],
        env=env,
        cwd=tmp_path,
        stdout=serve_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        dep = _wait(
            lambda: (
                (r := requests.get(f"{api}/deployments/name/daily/daily", timeout=5)).ok
                and r.json()
            ),
            120,
            "the daily deployment",
            served,
        )
        # the UI lists what the API lists: the daily deployment is scheduled on the cron
        schedules = dep.get("schedules") or []
        assert any(s["schedule"].get("cron") == "30 16 * * 1-5" for s in schedules), schedules
        assert any(s["schedule"].get("timezone") == "America/New_York" for s in schedules)
        # serve registers the deployments one after the other
        _wait(
            lambda: requests.get(f"{api}/deployments/name/backfill/backfill", timeout=5).ok,
            60,
            "the backfill deployment",
            served,
        )

        run_id = _wait(
            lambda: _post_json(
                f"{api}/deployments/{dep['id']}/create_flow_run",
                {"parameters": {"as_of": AS_OF}},
            ).get("id"),
            60,
            "the API to accept the flow run",
            served,
        )

        def finished() -> dict | None:
            r = requests.get(f"{api}/flow_runs/{run_id}", timeout=5)
            if not r.ok:
                return None
            state = r.json()["state"]
            return (
                state if state["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None
            )

        state = _wait(finished, 300, "the triggered daily run", served)
        assert state["type"] == "COMPLETED", state

        arts = _wait(
            lambda: _post_json(
                f"{api}/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run_id]}}}
            ),
            60,
            "the artifacts",
        )
        by_key = {a["key"]: a for a in arts}
        assert {"daily-summary", "daily-charts", "sizing-steward-1m", "sizing-promoter-1m"} <= set(
            by_key
        ), sorted(by_key)
        table = by_key["sizing-steward-1m"]
        assert table["type"] == "table"
        charts = by_key["daily-charts"]["data"]
        assert charts.count("data:image/png;base64,") >= 4
        assert AS_OF in by_key["daily-summary"]["data"]
    finally:
        _stop(served)
        serve_log.close()
    # the run wrote the warehouse it was pointed at
    from warehouse import db

    got = db.query(db_path, f"SELECT count(*) n FROM portfolio_risk WHERE as_of = '{AS_OF}'")
    assert got["n"][0] == 2
