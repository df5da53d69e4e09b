"""The daily sizing of SPEC §7 (with §5 betas and §6 cost of capital): one portfolio, one session.

:func:`size_portfolio` turns the market of ``as_of``, the day's signal states, the joint
historical (SPX return, VIX ratio) scenarios, the hedge tenor's beta and the strategy's IRR
into a recommendation: contracts per condor tranche, ALVH hedge units, and the
``daily_sizing``/``portfolio_risk`` rows of SPEC §9 with a rationale in words.

Where each SPEC §7 step lives
-----------------------------
========================  ===========================================================
step                      code
========================  ===========================================================
1 ladder                  :func:`build_ladder` (signals read by :func:`read_rules`)
2 cap per tranche         :func:`cap_fraction`, :func:`n_cap` (WACC: ``_wacc``)
3 risk-inverse scaling    :func:`tranche_scenario_pnl` + ``risk.risk_inverse_weights``
4 hurdle and events       :func:`contract_multiplier`
5 ALVH hedge              :func:`hedge_units`
6 stress and liquidity    :func:`stress_pnl` + ``risk.proportional_path`` search
7 output                  ``_daily_sizing_rows``, ``_positions_rows``, ``_risk_row``
========================  ===========================================================

Choices where the SPEC is silent (each also noted where it is made)
------------------------------------------------------------------
- **WACC ↔ β fixed point.** The cap regime (step 2) needs the WACC, the WACC needs ``r_E``,
  ``r_E`` needs the *post-hedge* β (§5), and that β depends on the sizing. The hurdle test
  (step 4) needs the WACC too. So each pass sizes the whole book (steps 2–6) under an
  assumed *regime* = (WACC above ``wacc_high``?, spread below the hurdle?); the first
  regime comes from the β of the existing book and holdings. After the pass the WACC is
  recomputed with the pass's post-hedge β; if the regime is unchanged the pass stands,
  otherwise the next pass uses the new regime — at most 3 passes. With two binary switches
  a book that still flips after 3 passes is caught in a cycle; the most conservative pass
  (fewest new condor contracts) is then kept and the rationale says so.
- **Multipliers** (step 4) apply to the unfloored ``min(n_cap, q_i)`` and the product is
  floored once: ``n_i = floor(min(n_cap, q_i) · Π multipliers)`` (one rounding, not two).
- **Hedge rounding** (step 5): ``h = ceil(max(h_β, h_tail)·(1 + macro))`` — both are
  *minimum* requirements, so the whole-unit count rounds up — then the two caps are applied
  by ``floor``: β after ≥ band low and premium per month ≤ ``premium_cap_monthly·E``, where
  "per month" is ``premium × 30 / tenor_days`` of the hedge's (longest) leg.
- **Hedge beta fallback**: when ``hedge_beta_F`` is NaN, ``β_F`` is the OLS slope of the
  scenario VIX returns (``vix_ratio − 1``) on the SPX returns. Scaling the whole term by the
  VIX ratio scales every modelled ``F_VIX`` by the same ratio, so this is exactly the β of
  the modelled future *under the scenarios used here*; real futures move less than spot,
  so it overstates ``|β_F|`` (fewer beta-hedge units). The rationale says when it is used.
- **Stress** (step 6) is instantaneous (no day of decay), unlike the one-day historical
  scenarios of step 3. The quick ratio uses the worst scenario's total P&L. Liquid assets
  are ``cash + T-bills − hedge premium paid``; condor credit is not counted as liquid (it
  stays with the broker as part of the margin). Margin of a new condor = its max loss
  ``R``; of existing legs = their worst payoff at expiry per (underlying, expiry) group
  (no credit netting: the entry price is not in the portfolio file).
- **Order of steps 5 and 6**: the hedge depends on the condor book (β before, crash loss)
  and the quick ratio on both, so the new condors are scaled along the proportional path
  ``floor(f·proposed)`` (``risk.proportional_path``), from the top: the first book that —
  with the hedge computed for it — meets the quick ratio is kept. Alternating "hedge, then
  scale" stalls: a full ladder's low β forbids the hedge that a smaller ladder would get.
- **Crash limit when the hedge is capped** (SPEC silent): SPEC step 5 sizes ``h_tail`` to hold
  the ``crash`` loss within ``max_drawdown·E`` but caps the hedge at the β band's low and the
  premium budget. When a cap leaves the crash loss above the limit, the same path search
  also cuts the new condors until it fits (the only lever left), and the rationale says so.
  If the holdings and existing legs alone breach the limit, new condors are not cut for it
  (they are not the cause) and the rationale flags the breach.
- **EVA's average capital at risk** (SPEC §6 ``EVA = (IRR − WACC) · average capital at
  risk``; step 7). The proxy is the recommended book's own ``capital_at_risk``: new condor
  max losses × contracts + hedge units × unit premium (the ``capital_at_risk`` column), so
  EVA scales with the book sized here. The trailing average of ``risk.IrrResult`` belongs
  to the positions the IRR came from (the modelled 1-lot ladder, or a fills file) and is
  the same for every portfolio, so it is not used. Existing legs and holdings are not in
  it, as they are not in ``capital_at_risk``. NaN when the IRR is unknown.
- **Existing positions** (portfolio file): part of the book for β, stress and margin. A
  tranche whose expiry already holds an existing condor position gets no new contracts
  (the slot is taken: SPEC §4 "an existing position file can replace the modelled ladder").
  Expired legs are ignored. VIX legs use the hedge tenor's ``β_F``.
- **Monotonicity**: more equity gives at least as many contracts per tranche only while
  the cap/hurdle regime and the quick ratio do not bind differently: the WACC's β term
  falls with equity (holdings fixed), which can switch the cap regime, as the SPEC's rule
  intends.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from schemas.config import LadderParams, Params, Portfolio
from tasks import risk
from tasks.market.chain import Chain, box_rate_for_target, prefer_root
from tasks.market.expiries import nearest_expiry
from tasks.market.frame import MarketContext
from tasks.market.pricing import MULTIPLIER, black76, bsm
from tasks.market.surface import model_vol, vix_future
from tasks.structures import (
    LEG_COLUMNS,
    HedgeUnit,
    IronCondor,
    condor_from_chain,
    hedge_unit,
    iron_condor,
    pnl_by_position,
    revalue_legs,
    tighten_short_strikes,
    vol_of_vol,
    widen_short_delta,
)

FloatArray = NDArray[np.float64]

_DAYS_PER_YEAR = 365.0
_DAYS_PER_MONTH = 30.0  # "per month" of the hedge premium cap (SPEC §7 step 5)
_BOX_TARGET_DAYS = 30  # box rate tenor read from a chain (SPEC §6: ~1 month financing)
_MAX_PASSES = 3  # WACC ↔ post-hedge β fixed point (module notes)
_EPS = 1e-9

#: SPEC §9 ``daily_sizing`` columns, in order.
DAILY_SIZING_COLUMNS: tuple[str, ...] = (
    "as_of",
    "portfolio_id",
    "position_id",
    "kind",
    "expiry",
    "leg",
    "put_call",
    "strike",
    "qty",
    "contracts",
    "spot",
    "rate",
    "div_yield",
    "iv",
    "model_price",
    "delta",
    "pricing_source",
)
#: extra ``daily_sizing`` columns after the SPEC ones.
DAILY_SIZING_EXTRAS: tuple[str, ...] = (
    "underlying",
    "tenor_days",
    "forward",
    "gamma",
    "vega",
    "theta",
)
#: SPEC §9 ``portfolio_risk`` columns, in order.
PORTFOLIO_RISK_COLUMNS: tuple[str, ...] = (
    "as_of",
    "portfolio_id",
    "equity",
    "beta_before",
    "beta_after",
    "risk_free",
    "cost_of_equity",
    "wacc",
    "irr",
    "spread_bps",
    "eva",
    "quick_ratio",
    "stress_crash_pnl",
    "stress_correction_pnl",
    "stress_cpi_shock_pnl",
    "stress_vol_spike_pnl",
    "stress_rally_pnl",
    "rationale",
)
#: extra ``portfolio_risk`` columns after the SPEC ones.
PORTFOLIO_RISK_EXTRAS: tuple[str, ...] = (
    "profile",
    "hurdle_bps",
    "box_rate",
    "box_rate_source",
    "wacc_equity_term",
    "wacc_margin_term",
    "wacc_box_term",
    "collateral_drag",
    "hedge_units",
    "hedge_beta_multiple",
    "condor_contracts",
    "capital_at_risk",
    "cash_flow_multiple",
    "cap_fraction",
)
#: the scenarios with a column of their own in SPEC §9 (others are appended as extras).
SPEC_SCENARIOS: tuple[str, ...] = ("crash", "correction", "cpi_shock", "vol_spike", "rally")
#: one row per recommended position.
POSITIONS_COLUMNS: tuple[str, ...] = (
    "as_of",
    "portfolio_id",
    "position_id",
    "kind",
    "expiry",
    "dte",
    "contracts",
    "n_cap",
    "risk_weight",
    "credit",
    "max_profit",
    "max_loss",
    "breakeven_low",
    "breakeven_high",
    "prob_between_breakevens",
    "dollar_beta",
    "tranche_beta",
    "premium",
    "pricing_source",
)

STALE = "stale"
INSUFFICIENT = "insufficient_history"


# =========================================================================== inputs / outputs


@dataclass
class MarketBook:
    """What a day's sizing prices before any portfolio is looked at (steps 1 and 3's P&L)."""

    chain: Chain | None
    chain_note: str | None
    tranches: list[Tranche]
    legs: pd.DataFrame
    hedge: HedgeUnit
    condor_stress: pd.DataFrame  # (scenario × tranche) USD per contract
    hedge_stress: pd.Series  # per hedge unit
    scenario_pnl: np.ndarray | None  # (historical scenario × tranche) USD per contract
    box_rate: float
    box_source: str


def market_book(inputs: SizingInputs, params: Params, rules: Rules) -> MarketBook:
    """Ladder, hedge unit, stress and historical-scenario P&L of one day (memoised on inputs)."""
    key = params.model_dump_json()
    if key in inputs.cache:
        return inputs.cache[key]
    ctx, pr, hp = inputs.ctx, params.pricing, params.hedge
    chain, note = inputs.chain, None
    if chain is not None and pd.Timestamp(chain.as_of).normalize() != ctx.as_of:
        note = (
            f"chain quoted {pd.Timestamp(chain.as_of).date()} is not of {ctx.as_of.date()}: ignored"
        )
        chain = None
    tranches = build_ladder(ctx, params, rules, chain)
    ids = [t.position_id for t in tranches]
    legs = _stack_legs(tranches)
    hedge = hedge_unit(ctx.as_of, ctx.term, ctx.risk_free, pr, hp, ctx.vvix)
    hedge_id = f"ALVH-{hedge.legs['expiry'].max().date()}"
    spx_r = np.asarray(inputs.spx_returns, float)
    vix_r = np.asarray(inputs.vix_ratios, float)
    scen = (
        tranche_scenario_pnl(ctx, legs, spx_r, vix_r, params)[ids].to_numpy()
        if spx_r.size >= 2 and spx_r.size == vix_r.size
        else None
    )
    box_rate, box_source = float("nan"), "spread"
    if chain is not None:
        box_rate, box_source = box_rate_for_target(chain, _BOX_TARGET_DAYS)[0], "chain"
    if not np.isfinite(box_rate):
        box_rate = risk.box_rate_fallback(ctx.risk_free, params.risk.box_spread)
        box_source = "spread"
    book = MarketBook(
        chain=chain,
        chain_note=note,
        tranches=tranches,
        legs=legs,
        hedge=hedge,
        condor_stress=stress_pnl(ctx, legs, params)[ids],
        hedge_stress=stress_pnl(ctx, hedge.legs.assign(position_id=hedge_id), params)[hedge_id],
        scenario_pnl=scen,
        box_rate=box_rate,
        box_source=box_source,
    )
    inputs.cache[key] = book
    return book


@dataclass
class SizingInputs:
    """Everything the sizing of one ``as_of`` reads (all point-in-time for ``ctx.as_of``).

    ``spx_returns``/``vix_ratios``: the last ``hist_window`` joint daily pairs
    (``risk.joint_scenarios``). ``hedge_beta_F``: rolling β of the hedge tenor's modelled
    ``F_VIX`` returns on SPX (NaN when unknown: see the module notes for the fallback).
    ``irr``: the trailing IRR of the modelled ladder or a fills file (None = unknown).
    ``chain``: a quoted SPX chain of ``as_of`` when one exists.
    """

    ctx: MarketContext
    signals: pd.DataFrame
    spx_returns: np.ndarray
    vix_ratios: np.ndarray
    hedge_beta_F: float
    irr: risk.IrrResult | None
    chain: Chain | None = None
    # portfolio-independent pieces (ladder, hedge unit, scenario and stress P&L), memoised per
    # parameter set so sizing many portfolios on one day prices the market once
    cache: dict[str, MarketBook] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class SizingResult:
    """The day's recommendation: SPEC §9 rows plus one row per position and the rationale."""

    daily_sizing: pd.DataFrame
    portfolio_risk: pd.DataFrame
    positions: pd.DataFrame
    rationale: list[str]


