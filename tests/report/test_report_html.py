"""The HTML page: one self-contained file whose tables carry the SPEC §4 numbers, escaped."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
from html.parser import HTMLParser

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from report_warehouse import AS_OF, CONTRACTS, HEDGE_UNITS, PROMOTER, RUN_ID, STEWARD

from report import html as report_html
from schemas.config import Params
from tasks.signals import SIGNALS


class _Tables(HTMLParser):
    """Collect every ``<table id=…>`` as a list of rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._current: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id"):
            self._current = a["id"]
            self.tables[self._current] = []
        elif tag == "tr" and self._current:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._current:
            self.tables[self._current].append(self._row)
            self._row = None
        elif tag == "table":
            self._current = None

    def handle_data(self, d):
        if self._cell is not None:
            self._cell.append(d)


def tables_of(html_text: str) -> dict[str, pd.DataFrame]:
    p = _Tables()
    p.feed(html_text)
    return {k: pd.DataFrame(v[1:], columns=v[0]) for k, v in p.tables.items() if v}


def num(text: str) -> float:
    """Parse a formatted cell: ``$1,234``, ``−$5``, ``12.5%``, ``1,234.5``."""
    t = text.replace("−", "-").replace("$", "").replace(",", "").replace("%", "").strip()
    return float(t.replace("-", "", 1)) * -1 if t.startswith("-") else float(t)


