"""The daily model-health line in the report and the artifacts (SPEC §12, issue #10).

Present only when the warehouse holds a CNDR history (the optional ``cndr`` source): the
trailing tracking figures of the model's CNDR replica (``tasks.validation.health``), a
flag when they miss the SPEC §12 bar, and a chart of the two cumulative series.
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd

from report.charts import _new_figure, _style, figure_data_uri
from schemas.config import Params
from tasks.market.frame import MARKET_SERIES
from tasks.validation.fit import cumulative
from tasks.validation.health import ModelHealth, health_line, model_health
from warehouse import db

HEALTH_KEY = "model-health"


def load_model_health(
    db_path: str | Path, as_of: object, params: Params | None = None
) -> ModelHealth | None:
    """The trailing figures from the warehouse (read-only); None without a CNDR history."""
    day = pd.Timestamp(as_of).normalize()
    with closing(db.connect(Path(db_path), read_only=True)) as con:
        obs = db.read_observations(con, day, [*MARKET_SERIES, "cndr"])
    if not (obs["series_id"] == "cndr").any():
        return None
    obs = obs.assign(
        date=pd.to_datetime(obs["date"]).astype("datetime64[ns]"),
        available_at=pd.to_datetime(obs["available_at"]).astype("datetime64[ns]"),
    )
    return model_health(obs, day, params)


def cumulative_chart_uri(h: ModelHealth) -> str:
    """PNG data URI: CNDR's cumulative excess return and the model's (at CNDR's leverage)."""
    cum = cumulative(h.months)
    fig = _new_figure(8.0, 3.2)
    ax = fig.subplots()
    ax.plot(cum.index, cum["index"], color="black", label="CNDR excess over bills")
    ax.plot(cum.index, cum["model"], color="tab:blue", label="model (scaled to CNDR)")
    ax.set_title("CNDR vs model, cumulative excess return (growth of 1)")
    ax.legend(loc="upper left", fontsize=8)
    _style(ax)
    return figure_data_uri(fig)


def health_context(h: ModelHealth | None) -> dict[str, Any] | None:
    """The template's ``model_health`` block (None: the report shows nothing)."""
    if h is None:
        return None
    return {"line": health_line(h), "ok": h.ok, "chart": cumulative_chart_uri(h)}


def health_markdown(h: ModelHealth) -> str:
    """The ``model-health`` artifact: the line and the figures as a table."""
    f = h.figures
    rows = [
        "| months | corr | Sharpe model | Sharpe index | mean model | mean index |",
        "|---|---|---|---|---|---|",
        f"| {f.months} | {f.corr:.3f} | {f.sharpe_model:.3f} | {f.sharpe_index:.3f} | "
        f"{f.mean_model:.4f} | {f.mean_index:.4f} |",
    ]
    return "\n".join(["# Model health", "", health_line(h), "", *rows, ""])
