"""The report's charts: matplotlib figures (Agg, no pyplot state) and their PNG data URIs.

Each chart function takes a :class:`report.data.ReportData` and returns a ``Figure``
drawn without a display or pyplot's global state; :func:`figure_data_uri` turns one into
a ``data:image/png;base64,…`` URI for an ``<img>`` or a Markdown image. :data:`CHARTS`
lists them in the order the report shows them.

The signal dashboard shows the trailing :data:`SIGNAL_YEARS` year, recomputing the
indicators on ``data.market`` with the signal code's own functions.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")  # file output only: never try to open a display

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from report.data import ReportData
from report.formatting import fmt_beta
from report.payoff import payoff_curves
from schemas.config import SignalParams
from tasks.market.surface import VIX3M_DAYS, VIX6M_DAYS, VIX9D_DAYS, VIX_DAYS
from tasks.signals import macd, wilder_rsi

SIGNAL_YEARS = 1  # signal dashboard span
PNG_DPI = 96
INDEX_TENORS = {"vix9d": VIX9D_DAYS, "vix": VIX_DAYS, "vix3m": VIX3M_DAYS, "vix6m": VIX6M_DAYS}

# colours (colour-blind safe, Okabe–Ito)
C_BLUE, C_ORANGE, C_GREEN, C_RED, C_GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#777777"
C_PURPLE = "#CC79A7"


def _new_figure(width: float, height: float) -> Figure:
    """A figure of its own (not pyplot's), laid out so titles and legends never clip."""
    return Figure(figsize=(width, height), layout="constrained")


def _style(ax: Any) -> None:
    ax.grid(True, color="#e4e4e4", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)


def _usd_formatter(x: float, _pos: int) -> str:
    return f"{x / 1000:,.0f}k" if abs(x) >= 1000 else f"{x:,.0f}"


def payoff_chart(data: ReportData) -> Figure:
    """One panel per portfolio: condor ladder at expiry, hedge, total; spot and break-evens."""
    ids = data.portfolio_ids or ["(no portfolio)"]
    fig = _new_figure(5.6 * min(len(ids), 2), 3.6 * ((len(ids) + 1) // 2))
    axes = fig.subplots((len(ids) + 1) // 2, min(len(ids), 2), squeeze=False).ravel()
    for ax, pid in zip(axes, ids, strict=False):
        _style(ax)
        if pid not in data.portfolio_ids:
            ax.text(0.5, 0.5, "no sizing rows", ha="center", transform=ax.transAxes)
            continue
        c = payoff_curves(data, pid)
        ax.axhline(0, color="#444444", linewidth=0.8)
        ax.plot(c.S, c.condors, color=C_BLUE, linewidth=1.4, label="condor ladder at expiry")
        ax.plot(
            c.S, c.hedge, color=C_ORANGE, linewidth=1.4,
            label=f"hedge revalued in {c.days_ahead} days (VIX term × (1 + β_vix·r))",
        )  # fmt: skip
        ax.plot(c.S, c.total, color="black", linewidth=2.0, label="total")
        ax.axvline(data.spot, color=C_GREY, linestyle="--", linewidth=1)
        ax.annotate(
            f"spot {data.spot:,.0f}", (data.spot, 1.0), xycoords=("data", "axes fraction"),
            ha="left", va="top", fontsize=8, color=C_GREY, xytext=(3, -2),
            textcoords="offset points",
        )  # fmt: skip
        for be in c.break_evens:
            ax.axvline(be, color=C_RED, linestyle=":", linewidth=1)
            ax.plot([be], [0], "o", color=C_RED, markersize=4)
            ax.annotate(
                f"{be:,.0f}", (be, 0), xytext=(3, 6), textcoords="offset points",
                fontsize=7, color=C_RED,
            )  # fmt: skip
        ax.yaxis.set_major_formatter(_usd_formatter)
        ax.set_xlabel("SPX level", fontsize=8)
        ax.set_ylabel("P&L (USD)", fontsize=8)
        ax.set_title(f"{pid}: payoff (β_vix {c.beta_vix:+.2f})", fontsize=10)
    for ax in axes[len(ids) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return fig


def rolling_beta_chart(data: ReportData) -> Figure:
    """Rolling betas on SPX over the trailing years: VIX and VIX3M (top), the strategy (bottom)."""
    fig = _new_figure(11, 4.6)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1.3, 1])
    rb = data.rolling_betas
    window = data.params.risk.beta_window
    for ax in (top, bottom):
        _style(ax)
        ax.axhline(0, color="#444444", linewidth=0.6)
    top.plot(rb.index, rb["vix"], color=C_RED, linewidth=1.2, label="VIX")
    top.plot(rb.index, rb["vix3m"], color=C_PURPLE, linewidth=1.2, label="VIX3M")
    top.set_ylabel("β on SPX", fontsize=8)
    top.legend(fontsize=7, frameon=False, loc="lower left")
    top.set_title(
        f"Rolling {window}-session betas on SPX returns — today VIX {data.beta_of('vix'):+.2f}, "
        f"VIX3M {data.beta_of('vix3m'):+.2f}",
        fontsize=10,
    )
    bottom.plot(rb.index, rb["strategy"], color=C_BLUE, linewidth=1.2, label="modelled strategy")
    bottom.set_ylabel("β on SPX", fontsize=8)
    strat = data.beta_of("strategy")
    bottom.set_title(
        f"Strategy (modelled ladder) — today {fmt_beta(strat, data.r2_of('strategy'))}"
        if np.isfinite(strat)
        else "Strategy (modelled ladder)",
        fontsize=9,
    )
    if rb["strategy"].notna().sum() == 0:
        bottom.text(0.5, 0.5, "no strategy history", ha="center", transform=bottom.transAxes)
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    if len(rb):
        bottom.set_xlim(rb.index[0], rb.index[-1] + pd.Timedelta(days=5))
    return fig


def _spx_panel(ax: Any, data: ReportData, spx: pd.Series, view: slice) -> None:
    _v, s = data.signal_state("risk_state")
    ax.plot(spx.loc[view].index, spx.loc[view], color="black", linewidth=1.2)
    ax.set_ylabel("SPX", fontsize=8)
    ax.set_title(f"SPX {data.spot:,.2f} — risk state: {s}", fontsize=10, loc="left")


def _macd_panel(ax: Any, data: ReportData, spx: pd.Series, view: slice, p: SignalParams) -> None:
    v, s = data.signal_state("macd_spx")
    h = macd(spx, p.macd_fast, p.macd_slow, p.macd_signal)["hist"].loc[view].dropna()
    # one line collection, not a patch per session (a year of bars cost ~0.5 s to draw)
    ax.vlines(h.index, 0.0, h.to_numpy(), colors=np.where(h >= 0, C_GREEN, C_RED), linewidth=2.2)
    ax.axhline(0, color="#444444", linewidth=0.6)
    ax.set_ylabel("MACD hist", fontsize=8)
    ax.set_title(
        f"MACD({p.macd_fast},{p.macd_slow},{p.macd_signal}) histogram {v:+.2f} — {s}",
        fontsize=9, loc="left",
    )  # fmt: skip


def _rsi_panel(ax: Any, data: ReportData, spx: pd.Series, view: slice, p: SignalParams) -> None:
    v, s = data.signal_state("rsi_spx")
    rsi = wilder_rsi(spx, p.rsi_window)
    ax.plot(rsi.loc[view].index, rsi.loc[view], color=C_BLUE, linewidth=1.1)
    ax.axhspan(p.rsi_overbought, 100, color=C_RED, alpha=0.08)
    ax.axhspan(0, p.rsi_oversold, color=C_GREEN, alpha=0.08)
    for level in (p.rsi_oversold, p.rsi_overbought):
        ax.axhline(level, color=C_GREY, linestyle="--", linewidth=0.8)
    ax.set_ylim(0, 100)
    ax.set_ylabel(f"RSI({p.rsi_window})", fontsize=8)
    ax.set_title(f"RSI({p.rsi_window}) {v:.1f} — {s}", fontsize=9, loc="left")


def _vix_panel(ax: Any, data: ReportData, view: slice, p: SignalParams) -> None:
    v, s = data.signal_state("vix_regime")
    vix = data.market["vix"].loc[view].dropna()
    ax.plot(vix.index, vix, color=C_RED, linewidth=1.1)
    top = max(float(vix.max()) if len(vix) else p.vix_stressed, p.vix_stressed) * 1.08
    bands = [
        (0, p.vix_calm, C_GREEN),
        (p.vix_calm, p.vix_normal, C_BLUE),
        (p.vix_normal, p.vix_stressed, C_ORANGE),
        (p.vix_stressed, top, C_RED),
    ]  # calm, normal, stressed, crisis
    for lo, hi, colour in bands:
        ax.axhspan(lo, hi, color=colour, alpha=0.07)
    for level in (p.vix_calm, p.vix_normal, p.vix_stressed):
        ax.axhline(level, color=C_GREY, linestyle="--", linewidth=0.8)
    ax.set_ylim(max(0.0, float(vix.min()) * 0.85) if len(vix) else 0.0, top)
    ax.set_ylabel("VIX", fontsize=8)
    ax.set_title(
        f"VIX {v:.2f} — regime {s} (bands {p.vix_calm:g}/{p.vix_normal:g}/{p.vix_stressed:g})",
        fontsize=9, loc="left",
    )  # fmt: skip


def _term_panel(ax: Any, data: ReportData, view: slice, p: SignalParams) -> None:
    v, s = data.signal_state("term_structure")
    m = data.market
    ratio = (m["vix"] / m["vix3m"]).loc[view].dropna()
    ax.plot(ratio.index, ratio, color=C_PURPLE, linewidth=1.1)
    ax.axhline(p.ts_contango, color=C_GREY, linestyle="--", linewidth=0.8)
    ax.axhline(p.ts_flat, color=C_RED, linestyle="--", linewidth=0.8)
    ax.set_ylabel("VIX / VIX3M", fontsize=8)
    ax.set_title(
        f"VIX/VIX3M {v:.3f} — {s} (lines {p.ts_contango:g}, {p.ts_flat:g})",
        fontsize=9, loc="left",
    )  # fmt: skip


def signal_dashboard_chart(data: ReportData, params: SignalParams | None = None) -> Figure:
    """SPX + MACD histogram, RSI with its bands, VIX with its regime bands, VIX/VIX3M.

    Indicators are recomputed on the history held in ``data.market`` (the SPEC §2
    conventions via :func:`tasks.signals.wilder_rsi` / :func:`tasks.signals.macd`) and shown
    over the trailing :data:`SIGNAL_YEARS` year; panel titles carry today's stored states.
    """
    p = params or data.params.signals
    spx = data.market["spx"].dropna()
    start = data.as_of - pd.DateOffset(years=SIGNAL_YEARS)
    view = slice(start, data.as_of)
    fig = _new_figure(11, 9.0)
    axes = fig.subplots(5, 1, sharex=True, height_ratios=[1.6, 0.9, 1.0, 1.2, 1.0])
    for ax in axes:
        _style(ax)
    a_spx, a_macd, a_rsi, a_vix, a_ts = axes
    _spx_panel(a_spx, data, spx, view)
    _macd_panel(a_macd, data, spx, view, p)
    _rsi_panel(a_rsi, data, spx, view, p)
    _vix_panel(a_vix, data, view, p)
    _term_panel(a_ts, data, view, p)
    a_ts.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    a_ts.set_xlim(start, data.as_of + pd.Timedelta(days=3))
    return fig


def vix_curve_chart(data: ReportData) -> Figure:
    """The modelled VIX futures curve (``vix_term``) against the VIX indices at their tenors."""
    fig = _new_figure(7.5, 3.6)
    ax = fig.subplots()
    _style(ax)
    vt = data.vix_term
    if len(vt):
        ax.plot(
            vt["tenor_days"], vt["future_model"], "-o", color=C_BLUE, markersize=4,
            linewidth=1.4, label="modelled VIX futures (SPEC §3.2)",
        )  # fmt: skip
        for _, r in vt.iterrows():
            ax.annotate(
                pd.Timestamp(r["expiry"]).strftime("%b"), (r["tenor_days"], r["future_model"]),
                xytext=(0, 6), textcoords="offset points", ha="center", fontsize=7, color=C_BLUE,
            )  # fmt: skip
    term = data.term
    pts = [
        (name, days, float(getattr(term, name)))
        for name, days in INDEX_TENORS.items()
        if np.isfinite(float(getattr(term, name)))
    ]
    if pts:
        ax.plot(
            [d for _, d, _ in pts], [v for _, _, v in pts], "s", color=C_RED, markersize=6,
            label="VIX indices at their tenors",
        )  # fmt: skip
        for name, days, value in pts:
            ax.annotate(
                f"{name.upper()} {value:.2f}", (days, value), xytext=(4, -12),
                textcoords="offset points", fontsize=7, color=C_RED,
            )  # fmt: skip
    ax.set_xlabel("days to expiry", fontsize=8)
    ax.set_ylabel("VIX points", fontsize=8)
    ax.set_xlim(left=0)
    ax.margins(y=0.15)  # room for the point labels
    ax.set_title(f"VIX term structure {data.as_of.date()}", fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return fig


def figure_png(fig: Figure, dpi: int = PNG_DPI) -> bytes:
    """The figure as PNG bytes (Agg)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def figure_data_uri(fig: Figure, dpi: int = PNG_DPI) -> str:
    """``data:image/png;base64,…`` of the figure, for ``<img src>`` or Markdown images."""
    return "data:image/png;base64," + base64.b64encode(figure_png(fig, dpi)).decode("ascii")


ChartFn = Callable[[ReportData], Figure]

CHARTS: dict[str, tuple[str, ChartFn]] = {
    "payoff": ("Payoff at expiry", payoff_chart),
    "rolling-betas": ("Rolling betas", rolling_beta_chart),
    "signals": ("Signal dashboard", signal_dashboard_chart),
    "vix-curve": ("VIX futures curve", vix_curve_chart),
}


def chart_uris(data: ReportData) -> dict[str, str]:
    """Every chart of :data:`CHARTS` as a PNG data URI, keyed by chart name."""
    return {name: figure_data_uri(fn(data)) for name, (_title, fn) in CHARTS.items()}
