"""SPEC §7 step 1: the ladder of condor tranches (and §3.3's chain-or-model choice)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from schemas.config import LadderParams, Params
from tasks.conventions import DAYS_PER_YEAR
from tasks.market.chain import Chain, prefer_root
from tasks.market.expiries import nearest_expiry
from tasks.market.frame import MarketContext
from tasks.sizing.inputs import Rules
from tasks.structures import (
    IronCondor,
    condor_from_arrays,
    condor_from_chain,
    condor_leg_frame,
    model_condor_arrays,
    pick_tightened,
    tighten_candidates,
    tighten_short_strikes,
    widen_short_delta,
)


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
    dtes = [int(d) for d in lad.target_dtes[: lad.n_tranches]]  # 3–5 tranches
    condors: dict[int, IronCondor] = {}
    modelled: list[int] = []
    for i, dte in enumerate(dtes):
        target = ctx.as_of + pd.Timedelta(days=dte)
        if len(listed):
            gap = np.abs(np.asarray((listed - target).days))
            j = int(np.argmin(gap))
            if gap[j] <= pr.chain_match_days:
                assert chain is not None
                build = partial(_chain_build, chain, listed[j], r, q, lad, mrp)
                condors[i] = (
                    tighten_short_strikes(
                        build, delta, sz.macro_tighten_delta, sz.net_delta_tolerance
                    )
                    if rules.macro
                    else build(delta, delta)
                )
                continue
        modelled.append(i)
    if modelled:
        expiries = [nearest_expiry(ctx.as_of, dtes[i]) for i in modelled]
        condors.update(zip(modelled, _model_tranches(ctx, expiries, delta, rules, params),
                           strict=True))  # fmt: skip
    return [
        Tranche(f"IC{i + 1}-{condors[i].expiry.date()}", dte, condors[i])
        for i, dte in enumerate(dtes)
    ]


def _model_tranches(
    ctx: MarketContext,
    expiries: list[pd.Timestamp],
    delta: float,
    rules: Rules,
    params: Params,
) -> list[IronCondor]:
    """The modelled tranches of ``expiries``, every tranche and (with the macro rule) every
    tightening candidate priced in one vectorised call; the macro rule then keeps, per
    tranche, the candidate :func:`tighten_short_strikes` would."""
    sz = params.sizing
    pairs = tighten_candidates(delta, sz.macro_tighten_delta) if rules.macro else [(delta, delta)]
    tenor = np.array([(e - ctx.as_of).days for e in expiries], dtype=float)
    shape = (len(expiries), len(pairs))
    T = np.broadcast_to((tenor / DAYS_PER_YEAR)[:, None], shape).copy()
    dp = np.broadcast_to(np.array([p for p, _ in pairs])[None, :], shape)
    dc = np.broadcast_to(np.array([c for _, c in pairs])[None, :], shape)
    c = model_condor_arrays(ctx.spot, T, ctx.risk_free, params.pricing.div_yield, ctx.term,
                            params.pricing, dp, dc, params.ladder.wing_width)  # fmt: skip
    q, mrp = params.pricing.div_yield, params.risk.mrp
    out = []
    for k, expiry in enumerate(expiries):
        j = pick_tightened(c.net_delta[k], sz.net_delta_tolerance) if rules.macro else 0
        dp_j, dc_j = pairs[j]
        out.append(condor_from_arrays(c, (k, j), ctx.as_of, expiry, ctx.spot, ctx.risk_free, q,
                                      mrp, dp_j, dc_j))  # fmt: skip
    return out


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


def stack_legs(tranches: list[Tranche]) -> pd.DataFrame:
    """Every tranche's legs in one frame, tagged with its ``position_id`` (one contract each)."""
    return condor_leg_frame([t.condor for t in tranches], [t.position_id for t in tranches])