def test_report_is_one_self_contained_file_with_four_decodable_charts(page) -> None:
    path, text = page
    assert path.name == "condorcap-report-2026-07-22.html"
    assert "<script" not in text.lower()
    # nothing is fetched: every src/href is inline data
    refs = re.findall(r'(?:src|href)="([^"]*)"', text)
    assert refs and all(r.startswith("data:image/png;base64,") for r in refs)
    imgs = re.findall(r'<img [^>]*src="data:image/png;base64,([^"]+)"', text)
    assert len(imgs) == 4
    for b64 in imgs:
        raw = base64.b64decode(b64, validate=True)
        assert raw[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = mpimg.imread(io.BytesIO(raw), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 400
        assert pixels.std() > 0.01  # not a blank canvas
    for name in ("payoff", "rolling-betas", "signals", "vix-curve"):
        assert f'id="chart-{name}"' in text


def test_text_is_escaped(page) -> None:
    _, text = page
    assert "<b>no cut</b>" not in text
    assert "&lt;b&gt;no cut&lt;/b&gt;" in text


def test_header_names_day_run_and_freshness(page, warehouse) -> None:
    _, text = page
    header = text[text.index("<header>") : text.index("</header>")]
    assert "2026-07-22" in header and RUN_ID in header
    assert "SPX 2026-" in header and "VIX 2026-07-22" in header
    spot = warehouse[1]["ctx"].spot
    assert f"{spot:,.2f}" in header


@pytest.mark.parametrize("pid", [STEWARD, PROMOTER])
def test_recommendation_table_matches_spec_formulas(page, warehouse, pid) -> None:
    """Strikes, contracts, credit, max loss and break-evens against SPEC §4 recomputed here."""
    built = warehouse[1]["structures"]
    t = tables_of(page[1])[f"recommendation-{pid}"]
    assert list(t["kind"]) == ["condor"] * 4 + ["hedge"]
    for i, dte in enumerate(Params().ladder.target_dtes):
        c = built[(pid, f"condor-{dte}d")]
        row = t[t["position"] == f"condor-{dte}d"].iloc[0]
        legs = c.legs.set_index("leg")
        k = legs["strike"]
        credit = sum(-q * p for q, p in zip(legs["qty"], legs["model_price"], strict=True))
        width = k["short_put"] - k["long_put"]
        assert row["expiry"] == f"{c.expiry:%Y-%m-%d}"
        assert int(row["DTE"]) == (c.expiry - AS_OF).days
        assert row["strikes"] == (
            f"{k['long_put']:,.0f}/{k['short_put']:,.0f} P · "
            f"{k['short_call']:,.0f}/{k['long_call']:,.0f} C"
        )
        n = CONTRACTS[pid][i]
        assert int(row["contracts"]) == n
        assert num(row["credit (pts)"]) == pytest.approx(credit, abs=0.006)
        assert num(row["credit total"]) == pytest.approx(100 * credit * n, abs=0.51)
        assert num(row["max loss / contract"]) == pytest.approx(100 * (width - credit), abs=0.51)
        assert num(row["max loss total"]) == pytest.approx(100 * (width - credit) * n, abs=0.51)
        assert num(row["break-even low"]) == pytest.approx(k["short_put"] - credit, abs=0.051)
        assert num(row["break-even high"]) == pytest.approx(k["short_call"] + credit, abs=0.051)
        assert row["pricing"] == "model"
    hedge = t[t["kind"] == "hedge"].iloc[0]
    h = built[(pid, "hedge")]
    assert int(hedge["contracts"]) == HEDGE_UNITS[pid]
    assert hedge["strikes"] == f"long VIX {h.legs['strike'].iloc[0]:g} C"
    assert hedge["break-even high"].startswith("VIX ")
    assert num(hedge["credit (pts)"]) == pytest.approx(-h.legs["model_price"].iloc[0], abs=0.006)
    # stored sizing_positions (steward) carry the probability; derived rows (promoter) do not
    p_cell = t["P(between)"].iloc[0]
    assert (p_cell != "—") == (pid == STEWARD)
    assert f"{HEDGE_UNITS[pid]} hedge units" in page[1]


@pytest.mark.parametrize("pid", [STEWARD, PROMOTER])
def test_stress_and_capital_figures(page, warehouse, pid) -> None:
    risk = warehouse[1]["risk"].set_index("portfolio_id").loc[pid]
    t = tables_of(page[1])[f"stress-{pid}"].set_index("scenario")
    scen = Params().sizing.scenarios
    for name in ("crash", "correction", "cpi_shock", "vol_spike", "rally"):
        assert num(t.loc[name, "P&L"]) == pytest.approx(risk[f"stress_{name}_pnl"], abs=0.5)
        assert num(t.loc[name, "% of equity"]) == pytest.approx(
            100 * risk[f"stress_{name}_pnl"] / risk["equity"], abs=0.051
        )
        assert num(t.loc[name, "SPX"]) == pytest.approx(100 * scen[name].spx_return, abs=0.5)
    section = page[1][page[1].index(f'id="portfolio-{pid}"') :]
    section = section[: section.index("</section>")]
    assert f"{100 * risk['wacc']:.2f}%" in section
    assert f"{100 * risk['irr']:.2f}%" in section
    assert f"{100 * risk['cost_of_equity']:.2f}%" in section
    assert f"{risk['beta_before']:.3f}" in section and f"{risk['beta_after']:.3f}" in section
    verdict = "above" if risk["spread_bps"] >= risk["hurdle_bps"] else "below"
    assert (
        f"{risk['spread_bps']:,.0f} bp vs {risk['hurdle_bps']:,.0f} bp ✓ {verdict}" in section
        or (f"{risk['spread_bps']:,.0f} bp vs {risk['hurdle_bps']:,.0f} bp ✗ {verdict}" in section)
    )
    assert f"${risk['eva']:,.0f}" in section
    assert f"{risk['quick_ratio']:.2f}" in section


def test_signal_betas_and_vix_term_tables(page, warehouse) -> None:
    built = warehouse[1]
    t = tables_of(page[1])
    sig = t["signals"].set_index("signal")
    expected = built["signals"].set_index("signal")
    assert list(sig.index) == list(SIGNALS)  # SPEC §2 order
    for name, row in expected.iterrows():
        assert sig.loc[name, "state"] == row["state"]
        if np.isfinite(row["value"]):
            assert num(sig.loc[name, "value"]) == pytest.approx(row["value"], abs=6e-4)
    # the day's VIX regime is the real close of 2026-07-22 (16.64: 'normal')
    assert num(sig.loc["vix_regime", "value"]) == pytest.approx(16.64, abs=1e-3)
    b = t["betas"].set_index("asset")
    for r in built["betas"].itertuples():
        assert num(b.loc[r.asset, "β"]) == pytest.approx(r.beta, abs=6e-4)
        assert int(b.loc[r.asset, "n obs"]) == r.n_obs
    v = t["vix-term"]
    assert len(v) == len(built["vix_term"]) == Params().pricing.vix_term_expiries
    assert [num(x) for x in v["modelled future"]] == pytest.approx(
        list(built["vix_term"]["future_model"]), abs=0.006
    )


def test_data_quality_section(page, warehouse) -> None:
    t = tables_of(page[1])
    q = t["quarantine"]
    expected = warehouse[1]["quarantine"].groupby(["series_id", "check_name"]).size()
    got = q.set_index(["series", "check"])["rows"].astype(int)
    assert got.to_dict() == expected.to_dict()
    assert q.set_index(["series", "check"]).loc[("vix", "value_in_bounds"), "new this run"] == "1"
    total = re.search(r'id="quarantine-total">(\d+)<', page[1])
    assert total and int(total.group(1)) == len(warehouse[1]["quarantine"])
    stale = (warehouse[1]["signals"]["state"] == "stale").sum()
    assert re.search(rf'id="stale-signals">.*?\(<b>{stale}</b> stale\)', page[1], re.S)
    fresh = t["freshness"].set_index("series")
    assert fresh.loc["vix", "newest observation"] == "2026-07-22"


def test_a_script_in_any_warehouse_value_is_text_not_markup(data, charts) -> None:
    """Autoescape: a hostile rationale, portfolio id or signal params never becomes markup."""
    evil = "<script>alert('x')</script>"
    risk = data.portfolio_risk.copy()
    risk.loc[0, "rationale"] = f"cut {evil}"
    risk.loc[1, "portfolio_id"] = 'p"><script>alert(1)</script>'
    signals = data.signals.copy()
    signals.loc[0, "params"] = evil
    hostile = dataclasses.replace(data, portfolio_risk=risk, signals=signals)
    text = report_html.render_html(hostile, charts)
    assert "<script" not in text.lower()
    assert "cut &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text
    assert 'id="portfolio-p&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in text


def test_the_page_shows_orders_and_book_before_the_sizing(page) -> None:
    _, html = page
    card = html[html.index('id="portfolio-steward_1m"') :]
    assert card.index('id="orders-steward_1m"') < card.index('id="book-steward_1m"')
    assert card.index('id="book-steward_1m"') < card.index("Sizing of the free ladder slots")
    assert "+2.10" in card and "hedge: 6 held, target 7: buy 1" in card
