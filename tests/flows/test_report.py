"""The static HTML report, its charts and the artifact builders, on a warehouse built here.

The warehouse holds the bundled real snapshot (validated and point-in-time stamped by the
project's own ingest functions), the signals computed from it for 2026-07-22, a condor
ladder and hedge priced by ``tasks.structures`` for two portfolios, hand-written
``portfolio_risk`` rows and a synthetic strategy-return history. Reference numbers are
recomputed here independently (naive loops, ``numpy.linalg.lstsq``, SPEC §4 formulas).
"""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from paths import SNAPSHOT

from flows import artifacts, report
from schemas.config import Params, ReleaseLags
from schemas.sources import validate
from tasks import ingest as sources
from tasks.market.expiries import nearest_expiry
from tasks.market.frame import context_at, market_frame
from tasks.market.pricing import black76
from tasks.market.surface import vix_future, vix_term_curve
from tasks.signals import SIGNALS, compute_signals
from tasks.structures import hedge_unit, iron_condor
from warehouse import db

AS_OF = pd.Timestamp("2026-07-22")
RUN_ID = "20260722T210000-testrun1"
STEWARD, PROMOTER = "steward_1m", "promoter_1m"
CONTRACTS = {STEWARD: [3, 2, 2, 1], PROMOTER: [5, 4, 4, 3]}
HEDGE_UNITS = {STEWARD: 7, PROMOTER: 12}
STRATEGY_BETA = 0.35  # slope of the synthetic strategy returns on SPX returns


# --------------------------------------------------------------------------- the warehouse


def _legs_rows(
    portfolio_id: str, position_id: str, legs: pd.DataFrame, contracts: int, ctx
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "as_of": AS_OF,
            "portfolio_id": portfolio_id,
            "position_id": position_id,
            "kind": legs["kind"].to_numpy(),
            "expiry": pd.DatetimeIndex(legs["expiry"]),
            "leg": legs["leg"].to_numpy(),
            "put_call": legs["put_call"].to_numpy(),
            "strike": legs["strike"].to_numpy(dtype=float),
            "qty": legs["qty"].to_numpy(dtype=float).astype(int),
            "contracts": contracts,
            "spot": ctx.spot,
            "rate": ctx.risk_free,
            "div_yield": 0.013,
            "iv": legs["iv"].to_numpy(dtype=float),
            "model_price": legs["model_price"].to_numpy(dtype=float),
            "delta": legs["delta"].to_numpy(dtype=float),
            "pricing_source": legs["pricing_source"].to_numpy(),
        }
    )


