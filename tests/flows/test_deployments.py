"""flows/deployments.py and the deployable flows: schedule timezone, default parameters."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_the_daily_schedule_carries_its_timezone_to_the_server() -> None:
    from prefect.client.orchestration import get_client

    from flows.deployments import DAILY_CRON, TIMEZONE, deployments

    daily = deployments(source="snapshot")[0]

    async def registered() -> object:
        deployment_id = await daily.apply()
        async with get_client() as client:
            return await client.read_deployment(deployment_id)

    stored = asyncio.run(registered())
    (schedule,) = stored.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == (DAILY_CRON, TIMEZONE)
    assert TIMEZONE == "America/New_York"
    # the label the UI's schedule card shows in place of the zone-less cron description
    assert schedule.slug is not None and "America/New_York" in schedule.slug


def test_the_daily_deployment_defaults_work_on_the_snapshot(tmp_path: Path) -> None:
    from flows.daily import daily_flow
    from flows.deployments import deployments
    from tasks.market import calendar

    params = dict(deployments(source="snapshot", db_path=str(tmp_path / "w.duckdb"))[0].parameters)
    assert params["as_of"] == "today"  # the scheduled run: today's date, holidays skipped
    res = daily_flow(**params, artifacts=False)
    today = pd.Timestamp(datetime.now(ZoneInfo("America/New_York")).date())
    if calendar.is_session(today):
        # the snapshot's VIX ends 2026-07-22: "today" sizes the latest complete session
        assert (res.status, res.as_of) == ("completed", pd.Timestamp("2026-07-22"))
        assert {s.portfolio_risk.iloc[0]["portfolio_id"] for s in res.sizing} == {
            "steward_1m",
            "promoter_1m",
        }
    else:
        assert res.status == "skipped" and "not an NYSE session" in res.message


def test_size_many_flow_is_a_deployable_flow() -> None:
    from prefect import Flow
    from prefect.flows import load_flow_from_entrypoint

    # what `prefect deploy flows.scale:size_many_flow` (README) loads
    loaded = load_flow_from_entrypoint("flows/scale.py:size_many_flow")
    assert isinstance(loaded, Flow) and loaded.name == "size-many"
    assert {"as_of", "config_path", "db_path", "workers"} <= set(loaded.parameters.properties)
