"""The report as one self-contained HTML file, rendered by Jinja2 templates.

``templates/report.html.j2`` holds the page, ``templates/_macros.html.j2`` the table
macro and ``templates/report.css`` the inline style. Autoescaping is on: every value
from the warehouse (a rationale, a portfolio id, a signal's params) reaches the page as
text, never as markup. This module only builds the template's context from
:class:`report.data.ReportData`; the page has inline CSS, the charts as inline PNGs, no
JavaScript and no network access.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from report.charts import CHARTS, chart_uris
from report.data import ReportData, load_report_data
from report.formatting import (
    fmt_beta,
    fmt_date,
    fmt_num,
    fmt_params,
    fmt_pct,
    fmt_usd,
    to_float,
)
from report.model_health import health_context, load_model_health
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
from tasks.conventions import SignalState

TEMPLATES = Path(__file__).with_name("templates")

# badge colour of each signal state: data-quality warnings, risk-off readings, benign ones
_WARN_STATES = {SignalState.STALE, SignalState.INSUFFICIENT, "missing"}
_OFF_STATES = {
    SignalState.RISK_OFF, SignalState.CRISIS, SignalState.STRESSED, SignalState.BACKWARDATION,
    SignalState.BEARISH, "bearish_cross", SignalState.SHOCK, SignalState.HOT,
    SignalState.CONTRACTION, SignalState.EVENT, SignalState.OVERSOLD, SignalState.OVERBOUGHT,
}  # fmt: skip
_OK_STATES = {
    SignalState.RISK_ON, SignalState.CALM, SignalState.CONTANGO, SignalState.BULLISH,
    "bullish_cross", SignalState.CLEAR, SignalState.NORMAL,
}  # fmt: skip
_HEADER_CLOSES = ("spx", "vix", "vix3m", "tbill_3m")  # the freshness the header names


@dataclass
class Table:
    """A table for the ``table`` macro: text cells, ``numeric`` column positions right-aligned."""

    headers: list[str]
    rows: list[list[object]]
    numeric: set[int] = field(default_factory=set)
    row_classes: list[str] | None = None
    id: str | None = None


@cache
def environment() -> jinja2.Environment:
    """The report's Jinja2 environment: autoescape on, undefined names an error."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def badge_class(state: str) -> str:
    """The CSS class of a signal state's badge (``warn``, ``off``, ``ok`` or none)."""
    if state in _WARN_STATES:
        return "warn"
    if state in _OFF_STATES:
        return "off"
    return "ok" if state in _OK_STATES else ""


def _hedge_prefix(r: Any) -> str:
    """A hedge's break-even is a VIX level at expiry, not an SPX one: say so."""
    return "VIX " if r.kind == "hedge" and np.isfinite(to_float(r.breakeven_high)) else ""


def recommendation_html_table(data: ReportData, pid: str) -> Table | None:
    """The recommendation of a portfolio as display text (None when nothing is recommended)."""
    rec = recommendation_table(data, pid)
    if rec.empty:
        return None
    rows = [
        [
            r.position_id, r.kind, fmt_date(r.expiry), r.dte, r.strikes, f"{r.contracts:,d}",
            fmt_num(r.credit_pts, 2), fmt_usd(r.credit_usd), fmt_usd(r.max_loss_usd),
            fmt_usd(r.max_loss_total_usd), fmt_num(r.breakeven_low, 1),
            _hedge_prefix(r) + fmt_num(r.breakeven_high, 1),
            fmt_pct(r.prob_between_breakevens, 1), r.pricing_source,
        ]
        for r in rec.itertuples(index=False)
    ]  # fmt: skip
    headers = [
        "position", "kind", "expiry", "DTE", "strikes", "contracts", "credit (pts)",
        "credit total", "max loss / contract", "max loss total", "break-even low",
        "break-even high", "P(between)", "pricing",
    ]  # fmt: skip
    return Table(
        headers, rows, numeric={3, 5, 6, 7, 8, 9, 10, 11, 12},
        row_classes=["hedge" if k == "hedge" else "" for k in rec["kind"]],
        id=f"recommendation-{pid}",
    )  # fmt: skip


def _stress_html_table(data: ReportData, pid: str) -> Table:
    rows = [
        [
            s.scenario, fmt_pct(s.spx_move, 0), fmt_num(s.vix_mult, 2),
            f"{s.rate_shift_bp:+.0f} bp", fmt_usd(s.pnl_usd), fmt_pct(s.pnl_pct_equity, 1),
        ]
        for s in stress_table(data, pid).itertuples(index=False)
    ]  # fmt: skip
    headers = ["scenario", "SPX", "VIX ×", "rates", "P&L", "% of equity"]
    return Table(headers, rows, {1, 2, 3, 4, 5}, id=f"stress-{pid}")


def _text_table(headers: list[str], rows: list[list[str]], table_id: str) -> Table | None:
    """A table of display text (None when there are no rows)."""
    if not rows:
        return None
    numeric = {i for i, h in enumerate(headers) if h in {"contracts", "DTE", "limit (pts)",
                                                         "entry (pts)", "mark (pts)"}}  # fmt: skip
    return Table(headers, rows, numeric, id=table_id)


def _portfolio(data: ReportData, pid: str) -> dict[str, Any]:
    return {
        "id": pid,
        "orders": _text_table(*orders_display(data, pid), f"orders-{pid}"),
        "book": _text_table(*book_display(data, pid), f"book-{pid}"),
        "account": account_summary(data, pid),
        "recommendation": recommendation_html_table(data, pid),
        "hedge": hedge_summary(data, pid),
        "metrics": Table(["figure", "value"], [list(m) for m in metrics_rows(data, pid)], {1}),
        "stress": _stress_html_table(data, pid),
        "rationale": str(risk_row(data, pid).get("rationale") or "—"),
    }