def build_warehouse(path: Path) -> dict:
    """Migrate, load the snapshot, and write one day's derived rows; return what was written."""
    params = Params()
    obs, quarantine = [], []
    for sid, rows in sources.parse_snapshot(SNAPSHOT).items():
        v = validate(sources.assign_available_at(rows, sid, ReleaseLags()), "snapshot", sid)
        obs.append(v.observations)
        quarantine.append(v.quarantine)
    obs_all = pd.concat(obs, ignore_index=True)
    q_all = pd.concat(quarantine, ignore_index=True)
    # one more quarantined row, first seen by this run
    q_all = pd.concat(
        [
            q_all,
            pd.DataFrame(
                {
                    "source": ["cboe"],
                    "series_id": ["vix"],
                    "raw": ["2026-07-21,-3.0"],
                    "check_name": ["value_in_bounds"],
                    "detail": ["VIX outside [1, 200]"],
                }
            ),
        ],
        ignore_index=True,
    )
    con = db.connect(path)
    db.migrate(con)
    db.insert_observations(con, obs_all, AS_OF)
    db.insert_quarantine(con, q_all.iloc[:-1], "20260101T000000-older", datetime(2026, 1, 1))
    db.insert_quarantine(con, q_all.iloc[-1:], RUN_ID, datetime(2026, 7, 22, 21))
    pit = db.read_observations(con, AS_OF)
    signals = compute_signals(pit, [AS_OF], params.signals)
    market = market_frame(pit)
    ctx = context_at(market, AS_OF)

    # synthetic strategy: a known slope on SPX returns plus deterministic noise
    r_spx = market["spx"].pct_change(fill_method=None).loc["2015-01-01":AS_OF].dropna()
    noise = np.random.default_rng(7).normal(0.0, 0.002, len(r_spx))
    ladder_daily = pd.DataFrame(
        {
            "as_of": r_spx.index,
            "pnl": 0.0,
            "capital_at_risk": 20_000.0,
            "strategy_return": STRATEGY_BETA * r_spx.to_numpy() + noise,
            "open_condors": 4,
            "open_hedges": 1,
            "computed_as_of": AS_OF,
        }
    )
    db.append_rows(con, "ladder_daily", ladder_daily)

    # betas rows for the day (what the analytics step would store): lstsq over 252 sessions
    r_vix = market["vix"].pct_change(fill_method=None)
    betas = []
    for asset, y in {
        "vix": r_vix,
        "vix3m": market["vix3m"].pct_change(fill_method=None),
        "strategy": ladder_daily.set_index("as_of")["strategy_return"],
    }.items():
        b, a, n = _ols(y, market["spx"].pct_change(fill_method=None), 252)
        betas.append((AS_OF, asset, 252, b, a, 0.5, n))
    betas_df = pd.DataFrame(
        betas, columns=["as_of", "asset", "window_days", "beta", "alpha", "r2", "n_obs"]
    )
    db.append_rows(con, "betas", betas_df)
    db.append_rows(con, "signal_states", signals)
    vt = vix_term_curve(
        AS_OF, ctx.term, params.pricing.vix_term_expiries, params.pricing.convexity_vol
    )
    db.append_rows(con, "vix_term", vt)

    condors = {}
    sizing, positions = [], []
    for pid in (STEWARD, PROMOTER):
        for i, dte in enumerate(params.ladder.target_dtes):
            c = iron_condor(
                AS_OF, nearest_expiry(AS_OF, dte), ctx.spot, ctx.risk_free, 0.013, ctx.term,
                params.pricing, params.ladder, params.risk.mrp,
            )  # fmt: skip
            pos_id = f"condor-{dte}d"
            condors[(pid, pos_id)] = c
            sizing.append(_legs_rows(pid, pos_id, c.legs, CONTRACTS[pid][i], ctx))
            if pid == STEWARD:  # the promoter has legs only: the report derives its numbers
                positions.append(
                    {
                        "as_of": AS_OF, "portfolio_id": pid, "position_id": pos_id,
                        "kind": "condor", "expiry": c.expiry, "dte": c.tenor_days,
                        "contracts": CONTRACTS[pid][i], "credit": c.credit,
                        "max_profit": c.max_profit, "max_loss": c.max_loss,
                        "breakeven_low": c.breakeven_low, "breakeven_high": c.breakeven_high,
                        "prob_between_breakevens": c.prob_between_breakevens,
                        "pricing_source": "model",
                    }
                )  # fmt: skip
        h = hedge_unit(AS_OF, ctx.term, ctx.risk_free, params.pricing, params.hedge, ctx.vvix)
        condors[(pid, "hedge")] = h
        sizing.append(_legs_rows(pid, "alvh-vix-call", h.legs, HEDGE_UNITS[pid], ctx))
    db.append_rows(con, "daily_sizing", pd.concat(sizing, ignore_index=True))
    db.append_rows(con, "sizing_positions", pd.DataFrame(positions))
    risk = pd.DataFrame(
        {
            "as_of": [AS_OF, AS_OF],
            "portfolio_id": [STEWARD, PROMOTER],
            "equity": [1_000_000.0, 1_000_000.0],
            "beta_before": [0.5123, 0.9876],
            "beta_after": [0.3345, 0.5912],
            "risk_free": [0.0412, 0.0412],
            "cost_of_equity": [0.05960, 0.07372],
            "wacc": [0.05321, 0.06640],
            "irr": [0.11870, 0.10110],
            "spread_bps": [654.9, 347.0],
            "eva": [3_275.5, 1_734.9],
            "quick_ratio": [2.31, 1.12],
            "stress_crash_pnl": [-61_234.0, -151_000.0],
            "stress_correction_pnl": [-30_050.0, -80_400.0],
            "stress_cpi_shock_pnl": [-20_500.0, -52_000.0],
            "stress_vol_spike_pnl": [4_100.0, 6_500.0],
            "stress_rally_pnl": [-9_870.0, -22_000.0],
            "rationale": [
                "risk_on; spread 655 bp clears the 400 bp hurdle <b>no cut</b>",
                "spread 347 bp below the 600 bp hurdle: new contracts x0.5",
            ],
            "profile": ["steward", "promoter"],
            "hurdle_bps": [400.0, 600.0],
            "hedge_units": [HEDGE_UNITS[STEWARD], HEDGE_UNITS[PROMOTER]],
            "hedge_beta_multiple": [4.2, 4.2],
        }
    )
    db.append_rows(con, "portfolio_risk", risk)
    db.record_run(con, RUN_ID, "daily", AS_OF, datetime(2026, 7, 22, 20, 59), "completed", 1234)
    con.close()
    return {
        "ctx": ctx,
        "signals": signals,
        "betas": betas_df,
        "vix_term": vt,
        "structures": condors,
        "risk": risk,
        "quarantine": q_all,
        "market": market,
        "ladder_daily": ladder_daily,
    }


