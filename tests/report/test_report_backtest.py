"""report/backtest.py: the equity-curve chart's scale follows the range it shows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from report.backtest import equity_chart


def _daily(days: pd.DatetimeIndex, nav: np.ndarray) -> pd.DataFrame:
    pnl = np.diff(nav, prepend=nav[0])
    peak = np.maximum.accumulate(nav)
    return pd.DataFrame({"as_of": days, "portfolio_id": "p", "variant": "alvh", "nav": nav,
                         "pnl": pnl, "drawdown": nav / peak - 1.0})  # fmt: skip


def test_decades_of_growth_are_drawn_on_a_log_scale_a_short_range_on_a_linear_one() -> None:
    days = pd.bdate_range("1990-01-02", periods=9000)
    growth = 1_000_000 * 1.0003 ** np.arange(9000)  # ×15 over the range, like SPX since 1990
    spx = pd.Series(300 * 1.0003 ** np.arange(9000), index=days)
    top = equity_chart(_daily(days, growth), spx).axes[0]
    assert top.get_yscale() == "log"
    short = days[:250]
    top = equity_chart(_daily(short, growth[:250]), spx.iloc[:250]).axes[0]
    assert top.get_yscale() == "linear"


def test_the_tearsheet_tables_become_html_tables_with_every_cell_escaped() -> None:
    from report.backtest import markdown_tables_html

    md = "| a | b |\n|---|---|\n| 1 | <x> |\n| 2 | 3 |\n\n| w |\n|---|\n| 2008 |"
    out = markdown_tables_html(md)
    assert out.count("<table>") == 2
    assert "<th>a</th><th>b</th>" in out and "<td>&lt;x&gt;</td>" in out
    assert out.count("<tr>") == 3 + 2  # 2 headers, 3 body rows
