"""Fixtures of the report's tests: one warehouse, its report data, charts and page."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_warehouse import AS_OF, build_warehouse

from report import ReportData, load_report_data, write_report
from report.charts import chart_uris


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("wh") / "w.duckdb"
    return path, build_warehouse(path)


@pytest.fixture(scope="session")
def data(warehouse) -> ReportData:
    return load_report_data(warehouse[0], AS_OF)


@pytest.fixture(scope="session")
def charts(data) -> dict[str, str]:
    return chart_uris(data)


@pytest.fixture(scope="session")
def page(warehouse, tmp_path_factory) -> tuple[Path, str]:
    out = write_report(warehouse[0], AS_OF, tmp_path_factory.mktemp("out"))
    return out, out.read_text(encoding="utf-8")
