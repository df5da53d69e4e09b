"""Prefect artifacts of a daily run: the sizing tables, a summary and the charts.

The content is built by pure functions (:func:`sizing_records`, :func:`summary_markdown`,
:func:`charts_markdown`) from a :class:`flows.report.ReportData`, so it is testable without
a Prefect server; :func:`publish_artifacts` only loads the data and makes the
``create_*_artifact`` calls. It must run inside a flow run (the daily flow calls it after
the warehouse is published) so the artifacts attach to that run.

Artifact keys (lowercase letters, digits and dashes, as Prefect requires):

* ``sizing-<portfolio id>`` — a table artifact per portfolio (:func:`artifact_key`);
* ``daily-summary`` — signals, β, WACC/IRR/spread, stress, data-quality warnings, rationale;
* ``daily-charts`` — the four report charts as inline base64 PNG images.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flows import report
from flows.report import ReportData

SUMMARY_KEY = "daily-summary"
CHARTS_KEY = "daily-charts"


def artifact_key(portfolio_id: str) -> str:
    """``sizing-<id>``: lowercased, ``_`` → ``-``, anything else outside ``[a-z0-9-]`` → ``-``."""
    slug = re.sub(r"[^a-z0-9-]", "-", portfolio_id.lower().replace("_", "-"))
    slug = re.sub(r"-{2,}", "-", slug).strip("-") or "portfolio"
    return f"sizing-{slug}"


def _plain(v: Any) -> Any:
    """A JSON-friendly scalar: dates → ISO strings, NaN → None, numpy → Python."""
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.date().isoformat()
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return None if not math.isfinite(float(v)) else round(float(v), 6)
    return v


def sizing_records(data: ReportData, portfolio_id: str) -> list[dict[str, Any]]:
    """The recommendation rows of one portfolio (:func:`flows.report.recommendation_table`)."""
    rec = report.recommendation_table(data, portfolio_id)
    return [{k: _plain(v) for k, v in row.items()} for row in rec.to_dict(orient="records")]


def _md_escape(v: object) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def md_table(headers: list[str], rows: list[list[object]]) -> str:
    """A GitHub-flavoured Markdown table (pipes in cells escaped)."""
    lines = ["| " + " | ".join(_md_escape(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_markdown(data: ReportData) -> str:
    """The ``daily-summary`` Markdown: the day at a glance, warnings first."""
    run_id = data.run.get("run_id", "")
    out = [f"# condorcap daily summary — {data.as_of.date()}", "", f"run `{run_id}`", ""]
    warnings = []
    if data.quarantine_total:
        by = ", ".join(
            f"{r.series_id}/{r.check_name}: {r.rows}" for r in data.quarantine.itertuples()
        )
        warnings.append(f"⚠ **{data.quarantine_total} quarantined row(s)** in the warehouse ({by})")
    if data.stale_signals:
        names = ", ".join(data.signals.loc[data.signals["state"] == "stale", "signal"])
        warnings.append(f"⚠ **{data.stale_signals} stale signal(s)** fire no rule: {names}")
    out += [*(f"- {w}" for w in warnings), ""] if warnings else ["No data-quality warnings.", ""]

    out += ["## Signals", ""]
    out.append(
        md_table(
            ["signal", "value", "state", "newest input"],
            [
                [r.signal, report.fmt_num(r.value, 3), r.state, report.fmt_date(r.input_date)]
                for r in data.signals.itertuples(index=False)
            ],
        )
    )
    for pid in data.portfolio_ids:
        r = report.risk_row(data, pid)
        out += ["", f"## {pid}", ""]
        out.append(
            md_table(
                ["figure", "value"],
                [list(m) for m in report.metrics_rows(data, pid)]
                + [["hedge", report.hedge_summary(data, pid)]],
            )
        )
        st = report.stress_table(data, pid)
        out += ["", "**Stress**", ""]
        out.append(
            md_table(
                ["scenario", "SPX", "VIX ×", "P&L", "% of equity"],
                [
                    [
                        s.scenario,
                        report.fmt_pct(s.spx_move, 0),
                        report.fmt_num(s.vix_mult, 2),
                        report.fmt_usd(s.pnl_usd),
                        report.fmt_pct(s.pnl_pct_equity, 1),
                    ]
                    for s in st.itertuples(index=False)
                ],
            )
        )
        out += ["", "**Rationale**", "", "> " + _md_escape(r.get("rationale") or "—")]
    return "\n".join(out) + "\n"


def charts_markdown(data: ReportData, charts: dict[str, str] | None = None) -> str:
    """The ``daily-charts`` Markdown: each chart as ``![name](data:image/png;base64,…)``."""
    charts = charts if charts is not None else report.chart_uris(data)
    out = [f"# condorcap charts — {data.as_of.date()}", ""]
    for name, (title, _fn) in report.CHARTS.items():
        if name in charts:
            out += [f"## {title}", "", f"![{name}]({charts[name]})", ""]
    return "\n".join(out)


def publish_artifacts(db_path: str | Path, as_of: object) -> list[str]:
    """Create the run's artifacts from the published warehouse; return their keys.

    Call inside the flow run, after the warehouse is published (it reads the file
    read-only).
    """
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    data = report.load_report_data(db_path, as_of)
    keys = []
    for pid in data.portfolio_ids:
        key = artifact_key(pid)
        create_table_artifact(
            key=key,
            table=sizing_records(data, pid),
            description=f"{pid}: recommended positions for {data.as_of.date()}",
        )
        keys.append(key)
    create_markdown_artifact(
        key=SUMMARY_KEY,
        markdown=summary_markdown(data),
        description=f"signals, capital and stress for {data.as_of.date()}",
    )
    create_markdown_artifact(
        key=CHARTS_KEY,
        markdown=charts_markdown(data),
        description=f"payoff, betas, signals and VIX curve for {data.as_of.date()}",
    )
    return [*keys, SUMMARY_KEY, CHARTS_KEY]
