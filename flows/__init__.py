"""Orchestration: which steps run, in what order, with what retries and schedules."""

import os

# Defaults that make Prefect start reliably on a fresh 2-core machine (see prefect.toml);
# setdefault keeps whatever the user exported.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
