"""Prefect artifacts of a daily run: the sizing tables, a summary and the charts.

The content is built by pure functions (:func:`sizing_records`, :func:`summary_markdown`,
:func:`charts_markdown`) from a :class:`report.data.ReportData`, so it is testable without
a Prefect server; :func:`publish_artifacts` only loads the data and makes the
``create_*_artifact`` calls. It must run inside a flow run (the daily flow calls it after
the warehouse is published) so the artifacts attach to that run.

Artifact keys (lowercase letters, digits and dashes, as Prefect requires):

* ``sizing-<portfolio id>`` — a table artifact per portfolio (:func:`artifact_key`);
* ``daily-summary`` — signals, β, WACC/IRR/spread, stress, data-quality warnings, rationale;
* ``daily-charts`` — the four report charts as inline base64 PNG images.

Table artifacts carry numbers, not text, so they sort in the UI: each column is rounded
to what a trader reads (points to 0.01, dollars to 1, SPX/VIX levels to 0.1) and its
header names its unit.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from report.charts import CHARTS, chart_uris
from report.data import ReportData, load_report_data
from report.formatting import fmt_beta, fmt_date, fmt_num, fmt_pct, fmt_usd
from report.model_health import HEALTH_KEY, health_markdown, load_model_health
from report.tables import (
    account_summary,
    book_display,
    hedge_summary,
    metrics_rows,
    orders_display,
    recommendation_table,
    risk_row,
    stress_table,
)

SUMMARY_KEY = "daily-summary"
CHARTS_KEY = "daily-charts"

# recommendation column → (artifact header with its unit, decimals; None = not a number)
# short headers: 14 columns must fit the artifact panel of a laptop-width Prefect UI
# (BE = break-even at expiry; "/ct" = per contract; a hedge's BE high is a VIX level)
SIZING_COLUMNS: dict[str, tuple[str, int | None]] = {
    "position_id": ("position", None),
    "kind": ("kind", None),
    "expiry": ("expiry", None),
    "dte": ("DTE (d)", 0),
    "strikes": ("strikes", None),
    "contracts": ("contracts", 0),
    "credit_pts": ("credit (pts)", 2),
    "credit_usd": ("credit (USD)", 0),
    "max_loss_usd": ("max loss/ct (USD)", 0),
    "max_loss_total_usd": ("max loss (USD)", 0),
    "breakeven_low": ("BE low (SPX)", 1),
    "breakeven_high": ("BE high (SPX; VIX)", 1),
    "prob_between_breakevens": ("P(between) (%)", 1),
    "pricing_source": ("pricing", None),
}
_PERCENT_COLUMNS = {"prob_between_breakevens"}  # stored as fractions, shown as percents


def artifact_key(portfolio_id: str) -> str:
    """``sizing-<id>``: lowercased, ``_`` → ``-``, anything else outside ``[a-z0-9-]`` → ``-``."""
    slug = re.sub(r"[^a-z0-9-]", "-", portfolio_id.lower().replace("_", "-"))
    slug = re.sub(r"-{2,}", "-", slug).strip("-") or "portfolio"
    return f"sizing-{slug}"


def _plain(v: Any, decimals: int | None = None) -> Any:
    """A JSON-friendly scalar: dates → ISO strings, NaN → None, numbers rounded, numpy → Python."""
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.date().isoformat()
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer | float | np.floating):
        x = float(v)
        if not math.isfinite(x):
            return None
        if decimals == 0 or isinstance(v, int | np.integer):
            return int(round(x))
        return round(x, decimals if decimals is not None else 6)
    return v


def sizing_records(data: ReportData, portfolio_id: str) -> list[dict[str, Any]]:
    """The recommendation rows of one portfolio (:func:`report.tables.recommendation_table`),
    rounded, keyed by headers that carry their units (:data:`SIZING_COLUMNS`)."""
    rec = recommendation_table(data, portfolio_id)
    out = []
    for row in rec.to_dict(orient="records"):
        record = {}
        for col, (header, decimals) in SIZING_COLUMNS.items():
            v = row.get(col)
            if col in _PERCENT_COLUMNS and v is not None:
                v = 100.0 * float(v)
            record[header] = _plain(v, decimals)
        out.append(record)
    return out


def _md_escape(v: object) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def md_table(headers: list[str], rows: list[list[object]]) -> str:
    """A GitHub-flavoured Markdown table (pipes in cells escaped)."""
    lines = ["| " + " | ".join(_md_escape(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _warnings_markdown(data: ReportData) -> list[str]:
    warnings = []
    if data.quarantine_total:
        by = ", ".join(
            f"{r.series_id}/{r.check_name}: {r.rows}" for r in data.quarantine.itertuples()
        )
        warnings.append(f"⚠ **{data.quarantine_total} quarantined row(s)** in the warehouse ({by})")
    if data.stale_signals:
        names = ", ".join(data.stale["signal"])
        warnings.append(f"⚠ **{data.stale_signals} stale signal(s)** fire no rule: {names}")
    warnings += [f"⚠ **stale series** {_md_escape(t)}" for t in data.stale_series_text()]
    warnings += [
        f"⚠ **β of {r.asset} on SPX** {fmt_beta(r.beta, r.r2)}"
        for r in data.betas.itertuples(index=False)
        if "not meaningful" in fmt_beta(r.beta, r.r2)
    ]
    return [*(f"- {w}" for w in warnings), ""] if warnings else ["No data-quality warnings.", ""]


def _orders_markdown(data: ReportData, pid: str) -> list[str]:
    """Today's orders, then the book after them, then the account line (SPEC §10)."""
    out = ["", f"## {pid} — orders", ""]
    headers, rows = orders_display(data, pid)
    out.append(md_table(headers, rows) if rows else "No orders: hold the book.")
    headers, rows = book_display(data, pid)
    if rows:
        out += ["", "**Book after the orders**", "", md_table(headers, rows)]
    line = account_summary(data, pid)
    return out + (["", line] if line else [])