def _signals(data: ReportData) -> list[dict[str, str]]:
    return [
        {
            "signal": str(r.signal),
            "value": fmt_num(r.value, 3),
            "state": str(r.state),
            "badge": badge_class(str(r.state)),
            "input_date": fmt_date(getattr(r, "input_date", None)),
            "params": fmt_params(r.params),
        }
        for r in data.signals.itertuples(index=False)
    ]


def _betas_table(data: ReportData) -> Table:
    rows = [
        [
            r.asset,
            r.window_days,
            fmt_beta(r.beta, r.r2, 3),
            fmt_num(r.alpha, 5),
            fmt_num(r.r2, 3),
            r.n_obs,
        ]
        for r in data.betas.itertuples(index=False)
    ]
    headers = ["asset", "window", "β", "α (daily)", "R²", "n obs"]
    return Table(headers, rows, {1, 2, 3, 4, 5}, id="betas")


def _vix_term_table(data: ReportData) -> Table:
    rows = [
        [fmt_date(r.expiry), r.tenor_days, fmt_num(r.future_model, 2)]
        for r in data.vix_term.itertuples(index=False)
    ]
    return Table(["VIX expiry", "days", "modelled future"], rows, {1, 2}, id="vix-term")


def _quality(data: ReportData) -> dict[str, Any]:
    q = data.quarantine
    qrows = [[r.series_id, r.check_name, r.rows, r.new_this_run] for r in q.itertuples(index=False)]
    stale = data.stale
    stale_text = (
        "⚠ stale signals (they fire no rule): "
        + ", ".join(
            f"{r.signal} (newest input {fmt_date(r.input_date)})" for r in stale.itertuples()
        )
        if len(stale)
        else "No stale signals."
    )
    stale_age = {
        r.series_id: f"⚠ stale: {r.age} {r.unit} old (max {r.max_age})"
        for r in data.stale_series.itertuples(index=False)
    }
    fresh_rows = [
        [r.series_id, fmt_date(r.latest_date), fmt_date(r.available_at),
         stale_age.get(r.series_id, "fresh")]
        for r in data.freshness.itertuples(index=False)
    ]  # fmt: skip
    return {
        "total": data.quarantine_total,
        "quarantine": Table(["series", "check", "rows", "new this run"], qrows, {2, 3},
                            id="quarantine") if qrows else None,
        "stale_text": stale_text,
        "stale_count": data.stale_signals,
        "freshness": Table(["series", "newest observation", "knowable from", "age"], fresh_rows,
                           id="freshness"),
    }  # fmt: skip


def _header(data: ReportData) -> dict[str, Any]:
    run = data.run
    fresh = data.freshness.set_index("series_id")["latest_date"] if len(data.freshness) else {}
    closes = ", ".join(f"{s.upper()} {fmt_date(fresh[s])}" for s in _HEADER_CLOSES if s in fresh)
    warnings = []
    if data.quarantine_total:
        warnings.append(f"⚠ {data.quarantine_total} quarantined row(s)")
    if data.stale_signals:
        warnings.append(f"⚠ {data.stale_signals} stale signal(s)")
    warnings += [f"⚠ stale series {t}" for t in data.stale_series_text()]
    return {
        "run": {
            "run_id": str(run.get("run_id", "")),
            "flow": str(run.get("flow", "")),
            "finished_date": fmt_date(run.get("finished_at")),
            "finished_time": str(run.get("finished_at", ""))[11:19],
            "rows_written": str(run.get("rows_written", "")),
        },
        "spot": fmt_num(data.spot, 2),
        "vix": fmt_num(data.term.vix, 2),
        "risk_state": data.signal_state("risk_state")[1],
        "closes": closes,
        "warnings": warnings,
    }


def render_html(data: ReportData, charts: dict[str, str] | None = None) -> str:
    """The whole report as one HTML string (inline CSS and images, no scripts)."""
    charts = charts if charts is not None else chart_uris(data)
    context = {
        "day": str(data.as_of.date()),
        **_header(data),
        "portfolios": [_portfolio(data, pid) for pid in data.portfolio_ids],
        "charts": [
            {"name": name, "title": title, "uri": charts[name]}
            for name, (title, _fn) in CHARTS.items()
            if name in charts
        ],
        "signals": _signals(data),
        "betas": _betas_table(data),
        "vix_term": _vix_term_table(data),
        "quality": _quality(data),
        "db_path": str(data.db_path),
        # SPEC §12: only when the warehouse holds a CNDR history
        "model_health": health_context(load_model_health(data.db_path, data.as_of, data.params)),
    }
    return environment().get_template("report.html.j2").render(context)


def report_filename(as_of: object) -> str:
    """``condorcap-report-YYYY-MM-DD.html``."""
    return f"condorcap-report-{pd.Timestamp(as_of):%Y-%m-%d}.html"


def write_report(db_path: str | Path, as_of: object, out_dir: str | Path) -> Path:
    """Write ``condorcap-report-YYYY-MM-DD.html`` for ``as_of`` into ``out_dir``; return its path."""
    data = load_report_data(db_path, as_of)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / report_filename(data.as_of)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html(data), encoding="utf-8")
    tmp.replace(path)  # a reader never sees a half-written report
    return path
