"""Schedules: the daily deployment on cron after the close, and a manual backfill deployment."""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron

from flows.backfill import backfill_flow
from flows.daily import daily_flow

DAILY_CRON = "30 16 * * 1-5"  # 16:30 New York, after the 16:00 close and CBOE's index files
# carried by the schedule itself (not the server's or browser's zone), so the UI shows it
TIMEZONE = "America/New_York"
# the UI's schedule card shows a schedule's slug when it has one, else the cron in words
# without its zone ("At 04:30 PM, Monday through Friday"): the slug names the zone
DAILY_SCHEDULE_SLUG = "Mon–Fri 16:30 America/New_York (after the close)"


def deployments(source: str = "live", db_path: str | None = None, config_path: str | None = None):
    """The deployments ``condorcap serve`` serves (built, not yet registered)."""
    daily = daily_flow.to_deployment(
        name="daily",
        schedules=[Cron(DAILY_CRON, timezone=TIMEZONE, slug=DAILY_SCHEDULE_SLUG)],
        parameters={
            "as_of": "today",
            "source": source,
            "db_path": db_path,
            "config_path": config_path,
        },
        # "today": the latest session up to New York's date on which every required series
        # is knowable (the snapshot: its last VIX close), so a Quick run of the defaults works
        description=(
            "Ingest, validate, signals and sizing for the latest complete session up to today "
            "(America/New_York; skips NYSE holidays)."
        ),
        tags=["condorcap"],
    )
    backfill = backfill_flow.to_deployment(
        name="backfill",
        parameters={"db_path": db_path},
        description="The daily method over a range of sessions (run it manually).",
        tags=["condorcap"],
    )
    return [daily, backfill]


def serve_all(
    source: str = "live", db_path: str | None = None, config_path: str | None = None
) -> None:
    """Register the deployments with the Prefect API and run them from this process."""
    serve(*deployments(source, db_path, config_path))
