"""The static daily report: warehouse rows → matplotlib charts → one self-contained HTML file.

Three layers, each usable on its own:

* :func:`load_report_data` reads everything a report (or a Prefect artifact) shows for one
  ``as_of`` from the published warehouse, read-only, into a :class:`ReportData`;
* the chart functions (:func:`payoff_chart`, :func:`rolling_beta_chart`,
  :func:`signal_dashboard_chart`, :func:`vix_curve_chart`) each return a matplotlib
  ``Figure`` drawn with the Agg backend (no display, no pyplot global state) and
  :func:`figure_data_uri` turns one into a ``data:image/png;base64,…`` URI;
* :func:`write_report` renders ``condorcap-report-YYYY-MM-DD.html``: inline CSS, the charts
  as inline PNGs, no JavaScript and no network access, every text value escaped.

Presentation choices (the SPEC is silent on the report)
-------------------------------------------------------
- The payoff chart sums each tranche's payoff *at its own expiry* (intrinsic value of the
  legs minus the entry credit, × contracts): the usual "expiry diagram" of a ladder,
  although the tranches expire on different dates. The hedge is not at expiry: it is fully
  revalued (:func:`tasks.structures.revalue_legs`) on the day the nearest condor expires,
  with the VIX term structure scaled by ``1 + β_vix·r_SPX`` (β_vix from the ``betas``
  table; the ratio is floored at :data:`VIX_RATIO_FLOOR` so a large rally cannot make the
  VIX negative). Pricing parameters are the defaults of ``schemas.config``: the report
  does not know a portfolio's overrides.
- Quarantine counts are those held in the warehouse when the run finished (a re-run does
  not quarantine the same row twice), with the rows first seen by this run shown apart.
- History charts cover the trailing :data:`HISTORY_YEARS` years (rolling betas) and
  :data:`SIGNAL_YEARS` year (signal dashboard), from observations knowable at ``as_of``.
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # file output only: never try to open a display

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import NDArray

from schemas.config import Params, PricingParams, SignalParams
from tasks.market import calendar
from tasks.market.frame import MARKET_SERIES, market_frame
from tasks.market.surface import VIX3M_DAYS, VIX6M_DAYS, VIX9D_DAYS, VIX_DAYS, VolTerm
from tasks.risk import rolling_beta, simple_returns
from tasks.signals import SIGNALS, macd, wilder_rsi
from tasks.structures import MULTIPLIER, revalue_legs
from warehouse import db

FloatArray = NDArray[np.float64]

HISTORY_YEARS = 3  # rolling-beta chart span
SIGNAL_YEARS = 1  # signal dashboard span
PAYOFF_LOW = -0.25  # payoff chart: SPX from −25% …
PAYOFF_HIGH = 0.15  # … to +15% of spot
PAYOFF_POINTS = 401
VIX_RATIO_FLOOR = 0.05  # the scaled VIX term never goes below 5% of today's
PNG_DPI = 96
INDEX_TENORS = {"vix9d": VIX9D_DAYS, "vix": VIX_DAYS, "vix3m": VIX3M_DAYS, "vix6m": VIX6M_DAYS}
STRESS_SCENARIOS = ("crash", "correction", "cpi_shock", "vol_spike", "rally")
CONDOR_LEG_ORDER = ("long_put", "short_put", "short_call", "long_call")

# colours (colour-blind safe, Okabe–Ito)
C_BLUE, C_ORANGE, C_GREEN, C_RED, C_GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#777777"
C_PURPLE = "#CC79A7"


class ReportError(RuntimeError):
    """The warehouse cannot produce a report for the requested day (the message says why)."""


# =========================================================================== data


@dataclass
class ReportData:
    """Everything the report and the artifacts show for one ``as_of``.

    Frames for the day are the warehouse rows as stored (dates as ``datetime64[ns]``);
    ``market``, ``rolling_betas`` and ``ladder_daily`` are histories for the charts.
    """

    as_of: pd.Timestamp
    db_path: Path
    run: dict[str, Any]
    signals: pd.DataFrame
    portfolio_risk: pd.DataFrame
    daily_sizing: pd.DataFrame
    positions: pd.DataFrame
    vix_term: pd.DataFrame
    betas: pd.DataFrame
    quarantine: pd.DataFrame  # series_id, check_name, rows, new_this_run
    quarantine_total: int
    stale_signals: int
    freshness: pd.DataFrame  # series_id, latest_date, available_at
    market: pd.DataFrame  # market_frame over the trailing HISTORY_YEARS
    rolling_betas: pd.DataFrame  # vix, vix3m, strategy betas on SPX, trailing HISTORY_YEARS
    ladder_daily: pd.DataFrame
    params: Params

    @property
    def portfolio_ids(self) -> list[str]:
        ids = list(self.portfolio_risk["portfolio_id"]) + list(self.daily_sizing["portfolio_id"])
        return list(dict.fromkeys(ids))

    @property
    def spot(self) -> float:
        return float(self.market["spx"].get(self.as_of, np.nan))

    @property
    def term(self) -> VolTerm:
        """The VIX term structure of ``as_of`` (NaN where an index did not print)."""
        row = self.market.loc[self.as_of] if self.as_of in self.market.index else None
        if row is None:
            return VolTerm(np.nan, np.nan, np.nan, np.nan)
        return VolTerm(
            vix9d=float(row["vix9d"]),
            vix=float(row["vix"]),
            vix3m=float(row["vix3m"]),
            vix6m=float(row["vix6m"]),
        )

    def beta_of(self, asset: str) -> float:
        """The stored ``betas.beta`` of ``asset`` for the day (NaN when absent)."""
        row = self.betas[self.betas["asset"] == asset]
        return float(row["beta"].iloc[0]) if len(row) else float("nan")

    def signal_state(self, signal: str) -> tuple[float, str]:
        row = self.signals[self.signals["signal"] == signal]
        if row.empty:
            return float("nan"), "missing"
        return float(row["value"].iloc[0]), str(row["state"].iloc[0])


def _dates_ns(df: pd.DataFrame) -> pd.DataFrame:
    """DuckDB DATE/TIMESTAMP columns (``datetime64[us]``) → ``datetime64[ns]`` (docs/contracts.md)."""
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].astype("datetime64[ns]")
    return df


def _tables(con: Any) -> set[str]:
    return {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }


def load_report_data(
    db_path: str | Path, as_of: object, params: Params | None = None
) -> ReportData:
    """Read the day's rows and the chart histories from the published warehouse (read-only).

    Parameters
    ----------
    db_path : the warehouse file.
    as_of : the session to report; a completed run for it must exist.
    params : method parameters (thresholds, beta window, pricing); default ``Params()``.

    Raises
    ------
    FileNotFoundError
        No warehouse at ``db_path``.
    ReportError
        No completed run for ``as_of`` (the message says which command to run).
    """
    params = params or Params()
    path = Path(db_path)
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `condorcap run` first")
    day = pd.Timestamp(as_of).normalize()
    d = day.date()
    con = db.connect(path, read_only=True)
    try:
        present = _tables(con)
        run = con.execute(
            "SELECT * FROM runs WHERE as_of = ? AND status = 'completed' "
            "ORDER BY finished_at DESC LIMIT 1",
            [d],
        ).df()
        if run.empty:
            raise ReportError(
                f"the warehouse {path} has no completed run for {d}: "
                f"run `condorcap run --as-of {d}` first"
            )
        run_row = _dates_ns(run).iloc[0].to_dict()

        def day_rows(table: str, order: str) -> pd.DataFrame:
            if table not in present:
                return pd.DataFrame()
            return _dates_ns(
                con.execute(f"SELECT * FROM {table} WHERE as_of = ? ORDER BY {order}", [d]).df()
            )

        signals = day_rows("signal_states", "signal")
        if len(signals):  # SPEC §2 order, unknown signals last
            rank = {name: i for i, name in enumerate(SIGNALS)}
            signals = signals.sort_values(
                "signal", key=lambda s: s.map(rank).fillna(len(rank)), kind="stable"
            ).reset_index(drop=True)
        risk = day_rows("portfolio_risk", "portfolio_id")
        sizing = day_rows("daily_sizing", "portfolio_id, kind, expiry, position_id, leg")
        positions = day_rows("sizing_positions", "portfolio_id, kind, expiry, position_id")
        vix_term = day_rows("vix_term", "tenor_days")
        betas = day_rows("betas", "asset")
        finished = run_row.get("finished_at")
        quarantine = con.execute(
            "SELECT series_id, check_name, count(*) AS rows, "
            "count(*) FILTER (WHERE run_id = ?) AS new_this_run "
            "FROM quarantine WHERE quarantined_at <= coalesce(?::TIMESTAMP, quarantined_at) "
            "GROUP BY series_id, check_name ORDER BY series_id, check_name",
            [str(run_row["run_id"]), None if pd.isna(finished) else pd.Timestamp(finished)],
        ).df()
        freshness = _dates_ns(
            con.execute(
                "SELECT series_id, max(date) AS latest_date, max(available_at) AS available_at "
                "FROM observations WHERE available_at <= ? AND value IS NOT NULL "
                "GROUP BY series_id ORDER BY series_id",
                [d],
            ).df()
        )
        obs = db.read_observations(con, day, MARKET_SERIES)
        ladder = (
            _dates_ns(
                con.execute("SELECT * FROM ladder_daily WHERE as_of <= ? ORDER BY as_of", [d]).df()
            )
            if "ladder_daily" in present
            else pd.DataFrame(columns=["as_of", "strategy_return"])
        )
    finally:
        con.close()

    window = params.risk.beta_window
    # enough sessions before the chart's start for a full first regression window
    load_start = day - pd.DateOffset(years=HISTORY_YEARS) - pd.Timedelta(days=2 * window)
    chart_start = day - pd.DateOffset(years=HISTORY_YEARS)
    if obs.empty or not (obs["series_id"] == "spx").any():
        raise ReportError(f"no SPX closes knowable at {d} in {path}")
    first = max(load_start, obs.loc[obs["series_id"] == "spx", "date"].min())
    full = market_frame(obs, calendar.sessions(first, day))
    rb = rolling_betas(full, ladder, window)
    stale = int((signals["state"] == "stale").sum()) if len(signals) else 0
    return ReportData(
        as_of=day,
        db_path=path,
        run=run_row,
        signals=signals,
        portfolio_risk=risk,
        daily_sizing=sizing,
        positions=positions,
        vix_term=vix_term,
        betas=betas,
        quarantine=quarantine,
        quarantine_total=int(quarantine["rows"].sum()) if len(quarantine) else 0,
        stale_signals=stale,
        freshness=freshness,
        market=full.loc[chart_start:],
        rolling_betas=rb.loc[chart_start:],
        ladder_daily=ladder,
        params=params,
    )


def rolling_betas(market: pd.DataFrame, ladder_daily: pd.DataFrame, window: int) -> pd.DataFrame:
    """Rolling OLS betas on SPX returns of VIX, VIX3M and the modelled strategy (SPEC §5).

    Same regression as the ``betas`` table (:func:`tasks.risk.rolling_beta`), recomputed for
    every session so the chart shows the history. Columns ``vix``, ``vix3m``, ``strategy``.
    """
    r_spx = simple_returns(market["spx"])
    ys = {"vix": simple_returns(market["vix"]), "vix3m": simple_returns(market["vix3m"])}
    if len(ladder_daily) and "strategy_return" in ladder_daily:
        strat = ladder_daily.set_index("as_of")["strategy_return"].astype(float)
        ys["strategy"] = strat[~strat.index.duplicated()].reindex(market.index)
    else:
        ys["strategy"] = pd.Series(np.nan, index=market.index)
    return pd.DataFrame({k: rolling_beta(y, r_spx, window)["beta"] for k, y in ys.items()})


# =========================================================================== payoff


def spx_grid(spot: float, n: int = PAYOFF_POINTS) -> FloatArray:
    """SPX levels from ``(1 + PAYOFF_LOW)·spot`` to ``(1 + PAYOFF_HIGH)·spot``."""
    return np.linspace((1.0 + PAYOFF_LOW) * spot, (1.0 + PAYOFF_HIGH) * spot, n)


def condor_payoff(legs: pd.DataFrame, S: FloatArray) -> FloatArray:
    """USD payoff at expiry of condor legs, net of their entry prices, for each SPX level.

    ``Σ_legs 100 · qty · contracts · (intrinsic(S) − model_price)``: for a condor the
    entry term is ``+credit``. ``legs`` needs ``put_call, strike, qty, contracts,
    model_price`` (``daily_sizing`` rows). Returns shape ``(len(S),)``.
    """
    S = np.asarray(S, dtype=float)[:, None]
    K = legs["strike"].to_numpy(dtype=float)
    is_call = (legs["put_call"] == "C").to_numpy()
    intrinsic = np.where(is_call, np.maximum(S - K, 0.0), np.maximum(K - S, 0.0))
    units = legs["qty"].to_numpy(dtype=float) * legs["contracts"].fillna(0).to_numpy(dtype=float)
    price = legs["model_price"].to_numpy(dtype=float)
    return MULTIPLIER * ((intrinsic - price) * units).sum(axis=1)


def hedge_pnl(
    legs: pd.DataFrame,
    as_of: pd.Timestamp,
    S0: float,
    term0: VolTerm,
    r0: float,
    q: float,
    S: FloatArray,
    beta_vix: float,
    days_ahead: int,
    pricing: PricingParams,
) -> FloatArray:
    """USD P&L of the hedge legs × units when SPX moves to ``S`` over ``days_ahead`` days.

    The VIX term structure scales by ``max(1 + β_vix·(S/S0 − 1), VIX_RATIO_FLOOR)``; the
    legs are fully revalued with :func:`tasks.structures.revalue_legs` (Black-76 on the
    modelled futures at each leg's vol of vol).
    """
    if legs.empty:
        return np.zeros(len(S))
    S = np.asarray(S, dtype=float)
    ratio = np.maximum(1.0 + beta_vix * (S / S0 - 1.0), VIX_RATIO_FLOOR)
    # daily_sizing carries no underlying column: every hedge leg is a VIX option (SPEC §4)
    frame = legs.assign(underlying="VIX")
    pnl = revalue_legs(
        frame, as_of, S0, term0, r0, q, S, term0.scaled(ratio), r0, pricing, days_ahead
    )
    return (pnl * legs["contracts"].fillna(0).to_numpy(dtype=float)).sum(axis=1)


def break_evens(S: FloatArray, pnl: FloatArray) -> FloatArray:
    """SPX levels where ``pnl`` crosses zero, by linear interpolation between grid points."""
    s = np.sign(pnl)
    i = np.nonzero(s[:-1] * s[1:] < 0)[0]
    crossings = S[i] - pnl[i] * (S[i + 1] - S[i]) / (pnl[i + 1] - pnl[i])
    # a grid point exactly at zero is a break-even too (the first of a run of zeros)
    z = np.nonzero(s == 0)[0]
    z = z[(z == 0) | (s[np.maximum(z - 1, 0)] != 0)]
    return np.sort(np.concatenate([crossings, S[z]]))


@dataclass(frozen=True)
class PayoffCurves:
    """The payoff chart's curves for one portfolio (USD over the SPX grid ``S``)."""

    portfolio_id: str
    S: FloatArray
    condors: FloatArray
    hedge: FloatArray
    total: FloatArray
    break_evens: FloatArray
    beta_vix: float
    days_ahead: int


def payoff_curves(data: ReportData, portfolio_id: str) -> PayoffCurves:
    """Condor ladder at expiry, hedge revalued at the nearest condor expiry, and their sum."""
    legs = data.daily_sizing[data.daily_sizing["portfolio_id"] == portfolio_id]
    condor = legs[legs["kind"] == "condor"]
    hedge = legs[legs["kind"] == "hedge"]
    spot = data.spot if np.isfinite(data.spot) else float(legs["spot"].dropna().iloc[0])
    S = spx_grid(spot)
    condor_usd = condor_payoff(condor, S) if len(condor) else np.zeros(len(S))
    beta_vix = data.beta_of("vix")
    if not np.isfinite(beta_vix) and len(data.rolling_betas):
        beta_vix = float(data.rolling_betas["vix"].dropna().iloc[-1])
    if not np.isfinite(beta_vix):
        beta_vix = 0.0  # no estimate: show the hedge with an unchanged vol term
    if len(condor):
        days_ahead = int((condor["expiry"].min() - data.as_of).days)
    else:
        days_ahead = 0
    rate = float(legs["rate"].dropna().iloc[0]) if legs["rate"].notna().any() else 0.0
    q = float(legs["div_yield"].dropna().iloc[0]) if legs["div_yield"].notna().any() else 0.0
    hedge_usd = hedge_pnl(
        hedge, data.as_of, spot, data.term, rate, q, S, beta_vix, days_ahead, data.params.pricing
    )
    total = condor_usd + hedge_usd
    return PayoffCurves(
        portfolio_id, S, condor_usd, hedge_usd, total, break_evens(S, total), beta_vix, days_ahead
    )


# =========================================================================== charts


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig


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
        f"Strategy (modelled ladder) — today {strat:+.2f}"
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


def signal_dashboard_chart(data: ReportData, params: SignalParams | None = None) -> Figure:
    """SPX + MACD histogram, RSI with its bands, VIX with its regime bands, VIX/VIX3M.

    Indicators are recomputed on the history held in ``data.market`` (the SPEC §2
    conventions via :func:`tasks.signals.wilder_rsi` / :func:`tasks.signals.macd`) and shown
    over the trailing :data:`SIGNAL_YEARS` year; panel titles carry today's stored states.
    """
    p = params or data.params.signals
    m = data.market
    spx = m["spx"].dropna()
    hist = macd(spx, p.macd_fast, p.macd_slow, p.macd_signal)["hist"]
    rsi = wilder_rsi(spx, p.rsi_window)
    start = data.as_of - pd.DateOffset(years=SIGNAL_YEARS)
    view = slice(start, data.as_of)
    fig = _new_figure(11, 9.0)
    axes = fig.subplots(5, 1, sharex=True, height_ratios=[1.6, 0.9, 1.0, 1.2, 1.0])
    for ax in axes:
        _style(ax)
    a_spx, a_macd, a_rsi, a_vix, a_ts = axes

    v, s = data.signal_state("risk_state")
    a_spx.plot(spx.loc[view].index, spx.loc[view], color="black", linewidth=1.2)
    a_spx.set_ylabel("SPX", fontsize=8)
    a_spx.set_title(f"SPX {data.spot:,.2f} — risk state: {s}", fontsize=10, loc="left")

    v, s = data.signal_state("macd_spx")
    h = hist.loc[view].dropna()
    a_macd.bar(h.index, h, width=1.0, color=np.where(h >= 0, C_GREEN, C_RED))
    a_macd.axhline(0, color="#444444", linewidth=0.6)
    a_macd.set_ylabel("MACD hist", fontsize=8)
    a_macd.set_title(
        f"MACD({p.macd_fast},{p.macd_slow},{p.macd_signal}) histogram {v:+.2f} — {s}",
        fontsize=9, loc="left",
    )  # fmt: skip

    v, s = data.signal_state("rsi_spx")
    a_rsi.plot(rsi.loc[view].index, rsi.loc[view], color=C_BLUE, linewidth=1.1)
    a_rsi.axhspan(p.rsi_overbought, 100, color=C_RED, alpha=0.08)
    a_rsi.axhspan(0, p.rsi_oversold, color=C_GREEN, alpha=0.08)
    for level in (p.rsi_oversold, p.rsi_overbought):
        a_rsi.axhline(level, color=C_GREY, linestyle="--", linewidth=0.8)
    a_rsi.set_ylim(0, 100)
    a_rsi.set_ylabel(f"RSI({p.rsi_window})", fontsize=8)
    a_rsi.set_title(f"RSI({p.rsi_window}) {v:.1f} — {s}", fontsize=9, loc="left")

    v, s = data.signal_state("vix_regime")
    vix = m["vix"].loc[view].dropna()
    a_vix.plot(vix.index, vix, color=C_RED, linewidth=1.1)
    top = max(float(vix.max()) if len(vix) else p.vix_stressed, p.vix_stressed) * 1.08
    bands = [
        (0, p.vix_calm, C_GREEN, "calm"),
        (p.vix_calm, p.vix_normal, C_BLUE, "normal"),
        (p.vix_normal, p.vix_stressed, C_ORANGE, "stressed"),
        (p.vix_stressed, top, C_RED, "crisis"),
    ]
    for lo, hi, colour, _name in bands:
        a_vix.axhspan(lo, hi, color=colour, alpha=0.07)
    for level in (p.vix_calm, p.vix_normal, p.vix_stressed):
        a_vix.axhline(level, color=C_GREY, linestyle="--", linewidth=0.8)
    a_vix.set_ylim(max(0.0, float(vix.min()) * 0.85) if len(vix) else 0.0, top)
    a_vix.set_ylabel("VIX", fontsize=8)
    a_vix.set_title(
        f"VIX {v:.2f} — regime {s} (bands {p.vix_calm:g}/{p.vix_normal:g}/{p.vix_stressed:g})",
        fontsize=9, loc="left",
    )  # fmt: skip

    v, s = data.signal_state("term_structure")
    ratio = (m["vix"] / m["vix3m"]).loc[view].dropna()
    a_ts.plot(ratio.index, ratio, color=C_PURPLE, linewidth=1.1)
    a_ts.axhline(p.ts_contango, color=C_GREY, linestyle="--", linewidth=0.8)
    a_ts.axhline(p.ts_flat, color=C_RED, linestyle="--", linewidth=0.8)
    a_ts.set_ylabel("VIX / VIX3M", fontsize=8)
    a_ts.set_title(
        f"VIX/VIX3M {v:.3f} — {s} (lines {p.ts_contango:g}, {p.ts_flat:g})",
        fontsize=9, loc="left",
    )  # fmt: skip
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


CHARTS = {
    "payoff": ("Payoff at expiry", payoff_chart),
    "rolling-betas": ("Rolling betas", rolling_beta_chart),
    "signals": ("Signal dashboard", signal_dashboard_chart),
    "vix-curve": ("VIX futures curve", vix_curve_chart),
}


def chart_uris(data: ReportData) -> dict[str, str]:
    """Every chart of :data:`CHARTS` as a PNG data URI, keyed by chart name."""
    return {name: figure_data_uri(fn(data)) for name, (_title, fn) in CHARTS.items()}


# =========================================================================== tables


def _f(x: object) -> float:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return v


def _strikes(legs: pd.DataFrame) -> str:
    """Compact strikes of a position: ``7,100/7,150 P · 7,780/7,830 C`` or ``long VIX 24 C``."""
    if (legs["kind"] == "condor").all():
        k = legs.set_index("leg")["strike"].astype(float)
        return (
            f"{k.get('long_put', np.nan):,.0f}/{k.get('short_put', np.nan):,.0f} P · "
            f"{k.get('short_call', np.nan):,.0f}/{k.get('long_call', np.nan):,.0f} C"
        )
    several_expiries = legs["expiry"].nunique() > 1
    parts = []
    for r in legs.itertuples(index=False):
        side = "long" if _f(r.qty) > 0 else "short"
        when = f" {pd.Timestamp(r.expiry):%b %d}" if several_expiries else ""
        parts.append(f"{side} VIX {_f(r.strike):g} {r.put_call or ''}{when}")
    return " + ".join(parts)


def recommendation_table(data: ReportData, portfolio_id: str) -> pd.DataFrame:
    """One row per recommended position of a portfolio: the numbers a trader acts on.

    Columns: ``position_id, kind, expiry, dte, strikes, contracts, credit_pts,
    credit_usd`` (total; negative = premium paid), ``max_loss_usd`` (per contract/unit),
    ``max_loss_total_usd, breakeven_low, breakeven_high, prob_between_breakevens,
    pricing_source``. Values come from ``sizing_positions`` when present, otherwise they
    are derived from the ``daily_sizing`` legs by SPEC §4 (credit ``C = −Σ qty·price``,
    max loss ``100·(W − C)``, break-evens ``K_sp − C`` and ``K_sc + C``).
    """
    legs = data.daily_sizing[data.daily_sizing["portfolio_id"] == portfolio_id]
    pos = data.positions
    if len(pos):
        pos = pos[pos["portfolio_id"] == portfolio_id].set_index("position_id")
    rows = []
    for pid, g in legs.groupby("position_id", sort=False):
        kind = str(g["kind"].iloc[0])
        p = pos.loc[pid] if len(pos) and pid in pos.index else None
        contracts = int(g["contracts"].fillna(0).iloc[0])
        expiry = pd.Timestamp(g["expiry"].min())
        price = (g["qty"].astype(float) * g["model_price"].astype(float)).sum()
        credit = -float(price)  # condor: received; hedge: negative = premium paid
        if kind == "condor":
            k = g.set_index("leg")["strike"].astype(float)
            width = max(k.get("short_put", 0) - k.get("long_put", 0),
                        k.get("long_call", 0) - k.get("short_call", 0))  # fmt: skip
            max_loss = MULTIPLIER * (width - credit)
            be_lo, be_hi = k.get("short_put", np.nan) - credit, k.get("short_call", np.nan) + credit
        else:
            max_loss = MULTIPLIER * -credit  # a long option structure risks its premium
            be_lo, be_hi = np.nan, float(g["strike"].astype(float).min()) - credit
        prob = np.nan
        source = (
            str(g["pricing_source"].dropna().iloc[0]) if g["pricing_source"].notna().any() else ""
        )
        if p is not None:
            if kind == "condor" and np.isfinite(_f(p.get("credit"))):
                credit = _f(p["credit"])
            if np.isfinite(_f(p.get("max_loss"))):
                max_loss = _f(p["max_loss"])
            if kind == "hedge" and np.isfinite(_f(p.get("premium"))):
                credit = -_f(p["premium"]) / MULTIPLIER
                max_loss = _f(p["premium"])
            for name in ("breakeven_low", "breakeven_high"):
                if np.isfinite(_f(p.get(name))):
                    if name == "breakeven_low":
                        be_lo = _f(p[name])
                    else:
                        be_hi = _f(p[name])
            prob = _f(p.get("prob_between_breakevens"))
            if isinstance(p.get("pricing_source"), str):
                source = p["pricing_source"]
        rows.append(
            {
                "position_id": pid,
                "kind": kind,
                "expiry": expiry,
                "dte": int((expiry - data.as_of).days),
                "strikes": _strikes(g),
                "contracts": contracts,
                "credit_pts": credit,
                "credit_usd": MULTIPLIER * credit * contracts,
                "max_loss_usd": max_loss,
                "max_loss_total_usd": max_loss * contracts,
                "breakeven_low": be_lo,
                "breakeven_high": be_hi,
                "prob_between_breakevens": prob,
                "pricing_source": source,
            }
        )
    out = pd.DataFrame(rows)
    if len(out):
        # condors first (by expiry), then the hedge
        order = out["kind"].map({"condor": 0}).fillna(1)
        out = out.assign(_o=order).sort_values(["_o", "expiry"], kind="stable").drop(columns="_o")
    return out.reset_index(drop=True)


def risk_row(data: ReportData, portfolio_id: str) -> dict[str, Any]:
    """The ``portfolio_risk`` row of a portfolio as a dict (empty when absent)."""
    r = data.portfolio_risk[data.portfolio_risk["portfolio_id"] == portfolio_id]
    return r.iloc[0].to_dict() if len(r) else {}


def hurdle_bps(data: ReportData, portfolio_id: str) -> float:
    """The hurdle the spread is compared with: the stored ``hurdle_bps`` or the profile preset."""
    r = risk_row(data, portfolio_id)
    if np.isfinite(_f(r.get("hurdle_bps"))):
        return _f(r["hurdle_bps"])
    from schemas.config import params_for

    profile = r.get("profile") if r.get("profile") in ("steward", "promoter") else "steward"
    return params_for(profile).risk.hurdle_bps  # type: ignore[arg-type]


def stress_table(data: ReportData, portfolio_id: str) -> pd.DataFrame:
    """Scenario definitions (``SizingParams.scenarios``) and the stored stressed P&L."""
    r = risk_row(data, portfolio_id)
    scenarios = data.params.sizing.scenarios
    equity = _f(r.get("equity"))
    rows = []
    for name in STRESS_SCENARIOS:
        sc = scenarios.get(name)
        pnl = _f(r.get(f"stress_{name}_pnl"))
        rows.append(
            {
                "scenario": name,
                "spx_move": sc.spx_return if sc else np.nan,
                "vix_mult": sc.vix_mult if sc else np.nan,
                "rate_shift_bp": sc.rate_shift * 1e4 if sc else np.nan,
                "pnl_usd": pnl,
                "pnl_pct_equity": pnl / equity if equity else np.nan,
            }
        )
    return pd.DataFrame(rows)


def metrics_rows(data: ReportData, portfolio_id: str) -> list[tuple[str, str]]:
    """(label, formatted value) pairs of a portfolio's capital and risk figures."""
    r = risk_row(data, portfolio_id)
    hurdle = hurdle_bps(data, portfolio_id)
    spread = _f(r.get("spread_bps"))
    verdict = "" if not np.isfinite(spread) else (" ✓ above" if spread >= hurdle else " ✗ below")
    out = [
        ("profile", str(r.get("profile") or "")),
        ("equity", fmt_usd(r.get("equity"))),
        ("β before hedge", fmt_num(r.get("beta_before"), 3)),
        ("β after hedge", fmt_num(r.get("beta_after"), 3)),
        ("risk-free rate", fmt_pct(r.get("risk_free"))),
        ("cost of equity r_E", fmt_pct(r.get("cost_of_equity"))),
        ("WACC", fmt_pct(r.get("wacc"))),
        ("IRR (trailing)", fmt_pct(r.get("irr"))),
        ("spread vs hurdle", f"{fmt_num(spread, 0)} bp vs {hurdle:,.0f} bp{verdict}"),
        ("EVA", fmt_usd(r.get("eva"))),
        ("quick ratio", fmt_num(r.get("quick_ratio"), 2)),
    ]
    optional = [
        ("box rate", "box_rate", fmt_pct),
        ("capital at risk", "capital_at_risk", fmt_usd),
        ("cash-flow multiple", "cash_flow_multiple", lambda v: fmt_num(v, 1)),
        ("per-tranche cap", "cap_fraction", fmt_pct),
    ]
    for label, col, f in optional:
        if col in r and np.isfinite(_f(r[col])):
            out.append((label, f(r[col])))
    return out


def hedge_summary(data: ReportData, portfolio_id: str) -> str:
    """``N hedge units (|β_F| m×)`` from ``portfolio_risk``, else from the hedge legs."""
    r = risk_row(data, portfolio_id)
    units = _f(r.get("hedge_units"))
    if not np.isfinite(units):
        legs = data.daily_sizing[
            (data.daily_sizing["portfolio_id"] == portfolio_id)
            & (data.daily_sizing["kind"] == "hedge")
        ]
        units = float(legs.groupby("position_id")["contracts"].first().sum()) if len(legs) else 0.0
    text = f"{units:,.0f} hedge unit{'s' if units != 1 else ''}"
    mult = _f(r.get("hedge_beta_multiple"))
    if np.isfinite(mult):
        text += f" (volatility beta multiple |β_F| {mult:.1f}×)"
    return text


# =========================================================================== formatting


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float | np.floating) and not np.isfinite(v)) or v is pd.NaT