# =========================================================================== signals → rules


@dataclass(frozen=True)
class Rules:
    """Which SPEC §7 rules fire today, read from the signal states (stale fires nothing)."""

    risk_off: bool
    macro: bool  # usd_strength strong and ppi_surprise hot
    fomc_event: bool
    fomc_sessions: float
    risk_rules: tuple[str, ...]  # the risk_state rules that fired (from its params)
    notes: tuple[str, ...]  # stale / missing signals, in words


def _signal_row(signals: pd.DataFrame, name: str) -> pd.Series | None:
    if signals is None or signals.empty or "signal" not in signals.columns:
        return None
    rows = signals[signals["signal"] == name]
    return None if rows.empty else rows.iloc[-1]


def _newest(row: pd.Series) -> str:
    d = row.get("input_date") if hasattr(row, "get") else None
    if d is None or pd.isna(d):
        return "unknown"
    return str(pd.Timestamp(d).date())


def read_rules(signals: pd.DataFrame) -> Rules:
    """The rule switches of SPEC §7 steps 1, 4 and 5 from the ``signal_states`` rows of ``as_of``.

    A signal whose state is ``stale`` (or ``insufficient_history``, or absent) fires no
    rule; a note names it and its newest input date so the rationale can say so.
    """
    notes: list[str] = []

    def state(name: str, rule: str) -> str | None:
        row = _signal_row(signals, name)
        if row is None:
            notes.append(f"{name} not available: {rule} not applied")
            return None
        st = str(row["state"])
        if st == STALE:
            notes.append(f"{name} is stale (newest {_newest(row)}): {rule} not applied")
            return None
        if st == INSUFFICIENT:
            notes.append(f"{name} has insufficient history: {rule} not applied")
            return None
        return st

    rs = state("risk_state", "risk-off rule")
    risk_rules: tuple[str, ...] = ()
    row = _signal_row(signals, "risk_state")
    if row is not None and isinstance(row.get("params"), str):
        try:
            p = json.loads(row["params"])
        except ValueError:
            p = {}
        risk_rules = tuple(p.get("rules", ()))
        for kind in ("stale", "insufficient"):
            if p.get(kind):
                notes.append(
                    f"risk_state inputs {kind}: {', '.join(p[kind])} (they fired no risk rule)"
                )
    usd = state("usd_strength", "macro rule")
    ppi = state("ppi_surprise", "macro rule")
    fomc = state("fomc_window", "FOMC rule")
    fomc_row = _signal_row(signals, "fomc_window")
    fomc_sessions = float(fomc_row["value"]) if fomc_row is not None else float("nan")
    return Rules(
        risk_off=rs == "risk_off",
        macro=usd == "strong" and ppi == "hot",
        fomc_event=fomc == "event",
        fomc_sessions=fomc_sessions,
        risk_rules=risk_rules,
        notes=tuple(notes),
    )


