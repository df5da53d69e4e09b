"""Orchestration: which steps run, in what order, on what schedules.

(Retries of the live sources live in their HTTP session, ``tasks.ingest``.)
"""

import os
from pathlib import Path

# Defaults that make Prefect start reliably on a fresh 2-core machine (see prefect.toml);
# setdefault keeps whatever the user exported.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

# Paths the flows and the CLI share (here, so the CLI can check them without importing Prefect)
PROJECT_DIR = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = PROJECT_DIR / "warehouse" / "snapshot"
DEFAULT_CONFIG = PROJECT_DIR / "examples" / "portfolios.toml"