def _ols(y: pd.Series, x: pd.Series, window: int) -> tuple[float, float, int]:
    """OLS with intercept over the last ``window`` common sessions up to AS_OF (lstsq)."""
    both = (
        pd.concat([y.rename("y"), x.rename("x")], axis=1, sort=True)
        .loc[:AS_OF]
        .iloc[-window:]
        .dropna()
    )
    A = np.column_stack([np.ones(len(both)), both["x"].to_numpy()])
    (a, b), *_ = np.linalg.lstsq(A, both["y"].to_numpy(), rcond=None)
    return float(b), float(a), len(both)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("wh") / "w.duckdb"
    return path, build_warehouse(path)


@pytest.fixture(scope="module")
def data(warehouse) -> report.ReportData:
    return report.load_report_data(warehouse[0], AS_OF)


@pytest.fixture(scope="module")
def charts(data) -> dict[str, str]:
    return report.chart_uris(data)


@pytest.fixture(scope="module")
def page(warehouse, tmp_path_factory) -> tuple[Path, str]:
    out = report.write_report(warehouse[0], AS_OF, tmp_path_factory.mktemp("out"))
    return out, out.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- HTML helpers


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


# --------------------------------------------------------------------------- tests


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


def test_missing_run_is_a_clear_error(warehouse) -> None:
    with pytest.raises(report.ReportError, match=r"condorcap run --as-of 2026-07-21"):
        report.load_report_data(warehouse[0], "2026-07-21")
    with pytest.raises(FileNotFoundError):
        report.load_report_data(warehouse[0].with_name("nope.duckdb"), AS_OF)


# --------------------------------------------------------------------------- charts' numbers


def test_condor_payoff_matches_a_naive_loop(data) -> None:
    legs = data.daily_sizing[
        (data.daily_sizing["portfolio_id"] == STEWARD) & (data.daily_sizing["kind"] == "condor")
    ]
    S = report.spx_grid(data.spot, 81)
    got = report.condor_payoff(legs, S)
    for j, s in enumerate(S):
        total = 0.0
        for r in legs.itertuples():
            intrinsic = max(s - r.strike, 0.0) if r.put_call == "C" else max(r.strike - s, 0.0)
            total += 100.0 * r.contracts * r.qty * (intrinsic - r.model_price)
        assert got[j] == pytest.approx(total, rel=1e-12, abs=1e-6)
    # at spot every tranche keeps its whole credit
    credit = -(legs["qty"] * legs["model_price"] * legs["contracts"]).sum() * 100
    assert report.condor_payoff(legs, np.array([data.spot]))[0] == pytest.approx(credit)
    assert S[0] == pytest.approx(0.75 * data.spot) and S[-1] == pytest.approx(1.15 * data.spot)


def test_break_evens_are_the_zero_crossings() -> None:
    S = np.linspace(0.0, 10.0, 101)
    pnl = (S - 2.5) * (S - 7.25) * -1.0  # positive between 2.5 and 7.25
    assert report.break_evens(S, pnl) == pytest.approx([2.5, 7.25], abs=1e-2)


