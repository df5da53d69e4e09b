"""SPEC §7 step 1: the ladder of condor tranches (and §3.3's chain-or-model choice)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from schemas.config import LadderParams, Params
from tasks.market.chain import Chain, prefer_root
from tasks.market.expiries import nearest_expiry
from tasks.market.frame import MarketContext
from tasks.sizing.inputs import Rules
from tasks.structures import (
    IronCondor,
    condor_from_chain,
    iron_condor,
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


def stack_legs(tranches: list[Tranche]) -> pd.DataFrame:
    """Every tranche's legs in one frame, tagged with its ``position_id`` (one contract each)."""
    return pd.concat(
        [t.condor.legs.assign(position_id=t.position_id) for t in tranches], ignore_index=True
    )