def fmt_num(v: object, nd: int = 2) -> str:
    x = _f(v)
    return "—" if _missing(v) or not np.isfinite(x) else f"{x:,.{nd}f}"


def fmt_usd(v: object) -> str:
    x = _f(v)
    if _missing(v) or not np.isfinite(x):
        return "—"
    return f"−${abs(x):,.0f}" if x < 0 else f"${x:,.0f}"


def fmt_pct(v: object, nd: int = 2) -> str:
    x = _f(v)
    return "—" if _missing(v) or not np.isfinite(x) else f"{100 * x:.{nd}f}%"


def fmt_date(v: object) -> str:
    if _missing(v):
        return "—"
    try:
        return f"{pd.Timestamp(v):%Y-%m-%d}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)


# =========================================================================== HTML

CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 color:#1d2330;background:#f4f5f7;margin:0;font-size:14px;line-height:1.45}
main{max-width:1340px;margin:0 auto;padding:20px 28px 48px}
header{background:#1d2330;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600}
header .meta{color:#c8cdd8;font-size:13px}
header .meta b{color:#fff;font-weight:600}
h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:2px solid #d5d9e2}
h3{font-size:15px;margin:18px 0 8px}
section.card{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:14px 18px;
 margin:14px 0}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0 10px;background:#fff}
th,td{padding:4px 9px;border-bottom:1px solid #e6e9ef;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600;vertical-align:bottom}
.scroll{overflow-x:auto;max-width:100%}
.scroll table{font-size:12px}.scroll th,.scroll td{padding:4px 7px}
td{white-space:nowrap}td.wrap{white-space:normal}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.hedge td{background:#fff8e6}
.grid{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:11.5px;
 background:#e8ebf1}
.badge.warn{background:#fde2cf;color:#8a3a00}.badge.ok{background:#d8f1e6;color:#05603a}
.badge.off{background:#fbd9d9;color:#8a1010}
.warn{color:#8a3a00}
.rationale{white-space:pre-wrap;background:#f7f8fa;border-left:3px solid #0072B2;
 padding:8px 12px;margin:6px 0;font-size:13px}
img.chart{max-width:100%;height:auto;border:1px solid #e1e4ea;border-radius:4px;background:#fff}
small,.muted{color:#667085}
footer{color:#667085;font-size:12px;margin-top:30px}
"""


def _cell(v: object, numeric: bool = False) -> str:
    cls = ' class="num"' if numeric else ""
    return f"<td{cls}>{html.escape(str(v))}</td>"


def html_table(
    headers: list[str],
    rows: list[list[object]],
    numeric: set[int] | None = None,
    row_classes: list[str] | None = None,
    table_id: str | None = None,
) -> str:
    """An escaped HTML table; ``numeric`` column positions are right-aligned."""
    numeric = numeric or set()
    tid = f' id="{html.escape(table_id)}"' if table_id else ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{html.escape(row_classes[i])}"' if row_classes and row_classes[i] else ""
        cells = "".join(_cell(v, j in numeric) for j, v in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table{tid}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _recommendation_html(data: ReportData, pid: str) -> str:
    rec = recommendation_table(data, pid)
    if rec.empty:
        return "<p class='muted'>No positions recommended.</p>"
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
    table = html_table(
        headers, rows, numeric={3, 5, 6, 7, 8, 9, 10, 11, 12},
        row_classes=["hedge" if k == "hedge" else "" for k in rec["kind"]],
        table_id=f"recommendation-{pid}",
    )  # fmt: skip
    return f'<div class="scroll">{table}</div>'


def _hedge_prefix(r: Any) -> str:
    """A hedge's break-even is a VIX level at expiry, not an SPX one: say so."""
    return "VIX " if r.kind == "hedge" and np.isfinite(_f(r.breakeven_high)) else ""


def _portfolio_html(data: ReportData, pid: str) -> str:
    r = risk_row(data, pid)
    metrics = html_table(["figure", "value"], [list(m) for m in metrics_rows(data, pid)], {1})
    st = stress_table(data, pid)
    stress = html_table(
        ["scenario", "SPX", "VIX ×", "rates", "P&L", "% of equity"],
        [
            [
                s.scenario, fmt_pct(s.spx_move, 0), fmt_num(s.vix_mult, 2),
                f"{s.rate_shift_bp:+.0f} bp", fmt_usd(s.pnl_usd), fmt_pct(s.pnl_pct_equity, 1),
            ]
            for s in st.itertuples(index=False)
        ],
        numeric={1, 2, 3, 4, 5},
        table_id=f"stress-{pid}",
    )  # fmt: skip
    rationale = str(r.get("rationale") or "—")
    return f"""
<section class="card" id="portfolio-{html.escape(pid)}">
<h2>Portfolio {html.escape(pid)}</h2>
<h3>Recommendation</h3>
{_recommendation_html(data, pid)}
<p><b>Hedge:</b> {html.escape(hedge_summary(data, pid))}</p>
<div class="grid">
<div><h3>Capital and returns</h3>{metrics}</div>
<div><h3>Stress</h3>{stress}</div>
</div>
<h3>Rationale</h3>
<div class="rationale">{html.escape(rationale)}</div>
</section>"""


def _state_badge(state: str) -> str:
    warn = {"stale", "insufficient_history", "missing"}
    off = {"risk_off", "crisis", "stressed", "backwardation", "bearish", "bearish_cross",
           "shock", "hot", "contraction", "event", "oversold", "overbought"}  # fmt: skip
    ok = {"risk_on", "calm", "contango", "bullish", "bullish_cross", "clear", "normal"}
    cls = "warn" if state in warn else "off" if state in off else "ok" if state in ok else ""
    return f'<span class="badge {cls}">{html.escape(state)}</span>'


def _signals_html(data: ReportData) -> str:
    s = data.signals
    if s.empty:
        return "<p class='muted'>No signal rows.</p>"
    body = []
    for r in s.itertuples(index=False):
        params = r.params
        try:
            params = json.dumps(json.loads(params), separators=(", ", "="))[1:-1].replace('"', "")
        except (TypeError, ValueError):
            params = str(params)
        body.append(
            "<tr>"
            + _cell(r.signal)
            + _cell(fmt_num(r.value, 3), True)
            + f"<td>{_state_badge(str(r.state))}</td>"
            + _cell(fmt_date(getattr(r, "input_date", None)))
            + f'<td class="wrap"><small>{html.escape(params)}</small></td></tr>'
        )
    head = "".join(f"<th>{h}</th>" for h in ("signal", "value", "state", "newest input", "params"))
    return (
        f'<table id="signals"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def _betas_html(data: ReportData) -> str:
    b = data.betas
    rows = [
        [r.asset, r.window_days, fmt_num(r.beta, 3), fmt_num(r.alpha, 5), fmt_num(r.r2, 3), r.n_obs]
        for r in b.itertuples(index=False)
    ]
    return html_table(
        ["asset", "window", "β", "α (daily)", "R²", "n obs"],
        rows,
        {1, 2, 3, 4, 5},
        table_id="betas",
    )


def _vix_term_html(data: ReportData) -> str:
    rows = [
        [fmt_date(r.expiry), r.tenor_days, fmt_num(r.future_model, 2)]
        for r in data.vix_term.itertuples(index=False)
    ]
    return html_table(["VIX expiry", "days", "modelled future"], rows, {1, 2}, table_id="vix-term")


def _quality_html(data: ReportData) -> str:
    q = data.quarantine
    warn = "⚠ " if data.quarantine_total else ""
    qrows = [[r.series_id, r.check_name, r.rows, r.new_this_run] for r in q.itertuples(index=False)]
    qtable = (
        html_table(
            ["series", "check", "rows", "new this run"], qrows, {2, 3}, table_id="quarantine"
        )
        if qrows
        else "<p>No quarantined rows.</p>"
    )
    stale = data.signals[data.signals["state"] == "stale"] if len(data.signals) else data.signals
    stale_txt = (
        "⚠ stale signals (they fire no rule): "
        + ", ".join(
            f"{r.signal} (newest input {fmt_date(r.input_date)})" for r in stale.itertuples()
        )
        if len(stale)
        else "No stale signals."
    )
    fresh_rows = [
        [r.series_id, fmt_date(r.latest_date), fmt_date(r.available_at)]
        for r in data.freshness.itertuples(index=False)
    ]
    fresh = html_table(
        ["series", "newest observation", "knowable from"], fresh_rows, table_id="freshness"
    )
    return f"""
<p class="{"warn" if warn else ""}">{warn}Quarantined rows held in the warehouse:
<b id="quarantine-total">{data.quarantine_total}</b></p>
{qtable}
<p class="{"warn" if len(stale) else ""}" id="stale-signals">{html.escape(stale_txt)}
(<b>{data.stale_signals}</b> stale)</p>
<h3>Data freshness (point-in-time at {data.as_of.date()})</h3>
{fresh}"""


def render_html(data: ReportData, charts: dict[str, str] | None = None) -> str:
    """The whole report as one HTML string (inline CSS and images, no scripts)."""
    charts = charts if charts is not None else chart_uris(data)
    run = data.run
    fresh = data.freshness.set_index("series_id")["latest_date"] if len(data.freshness) else {}
    closes = ", ".join(
        f"{s.upper()} {fmt_date(fresh[s])}"
        for s in ("spx", "vix", "vix3m", "tbill_3m")
        if s in fresh
    )
    risk_state = data.signal_state("risk_state")[1]
    warn_bits = []
    if data.quarantine_total:
        warn_bits.append(f"⚠ {data.quarantine_total} quarantined row(s)")
    if data.stale_signals:
        warn_bits.append(f"⚠ {data.stale_signals} stale signal(s)")
    portfolios = "".join(_portfolio_html(data, pid) for pid in data.portfolio_ids)
    imgs = "".join(
        f'<section class="card"><h3>{html.escape(title)}</h3>'
        f'<img class="chart" id="chart-{name}" alt="{html.escape(title)}" src="{charts[name]}"></section>'
        for name, (title, _fn) in CHARTS.items()
        if name in charts
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>condorcap report {data.as_of.date()}</title>
<style>{CSS}</style></head>
<body>
<header><h1>condorcap daily report — {data.as_of.date()}</h1>
<div class="meta">run <b>{html.escape(str(run.get("run_id", "")))}</b>
({html.escape(str(run.get("flow", "")))}, finished {html.escape(fmt_date(run.get("finished_at")))}
{html.escape(str(run.get("finished_at", ""))[11:19])} UTC, {html.escape(str(run.get("rows_written", "")))} rows)
· SPX <b>{fmt_num(data.spot, 2)}</b> · VIX <b>{fmt_num(data.term.vix, 2)}</b>
· risk state <b>{html.escape(risk_state)}</b><br>
data freshness: newest {html.escape(closes)}
{"· " + html.escape(" · ".join(warn_bits)) if warn_bits else ""}</div></header>
<main>
{portfolios}
<h2>Charts</h2>
{imgs}
<h2>Signals</h2>
<section class="card">{_signals_html(data)}</section>
<div class="grid">
<section class="card"><h3>Betas on SPX</h3>{_betas_html(data)}</section>
<section class="card"><h3>VIX futures term (modelled)</h3>{_vix_term_html(data)}</section>
</div>
<h2>Data quality</h2>
<section class="card">{_quality_html(data)}</section>
<footer>Generated from {html.escape(str(data.db_path))}. Modelled prices (SPEC §3) unless the
pricing column says <i>chain</i>. Not investment advice.</footer>
</main></body></html>
"""


def report_filename(as_of: object) -> str:
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