def test_hedge_pnl_revalues_the_vix_call(data, warehouse) -> None:
    """Black-76 on the modelled future of the scaled term, minus today's model value."""
    legs = data.daily_sizing[
        (data.daily_sizing["portfolio_id"] == STEWARD) & (data.daily_sizing["kind"] == "hedge")
    ]
    ctx = warehouse[1]["ctx"]
    beta_vix = data.beta_of("vix")
    S = np.array([0.8 * ctx.spot, ctx.spot, 1.1 * ctx.spot])
    days = 14
    got = report.hedge_pnl(
        legs,
        AS_OF,
        ctx.spot,
        ctx.term,
        ctx.risk_free,
        0.013,
        S,
        beta_vix,
        days,
        data.params.pricing,
    )
    leg = legs.iloc[0]
    tenor = (pd.Timestamp(leg["expiry"]) - AS_OF).days
    cv = data.params.pricing.convexity_vol
    f0 = vix_future(tenor / 365, ctx.term, cv)
    v0 = black76(f0, leg["strike"], tenor / 365, ctx.risk_free, leg["iv"], True).price
    for s, g in zip(S, got, strict=True):
        ratio = max(1 + beta_vix * (s / ctx.spot - 1), report.VIX_RATIO_FLOOR)
        f = vix_future((tenor - days) / 365, ctx.term.scaled(ratio), cv)
        v = black76(f, leg["strike"], (tenor - days) / 365, ctx.risk_free, leg["iv"], True).price
        assert g == pytest.approx(100 * HEDGE_UNITS[STEWARD] * (v - v0), rel=1e-9)
    assert beta_vix < 0 and got[0] > 0 > got[2]  # a crash pays, a rally bleeds


def test_rolling_betas_match_lstsq(data, warehouse) -> None:
    built = warehouse[1]
    m, ld = built["market"], built["ladder_daily"].set_index("as_of")["strategy_return"]
    rb = data.rolling_betas
    assert rb.index[0] >= AS_OF - pd.DateOffset(years=3) and rb.index[-1] == AS_OF
    r_spx = m["spx"].pct_change(fill_method=None)
    w = data.params.risk.beta_window
    for day in (AS_OF, rb.index[len(rb) // 2]):
        r_vix = m["vix"].pct_change(fill_method=None)
        assert rb.loc[day, "vix"] == pytest.approx(_ols_at(r_vix, r_spx, day, w), rel=1e-8)
        assert rb.loc[day, "strategy"] == pytest.approx(_ols_at(ld, r_spx, day, w), rel=1e-8)
    assert rb.loc[AS_OF, "strategy"] == pytest.approx(STRATEGY_BETA, abs=0.05)


def _ols_at(y: pd.Series, x: pd.Series, day: pd.Timestamp, window: int) -> float:
    idx = x.index.intersection(y.index)
    both = (
        pd.DataFrame({"y": y.reindex(idx), "x": x.reindex(idx)}).loc[:day].iloc[-window:].dropna()
    )
    A = np.column_stack([np.ones(len(both)), both["x"]])
    return float(np.linalg.lstsq(A, both["y"].to_numpy(), rcond=None)[0][1])


def test_payoff_curves_total_is_condors_plus_hedge(data) -> None:
    c = report.payoff_curves(data, PROMOTER)
    assert np.allclose(c.total, c.condors + c.hedge)
    assert c.days_ahead == (data.daily_sizing["expiry"].min() - AS_OF).days
    assert len(c.break_evens) >= 1
    for be in c.break_evens:
        i = np.searchsorted(c.S, be)
        assert np.sign(c.total[i - 1]) != np.sign(c.total[i])


# --------------------------------------------------------------------------- artifacts


def test_artifact_keys_are_prefect_safe() -> None:
    assert artifacts.artifact_key("steward_1m") == "sizing-steward-1m"
    assert artifacts.artifact_key("Promoter_1M") == "sizing-promoter-1m"
    assert artifacts.artifact_key("A b.c") == "sizing-a-b-c"
    for k in ("sizing-steward-1m", artifacts.SUMMARY_KEY, artifacts.CHARTS_KEY):
        assert re.fullmatch(r"[a-z0-9-]+", k)


def test_sizing_records_are_json_rows_of_the_recommendation(data, warehouse) -> None:
    rows = artifacts.sizing_records(data, STEWARD)
    json.dumps(rows, allow_nan=False)  # Prefect stores them as JSON
    assert [r["position_id"] for r in rows][-1] == "alvh-vix-call"
    c = warehouse[1]["structures"][(STEWARD, "condor-28d")]
    r28 = next(r for r in rows if r["position_id"] == "condor-28d")
    assert r28["expiry"] == f"{c.expiry:%Y-%m-%d}"
    assert r28["contracts"] == CONTRACTS[STEWARD][0]
    assert r28["credit_pts"] == pytest.approx(c.credit, abs=1e-5)
    assert r28["max_loss_usd"] == pytest.approx(c.max_loss, abs=1e-4)


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
