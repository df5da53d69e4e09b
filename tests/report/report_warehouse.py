"""A warehouse built here for the report's tests, and what was written into it.

The warehouse holds the bundled real snapshot (validated and point-in-time stamped by the
project's own ingest functions), the signals computed from it for 2026-07-22, a condor
ladder and hedge priced by ``tasks.structures`` for two portfolios, hand-written
``portfolio_risk`` rows and a synthetic strategy-return history. Reference numbers in the
tests are recomputed independently (naive loops, ``numpy.linalg.lstsq``, SPEC §4 formulas).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from paths import SNAPSHOT

from schemas.config import Params, ReleaseLags
from schemas.sources import validate
from tasks import ingest as sources
from tasks.market.expiries import nearest_expiry
from tasks.market.frame import context_at, market_frame
from tasks.market.surface import vix_term_curve
from tasks.signals import compute_signals
from tasks.structures import hedge_unit, iron_condor
from warehouse import db

AS_OF = pd.Timestamp("2026-07-22")
RUN_ID = "20260722T210000-testrun1"
STEWARD, PROMOTER = "steward_1m", "promoter_1m"
CONTRACTS = {STEWARD: [3, 2, 2, 1], PROMOTER: [5, 4, 4, 3]}
HEDGE_UNITS = {STEWARD: 7, PROMOTER: 12}
STRATEGY_BETA = 0.35  # slope of the synthetic strategy returns on SPX returns


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
        AS_OF,
        ctx.term,
        params.pricing.vix_term_expiries,
        params.pricing.convexity_vol,
        params.pricing.convexity_mean_reversion,
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
    book_rows = _book_rows(con)
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
        **book_rows,
    }


#: the steward's orders of the day: a condor closed at its profit target (4 legs) and one
#: hedge unit bought. Limit prices in points per unit.
ORDERS = [
    # order, action, position, kind, expiry, leg, P/C, strike, side, limit, reason
    ("O1", "close", "IC-2026-07-31-7000-7600", "condor", "2026-07-31", "long_put", "P", 6950,
     "sell", 0.40, "profit target"),
    ("O1", "close", "IC-2026-07-31-7000-7600", "condor", "2026-07-31", "short_put", "P", 7000,
     "buy", 1.10, "profit target"),
    ("O1", "close", "IC-2026-07-31-7000-7600", "condor", "2026-07-31", "short_call", "C", 7600,
     "buy", 2.30, "profit target"),
    ("O1", "close", "IC-2026-07-31-7000-7600", "condor", "2026-07-31", "long_call", "C", 7650,
     "sell", 0.90, "profit target"),
    ("O2", "adjust", "HV-2026-10-21-25", "hedge", "2026-10-21", "long_call", "C", 25,
     "buy", 2.44, "hedge: 6 held, target 7: buy 1"),
]  # fmt: skip


def _book_rows(con) -> dict:
    """The steward's orders, its book after them and its account row (hand-written)."""
    orders = pd.DataFrame(
        [
            {"as_of": AS_OF, "portfolio_id": STEWARD, "order_id": o, "action": a,
             "position_id": pos, "kind": k, "expiry": pd.Timestamp(e), "leg": leg,
             "put_call": pc, "strike": float(x), "contracts": 3 if k == "condor" else 1,
             "limit_price": lim, "reason": why, "side": side,
             "qty": 1.0 if side == "buy" else -1.0, "mid": lim, "commission": 0.65}
            for o, a, pos, k, e, leg, pc, x, side, lim, why in ORDERS
        ]
    )  # fmt: skip
    book = pd.DataFrame(
        [
            {"as_of": AS_OF, "portfolio_id": STEWARD, "position_id": "HV-2026-10-21-25",
             "kind": "hedge", "expiry": pd.Timestamp("2026-10-21"), "leg": "long_call",
             "put_call": "C", "strike": 25.0, "contracts": 7,
             "opened_on": pd.Timestamp("2026-07-01"), "entry_price": 2.60, "mark": 2.44,
             "pricing_source": "model", "underlying": "VIX", "qty": 1.0, "iv": 0.9}
        ]
    )  # fmt: skip
    account = pd.DataFrame(
        [
            {"as_of": AS_OF, "portfolio_id": STEWARD, "nav": 1_012_345.0, "cash": 50_000.0,
             "capital_at_risk": 43_210.0, "pnl": 1_234.0, "realised_pnl": 900.0,
             "unrealised_pnl": 334.0, "condor_pnl": 1_500.0, "hedge_pnl": -266.0,
             "drawdown": -0.012, "tbills": 400_000.0, "holdings_value": 500_000.0,
             "options_value": 1_708.0, "holdings_pnl": 0.0, "carry_pnl": 0.0,
             "commissions": 3.25, "condor_contracts": 0, "hedge_units": 7}
        ]
    )  # fmt: skip
    db.append_rows(con, "orders", orders)
    db.append_rows(con, "book", book)
    db.append_rows(con, "account_daily", account)
    return {"orders": orders, "book": book, "account": account}


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
