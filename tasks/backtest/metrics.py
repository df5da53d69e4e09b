"""SPEC §11 tearsheet: performance metrics of a backtest's daily NAV (empyrical-reloaded),
trade statistics and the crash-window attribution. Pure functions of the ``backtest_daily``
rows (and the closed trades), so the same numbers land in SQL, the artifact and the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import empyrical
import numpy as np
import pandas as pd

from tasks.conventions import DAYS_PER_YEAR

CRASH_WINDOWS: tuple[tuple[str, str, str], ...] = (
    ("2008-09…2009-03", "2008-09-01", "2009-03-31"),
    ("2011-08", "2011-08-01", "2011-08-31"),
    ("2015-08", "2015-08-01", "2015-08-31"),
    ("2018-02", "2018-02-01", "2018-02-28"),
    ("2020-02…04", "2020-02-01", "2020-04-30"),
    ("2022", "2022-01-01", "2022-12-31"),
)
"""SPEC §11 crash windows: (label, first day, last day), inclusive."""

SESSIONS_PER_YEAR = 252  # empyrical's 'daily' annualisation


@dataclass(frozen=True)
class Tearsheet:
    """One portfolio × variant: the SPEC §9 ``backtest_summary`` figures (fractions, not %)."""

    start: pd.Timestamp
    end: pd.Timestamp
    cagr: float
    vol: float
    sharpe: float
    sortino: float
    max_drawdown: float  # ≤ 0
    drawdown_peak: pd.Timestamp | None
    drawdown_trough: pd.Timestamp | None
    calmar: float
    win_rate: float
    profit_factor: float
    trades: int
    hedge_cost_per_year: float  # USD per year the hedge cost (> 0 = a cost)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def daily_returns(nav: pd.Series, start_nav: float) -> pd.Series:
    """Simple returns of the NAV, the first against the starting NAV (the portfolio's equity)."""
    prev = nav.shift(1)
    prev.iloc[0] = start_nav
    return (nav / prev - 1.0).astype(float)


def bill_returns(risk_free: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    """Daily T-bill return per session: the continuous rate ``r`` (SPEC §0) accrued over the
    calendar days since the previous session (what the book's bills earn)."""
    r = risk_free.reindex(dates).ffill().fillna(0.0).to_numpy(float)
    gap = np.diff(dates.values.astype("datetime64[D]").astype(np.int64), prepend=0)
    gap[0] = 1
    return pd.Series(np.expm1(r * gap / DAYS_PER_YEAR), index=dates)


def drawdown_dates(nav: pd.Series) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The peak and trough dates of the deepest drawdown of ``nav``."""
    if nav.empty:
        return None, None
    dd = nav / nav.cummax() - 1.0
    trough = dd.idxmin()
    if dd.loc[trough] >= 0:
        return None, None
    peak = nav.loc[:trough].idxmax()
    return pd.Timestamp(peak), pd.Timestamp(trough)


def trade_stats(trades: pd.DataFrame) -> tuple[float, float, int]:
    """Win rate (share of closed condors with P&L > 0), profit factor (gains / |losses|),
    number of closed condors."""
    pnl = trades["pnl"].to_numpy(float) if len(trades) else np.array([])
    if not len(pnl):
        return float("nan"), float("nan"), 0
    wins, losses = pnl[pnl > 0].sum(), -pnl[pnl < 0].sum()
    pf = float(wins / losses) if losses > 0 else float("inf") if wins > 0 else float("nan")
    return float((pnl > 0).mean()), pf, len(pnl)


def exit_reasons(trades: pd.DataFrame) -> pd.Series:
    """Closed condors counted by exit rule (the reason's text before its first ':')."""
    if trades.empty:
        return pd.Series(dtype="int64", name="trades")
    rule = trades["reason"].astype(str).str.split(":").str[0].str.strip()
    return rule.value_counts().rename("trades")


def tearsheet(daily: pd.DataFrame, start_nav: float, bills: pd.Series,
              trades: pd.DataFrame) -> Tearsheet:  # fmt: skip
    """The SPEC §11 metrics of one portfolio × variant.

    ``daily``: its ``backtest_daily`` rows (``as_of``, ``nav``, ``hedge_pnl``); ``bills``: the
    daily T-bill return per session (:func:`bill_returns`); ``trades``: the closed condors.
    Sharpe and Sortino are of the daily excess return over bills, annualised ×√252.
    """
    d = daily.sort_values("as_of")
    nav = pd.Series(d["nav"].to_numpy(float), index=pd.DatetimeIndex(d["as_of"]))
    ret = daily_returns(nav, start_nav)
    excess = ret - bills.reindex(ret.index).fillna(0.0)
    peak, trough = drawdown_dates(
        pd.concat([pd.Series([start_nav], [nav.index[0] - pd.Timedelta(days=1)]), nav])
    )
    win, pf, n = trade_stats(trades)
    years = max((nav.index[-1] - nav.index[0]).days, 1) / DAYS_PER_YEAR
    return Tearsheet(
        start=nav.index[0],
        end=nav.index[-1],
        cagr=float(empyrical.cagr(ret)),
        vol=float(empyrical.annual_volatility(ret)),
        sharpe=float(empyrical.sharpe_ratio(excess)),
        sortino=float(empyrical.sortino_ratio(excess)),
        max_drawdown=float(empyrical.max_drawdown(ret)),
        drawdown_peak=peak,
        drawdown_trough=trough,
        calmar=float(empyrical.calmar_ratio(ret)),
        win_rate=win,
        profit_factor=pf,
        trades=n,
        hedge_cost_per_year=float(-d["hedge_pnl"].sum() / years),
    )


def crash_attribution(daily: pd.DataFrame) -> pd.DataFrame:
    """Per SPEC §11 crash window inside the run: condor P&L, hedge P&L (USD, summed over the
    window's sessions) and ``ratio`` = hedge P&L / −condor P&L (the share of the condors'
    loss the hedge paid back; NaN when the condors did not lose)."""
    rows = []
    when = pd.DatetimeIndex(daily["as_of"])
    for label, a, b in CRASH_WINDOWS:
        m = (when >= pd.Timestamp(a)) & (when <= pd.Timestamp(b))
        if not m.any():
            continue
        c = float(daily.loc[m, "condor_pnl"].sum())
        h = float(daily.loc[m, "hedge_pnl"].sum())
        rows.append({"window": label, "start": a, "end": b, "condor_pnl": c, "hedge_pnl": h,
                     "ratio": h / -c if c < 0 else float("nan")})  # fmt: skip
    return pd.DataFrame(
        rows, columns=["window", "start", "end", "condor_pnl", "hedge_pnl", "ratio"]
    )
