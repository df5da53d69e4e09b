"""The model-health line of the report and artifacts (SPEC §12): shown only with a CNDR history."""

from __future__ import annotations

import base64
import html as html_lib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from report_warehouse import AS_OF

from report import write_report
from report.model_health import health_context, health_markdown, load_model_health
from tasks.validation.cndr import monthly_expiries
from warehouse import db


def test_no_cndr_history_no_health_section(page, warehouse) -> None:
    _, html = page
    assert 'id="model-health"' not in html
    assert load_model_health(warehouse[0], AS_OF) is None


def _with_cndr(src: Path, dst: Path) -> Path:
    """The report warehouse plus a CNDR history: one close per roll day of the last 3 years
    (+0.8 % a month, −4 % every sixth month), knowable at its own close."""
    shutil.copy(src, dst)
    rolls = monthly_expiries(AS_OF - pd.DateOffset(years=3, months=2), AS_OF)
    steps = np.where(np.arange(len(rolls)) % 6 == 5, 0.96, 1.008)
    rows = pd.DataFrame(
        {"series_id": "cndr", "date": rolls, "value": 100 * np.cumprod(steps),
         "available_at": rolls, "source": "test"}
    )  # fmt: skip
    con = db.connect(dst)
    try:
        with db.transaction(con):
            db.insert_observations(con, rows, AS_OF)
    finally:
        con.close()
    return dst


def test_with_a_cndr_history_the_report_shows_the_trailing_line(warehouse, tmp_path) -> None:
    path = _with_cndr(warehouse[0], tmp_path / "w.duckdb")
    h = load_model_health(path, AS_OF)
    assert h is not None
    assert h.end <= AS_OF and h.start > AS_OF - pd.DateOffset(years=3)
    assert h.figures.months >= 30  # three years of monthly rolls, less any unpriceable
    ctx = health_context(h)
    assert ctx is not None and ctx["line"].startswith("model health (CNDR, ")
    html = write_report(path, AS_OF, tmp_path / "out").read_text(encoding="utf-8")

    assert 'id="model-health"' in html and html_lib.escape(ctx["line"], quote=False) in html
    assert ('class="warn"' in html.split('id="model-health"')[1][:300]) == (not h.ok)
    uri = html.split('id="chart-cndr-cumulative"')[1].split('src="')[1].split('"')[0]
    assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    md = health_markdown(h)
    assert f"| {h.figures.months} | {h.figures.corr:.3f} |" in md