def _portfolio_markdown(data: ReportData, pid: str) -> list[str]:
    r = risk_row(data, pid)
    out = ["", f"## {pid} — risk", ""]
    out.append(
        md_table(
            ["figure", "value"],
            [list(m) for m in metrics_rows(data, pid)] + [["hedge", hedge_summary(data, pid)]],
        )
    )
    stress = [
        [s.scenario, fmt_pct(s.spx_move, 0), fmt_num(s.vix_mult, 2), fmt_usd(s.pnl_usd),
         fmt_pct(s.pnl_pct_equity, 1)]
        for s in stress_table(data, pid).itertuples(index=False)
    ]  # fmt: skip
    out += ["", "**Stress**", ""]
    out.append(md_table(["scenario", "SPX move", "VIX ×", "P&L (USD)", "% of equity"], stress))
    out += ["", "**Rationale**", "", "> " + _md_escape(r.get("rationale") or "—")]
    return out


def summary_markdown(data: ReportData) -> str:
    """The ``daily-summary`` Markdown: the day at a glance, warnings first."""
    run_id = data.run.get("run_id", "")
    out = [f"# condorcap daily summary — {data.as_of.date()}", "", f"run `{run_id}`", ""]
    out += _warnings_markdown(data)
    for pid in data.portfolio_ids:  # what a trader reads first
        out += _orders_markdown(data, pid)
    out += ["", "## Signals", ""]
    out.append(
        md_table(
            ["signal", "value", "state", "newest input"],
            [
                [r.signal, fmt_num(r.value, 3), r.state, fmt_date(r.input_date)]
                for r in data.signals.itertuples(index=False)
            ],
        )
    )
    for pid in data.portfolio_ids:
        out += _portfolio_markdown(data, pid)
    return "\n".join(out) + "\n"


def charts_markdown(data: ReportData, charts: dict[str, str] | None = None) -> str:
    """The ``daily-charts`` Markdown: each chart as ``![name](data:image/png;base64,…)``."""
    charts = charts if charts is not None else chart_uris(data)
    out = [f"# condorcap charts — {data.as_of.date()}", ""]
    for name, (title, _fn) in CHARTS.items():
        if name in charts:
            out += [f"## {title}", "", f"![{name}]({charts[name]})", ""]
    return "\n".join(out)


def publish_artifacts(db_path: str | Path, as_of: object) -> list[str]:
    """Create the run's artifacts from the published warehouse; return their keys.

    Call inside the flow run, after the warehouse is published (it reads the file
    read-only).
    """
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    data = load_report_data(db_path, as_of)
    keys = []
    for pid in data.portfolio_ids:
        headers, rows = orders_display(data, pid)
        if rows:
            key = f"{artifact_key(pid)}-orders"
            create_table_artifact(
                key=key,
                table=[dict(zip(headers, r, strict=True)) for r in rows],
                description=f"{pid}: orders for {data.as_of.date()}",
            )
            keys.append(key)
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
    health = load_model_health(db_path, data.as_of, data.params)
    if health is not None:  # SPEC §12: only when the warehouse holds a CNDR history
        create_markdown_artifact(
            key=HEALTH_KEY,
            markdown=health_markdown(health),
            description=f"trailing CNDR tracking figures at {data.as_of.date()}",
        )
        keys.append(HEALTH_KEY)
    return [*keys, SUMMARY_KEY, CHARTS_KEY]
