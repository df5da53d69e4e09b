"""SPEC §11 backtest report: the tearsheet and the equity curve + drawdown chart of every
portfolio × variant against SPX buy and hold (and so against the unhedged ``none`` variant
when it was run), as one offline HTML file (``condorcap report --backtest ID``)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from report.charts import (
    C_BLUE,
    C_GREEN,
    C_GREY,
    C_ORANGE,
    C_PURPLE,
    C_RED,
    _new_figure,
    _style,
    figure_data_uri,
)
from warehouse import backtest as wbacktest
from warehouse import db

_COLOURS = {"alvh": C_BLUE, "vxth": C_GREEN, "none": C_ORANGE}


def equity_chart(daily: pd.DataFrame, spx: pd.Series) -> Figure:
    """NAV (÷ starting NAV) and drawdown of each portfolio × variant, and SPX buy and hold."""
    fig = _new_figure(9.0, 6.0)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    styles = ["-", "--", ":", "-."]
    for i, (pid, g0) in enumerate(daily.groupby("portfolio_id")):
        for var, g in g0.groupby("variant"):
            g = g.sort_values("as_of")
            kw = {"color": _COLOURS.get(str(var), C_PURPLE), "ls": styles[i % 4], "lw": 1.0}
            start = float(g["nav"].iloc[0] - g["pnl"].iloc[0])
            top.plot(g["as_of"], g["nav"] / start, label=f"{pid} {var}", **kw)
            bottom.plot(g["as_of"], g["drawdown"], **kw)
    if len(spx):
        bh = spx / spx.iloc[0]
        top.plot(bh.index, bh.to_numpy(), color=C_GREY, lw=0.9, label="SPX buy and hold")
        bottom.plot(bh.index, (bh / bh.cummax() - 1).to_numpy(), color=C_GREY, lw=0.9)
    lo, hi = (float(v) for v in top.dataLim.intervaly)
    if lo > 0 and hi / lo > 4:  # decades of compounding: equal % moves at equal heights
        top.set_yscale("log")
        top.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"{y:g}"))  # 10, not 10¹
    top.set_ylabel("growth of 1", fontsize=8)
    bottom.set_ylabel("drawdown", fontsize=8)
    bottom.axhline(0, color=C_RED, lw=0.5)
    top.legend(fontsize=7, frameon=False)
    for ax in (top, bottom):
        _style(ax)
    return fig


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
    "th,td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right;white-space:nowrap}"
    "th{background:#f3f3f3}td:nth-child(-n+3),th:nth-child(-n+3){text-align:left}"
)


def markdown_tables_html(markdown: str) -> str:
    """The pipe tables of :func:`tasks.backtest.tearsheet.tearsheet_markdown` as HTML tables
    (every cell escaped; the line after each header is the Markdown separator)."""

    def cells(line: str) -> list[str]:
        return [html.escape(c.strip()) for c in line.strip().strip("|").split("|")]

    out: list[str] = []
    block: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            head, body = cells(block[0]), [cells(b) for b in block[2:]]
            out.append(
                "<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr></thead>"
                "<tbody>"
                + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in body)
                + "</tbody></table>"
            )
            block = []
    return "".join(out)


def write_backtest_report(db_path: str | Path, backtest_id: str, out_dir: Path) -> Path:
    """Write ``backtest-<id>.html`` in ``out_dir`` and return its path."""
    from tasks.backtest.tearsheet import tearsheet_markdown

    con = db.connect(db_path, read_only=True)
    try:
        daily = wbacktest.read_daily(con, backtest_id)
        summary = wbacktest.read_summary(con, backtest_id)
        windows = wbacktest.read_windows(con, backtest_id)
        if daily.empty:
            raise FileNotFoundError(f"no backtest {backtest_id!r} in {db_path}")
        obs = db.read_observations(con, as_of=daily["as_of"].max(), series_ids=["spx"])
    finally:
        con.close()
    days = pd.DatetimeIndex(daily["as_of"])
    spx = obs.sort_values("available_at").drop_duplicates("date", keep="last")
    spx = spx.set_index(pd.DatetimeIndex(spx["date"]))["value"].sort_index()
    spx = spx.loc[days.min() : days.max()].dropna()
    uri = figure_data_uri(equity_chart(daily, spx))
    tables = markdown_tables_html(tearsheet_markdown(summary, windows))
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Backtest {html.escape(backtest_id)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Backtest {html.escape(backtest_id)}</h1>"
        f"<p>{days.min().date()} → {days.max().date()}, {days.nunique()} sessions</p>"
        f"<img alt='equity curve and drawdown' src='{uri}'>"
        f"<h2>Tearsheet</h2>{tables}</body></html>"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"backtest-{backtest_id}.html"
    path.write_text(page, encoding="utf-8")
    return path
