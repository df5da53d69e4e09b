"""SPEC §7 step 7: the ``daily_sizing``, ``portfolio_risk`` and positions rows of a sizing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.config import Portfolio
from tasks import risk
from tasks.conventions import DAYS_PER_YEAR, STRESS_SCENARIOS
from tasks.market.frame import MarketContext
from tasks.sizing.book import NewTranches
from tasks.sizing.hedge import HedgeSpec
from tasks.sizing.ladder import Tranche
from tasks.sizing.passes import Decisions, SizingPass

#: SPEC §9 ``daily_sizing`` columns, in order.
DAILY_SIZING_COLUMNS: tuple[str, ...] = (
    "as_of", "portfolio_id", "position_id", "kind", "expiry", "leg", "put_call", "strike",
    "qty", "contracts", "spot", "rate", "div_yield", "iv", "model_price", "delta",
    "pricing_source",
)  # fmt: skip
#: extra ``daily_sizing`` columns after the SPEC ones.
DAILY_SIZING_EXTRAS: tuple[str, ...] = (
    "underlying", "tenor_days", "forward", "gamma", "vega", "theta",
)  # fmt: skip
#: SPEC §9 ``portfolio_risk`` columns, in order.
PORTFOLIO_RISK_COLUMNS: tuple[str, ...] = (
    "as_of", "portfolio_id", "equity", "beta_before", "beta_after", "risk_free",
    "cost_of_equity", "wacc", "irr", "spread_bps", "eva", "p_hurdle", "quick_ratio",
    "stress_crash_pnl",
    "stress_correction_pnl", "stress_cpi_shock_pnl", "stress_vol_spike_pnl",
    "stress_rally_pnl", "rationale",
)  # fmt: skip
#: extra ``portfolio_risk`` columns after the SPEC ones.
PORTFOLIO_RISK_EXTRAS: tuple[str, ...] = (
    "profile", "hurdle_bps", "box_rate", "box_rate_source", "wacc_equity_term",
    "wacc_margin_term", "wacc_box_term", "collateral_drag", "hedge_units",
    "hedge_beta_multiple", "condor_contracts", "capital_at_risk", "cash_flow_multiple",
    "cap_fraction",
)  # fmt: skip
#: one row per recommended position.
POSITIONS_COLUMNS: tuple[str, ...] = (
    "as_of", "portfolio_id", "position_id", "kind", "expiry", "dte", "contracts", "n_cap",
    "risk_weight", "credit", "max_profit", "max_loss", "breakeven_low", "breakeven_high",
    "prob_between_breakevens", "dollar_beta", "tranche_beta", "premium", "pricing_source",
)  # fmt: skip


def daily_sizing_rows(
    ctx: MarketContext,
    portfolio_id: str,
    div_yield: float,
    tranches: list[Tranche],
    contracts: np.ndarray,
    hedge_legs: pd.DataFrame,
    hedge_units: int,
) -> pd.DataFrame:
    """One row per leg of every recommended position (SPEC §9 columns, then extras).

    ``spot`` is the underlying's close (SPX for condor legs, the VIX index for hedge legs),
    ``forward`` the price the option is valued on (SPX forward / modelled ``F_VIX``);
    ``div_yield`` is NaN for VIX legs (Black-76 on a future has none).
    """
    parts = [
        t.condor.legs.assign(position_id=t.position_id, contracts=int(n), spot=ctx.spot)
        for t, n in zip(tranches, contracts, strict=True)
    ]
    parts.append(hedge_legs.assign(contracts=int(hedge_units), spot=float(ctx.term.vix)))
    legs = pd.concat(parts, ignore_index=True)
    is_spx = (legs["underlying"] == "SPX").to_numpy()
    out = pd.DataFrame(
        {
            "as_of": ctx.as_of,
            "portfolio_id": portfolio_id,
            "position_id": legs["position_id"].to_numpy(),
            "kind": legs["kind"].to_numpy(),
            "expiry": pd.DatetimeIndex(legs["expiry"]).astype("datetime64[ns]"),
            "leg": legs["leg"].to_numpy(),
            "put_call": legs["put_call"].to_numpy(),
            "strike": legs["strike"].to_numpy(float),
            "qty": legs["qty"].to_numpy(float).round().astype(np.int64),
            "contracts": legs["contracts"].to_numpy(np.int64),
            "spot": legs["spot"].to_numpy(float),
            "rate": ctx.risk_free,
            "div_yield": np.where(is_spx, div_yield, np.nan),
            "iv": legs["iv"].to_numpy(float),
            "model_price": legs["model_price"].to_numpy(float),
            "delta": legs["delta"].to_numpy(float),
            "pricing_source": legs["pricing_source"].to_numpy(),
            "underlying": legs["underlying"].to_numpy(),
            "tenor_days": legs["tenor_days"].to_numpy(np.int64),
            "forward": legs["F"].to_numpy(float),
            "gamma": legs["gamma"].to_numpy(float),
            "vega": legs["vega"].to_numpy(float),
            "theta": legs["theta"].to_numpy(float),
        }
    )
    out["as_of"] = out["as_of"].astype("datetime64[ns]")
    return out[list(DAILY_SIZING_COLUMNS + DAILY_SIZING_EXTRAS)]


def _condor_row(t: Tranche, n: int, ncap: int, q: float, db: float) -> dict[str, object]:
    c = t.condor
    return {
        "position_id": t.position_id,
        "kind": "condor",
        "expiry": c.expiry,
        "dte": c.tenor_days,
        "contracts": int(n),
        "n_cap": int(ncap),
        "risk_weight": float(q),
        "credit": c.credit,
        "max_profit": c.max_profit,
        "max_loss": c.max_loss,
        "breakeven_low": c.breakeven_low,
        "breakeven_high": c.breakeven_high,
        "prob_between_breakevens": c.prob_between_breakevens,
        "dollar_beta": float(db * n),
        "tranche_beta": float(risk.tranche_beta(db, c.max_loss))
        if c.max_loss > 0
        else float("nan"),
        "premium": -c.max_profit,
        "pricing_source": c.pricing_source,
    }


def _hedge_row(hedge: HedgeSpec, units: int) -> dict[str, object]:
    nan = float("nan")
    return {
        "position_id": hedge.position_id,
        "kind": "hedge",
        "expiry": pd.Timestamp(hedge.legs["expiry"].max()),
        "dte": hedge.tenor_days,
        "contracts": int(units),
        "n_cap": None,  # not applicable: a hedge has no per-tranche cap
        "risk_weight": nan,
        "credit": nan,
        "max_profit": nan,
        "max_loss": hedge.premium_usd,
        "breakeven_low": nan,
        "breakeven_high": nan,
        "prob_between_breakevens": nan,
        "dollar_beta": hedge.dollar_beta * units,
        "tranche_beta": nan,
        "premium": hedge.premium_usd,
        "pricing_source": "model",
    }


def positions_rows(
    as_of: pd.Timestamp,
    portfolio_id: str,
    tranches: list[Tranche],
    contracts: np.ndarray,
    ncap: np.ndarray,
    weights: np.ndarray,
    new: NewTranches,
    hedge: HedgeSpec,
    hedge_units: int,
) -> pd.DataFrame:
    """One row per position. Money per contract except ``dollar_beta`` (for the recommended
    contracts); ``tranche_beta`` = per-contract dollar beta / max loss (§5; NaN for the
    hedge); ``premium`` is dollars paid per unit (negative = credit received)."""
    rows = [
        _condor_row(t, contracts[i], ncap[i], weights[i], new.dollar_beta[i])
        for i, t in enumerate(tranches)
    ]
    rows.append(_hedge_row(hedge, hedge_units))
    out = pd.DataFrame(rows)
    out.insert(0, "portfolio_id", portfolio_id)
    out.insert(0, "as_of", as_of)
    out["as_of"] = out["as_of"].astype("datetime64[ns]")
    out["expiry"] = pd.DatetimeIndex(out["expiry"]).astype("datetime64[ns]")
    return out[list(POSITIONS_COLUMNS)]


def portfolio_risk_row(
    ctx: MarketContext, portfolio: Portfolio, d: Decisions, rationale: str
) -> dict[str, object]:
    """The one ``portfolio_risk`` row of the kept pass (SPEC §9 columns, then extras), as a
    dict (:func:`~tasks.sizing.inputs.portfolio_risk_frame` frames it: a backtest reads one
    number of each of its 3,000 rows).

    EVA is on *this* book's capital at risk (package notes: the average-capital proxy), not
    the modelled 1-lot ladder's, so EVA scales with the recommendation.
    """
    p: SizingPass = d.kept
    n, hd, w, cap = p.limits.contracts, p.limits.kept.hedge, p.wacc, d.capital
    condors = [t.condor for t in d.market.tranches]
    capital_at_risk = float(n @ d.new.max_loss) + hd.units * d.hedge.premium_usd
    credit_usd = np.array([c.max_profit for c in condors])
    tenors = np.array([max(c.tenor_days, 1) for c in condors], dtype=float)
    annual_credit = float((n * credit_usd * DAYS_PER_YEAR / tenors).sum())
    eva = risk.eva(cap.irr, w.wacc, capital_at_risk) if np.isfinite(cap.irr) else float("nan")
    stress = p.limits.kept.stress_total
    row: dict[str, object] = {
        "as_of": ctx.as_of, "portfolio_id": portfolio.portfolio_id, "equity": cap.equity,
        "beta_before": hd.beta_before, "beta_after": hd.beta_after, "risk_free": ctx.risk_free,
        "cost_of_equity": w.r_E, "wacc": w.wacc, "irr": cap.irr, "spread_bps": p.spread,
        "eva": eva, "p_hurdle": cap.p_hurdle_at(w.wacc), "quick_ratio": p.limits.kept.quick_ratio,
    }  # fmt: skip
    for name in STRESS_SCENARIOS:
        row[f"stress_{name}_pnl"] = float(stress.get(name, np.nan))
    row["rationale"] = rationale
    row.update(
        {
            "profile": portfolio.profile, "hurdle_bps": cap.hurdle_bps,
            "box_rate": cap.box_rate, "box_rate_source": cap.box_source,
            "wacc_equity_term": w.equity_term, "wacc_margin_term": w.margin_term,
            "wacc_box_term": w.box_term, "collateral_drag": w.drag, "hedge_units": hd.units,
            "hedge_beta_multiple": abs(d.hedge.beta.beta_F), "condor_contracts": int(n.sum()),
            "capital_at_risk": capital_at_risk,
            "cash_flow_multiple": risk.cash_flow_multiple(capital_at_risk, annual_credit),
            "cap_fraction": p.proposal.cap,
        }
    )  # fmt: skip
    for name in d.params.sizing.scenarios:
        if name not in STRESS_SCENARIOS:
            row[f"stress_{name}_pnl"] = float(stress[name])
    return row