# =========================================================================== step 1: ladder


@dataclass(frozen=True)
class Tranche:
    """One condor tranche of the ladder with its id and the target it was built for."""

    position_id: str
    target_dte: int
    condor: IronCondor


def _listed_expiries(chain: Chain) -> pd.DatetimeIndex:
    q = prefer_root(chain.quotes)
    q = q[(q["bid"] > 0) & (q["ask"] >= q["bid"])]
    exp = pd.DatetimeIndex(q["expiry"].unique()).sort_values()
    return exp[exp > chain.as_of]


def build_ladder(
    ctx: MarketContext, params: Params, rules: Rules, chain: Chain | None = None
) -> list[Tranche]:
    """The condor tranches of SPEC §7 step 1 (and §3.3 for the chain/model choice).

    For each of the first ``n_tranches`` target DTEs: the SPX weekly expiry nearest it
    (modelled), or — with a chain of ``as_of`` — the listed expiry nearest the target when
    one lies within ``±chain_match_days`` (priced from the chain). Short delta δ; × the
    risk-off multiplier when ``rules.risk_off``; tightened by ``macro_tighten_delta`` within
    the net-delta tolerance when ``rules.macro``.
    """
    lad, pr, sz = params.ladder, params.pricing, params.sizing
    r, q, mrp = ctx.risk_free, pr.div_yield, params.risk.mrp
    delta = lad.short_delta
    if rules.risk_off:
        delta = widen_short_delta(delta, sz.risk_off_delta_mult)
    listed = _listed_expiries(chain) if chain is not None else pd.DatetimeIndex([])
    tranches: list[Tranche] = []
    for i, dte in enumerate(lad.target_dtes[: lad.n_tranches], start=1):  # 3–5 tranches
        target = ctx.as_of + pd.Timedelta(days=int(dte))
        build = None
        if len(listed):
            gap = np.abs(np.asarray((listed - target).days))
            j = int(np.argmin(gap))
            if gap[j] <= pr.chain_match_days:
                assert chain is not None
                build = partial(_chain_build, chain, listed[j], r, q, lad, mrp)
        if build is None:
            expiry = nearest_expiry(ctx.as_of, int(dte))
            build = partial(_model_build, ctx, expiry, r, q, params)
        if rules.macro:
            condor = tighten_short_strikes(
                build, delta, sz.macro_tighten_delta, sz.net_delta_tolerance
            )
        else:
            condor = build(delta, delta)
        pid = f"IC{i}-{condor.expiry.date()}"
        tranches.append(Tranche(pid, int(dte), condor))
    return tranches


def _model_build(
    ctx: MarketContext,
    expiry: pd.Timestamp,
    r: float,
    q: float,
    params: Params,
    dp: float,
    dc: float,
) -> IronCondor:
    return iron_condor(
        ctx.as_of,
        expiry,
        ctx.spot,
        r,
        q,
        ctx.term,
        params.pricing,
        params.ladder,
        params.risk.mrp,
        short_put_delta=dp,
        short_call_delta=dc,
    )


def _chain_build(
    chain: Chain,
    expiry: pd.Timestamp,
    r: float,
    q: float,
    lad: LadderParams,
    mrp: float,
    dp: float,
    dc: float,
) -> IronCondor:
    return condor_from_chain(chain, expiry, r, q, lad, mrp, short_put_delta=dp, short_call_delta=dc)


def _stack_legs(tranches: list[Tranche]) -> pd.DataFrame:
    return pd.concat(
        [t.condor.legs.assign(position_id=t.position_id) for t in tranches], ignore_index=True
    )


# =========================================================================== step 2: cap


def cap_fraction(wacc: float, params: Params) -> float:
    """Per-tranche cap (fraction of equity as max loss): ``cap_high`` when WACC > ``wacc_high``."""
    sz = params.sizing
    return sz.cap_high if wacc > sz.wacc_high else sz.cap_base


