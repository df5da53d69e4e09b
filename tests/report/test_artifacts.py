"""The Prefect artifacts' content: keys, rounded sizing rows with units, the summary, charts."""

from __future__ import annotations

import base64
import json
import re

from report_warehouse import CONTRACTS, PROMOTER, STEWARD

from report import artifacts


def test_artifact_keys_are_prefect_safe() -> None:
    assert artifacts.artifact_key("steward_1m") == "sizing-steward-1m"
    assert artifacts.artifact_key("Promoter_1M") == "sizing-promoter-1m"
    assert artifacts.artifact_key("A b.c") == "sizing-a-b-c"
    for k in ("sizing-steward-1m", artifacts.SUMMARY_KEY, artifacts.CHARTS_KEY):
        assert re.fullmatch(r"[a-z0-9-]+", k)


def test_sizing_records_are_rounded_json_rows_with_units(data, warehouse) -> None:
    rows = artifacts.sizing_records(data, STEWARD)
    json.dumps(rows, allow_nan=False)  # Prefect stores them as JSON
    assert [r["position"] for r in rows][-1] == "alvh-vix-call"
    c = warehouse[1]["structures"][(STEWARD, "condor-28d")]
    r28 = next(r for r in rows if r["position"] == "condor-28d")
    assert r28["expiry"] == f"{c.expiry:%Y-%m-%d}"
    assert r28["contracts"] == CONTRACTS[STEWARD][0]
    # points to the cent, dollars whole, levels to 0.1, the probability in percent
    assert r28["credit (pts)"] == round(c.credit, 2)
    assert r28["max loss/ct (USD)"] == round(c.max_loss)
    assert isinstance(r28["max loss/ct (USD)"], int)
    assert r28["credit (USD)"] == round(100 * c.credit * CONTRACTS[STEWARD][0])
    assert r28["BE low (SPX)"] == round(c.breakeven_low, 1)
    assert r28["P(between) (%)"] == round(100 * c.prob_between_breakevens, 1)
    for row in rows:
        for key, v in row.items():
            if isinstance(v, float):  # no 14.026945: at most two decimals anywhere
                assert v == round(v, 2), (key, v)
    # every numeric column names its unit
    numeric = {k for r in rows for k, v in r.items() if isinstance(v, int | float)}
    assert numeric - {"contracts"} and all("(" in k for k in numeric - {"contracts"})


def test_summary_markdown_flags_warnings_and_carries_figures(data, warehouse) -> None:
    md = artifacts.summary_markdown(data)
    n_q = len(warehouse[1]["quarantine"])
    assert f"⚠ **{n_q} quarantined row(s)**" in md
    stale = int((warehouse[1]["signals"]["state"] == "stale").sum())
    assert (f"⚠ **{stale} stale signal(s)**" in md) == (stale > 0)
    assert "| vix_regime | 16.640 | normal |" in md
    risk = warehouse[1]["risk"].set_index("portfolio_id")
    for pid in (STEWARD, PROMOTER):
        assert f"## {pid}" in md
        assert f"| WACC | {100 * risk.loc[pid, 'wacc']:.2f}% |" in md
        assert f"| IRR (trailing) | {100 * risk.loc[pid, 'irr']:.2f}% |" in md
        assert f"| β after hedge | {risk.loc[pid, 'beta_after']:.3f} |" in md
        assert f"| crash | -20% | 3.00 | −${-risk.loc[pid, 'stress_crash_pnl']:,.0f} |" in md
    assert "> spread 347 bp below the 600 bp hurdle" in md


def test_charts_markdown_embeds_four_pngs(data, charts) -> None:
    md = artifacts.charts_markdown(data, charts)
    found = re.findall(r"!\[([a-z-]+)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", md)
    assert [name for name, _ in found] == ["payoff", "rolling-betas", "signals", "vix-curve"]
    for _, b64 in found:
        assert base64.b64decode(b64)[:4] == b"\x89PNG"


def test_the_summary_opens_with_each_portfolios_orders_then_its_book(data) -> None:
    from report.artifacts import summary_markdown

    md = summary_markdown(data)
    orders_at = md.index("## steward_1m — orders")
    assert orders_at < md.index("## Signals") < md.index("## steward_1m — risk")
    steward = md[orders_at : md.index("## Signals")]
    # one line per order: the 4-leg close nets to +2.10 debit (1.10 + 2.30 − 0.40 − 0.90)
    close = next(line for line in steward.splitlines() if line.startswith("| close"))
    assert "| 3 | IC-2026-07-31-7000-7600 |" in close and "| +2.10 | profit target |" in close
    assert "| adjust | 1 | HV-2026-10-21-25 |" in steward
    assert "**Book after the orders**" in steward and "| HV-2026-10-21-25 | hedge | 7 |" in steward
    assert "NAV $1,012,345" in steward and "capital at risk $43,210" in steward
    # a portfolio without a book says so instead of showing an empty table
    assert "## promoter_1m — orders\n\nNo orders: hold the book." in md
