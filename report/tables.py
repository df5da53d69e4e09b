"""The report's tables as data: the recommendation, capital figures, stress, the hedge line.

Each function turns :class:`report.data.ReportData` rows into a frame or a list of
``(label, text)`` pairs that both the HTML page and the Prefect artifacts render.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from report.data import ReportData
from report.formatting import fmt_num, fmt_pct, fmt_usd, to_float
from schemas.config import params_for
from tasks.conventions import CONDOR_LEGS_BY_STRIKE, MULTIPLIER, STRESS_SCENARIOS

RECOMMENDATION_COLUMNS = [
    "position_id", "kind", "expiry", "dte", "strikes", "contracts", "credit_pts",
    "credit_usd", "max_loss_usd", "max_loss_total_usd", "breakeven_low", "breakeven_high",
    "prob_between_breakevens", "pricing_source",
]  # fmt: skip


def _strikes(legs: pd.DataFrame) -> str:
    """Compact strikes of a position: ``7,100/7,150 P · 7,780/7,830 C`` or ``long VIX 24 C``."""
    if (legs["kind"] == "condor").all():
        k = legs.set_index("leg")["strike"].astype(float)
        lp, sp, sc, lc = (k.get(leg, np.nan) for leg in CONDOR_LEGS_BY_STRIKE)
        return f"{lp:,.0f}/{sp:,.0f} P · {sc:,.0f}/{lc:,.0f} C"
    several_expiries = legs["expiry"].nunique() > 1
    parts = []
    for r in legs.itertuples(index=False):
        side = "long" if to_float(r.qty) > 0 else "short"
        when = f" {pd.Timestamp(r.expiry):%b %d}" if several_expiries else ""
        parts.append(f"{side} VIX {to_float(r.strike):g} {r.put_call or ''}{when}")
    return " + ".join(parts)


def _from_legs(g: pd.DataFrame) -> dict[str, Any]:
    """A position's numbers derived from its ``daily_sizing`` legs by SPEC §4.

    Credit ``C = −Σ qty·price``; a condor's max loss ``100·(W − C)`` and break-evens
    ``K_sp − C``, ``K_sc + C``; a long hedge risks its premium and breaks even at its
    lowest strike plus the premium (a VIX level).
    """
    kind = str(g["kind"].iloc[0])
    credit = -float((g["qty"].astype(float) * g["model_price"].astype(float)).sum())
    if kind == "condor":
        k = g.set_index("leg")["strike"].astype(float)
        width = max(k.get("short_put", 0) - k.get("long_put", 0),
                    k.get("long_call", 0) - k.get("short_call", 0))  # fmt: skip
        max_loss = MULTIPLIER * (width - credit)
        be_lo, be_hi = k.get("short_put", np.nan) - credit, k.get("short_call", np.nan) + credit
    else:
        max_loss = MULTIPLIER * -credit  # a long option structure risks its premium
        be_lo, be_hi = np.nan, float(g["strike"].astype(float).min()) - credit
    source = g["pricing_source"].dropna()
    return {
        "kind": kind,
        "credit": credit,
        "max_loss": max_loss,
        "breakeven_low": be_lo,
        "breakeven_high": be_hi,
        "prob_between_breakevens": np.nan,
        "pricing_source": str(source.iloc[0]) if len(source) else "",
    }


def _with_stored(derived: dict[str, Any], p: pd.Series) -> dict[str, Any]:
    """The derived numbers, overridden by the finite values ``sizing_positions`` stores."""
    out = dict(derived)
    if out["kind"] == "condor" and np.isfinite(to_float(p.get("credit"))):
        out["credit"] = to_float(p["credit"])
    if np.isfinite(to_float(p.get("max_loss"))):
        out["max_loss"] = to_float(p["max_loss"])
    if out["kind"] == "hedge" and np.isfinite(to_float(p.get("premium"))):
        out["credit"] = -to_float(p["premium"]) / MULTIPLIER
        out["max_loss"] = to_float(p["premium"])
    for name in ("breakeven_low", "breakeven_high"):
        if np.isfinite(to_float(p.get(name))):
            out[name] = to_float(p[name])
    out["prob_between_breakevens"] = to_float(p.get("prob_between_breakevens"))
    if isinstance(p.get("pricing_source"), str):
        out["pricing_source"] = p["pricing_source"]
    return out


def recommendation_table(data: ReportData, portfolio_id: str) -> pd.DataFrame:
    """One row per recommended position of a portfolio: the numbers a trader acts on.

    Columns (:data:`RECOMMENDATION_COLUMNS`): ``position_id, kind, expiry, dte, strikes,
    contracts, credit_pts, credit_usd`` (total; negative = premium paid), ``max_loss_usd``
    (per contract/unit), ``max_loss_total_usd, breakeven_low, breakeven_high,
    prob_between_breakevens, pricing_source``. Values come from ``sizing_positions`` when
    present, otherwise they are derived from the ``daily_sizing`` legs (:func:`_from_legs`).
    Condors come first (by expiry), then the hedge.
    """
    legs = data.daily_sizing[data.daily_sizing["portfolio_id"] == portfolio_id]
    pos = data.positions
    if len(pos):
        pos = pos[pos["portfolio_id"] == portfolio_id].set_index("position_id")
    rows = []
    for pid, g in legs.groupby("position_id", sort=False):
        v = _from_legs(g)
        if len(pos) and pid in pos.index:
            v = _with_stored(v, pos.loc[pid])
        contracts = int(g["contracts"].fillna(0).iloc[0])
        expiry = pd.Timestamp(g["expiry"].min())
        rows.append(
            {
                "position_id": pid,
                "kind": v["kind"],
                "expiry": expiry,
                "dte": int((expiry - data.as_of).days),
                "strikes": _strikes(g),
                "contracts": contracts,
                "credit_pts": v["credit"],
                "credit_usd": MULTIPLIER * v["credit"] * contracts,
                "max_loss_usd": v["max_loss"],
                "max_loss_total_usd": v["max_loss"] * contracts,
                "breakeven_low": v["breakeven_low"],
                "breakeven_high": v["breakeven_high"],
                "prob_between_breakevens": v["prob_between_breakevens"],
                "pricing_source": v["pricing_source"],
            }
        )
    out = pd.DataFrame(rows)
    if len(out):
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
    if np.isfinite(to_float(r.get("hurdle_bps"))):
        return to_float(r["hurdle_bps"])
    profile = r.get("profile") if r.get("profile") in ("steward", "promoter") else "steward"
    return params_for(profile).risk.hurdle_bps  # type: ignore[arg-type]


def stress_table(data: ReportData, portfolio_id: str) -> pd.DataFrame:
    """Scenario definitions (``SizingParams.scenarios``) and the stored stressed P&L."""
    r = risk_row(data, portfolio_id)
    scenarios = data.params.sizing.scenarios
    equity = to_float(r.get("equity"))
    rows = []
    for name in STRESS_SCENARIOS:
        sc = scenarios.get(name)
        pnl = to_float(r.get(f"stress_{name}_pnl"))
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
    spread = to_float(r.get("spread_bps"))
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
        ("p_hurdle (bootstrap)", fmt_pct(r.get("p_hurdle"), 0)),
        ("quick ratio", fmt_num(r.get("quick_ratio"), 2)),
    ]
    optional = [
        ("box rate", "box_rate", fmt_pct),
        ("capital at risk", "capital_at_risk", fmt_usd),
        ("cash-flow multiple", "cash_flow_multiple", lambda v: fmt_num(v, 1)),
        ("per-tranche cap", "cap_fraction", fmt_pct),
    ]
    for label, col, f in optional:
        if col in r and np.isfinite(to_float(r[col])):
            out.append((label, f(r[col])))
    return out


def hedge_summary(data: ReportData, portfolio_id: str) -> str:
    """``N hedge units (|β_F| m×)`` from ``portfolio_risk``, else from the hedge legs."""
    r = risk_row(data, portfolio_id)
    units = to_float(r.get("hedge_units"))
    if not np.isfinite(units):
        legs = data.daily_sizing[
            (data.daily_sizing["portfolio_id"] == portfolio_id)
            & (data.daily_sizing["kind"] == "hedge")
        ]
        units = float(legs.groupby("position_id")["contracts"].first().sum()) if len(legs) else 0.0
    text = f"{units:,.0f} hedge unit{'s' if units != 1 else ''}"
    mult = to_float(r.get("hedge_beta_multiple"))
    if np.isfinite(mult):
        text += f" (volatility beta multiple |β_F| {mult:.1f}×)"
    return text


def orders_table(orders: pd.DataFrame) -> pd.DataFrame:
    """A portfolio's orders (``orders`` rows, one per leg) as one line per order: action,
    contracts, position, legs, net limit (points per unit: + debit paid, − credit received),
    reason."""
    o = orders
    if o.empty:
        return pd.DataFrame(columns=["action", "contracts", "position", "legs", "limit", "reason"])
    rows = []
    for _, g in o.groupby("order_id", sort=True):
        legs = " / ".join(
            f"{'+' if s == 'buy' else '−'}{r.put_call}{r.strike:g} {pd.Timestamp(r.expiry).date()}"
            for s, r in zip(g["side"], g.itertuples(), strict=True)
        )
        # net limit per unit, points: + = debit paid, − = credit received
        sign = np.where(g["side"] == "buy", 1.0, -1.0)
        net = float((g["limit_price"] * sign).sum())
        rows.append(
            {
                "action": g["action"].iloc[0],
                "contracts": int(g["contracts"].iloc[0]),
                "position": g["position_id"].iloc[0],
                "legs": legs,
                "limit": round(net, 2),
                "reason": g["reason"].iloc[0],
            }
        )
    return pd.DataFrame(rows)


def book_table(legs: pd.DataFrame, as_of: object) -> pd.DataFrame:
    """The book (``book`` rows, one per leg) as one line per position: entry and mark in
    points per unit (negative = a credit structure), DTE in calendar days from ``as_of``."""
    if legs.empty:
        return pd.DataFrame(columns=["position", "kind", "contracts", "dte", "entry", "mark"])
    g = legs.assign(e=legs["qty"] * legs["entry_price"], m=legs["qty"] * legs["mark"])
    out = g.groupby("position_id", sort=True).agg(
        kind=("kind", "first"),
        contracts=("contracts", "first"),
        opened=("opened_on", "first"),
        expiry=("expiry", "max"),
        entry=("e", "sum"),
        mark=("m", "sum"),
    )
    out["dte"] = (pd.DatetimeIndex(out["expiry"]) - pd.Timestamp(as_of)).days
    out["opened"] = pd.DatetimeIndex(out["opened"]).date
    out = out.reset_index().rename(columns={"position_id": "position"})
    out[["entry", "mark"]] = out[["entry", "mark"]].round(2)  # points, to the cent
    return out[["position", "kind", "contracts", "opened", "dte", "entry", "mark"]]


def account_summary(data: ReportData, portfolio_id: str) -> str:
    """One line of the portfolio's account after the day (SPEC §10); '' without a book."""
    a = data.account_of(portfolio_id)
    if not a:
        return ""
    return (
        f"NAV {fmt_usd(a.get('nav'))} · day P&L {fmt_usd(a.get('pnl'))} (condors "
        f"{fmt_usd(a.get('condor_pnl'))}, hedge {fmt_usd(a.get('hedge_pnl'))}) · capital at "
        f"risk {fmt_usd(a.get('capital_at_risk'))} · drawdown {fmt_pct(a.get('drawdown'), 1)}"
    )


def orders_display(data: ReportData, portfolio_id: str) -> tuple[list[str], list[list[str]]]:
    """Headers and text rows of the day's orders of a portfolio (no rows: hold the book)."""
    o = orders_table(data.orders_of(portfolio_id))
    headers = ["action", "contracts", "position", "legs", "limit (pts)", "reason"]
    rows = [
        [r.action, f"{r.contracts:,d}", r.position, r.legs, f"{r.limit:+.2f}", r.reason]
        for r in o.itertuples(index=False)
    ]
    return headers, rows


def book_display(data: ReportData, portfolio_id: str) -> tuple[list[str], list[list[str]]]:
    """Headers and text rows of the book after the day's orders."""
    b = book_table(data.book_of(portfolio_id), data.as_of)
    headers = ["position", "kind", "contracts", "opened", "DTE", "entry (pts)", "mark (pts)"]
    rows = [
        [r.position, r.kind, f"{int(r.contracts):,d}", str(r.opened), str(r.dte),
         fmt_num(r.entry, 2), fmt_num(r.mark, 2)]
        for r in b.itertuples(index=False)
    ]  # fmt: skip
    return headers, rows
