"""The tables of a backtest's tearsheet: ``backtest_summary`` / ``backtest_windows`` rows from a
run's steps, and the markdown of the Prefect artifact."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from tasks.backtest.metrics import crash_attribution, exit_reasons, tearsheet
from tasks.backtest.run import trades
from tasks.book import StepResult, account_irr
from tasks.book.account import account_frame

SUMMARY_COLUMNS = (
    "backtest_id", "portfolio_id", "variant", "start", "end", "cagr", "vol", "sharpe", "sortino",
    "max_drawdown", "calmar", "win_rate", "profit_factor", "trades", "hedge_cost_per_year", "irr",
    "wacc", "spread_bps", "drawdown_peak", "drawdown_trough", "sessions", "exit_reasons", "seconds",
    "computed_at",
)  # fmt: skip
"""SPEC §9 ``backtest_summary`` columns, then the drawdown dates, sessions, exits, timing."""


def _mean_wacc(steps: list[StepResult]) -> float:
    w = [float(s.decision.risk_row["wacc"]) for s in steps
         if s.decision.risk_row is not None and "wacc" in s.decision.risk_row]  # fmt: skip
    return float(np.mean(w)) if w else float("nan")


def summary_tables(
    steps: list[StepResult], daily: pd.DataFrame, start_nav: float, bills: pd.Series,
    seconds: float, computed_at: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """The ``backtest_summary`` row and the ``backtest_windows`` rows of one run's ``daily``."""
    bid, pid, var = (str(daily[c].iloc[0]) for c in ("backtest_id", "portfolio_id", "variant"))
    closed = trades(steps)
    ts = tearsheet(daily, start_nav, bills, closed)
    acc = account_frame([s.account_row for s in steps])
    irr = account_irr(acc, ts.end, len(acc)).irr
    wacc = _mean_wacc(steps)
    row = ts.as_dict()
    row.update(
        backtest_id=bid, portfolio_id=pid, variant=var, irr=irr, wacc=wacc,
        spread_bps=(irr - wacc) * 1e4 if np.isfinite(irr) and np.isfinite(wacc) else np.nan,
        sessions=len(daily), exit_reasons=json.dumps(exit_reasons(closed).to_dict()),
        seconds=seconds, computed_at=computed_at,
    )  # fmt: skip
    summary = pd.DataFrame([row])[list(SUMMARY_COLUMNS)]
    summary = summary.replace([np.inf, -np.inf], np.nan)
    for c in ("start", "end", "drawdown_peak", "drawdown_trough"):
        summary[c] = pd.to_datetime(summary[c]).astype("datetime64[ns]")
    windows = crash_attribution(daily).assign(backtest_id=bid, portfolio_id=pid, variant=var)
    for c in ("start", "end"):
        windows[c] = pd.to_datetime(windows[c]).astype("datetime64[ns]")
    cols = ["backtest_id", "portfolio_id", "variant", "window", "start", "end", "condor_pnl",
            "hedge_pnl", "ratio"]  # fmt: skip
    return summary, windows[cols]


def _f(v: object, fmt: str) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    text = format(v, fmt)
    # a value that rounds to zero is shown as 0, not −0 (an unhedged run's hedge cost)
    return text[1:] if text.startswith("-") and not text.strip("-0.,%") else text


def tearsheet_markdown(summary: pd.DataFrame, windows: pd.DataFrame) -> str:
    """The tearsheet as markdown (the Prefect artifact and the README table)."""
    head = ["portfolio", "variant", "CAGR", "vol", "Sharpe", "Sortino", "max DD", "DD dates",
            "Calmar", "win", "PF", "trades", "hedge $/yr", "IRR", "spread bp"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in summary.itertuples():
        dates = (f"{pd.Timestamp(r.drawdown_peak).date()}→{pd.Timestamp(r.drawdown_trough).date()}"
                 if pd.notna(r.drawdown_trough) else "—")  # fmt: skip
        cells = [r.portfolio_id, r.variant, _f(r.cagr, ".2%"), _f(r.vol, ".2%"),
                 _f(r.sharpe, ".2f"), _f(r.sortino, ".2f"), _f(r.max_drawdown, ".2%"), dates,
                 _f(r.calmar, ".2f"), _f(r.win_rate, ".1%"), _f(r.profit_factor, ".2f"),
                 str(r.trades), _f(r.hedge_cost_per_year, ",.0f"), _f(r.irr, ".2%"),
                 _f(r.spread_bps, ",.0f")]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    if len(windows):
        lines += ["", "| portfolio | variant | window | condor P&L $ | hedge P&L $ | hedge/−condor |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for w in windows.itertuples():
            lines.append(f"| {w.portfolio_id} | {w.variant} | {w.window} | {w.condor_pnl:,.0f} | "
                         f"{w.hedge_pnl:,.0f} | {_f(w.ratio, '.2f')} |")  # fmt: skip
    return "\n".join(lines)
