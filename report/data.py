"""Everything a report (or a Prefect artifact) shows for one ``as_of``, read from the warehouse.

:func:`load_report_data` opens the published warehouse read-only, reads the day's rows
through the named queries of :mod:`warehouse.reads` and the chart histories, and returns
a :class:`ReportData`. Nothing here writes.

History charts cover the trailing :data:`HISTORY_YEARS` years (rolling betas), from
observations knowable at ``as_of``. Quarantine counts are those held in the warehouse when
the run finished (a re-run does not quarantine the same row twice), with the rows first
seen by this run shown apart.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from schemas.config import Params
from tasks.conventions import SignalState
from tasks.market import calendar
from tasks.market.frame import MARKET_SERIES, market_frame
from tasks.market.surface import VolTerm
from tasks.risk import rolling_beta, simple_returns
from tasks.signals import SIGNALS
from warehouse import db, reads

HISTORY_YEARS = 3  # rolling-beta chart span


class ReportError(RuntimeError):
    """The warehouse cannot produce a report for the requested day (the message says why)."""


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
    orders: pd.DataFrame = field(default_factory=pd.DataFrame)  # SPEC §10: the day's orders
    book: pd.DataFrame = field(default_factory=pd.DataFrame)  # the book after them
    account: pd.DataFrame = field(default_factory=pd.DataFrame)  # account_daily of the day

    def orders_of(self, portfolio_id: str) -> pd.DataFrame:
        """The day's ``orders`` rows of one portfolio (empty when none or no book)."""
        return _rows_of(self.orders, portfolio_id)

    def book_of(self, portfolio_id: str) -> pd.DataFrame:
        """The ``book`` rows of one portfolio after the day's orders."""
        return _rows_of(self.book, portfolio_id)

    def account_of(self, portfolio_id: str) -> dict[str, Any]:
        """The ``account_daily`` row of one portfolio ({} when it has no book)."""
        rows = _rows_of(self.account, portfolio_id)
        return rows.iloc[0].to_dict() if len(rows) else {}

    @property
    def portfolio_ids(self) -> list[str]:
        """Portfolios with risk or sizing rows, in warehouse order."""
        ids = list(self.portfolio_risk["portfolio_id"]) + list(self.daily_sizing["portfolio_id"])
        return list(dict.fromkeys(ids))

    @property
    def spot(self) -> float:
        """The SPX close of ``as_of`` (NaN when it did not print)."""
        return float(self.market["spx"].get(self.as_of, np.nan))

    @property
    def term(self) -> VolTerm:
        """The VIX term structure of ``as_of`` (NaN where an index did not print)."""
        if self.as_of not in self.market.index:
            return VolTerm(np.nan, np.nan, np.nan, np.nan)
        row = self.market.loc[self.as_of]
        return VolTerm(
            vix9d=float(row["vix9d"]),
            vix=float(row["vix"]),
            vix3m=float(row["vix3m"]),
            vix6m=float(row["vix6m"]),
        )

    @property
    def stale(self) -> pd.DataFrame:
        """The day's stale signals (they fire no rule)."""
        if self.signals.empty:
            return self.signals
        return self.signals[self.signals["state"] == SignalState.STALE]

    @property
    def stale_series(self) -> pd.DataFrame:
        """Every series older than its SPEC §2 maximum age at ``as_of`` (read or not by a signal)."""
        from tasks.signals.staleness import stale_series

        return stale_series(self.freshness, self.as_of, self.params.signals)

    def stale_series_text(self) -> list[str]:
        """One phrase per stale series: ``vix6m: newest 2026-04-24, 60 sessions old (max 5)``."""
        return [
            f"{r.series_id}: newest {r.latest_date.date()}, {r.age} {r.unit} old (max {r.max_age})"
            for r in self.stale_series.itertuples(index=False)
        ]

    def r2_of(self, asset: str) -> float:
        """The stored ``betas.r2`` of ``asset`` for the day (NaN when absent)."""
        row = self.betas[self.betas["asset"] == asset]
        return float(row["r2"].iloc[0]) if len(row) and "r2" in row else float("nan")

    def beta_of(self, asset: str) -> float:
        """The stored ``betas.beta`` of ``asset`` for the day (NaN when absent)."""
        row = self.betas[self.betas["asset"] == asset]
        return float(row["beta"].iloc[0]) if len(row) else float("nan")

    def signal_state(self, signal: str) -> tuple[float, str]:
        """``(value, state)`` of a signal for the day; ``(NaN, "missing")`` when absent."""
        row = self.signals[self.signals["signal"] == signal]
        if row.empty:
            return float("nan"), "missing"
        return float(row["value"].iloc[0]), str(row["state"].iloc[0])


