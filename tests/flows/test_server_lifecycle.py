"""The CLI's temporary Prefect server dies with the CLI, even when the CLI is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux")

MARKER = b"prefect.server.api.server:create_app"


def _children_serving(parent: int) -> list[int]:
    """Pids of ``parent``'s children whose command line runs Prefect's API server."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == parent and MARKER in (d / "cmdline").read_bytes():
                out.append(int(d.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_cli_leaves_no_prefect_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    cli = Path(sys.executable).with_name("condorcap")
    proc = subprocess.Popen(
        [str(cli), "run", "--as-of", "2026-07-22", "--db", str(tmp_path / "w.duckdb")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline, servers = time.monotonic() + 240, []
        while not servers and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            servers = _children_serving(proc.pid)
        assert servers, "the CLI never started its temporary Prefect server"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 15
        while any(_alive(s) for s in servers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(s) for s in servers), "the server outlived the CLI"
    finally:
        if proc.poll() is None:
            proc.kill()
        for s in _children_serving(proc.pid):
            os.kill(s, signal.SIGKILL)