def n_cap(cap: float, equity: float, max_loss: np.ndarray) -> np.ndarray:
    """``n_cap = floor(cap·E / R)`` per tranche (0 where ``R`` is not positive)."""
    R = np.asarray(max_loss, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        n = np.where(R > 0, np.floor(cap * equity / np.where(R > 0, R, 1.0) + _EPS), 0.0)
    return n.astype(np.int64)


# =========================================================================== step 3: scenarios


def tranche_scenario_pnl(
    ctx: MarketContext,
    legs: pd.DataFrame,
    spx_returns: np.ndarray,
    vix_ratios: np.ndarray,
    params: Params,
) -> pd.DataFrame:
    """Per-contract one-day P&L of every tranche under the joint historical scenarios (step 3).

    Scenario ``s``: SPX at ``S·(1 + r_spx[s])``, the whole VIX term × ``vix_ratio[s]``, one
    calendar day of decay, full revaluation (``structures.revalue_legs``).

    Returns
    -------
    DataFrame (n_scenarios, n_tranches), columns = position ids.
    """
    S = ctx.spot * (1.0 + np.asarray(spx_returns, float))
    term = ctx.term.scaled(np.asarray(vix_ratios, float))
    pnl = revalue_legs(
        legs,
        ctx.as_of,
        ctx.spot,
        ctx.term,
        ctx.risk_free,
        params.pricing.div_yield,
        S,
        term,
        ctx.risk_free,
        params.pricing,
        days_ahead=1,
    )
    return pnl_by_position(legs, pnl)


# =========================================================================== step 4: multipliers


def contract_multiplier(
    below_hurdle: bool, rules: Rules, params: Params
) -> tuple[float, list[str]]:
    """Product of the step-4 multipliers that fire and their names."""
    sz = params.sizing
    mult, fired = 1.0, []
    if below_hurdle:
        mult *= sz.hurdle_mult
        fired.append("hurdle")
    if rules.fomc_event:
        mult *= sz.fomc_mult
        fired.append("fomc")
    if rules.risk_off:
        mult *= sz.risk_off_mult
        fired.append("risk_off")
    return mult, fired


# =========================================================================== step 5: hedge


@dataclass(frozen=True)
class HedgeDecision:
    """The hedge units for a given condor book (SPEC §7 step 5) and how they were reached."""

    units: int
    beta_before: float
    beta_after: float
    h_beta: float  # continuous beta-hedge units
    h_tail: float  # continuous tail-hedge units (inf when the hedge cannot cover the crash)
    h_target: int  # ceil(max(h_β, h_tail)·(1 + macro)) before the caps
    cap_beta: float  # most units keeping β after ≥ band low (inf when no bound)
    cap_premium: float  # most units within the monthly premium budget
    crash_pnl_unhedged: float


def hedge_units(
    beta_before: float,
    equity: float,
    dollar_beta_unit: float,
    crash_pnl_unhedged: float | None,
    crash_gain_unit: float | None,
    premium_usd: float,
    tenor_days: int,
    macro: bool,
    params: Params,
) -> HedgeDecision:
    """ALVH hedge units (SPEC §7 step 5).

    ``h_β = φ·max(0, β_p − β_mid)·E / |dollar beta per unit|``; ``h_tail`` = fewest units
    so that ``crash P&L ≥ −max_drawdown·E``; ``h = ceil(max(h_β, h_tail)·(1 + macro_scale
    if macro))``; capped (``floor``) so that β after ≥ ``beta_band_low`` and
    ``h·premium·30/tenor_days ≤ premium_cap_monthly·E``.

    Parameters
    ----------
    beta_before : β_p of the book without the hedge.
    dollar_beta_unit : dollar beta of one hedge unit (normally negative).
    crash_pnl_unhedged, crash_gain_unit : the book's P&L in the ``crash`` scenario and one
        unit's P&L there (None when the scenario is not configured: no tail hedge).
    premium_usd : one unit's premium in dollars; ``tenor_days`` its (longest) tenor.
    """
    hp, sz = params.hedge, params.sizing
    beta_mid = 0.5 * (hp.beta_band_low + hp.beta_band_high)
    abs_db = abs(dollar_beta_unit)
    h_beta = (
        hp.phi * max(0.0, beta_before - beta_mid) * equity / abs_db
        if abs_db > 0 and np.isfinite(abs_db)
        else 0.0
    )
    h_tail = 0.0
    if crash_pnl_unhedged is not None and crash_gain_unit is not None:
        shortfall = -sz.max_drawdown * equity - crash_pnl_unhedged
        if shortfall > 0:
            h_tail = shortfall / crash_gain_unit if crash_gain_unit > 0 else math.inf
    h = max(h_beta, h_tail)
    if macro:
        h *= 1.0 + hp.macro_scale
    h_target = math.inf if not np.isfinite(h) else math.ceil(h - _EPS)
    if dollar_beta_unit < 0:
        cap_beta = max(0.0, math.floor((beta_before - hp.beta_band_low) * equity / abs_db + _EPS))
    else:
        cap_beta = math.inf
    monthly = premium_usd * _DAYS_PER_MONTH / max(tenor_days, 1)
    cap_premium = (
        float(math.floor(hp.premium_cap_monthly * equity / monthly + _EPS))
        if monthly > 0
        else math.inf
    )
    units = min(h_target, cap_beta, cap_premium)
    units = 0 if not np.isfinite(units) else int(max(units, 0))
    return HedgeDecision(
        units=units,
        beta_before=beta_before,
        beta_after=beta_before + units * dollar_beta_unit / equity,
        h_beta=h_beta,
        h_tail=h_tail,
        h_target=int(h_target) if np.isfinite(h_target) else -1,
        cap_beta=cap_beta,
        cap_premium=cap_premium,
        crash_pnl_unhedged=float("nan") if crash_pnl_unhedged is None else crash_pnl_unhedged,
    )


def fallback_hedge_beta(spx_returns: np.ndarray, vix_ratios: np.ndarray) -> float:
    """β_F fallback: OLS slope of ``vix_ratio − 1`` on the SPX returns (module notes)."""
    x = np.asarray(spx_returns, float)
    y = np.asarray(vix_ratios, float) - 1.0
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 2 or np.var(x) == 0:
        return float("nan")
    xc = x - x.mean()
    return float((xc * (y - y.mean())).sum() / (xc * xc).sum())


# =========================================================================== step 6: stress


def stress_pnl(
    ctx: MarketContext, legs: pd.DataFrame, params: Params, key: str = "position_id"
) -> pd.DataFrame:
    """P&L (USD, per structure unit for ``qty`` per unit) of every position in every stress
    scenario of ``SizingParams.scenarios``: SPX × (1 + spx_return), the whole term ×
    vix_mult, rate + rate_shift, instantaneous (no decay). Rows = scenario names."""
    names = list(params.sizing.scenarios)
    if legs.empty or not names:
        return pd.DataFrame(index=pd.Index(names, name="scenario"))
    sc = params.sizing.scenarios
    spx = np.array([sc[n].spx_return for n in names])
    mult = np.array([sc[n].vix_mult for n in names])
    shift = np.array([sc[n].rate_shift for n in names])
    pnl = revalue_legs(
        legs,
        ctx.as_of,
        ctx.spot,
        ctx.term,
        ctx.risk_free,
        params.pricing.div_yield,
        ctx.spot * (1.0 + spx),
        ctx.term.scaled(mult),
        ctx.risk_free + shift,
        params.pricing,
        days_ahead=0,
    )
    out = pnl_by_position(legs, pnl, key)
    out.index = pd.Index(names, name="scenario")
    return out


# =========================================================================== existing book


def existing_legs(
    portfolio: Portfolio, ctx: MarketContext, params: Params, vov: float
) -> tuple[pd.DataFrame, list[str]]:
    """The portfolio file's open legs as a leg frame (``qty`` = the signed contracts held).

    Priced on the model (BSM with the skewed vol for SPX, Black-76 on ``F_VIX`` for VIX), so
    their deltas feed the dollar betas and :func:`stress_pnl` can revalue them. Legs expiring
    on or before ``as_of`` are dropped with a note.
    """
    notes: list[str] = []
    if not portfolio.positions:
        return pd.DataFrame(columns=[*LEG_COLUMNS, "position_id"]), notes
    pr = params.pricing
    raw = pd.DataFrame([p.model_dump() for p in portfolio.positions])
    raw["expiry"] = pd.to_datetime(raw["expiry"]).astype("datetime64[ns]")
    expired = raw["expiry"] <= ctx.as_of
    if expired.any():
        ids = ", ".join(sorted(set(raw.loc[expired, "position_id"])))
        notes.append(f"existing legs expired on or before {ctx.as_of.date()} ignored: {ids}")
    raw = raw[~expired].reset_index(drop=True)
    if raw.empty:
        return pd.DataFrame(columns=[*LEG_COLUMNS, "position_id"]), notes
    tenor = np.asarray((pd.DatetimeIndex(raw["expiry"]) - ctx.as_of).days, dtype=float)
    T = tenor / _DAYS_PER_YEAR
    K = raw["strike"].to_numpy(float)
    is_call = (raw["put_call"] == "C").to_numpy()
    is_spx = (raw["underlying"] == "SPX").to_numpy()
    r, q = ctx.risk_free, pr.div_yield
    iv = np.full(len(raw), vov)
    F = vix_future(T, ctx.term, pr.convexity_vol)
    price = np.zeros(len(raw))
    delta = np.zeros(len(raw))
    if is_spx.any():
        i = is_spx
        iv[i] = model_vol(
            K[i],
            ctx.spot,
            T[i],
            r,
            q,
            ctx.term,
            pr.atm_ratio,
            pr.put_slope,
            pr.call_slope,
            pr.vol_floor,
        )
        g = bsm(ctx.spot, K[i], T[i], r, q, iv[i], is_call[i])
        assert g.delta is not None
        price[i], delta[i] = g.price, g.delta
        F = np.where(i, ctx.spot * np.exp((r - q) * T), F)
    if (~is_spx).any():
        i = ~is_spx
        b = black76(F[i], K[i], T[i], r, vov, is_call[i])
        price[i], delta[i] = b.price, b.delta
    legs = pd.DataFrame(
        {
            "kind": raw["kind"],
            "underlying": raw["underlying"],
            "expiry": raw["expiry"],
            "tenor_days": tenor.astype(int),
            "leg": raw["put_call"] + raw["strike"].map(lambda k: f"{k:g}"),
            "put_call": raw["put_call"],
            "strike": K,
            "qty": raw["qty"].astype(float),
            "iv": iv,
            "F": F,
            "model_price": price,
            "delta": delta,
            "gamma": np.nan,
            "vega": np.nan,
            "theta": np.nan,
            "pricing_source": "model",
            "position_id": raw["position_id"],
        }
    )
    return legs, notes


def expiry_margin(legs: pd.DataFrame) -> float:
    """Margin of existing legs: Σ over (underlying, expiry) of the worst payoff at expiry.

    The payoff ``100·Σ qty·intrinsic(X)`` is piecewise linear in the settlement X, so its
    minimum over ``X ≥ 0`` is at 0, a strike, or — when it still falls beyond the highest
    strike (net short calls) — unbounded; there it is taken at twice the highest strike.
    """
    if legs.empty:
        return 0.0
    total = 0.0
    for _, g in legs.groupby(["underlying", "expiry"]):  # a handful of groups
        K = g["strike"].to_numpy(float)
        X = np.concatenate([[0.0], K, [2.0 * K.max()]])[:, None]
        is_call = (g["put_call"] == "C").to_numpy()
        intrinsic = np.where(is_call, np.maximum(X - K, 0.0), np.maximum(K - X, 0.0))
        payoff = MULTIPLIER * (intrinsic * g["qty"].to_numpy(float)).sum(axis=1)
        total += max(0.0, -float(payoff.min()))
    return total


# =========================================================================== the passes


@dataclass
class _Book:
    """What one pass decided."""

    regime: tuple[bool, bool]  # (WACC above wacc_high, below hurdle) assumed by the pass
    cap: float
    n_cap: np.ndarray
    pre_mult: np.ndarray  # min(n_cap, q) (unfloored)
    proposed: np.ndarray  # floor(pre_mult · multiplier), 0 where the slot is taken
    contracts: np.ndarray
    multiplier: float
    fired: list[str]
    hedge: HedgeDecision
    scaled: bool
    feasible: bool
    quick_ratio: float
    stress_total: pd.Series
    beta_after: float
    wacc: risk.WaccBreakdown
    spread: float
    notes: list[str] = field(default_factory=list)
    crash_scaled: bool = False  # new condors cut to keep the crash loss within max drawdown

    def regime_after(self, params: Params) -> tuple[bool, bool]:
        return (
            self.wacc.wacc > params.sizing.wacc_high,
            not (self.spread >= params.risk.hurdle_bps),
        )


def size_portfolio(inputs: SizingInputs, portfolio: Portfolio) -> SizingResult:
    """Size one portfolio for ``inputs.ctx.as_of`` (SPEC §7 steps 1–7).

    Returns the ``daily_sizing`` rows (one per leg of every recommended position, zero-contract
    tranches included), the one-row ``portfolio_risk`` frame, one row per position, and the
    rationale. The module docstring lists the choices made where the SPEC is silent.
    """
    ctx, params = inputs.ctx, portfolio.params
    sz, hp, rk, pr = params.sizing, params.hedge, params.risk, params.pricing
    E = float(portfolio.equity)
    rf = ctx.risk_free
    q_div = pr.div_yield
    rationale: list[str] = []

    # ---- signals → rules
    rules = read_rules(inputs.signals)
    rationale.extend(rules.notes)

    mb = market_book(inputs, params, rules)
    chain = mb.chain
    if mb.chain_note:
        rationale.append(mb.chain_note)

    # ---- step 1: ladder
    tranches = mb.tranches
    ids = [t.position_id for t in tranches]
    condors = [t.condor for t in tranches]
    legs = mb.legs
    R = np.array([c.max_loss for c in condors])
    base_delta = params.ladder.short_delta
    if rules.risk_off:
        why = ", ".join(rules.risk_rules) or "risk_state"
        rationale.append(
            f"risk_state risk_off ({why}): short delta {base_delta:.2f} → "
            f"{widen_short_delta(base_delta, sz.risk_off_delta_mult):.3f}; "
            f"new contracts × {sz.risk_off_mult:g}"
        )
    if rules.macro:
        rationale.append(
            f"usd_strength strong and ppi_surprise hot: short strikes tightened by "
            f"{sz.macro_tighten_delta:g} delta keeping net delta within ±{sz.net_delta_tolerance:g}"
            f" where a candidate does (largest |net delta| now "
            f"{max(abs(c.net_delta) for c in condors):.3f}); hedge × {1 + hp.macro_scale:g}"
        )
    n_chain = sum(c.pricing_source == "chain" for c in condors)
    if chain is not None:
        rationale.append(
            f"{n_chain} of {len(condors)} tranches priced from the {chain.as_of.date()} chain "
            f"(listed expiry within ±{pr.chain_match_days} days), the others modelled"
        )

    # ---- existing book, holdings and the hedge unit
    vov = vol_of_vol(ctx.vvix, pr)
    old_legs, notes = existing_legs(portfolio, ctx, params, vov)
    rationale.extend(notes)
    taken = set(old_legs.loc[old_legs["kind"] == "condor", "expiry"]) if len(old_legs) else set()
    slot_taken = np.array([c.expiry in taken for c in condors])
    for pid, tk in zip(ids, slot_taken, strict=True):
        if tk:
            rationale.append(f"{pid}: slot held by an existing condor position: no new contracts")

    beta_F = float(inputs.hedge_beta_F)
    if not np.isfinite(beta_F):
        beta_F = fallback_hedge_beta(inputs.spx_returns, inputs.vix_ratios)
        rationale.append(
            f"hedge tenor β_F unknown: using the scenario VIX-on-SPX beta {beta_F:.2f} instead"
        )
    if not np.isfinite(beta_F):
        beta_F = 0.0
        rationale.append("no β_F estimate at all: hedge dollar beta taken as 0 (no beta hedge)")

    hedge = mb.hedge
    hedge_id = f"ALVH-{hedge.legs['expiry'].max().date()}"
    hedge_legs = hedge.legs.assign(position_id=hedge_id)
    hedge_tenor = int(hedge.legs["tenor_days"].max())
    db_unit = float(
        np.sum(
            risk.vix_leg_dollar_beta(
                hedge.legs["delta"], hedge.legs["F"], beta_F, hedge.legs["qty"]
            )
        )
    )

    def leg_dollar_betas(frame: pd.DataFrame) -> np.ndarray:
        spx = (frame["underlying"] == "SPX").to_numpy()
        d, qty = frame["delta"].to_numpy(float), frame["qty"].to_numpy(float)
        return np.where(
            spx,
            risk.spx_leg_dollar_beta(d, ctx.spot, qty),
            risk.vix_leg_dollar_beta(d, frame["F"].to_numpy(float), beta_F, qty),
        )

    db_condor = pnl_by_position(legs, leg_dollar_betas(legs)[None, :]).iloc[0].to_numpy()
    holdings_db = sum(h.beta * h.value for h in portfolio.holdings)
    old_db = float(leg_dollar_betas(old_legs).sum()) if len(old_legs) else 0.0
    base_db = holdings_db + old_db

    # stress of every piece, per unit (condors per contract, hedge per unit, the rest as held)
    scen_names = list(sz.scenarios)
    spx_shock = pd.Series({n: sz.scenarios[n].spx_return for n in scen_names}, dtype=float)
    condor_stress = mb.condor_stress  # (n_scen, n_tranches)
    hedge_stress = mb.hedge_stress
    old_stress = (
        stress_pnl(ctx, old_legs, params).sum(axis=1)
        if len(old_legs)
        else pd.Series(0.0, index=scen_names)
    )
    holdings_stress = holdings_db * spx_shock
    base_stress = (old_stress + holdings_stress).reindex(scen_names).astype(float)
    old_margin = expiry_margin(old_legs)
    has_crash = "crash" in sz.scenarios
    if not has_crash:
        rationale.append("no 'crash' scenario configured: no tail hedge")

    # ---- step 3: risk-inverse weights (independent of the cap regime)
    if mb.scenario_pnl is not None:
        cov = risk.scenario_covariance(mb.scenario_pnl)
        sigma = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        q_w = risk.risk_inverse_weights(sigma, cov, sz.target_vol * E)
    else:
        sigma = np.full(len(ids), np.nan)
        q_w = np.zeros(len(ids))
        rationale.append(
            f"only {np.size(inputs.spx_returns)} joint SPX/VIX scenarios: no risk-inverse "
            "sizing (0 contracts)"
        )

    # ---- WACC pieces that do not depend on the sizing
    box_rate, box_source = mb.box_rate, mb.box_source
    t_1256 = risk.section_1256_rate(rk.t_ltcg, rk.t_ord)
    V = E + portfolio.margin_debt + portfolio.box_debt
    drag = risk.collateral_drag(portfolio.idle_collateral, V, rf, rk.r_sweep)
    irr = float(inputs.irr.irr) if inputs.irr is not None else float("nan")

    def wacc_at(beta: float) -> risk.WaccBreakdown:
        r_e = risk.cost_of_equity(rf, beta, rk.mrp)
        return risk.wacc(
            E,
            portfolio.margin_debt,
            portfolio.margin_rate,
            portfolio.box_debt,
            box_rate,
            r_e,
            rk.t_ord,
            t_1256,
            drag,
        )

    def spread_at(w: float) -> float:
        return risk.spread_bps(irr, w) if np.isfinite(irr) else float("nan")

    def hedge_for(n: np.ndarray) -> HedgeDecision:
        beta_before = (base_db + float(n @ db_condor)) / E
        crash_unhedged = (
            float(base_stress["crash"] + n @ condor_stress.loc["crash"].to_numpy())
            if has_crash
            else None
        )
        gain = float(hedge_stress["crash"]) if has_crash else None
        return hedge_units(
            beta_before,
            E,
            db_unit,
            crash_unhedged,
            gain,
            hedge.premium_usd,
            hedge_tenor,
            rules.macro,
            params,
        )

    stress_matrix = condor_stress.to_numpy()

    def book_at(n: np.ndarray) -> tuple[HedgeDecision, pd.Series, float]:
        """The hedge, total stress P&L and quick ratio of the book with ``n`` new condors."""
        hd = hedge_for(n)
        total = base_stress + hd.units * hedge_stress + stress_matrix @ n
        qr = float(
            risk.quick_ratio(
                portfolio.cash - hd.units * hedge.premium_usd,
                portfolio.tbills,
                old_margin + float(n @ R),
                float(total.min()) if len(total) else 0.0,
            )
        )
        return hd, total, qr

    def _breaches_crash(total: pd.Series) -> bool:
        return bool(total["crash"] < -sz.max_drawdown * E - 1e-6)

    def one_pass(regime: tuple[bool, bool]) -> _Book:
        cap = sz.cap_high if regime[0] else sz.cap_base
        ncap = n_cap(cap, E, R)
        pre = np.minimum(ncap.astype(float), q_w)
        mult, fired = contract_multiplier(regime[1], rules, params)
        proposed = np.floor(pre * mult + _EPS).astype(np.int64)
        proposed[slot_taken] = 0
        # steps 5-6 together: walk the proportional path floor(f·proposed) from the top and
        # keep the largest book that, with the hedge computed for *it*, meets the quick ratio
        # and (when the hedge is capped) the crash limit. Hedge and limits depend on the book,
        # so the whole path is checked rather than alternating scalings, which can stall at
        # a poor book (a big ladder's low β forbids the hedge that a smaller one would get).
        zero = np.zeros_like(proposed)
        hd, total, qr = book_at(zero)
        crash_rule = has_crash and not _breaches_crash(total)
        n, reason = zero, None
        for cand in risk.proportional_path(proposed)[::-1]:
            hd_c, total_c, qr_c = book_at(cand)
            why = (
                "quick_ratio"
                if qr_c < sz.quick_ratio_min
                else ("crash" if crash_rule and _breaches_crash(total_c) else None)
            )
            if why is None:
                n, hd, total, qr = cand, hd_c, total_c, qr_c
                break
            reason = reason or why
        scaled = bool(n.sum() < proposed.sum())
        feasible = qr >= sz.quick_ratio_min
        crash_scaled = scaled and reason == "crash"
        beta_after = hd.beta_after
        w = wacc_at(beta_after)
        return _Book(
            regime=regime,
            cap=cap,
            n_cap=ncap,
            pre_mult=pre,
            proposed=proposed,
            contracts=n,
            multiplier=mult,
            fired=fired,
            hedge=hd,
            scaled=scaled,
            feasible=feasible,
            quick_ratio=qr,
            stress_total=total,
            beta_after=beta_after,
            wacc=w,
            spread=spread_at(w.wacc),
            crash_scaled=crash_scaled,
        )

    # ---- step 2 fixed point: regime from the existing book's β, then the post-hedge β
    beta0 = base_db / E
    w0 = wacc_at(beta0)
    regime = (w0.wacc > sz.wacc_high, not (spread_at(w0.wacc) >= rk.hurdle_bps))
    books: list[_Book] = []
    for _ in range(_MAX_PASSES):
        book = one_pass(regime)
        books.append(book)
        if book.regime_after(params) == regime:
            break
        regime = book.regime_after(params)
    converged = books[-1].regime_after(params) == books[-1].regime
    if converged:
        book = books[-1]
    else:
        book = min(books, key=lambda b: int(b.contracts.sum()))
    if len(books) > 1:
        rationale.append(
            f"cap/hurdle regime depends on the post-hedge β: {len(books)} passes, "
            + ("settled" if converged else "no fixed point, the most conservative pass kept")
        )

    # ---- rationale of steps 2–6
    w = book.wacc
    rationale.append(
        f"WACC {w.wacc:.2%} {'>' if book.regime[0] else '≤'} {sz.wacc_high:.1%}: "
        f"per-tranche cap {book.cap:.0%} of equity"
    )
    rationale.append(w.describe())
    if np.isfinite(irr):
        cmp = "<" if book.regime[1] else "≥"
        rationale.append(
            f"IRR {irr:.1%} vs WACC {w.wacc:.2%}: spread {book.spread:.0f} bp {cmp} hurdle "
            f"{rk.hurdle_bps:.0f} bp"
            + (f": new contracts × {sz.hurdle_mult:g}" if book.regime[1] else "")
        )
    else:
        why = inputs.irr.note if inputs.irr is not None and inputs.irr.note else "no IRR given"
        rationale.append(
            f"IRR unknown ({why}): treated as below the {rk.hurdle_bps:.0f} bp hurdle: "
            f"new contracts × {sz.hurdle_mult:g}"
        )
    if rules.fomc_event:
        rationale.append(
            f"FOMC decision in {rules.fomc_sessions:.0f} sessions: new contracts × {sz.fomc_mult:g}"
        )
    for i, pid in enumerate(ids):
        if book.contracts[i] == 0 and not slot_taken[i]:
            if book.n_cap[i] == 0:
                why = f"max loss ${R[i]:,.0f} above the cap ${book.cap * E:,.0f}"
            elif q_w[i] < 1:
                why = f"risk-inverse weight {q_w[i]:.2f} below one contract"
            elif book.proposed[i] == 0:
                why = f"{book.pre_mult[i]:.2f} × multiplier {book.multiplier:g} below one contract"
            else:
                why = "scaled away by the quick-ratio rule"
            rationale.append(f"{pid}: 0 contracts ({why})")
    hd = book.hedge
    hedge_text = (
        f"ALVH {hedge.kind} {hedge_id}: β {hd.beta_before:.2f} → {hd.beta_after:.2f}; "
        f"h_β {hd.h_beta:.1f}, h_tail {hd.h_tail:.1f} → {hd.units} units at "
        f"${hedge.premium_usd:,.0f} (|β_F| {abs(beta_F):.2f})"
    )
    if hd.h_target < 0 or hd.units < hd.h_target:
        binding = "β band low" if hd.cap_beta <= hd.cap_premium else "monthly premium budget"
        hedge_text += f"; capped by the {binding}"
    rationale.append(hedge_text)
    if has_crash:
        crash = float(book.stress_total["crash"])
        if crash < -sz.max_drawdown * E - 1e-6:
            rationale.append(
                f"crash loss ${-crash:,.0f} exceeds max drawdown ${sz.max_drawdown * E:,.0f} "
                "even with no new condors (the existing book and holdings): hedge capped"
            )
        elif book.crash_scaled:
            rationale.append(
                f"crash limit: new condors cut {book.proposed.sum()} → {book.contracts.sum()} "
                f"contracts — a larger ladder's β leaves too little room under the β band for "
                f"the tail hedge, and its crash loss would exceed max drawdown "
                f"${sz.max_drawdown * E:,.0f} (now ${-crash:,.0f})"
            )
    if not book.feasible:
        rationale.append(
            f"book infeasible: quick ratio {book.quick_ratio:.2f} < {sz.quick_ratio_min:g} even "
            "with no new condors: 0 new contracts"
        )
    elif book.scaled and not book.crash_scaled and book.proposed.sum() > 0:
        rationale.append(
            f"new condors scaled {book.proposed.sum()} → {book.contracts.sum()} contracts to keep "
            f"the quick ratio ≥ {sz.quick_ratio_min:g} (now {book.quick_ratio:.2f})"
        )
    else:
        rationale.append(f"quick ratio {book.quick_ratio:.2f} ≥ {sz.quick_ratio_min:g}")

    # ---- step 7: outputs
    n = book.contracts
    credit_usd = np.array([c.max_profit for c in condors])
    capital_at_risk = float(n @ R) + hd.units * hedge.premium_usd
    tenors = np.array([max(c.tenor_days, 1) for c in condors], dtype=float)
    annual_credit = float((n * credit_usd * _DAYS_PER_YEAR / tenors).sum())
    cfm = risk.cash_flow_multiple(capital_at_risk, annual_credit)
    # SPEC §6 EVA on *this* book's capital at risk (module notes: the average-capital proxy),
    # not the modelled 1-lot ladder's, so EVA scales with the recommendation
    eva_value = risk.eva(irr, w.wacc, capital_at_risk) if np.isfinite(irr) else float("nan")

    as_of = ctx.as_of
    pid_ = portfolio.portfolio_id
    daily = _daily_sizing_rows(as_of, pid_, ctx, params, tranches, n, hedge_legs, hd.units, q_div)
    positions = _positions_rows(
        as_of,
        pid_,
        tranches,
        n,
        book.n_cap,
        q_w,
        db_condor,
        hedge,
        hedge_id,
        hedge_tenor,
        hd.units,
        db_unit,
    )
    row: dict[str, object] = {
        "as_of": as_of,
        "portfolio_id": pid_,
        "equity": E,
        "beta_before": hd.beta_before,
        "beta_after": hd.beta_after,
        "risk_free": rf,
        "cost_of_equity": w.r_E,
        "wacc": w.wacc,
        "irr": irr,
        "spread_bps": book.spread,
        "eva": eva_value,
        "quick_ratio": book.quick_ratio,
    }
    for name in SPEC_SCENARIOS:
        row[f"stress_{name}_pnl"] = float(book.stress_total.get(name, np.nan))
    row["rationale"] = "; ".join(rationale)
    row.update(
        {
            "profile": portfolio.profile,
            "hurdle_bps": rk.hurdle_bps,
            "box_rate": box_rate,
            "box_rate_source": box_source,
            "wacc_equity_term": w.equity_term,
            "wacc_margin_term": w.margin_term,
            "wacc_box_term": w.box_term,
            "collateral_drag": w.drag,
            "hedge_units": hd.units,
            "hedge_beta_multiple": abs(beta_F),
            "condor_contracts": int(n.sum()),
            "capital_at_risk": capital_at_risk,
            "cash_flow_multiple": cfm,
            "cap_fraction": book.cap,
        }
    )
    for name in scen_names:
        if name not in SPEC_SCENARIOS:
            row[f"stress_{name}_pnl"] = float(book.stress_total[name])
    prisk = pd.DataFrame([row])
    prisk["as_of"] = prisk["as_of"].astype("datetime64[ns]")
    return SizingResult(daily, prisk, positions, rationale)


# =========================================================================== output frames


def _daily_sizing_rows(
    as_of: pd.Timestamp,
    portfolio_id: str,
    ctx: MarketContext,
    params: Params,
    tranches: list[Tranche],
    contracts: np.ndarray,
    hedge_legs: pd.DataFrame,
    hedge_units_: int,
    q_div: float,
) -> pd.DataFrame:
    """One row per leg of every recommended position (SPEC §9 columns, then extras).

    ``spot`` is the underlying's close (SPX for condor legs, the VIX index for hedge legs),
    ``forward`` the price the option is valued on (SPX forward / modelled ``F_VIX``);
    ``div_yield`` is NaN for VIX legs (Black-76 on a future has none).
    """
    parts = []
    for t, n in zip(tranches, contracts, strict=True):
        parts.append(
            t.condor.legs.assign(position_id=t.position_id, contracts=int(n), spot=ctx.spot)
        )
    parts.append(hedge_legs.assign(contracts=int(hedge_units_), spot=float(ctx.term.vix)))
    legs = pd.concat(parts, ignore_index=True)
    is_spx = (legs["underlying"] == "SPX").to_numpy()
    out = pd.DataFrame(
        {
            "as_of": as_of,
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
            "div_yield": np.where(is_spx, q_div, np.nan),
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


def _positions_rows(
    as_of: pd.Timestamp,
    portfolio_id: str,
    tranches: list[Tranche],
    contracts: np.ndarray,
    ncap: np.ndarray,
    q_w: np.ndarray,
    db_condor: np.ndarray,
    hedge: HedgeUnit,
    hedge_id: str,
    hedge_tenor: int,
    units: int,
    db_unit: float,
) -> pd.DataFrame:
    """One row per position. Money per contract except ``dollar_beta`` (for the recommended
    contracts); ``tranche_beta`` = per-contract dollar beta / max loss (§5; NaN for the
    hedge); ``premium`` is dollars paid per unit (negative = credit received)."""
    rows = []
    for i, t in enumerate(tranches):
        c = t.condor
        rows.append(
            {
                "position_id": t.position_id,
                "kind": "condor",
                "expiry": c.expiry,
                "dte": c.tenor_days,
                "contracts": int(contracts[i]),
                "n_cap": int(ncap[i]),
                "risk_weight": float(q_w[i]),
                "credit": c.credit,
                "max_profit": c.max_profit,
                "max_loss": c.max_loss,
                "breakeven_low": c.breakeven_low,
                "breakeven_high": c.breakeven_high,
                "prob_between_breakevens": c.prob_between_breakevens,
                "dollar_beta": float(db_condor[i] * contracts[i]),
                "tranche_beta": float(risk.tranche_beta(db_condor[i], c.max_loss))
                if c.max_loss > 0
                else float("nan"),
                "premium": -c.max_profit,
                "pricing_source": c.pricing_source,
            }
        )
    rows.append(
        {
            "position_id": hedge_id,
            "kind": "hedge",
            "expiry": pd.Timestamp(hedge.legs["expiry"].max()),
            "dte": hedge_tenor,
            "contracts": int(units),
            "n_cap": -1,
            "risk_weight": float("nan"),
            "credit": float("nan"),
            "max_profit": float("nan"),
            "max_loss": hedge.premium_usd,
            "breakeven_low": float("nan"),
            "breakeven_high": float("nan"),
            "prob_between_breakevens": float("nan"),
            "dollar_beta": db_unit * units,
            "tranche_beta": float("nan"),
            "premium": hedge.premium_usd,
            "pricing_source": "model",
        }
    )
    out = pd.DataFrame(rows)
    out.insert(0, "portfolio_id", portfolio_id)
    out.insert(0, "as_of", as_of)
    out["as_of"] = out["as_of"].astype("datetime64[ns]")
    out["expiry"] = pd.DatetimeIndex(out["expiry"]).astype("datetime64[ns]")
    return out[list(POSITIONS_COLUMNS)]


__all__ = [
    "DAILY_SIZING_COLUMNS",
    "PORTFOLIO_RISK_COLUMNS",
    "POSITIONS_COLUMNS",
    "HedgeDecision",
    "Rules",
    "SizingInputs",
    "SizingResult",
    "Tranche",
    "build_ladder",
    "cap_fraction",
    "contract_multiplier",
    "existing_legs",
    "expiry_margin",
    "fallback_hedge_beta",
    "hedge_units",
    "n_cap",
    "read_rules",
    "size_portfolio",
    "stress_pnl",
    "tranche_scenario_pnl",
]