def _rows_of(frame: pd.DataFrame, portfolio_id: str) -> pd.DataFrame:
    if frame.empty or "portfolio_id" not in frame:
        return frame
    return frame[frame["portfolio_id"] == portfolio_id].reset_index(drop=True)


def _spec_order(signals: pd.DataFrame) -> pd.DataFrame:
    """Signals in SPEC §2 order, unknown signals last."""
    if signals.empty:
        return signals
    rank = {name: i for i, name in enumerate(SIGNALS)}
    return signals.sort_values(
        "signal", key=lambda s: s.map(rank).fillna(len(rank)), kind="stable"
    ).reset_index(drop=True)


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
        No completed run for ``as_of`` (the message says which command to run), or no SPX
        close knowable at ``as_of``.
    """
    params = params or Params()
    path = Path(db_path)
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `condorcap run` first")
    day = pd.Timestamp(as_of).normalize()
    with closing(db.connect(path, read_only=True)) as con:
        run = reads.completed_run(con, day)
        if run.empty:
            raise ReportError(
                f"the warehouse {path} has no completed run for {day.date()}: "
                f"run `condorcap run --as-of {day.date()}` first"
            )
        run_row = run.iloc[0].to_dict()
        finished = run_row.get("finished_at")
        rows = {
            "signals": _spec_order(reads.signal_states(con, day)),
            "portfolio_risk": reads.portfolio_risk(con, day),
            "daily_sizing": reads.daily_sizing(con, day),
            "positions": reads.sizing_positions(con, day),
            "vix_term": reads.vix_term(con, day),
            "betas": reads.betas(con, day),
            "quarantine": reads.quarantine_counts(
                con, str(run_row["run_id"]), None if pd.isna(finished) else pd.Timestamp(finished)
            ),
            "freshness": reads.series_freshness(con, day),
            "ladder_daily": reads.ladder_daily_until(con, day),
            "orders": reads.orders(con, day),
            "book": reads.book(con, day),
            "account": reads.account_daily(con, day),
        }
        obs = db.read_observations(con, day, MARKET_SERIES)
    market, betas = _histories(obs, rows["ladder_daily"], day, params.risk.beta_window, path)
    signals, quarantine = rows["signals"], rows["quarantine"]
    stale = int((signals["state"] == SignalState.STALE).sum()) if len(signals) else 0
    return ReportData(
        as_of=day,
        db_path=path,
        run=run_row,
        quarantine_total=int(quarantine["rows"].sum()) if len(quarantine) else 0,
        stale_signals=stale,
        market=market,
        rolling_betas=betas,
        params=params,
        **rows,
    )


def _histories(
    obs: pd.DataFrame, ladder: pd.DataFrame, day: pd.Timestamp, window: int, path: Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The market frame and the rolling betas over the trailing :data:`HISTORY_YEARS`."""
    # enough sessions before the chart's start for a full first regression window
    load_start = day - pd.DateOffset(years=HISTORY_YEARS) - pd.Timedelta(days=2 * window)
    chart_start = day - pd.DateOffset(years=HISTORY_YEARS)
    if obs.empty or not (obs["series_id"] == "spx").any():
        raise ReportError(f"no SPX closes knowable at {day.date()} in {path}")
    first = max(load_start, obs.loc[obs["series_id"] == "spx", "date"].min())
    full = market_frame(obs, calendar.sessions(first, day))
    rb = rolling_betas(full, ladder, window)
    return full.loc[chart_start:], rb.loc[chart_start:]


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
