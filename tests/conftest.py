"""Shared test set-up: an isolated Prefect home, and one Prefect test server for flow tests."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything imports prefect: never touch a developer's ~/.prefect database.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="condorcap-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

PROJECT = Path(__file__).resolve().parent.parent
SNAPSHOT = PROJECT / "warehouse" / "snapshot"


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server for every flow-level test (start-up is ~20 s here)."""
    from prefect.testing.utilities import prefect_test_harness

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with prefect_test_harness(server_startup_timeout=180):
            yield


@pytest.fixture()
def snapshot_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled snapshot (for corrupting in tests)."""
    dest = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT, dest, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return dest


DAILY_AS_OF = "2026-07-22"


@pytest.fixture(scope="session")
def daily_db(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Path:
    """A warehouse after one daily run on the bundled snapshot for 2026-07-22 (read it, or copy it)."""
    from flows.daily import daily_flow

    path = tmp_path_factory.mktemp("daily") / "w.duckdb"
    res = daily_flow(as_of=DAILY_AS_OF, db_path=str(path), artifacts=False)
    assert res.status == "completed"
    return path
