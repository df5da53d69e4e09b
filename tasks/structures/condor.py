"""Iron condor tranches (SPEC §4): modelled or priced from a chain, the break-even
probability, and the SPEC §7 step 1 strike adjustments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import ndtr

from schemas.config import LadderParams, PricingParams
from tasks.conventions import (
    CONDOR_IS_CALL,
    CONDOR_LEGS,
    CONDOR_PUT_CALL,
    CONDOR_QTY,
    DAYS_PER_YEAR,
    MULTIPLIER,
)
from tasks.market.chain import Chain, chain_atm_iv, prefer_root
from tasks.market.pricing import bsm, strike_for_delta
from tasks.market.surface import VolTerm, atm_vol, skew_vol, surface_slopes
from tasks.structures.legs import FloatArray


class CondorArrays(NamedTuple):
    """A modelled iron condor for many dates/expiries at once.

    Leg arrays have shape ``(..., 4)`` in the order of :data:`CONDOR_LEGS`; the others the
    broadcast shape of the inputs.
    """

    strike: FloatArray
    iv: FloatArray
    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    forward: FloatArray
    sigma_atm: FloatArray
    credit: FloatArray  # points, shorts positive
    net_delta: FloatArray  # Σ qty·delta per contract (delta units)


def model_condor_arrays(
    S: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    term: VolTerm,
    pricing: PricingParams,
    short_put_delta: ArrayLike,
    short_call_delta: ArrayLike,
    wing_width: float,
) -> CondorArrays:
    """Strikes, prices and greeks of modelled iron condors, vectorised over dates/expiries.

    Short put at BSM delta ``−short_put_delta``, short call at ``+short_call_delta`` (both
    under the skewed model vol, snapped to the ``pricing.spx_strike_step`` grid), long
    wings ``wing_width`` points further out. Each leg is priced with the model vol at its
    own strike (SPEC §3.1).
    """
    S = np.asarray(S, dtype=float)
    T = np.asarray(T, dtype=float)
    r = np.asarray(r, dtype=float)
    q = np.asarray(q, dtype=float)
    sig_atm = atm_vol(T, term, pricing.atm_ratio)
    fwd = S * np.exp((r - q) * T)
    # the calibrated slopes at each date's VIX (docs/method-notes.md, model calibration),
    # shaped like the ATM vol so they index per date as it does
    put_s, call_s = (np.broadcast_to(x, sig_atm.shape) for x in surface_slopes(term.vix, pricing))
    skew = (put_s, call_s, pricing.vol_floor)
    # both short strikes in one search (a leading put/call axis): the grid strike it
    # returns does not depend on which other strikes iterate alongside
    sp = -np.asarray(short_put_delta, dtype=float)
    sc = np.asarray(short_call_delta, dtype=float)
    shape = np.broadcast_shapes(sp.shape, sc.shape, sig_atm.shape)
    k_sp, k_sc = strike_for_delta(
        np.stack([np.broadcast_to(sp, shape), np.broadcast_to(sc, shape)]),
        S, T, r, q, sig_atm, *skew, pricing.spx_strike_step,
    )  # fmt: skip
    k_sp, k_sc = np.broadcast_arrays(k_sp, k_sc)
    strikes = np.stack([k_sp, k_sp - wing_width, k_sc, k_sc + wing_width], axis=-1)
    ex = (..., None)  # broadcast per-date inputs over the leg axis
    iv = skew_vol(strikes, fwd[ex], T[ex], sig_atm[ex], put_s[ex], call_s[ex], pricing.vol_floor)
    g = bsm(S[ex], strikes, T[ex], r[ex], q[ex], iv, CONDOR_IS_CALL)
    assert g.delta is not None and g.gamma is not None
    assert g.vega is not None and g.theta is not None
    credit = -(CONDOR_QTY * g.price).sum(axis=-1)
    net_delta = (CONDOR_QTY * g.delta).sum(axis=-1)
    return CondorArrays(
        strikes, iv, g.price, g.delta, g.gamma, g.vega, g.theta, fwd, sig_atm, credit, net_delta
    )


def prob_between_breakevens(
    S: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    T: ArrayLike,
    mu: ArrayLike,
    sigma: ArrayLike,
) -> FloatArray:
    """P(lower < S_T < upper) for a lognormal ``S_T`` with drift ``mu`` and vol ``sigma``.

    ``ln S_T ~ N(ln S + (μ − σ²/2)T, σ²T)``; SPEC §4 uses ``μ = r_f + MRP − q`` (the CAPM
    expected index return net of dividends) and the ATM vol.
    """
    S = np.asarray(S, dtype=float)
    T = np.maximum(np.asarray(T, dtype=float), 1e-12)
    sigma = np.asarray(sigma, dtype=float)
    mean = np.log(S) + (np.asarray(mu) - 0.5 * sigma**2) * T
    sd = sigma * np.sqrt(T)
    with np.errstate(divide="ignore", invalid="ignore"):
        z_hi = (np.log(np.asarray(upper, dtype=float)) - mean) / sd
        z_lo = (np.log(np.maximum(np.asarray(lower, dtype=float), 0.0)) - mean) / sd
    return ndtr(z_hi) - ndtr(z_lo)


@dataclass(frozen=True)
class IronCondor:
    """One iron condor tranche (SPEC §4), per contract.

    ``credit`` in points; ``max_profit = 100·C``; ``max_loss = R = 100·(W − C)`` with W
    the (wider) wing width actually used; break-evens at expiry ``K_sp − C`` and
    ``K_sc + C``; ``net_delta`` = Σ qty·delta (index-delta units per contract of 1 option).
    """

    as_of: pd.Timestamp
    expiry: pd.Timestamp
    tenor_days: int
    spot: float
    rate: float
    div_yield: float
    short_put_delta: float
    short_call_delta: float
    leg_numbers: CondorLegNumbers = field(repr=False)
    credit: float
    max_profit: float
    max_loss: float
    breakeven_low: float
    breakeven_high: float
    net_delta: float
    sigma_atm: float
    prob_between_breakevens: float
    pricing_source: str

    @cached_property
    def legs(self) -> pd.DataFrame:
        """The four legs in the shared leg layout (:data:`LEG_COLUMNS`), built on first read:
        a ladder prices every tranche each sizing and most are never opened."""
        return condor_leg_frame([self])

    @property
    def wing_width(self) -> float:
        return _wing_width(self.leg_numbers.strike)


def _wing_width(strike: ArrayLike) -> float:
    """The wider wing of a condor's strikes (:data:`CONDOR_LEGS` order), points."""
    k = dict(zip(CONDOR_LEGS, np.asarray(strike, dtype=float).tolist(), strict=True))
    return float(max(k["short_put"] - k["long_put"], k["long_call"] - k["short_call"]))


class CondorLegNumbers(NamedTuple):
    """The per-leg numbers of one condor (shape (4,), :data:`CONDOR_LEGS` order) and its
    forward: with the condor's expiry, tenor and source, what its leg frame is built from."""

    strike: FloatArray
    iv: FloatArray
    forward: float
    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray


def condor_leg_frame(
    condors: list[IronCondor], position_ids: list[str] | None = None
) -> pd.DataFrame:
    """The legs of ``condors`` in the shared leg layout (module docstring), stacked in their
    order, four rows each, with a ``position_id`` column when ``position_ids`` is given.

    One constructor for the whole ladder (a frame per tranche and a concat cost ~5× the
    pricing of the tranches).
    """
    n = len(condors)

    def legs_of(name: str) -> FloatArray:
        return np.concatenate(
            [np.asarray(getattr(c.leg_numbers, name), dtype=float) for c in condors]
        )

    def per_condor(values: list[object]) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=object), 4)

    columns: dict[str, np.ndarray] = {
        "kind": np.full(4 * n, "condor", dtype=object),
        "underlying": np.full(4 * n, "SPX", dtype=object),
        "expiry": np.repeat(
            np.array([np.datetime64(c.expiry, "ns") for c in condors], "datetime64[ns]"), 4
        ),
        "tenor_days": np.repeat(np.array([c.tenor_days for c in condors], np.int64), 4),
        "leg": np.tile(np.array(CONDOR_LEGS, dtype=object), n),
        "put_call": np.tile(np.array(CONDOR_PUT_CALL, dtype=object), n),
        "strike": legs_of("strike"),
        "qty": np.tile(CONDOR_QTY, n),
        "iv": legs_of("iv"),
        "F": np.repeat(np.array([c.leg_numbers.forward for c in condors], dtype=float), 4),
        "model_price": legs_of("price"),
        "delta": legs_of("delta"),
        "gamma": legs_of("gamma"),
        "vega": legs_of("vega"),
        "theta": legs_of("theta"),
        "pricing_source": per_condor([c.pricing_source for c in condors]),
    }
    if position_ids is not None:
        columns["position_id"] = per_condor(list(position_ids))
    # every array is new here: the frame may keep them (copy=False), in this order
    return pd.DataFrame(columns, copy=False)


def _condor_from_numbers(
    numbers: CondorLegNumbers,
    as_of: pd.Timestamp,
    expiry: pd.Timestamp,
    S: float,
    r: float,
    q: float,
    sigma_atm: float,
    mrp: float,
    short_put_delta: float,
    short_call_delta: float,
    source: str,
) -> IronCondor:
    """Tranche metrics (SPEC §4) of one condor's leg numbers (:data:`CONDOR_LEGS` order):
    this runs for every tranche of every sizing, so it reads arrays, not a frame."""
    qty, strike, price, delta = CONDOR_QTY, numbers.strike, numbers.price, numbers.delta
    k = dict(zip(CONDOR_LEGS, np.asarray(strike, dtype=float).tolist(), strict=True))
    credit = float(-(qty * price).sum())
    width = _wing_width(strike)
    tenor = int((expiry - as_of).days)
    lo, hi = float(k["short_put"] - credit), float(k["short_call"] + credit)
    prob = prob_between_breakevens(S, lo, hi, tenor / DAYS_PER_YEAR, r + mrp - q, sigma_atm)
    return IronCondor(
        as_of=as_of,
        expiry=expiry,
        tenor_days=tenor,
        spot=float(S),
        rate=float(r),
        div_yield=float(q),
        short_put_delta=float(short_put_delta),
        short_call_delta=float(short_call_delta),
        leg_numbers=numbers,
        credit=credit,
        max_profit=MULTIPLIER * credit,
        max_loss=MULTIPLIER * (width - credit),
        breakeven_low=lo,
        breakeven_high=hi,
        net_delta=float((qty * delta).sum()),
        sigma_atm=float(sigma_atm),
        prob_between_breakevens=float(prob),
        pricing_source=source,
    )


def iron_condor(
    as_of: object,
    expiry: object,
    S: float,
    r: float,
    q: float,
    term: VolTerm,
    pricing: PricingParams,
    ladder: LadderParams,
    mrp: float,
    short_put_delta: float | None = None,
    short_call_delta: float | None = None,
) -> IronCondor:
    """A modelled iron condor tranche for one expiry (SPEC §4, ``pricing_source='model'``).

    Parameters
    ----------
    as_of, expiry : session date and the tranche's expiry.
    S, r, q : spot, continuously compounded rate, dividend yield.
    term : scalar :class:`VolTerm` of ``as_of``.
    pricing, ladder : parameter models (skew, grid; short delta δ, wing width W).
    mrp : market risk premium for the break-even probability's drift ``r + MRP − q``.
    short_put_delta, short_call_delta : override δ per side (SPEC §7 step 1 adjustments:
        see :func:`widen_short_delta` and :func:`tighten_short_strikes`); default
        ``ladder.short_delta``.
    """
    as_of_ts = pd.Timestamp(as_of).normalize()
    expiry_ts = pd.Timestamp(expiry).normalize()
    dp = ladder.short_delta if short_put_delta is None else short_put_delta
    dc = ladder.short_delta if short_call_delta is None else short_call_delta
    tenor = int((expiry_ts - as_of_ts).days)
    T = tenor / DAYS_PER_YEAR
    c = model_condor_arrays(S, T, r, q, term, pricing, dp, dc, ladder.wing_width)
    return condor_from_arrays(c, (), as_of_ts, expiry_ts, S, r, q, mrp, dp, dc)


def condor_from_arrays(
    c: CondorArrays,
    at: tuple[int, ...],
    as_of: pd.Timestamp,
    expiry: pd.Timestamp,
    S: float,
    r: float,
    q: float,
    mrp: float,
    short_put_delta: float,
    short_call_delta: float,
) -> IronCondor:
    """The :class:`IronCondor` at index ``at`` of modelled condor arrays (``()`` for arrays
    of one condor): a ladder prices every tranche and candidate in one
    :func:`model_condor_arrays` call; a condor's leg frame is built when read."""
    numbers = CondorLegNumbers(
        c.strike[at], c.iv[at], float(c.forward[at]), c.price[at], c.delta[at], c.gamma[at],
        c.vega[at], c.theta[at],
    )  # fmt: skip
    return _condor_from_numbers(
        numbers, as_of, expiry, S, r, q, float(c.sigma_atm[at]), mrp, short_put_delta,
        short_call_delta, "model",
    )  # fmt: skip


def condor_from_chain(
    chain: Chain,
    expiry: object,
    r: float,
    q: float,
    ladder: LadderParams,
    mrp: float,
    short_put_delta: float | None = None,
    short_call_delta: float | None = None,
) -> IronCondor:
    """An iron condor priced from a quoted chain (SPEC §3.1 last bullet, ``pricing_source='chain'``).

    Short strikes: the listed put (call) whose quoted delta is nearest −δ (+δ) among
    options with a quoted IV and a two-sided market; wings: the listed strike nearest
    ``W`` points further out. Prices are mids, ``iv``/``delta``/``gamma`` are the quotes,
    ``vega``/``theta`` come from BSM at the quoted IV (the download has no vega/theta).

    Notes
    -----
    Listed wing strikes may sit a little off ``K ± W``; ``max_loss`` then uses the wider
    of the two wings actually chosen. ``sigma_atm`` (for the break-even probability) is the
    quoted IV at the listed strike nearest the forward.
    """
    expiry_ts = pd.Timestamp(expiry).normalize()
    dp = ladder.short_delta if short_put_delta is None else short_put_delta
    dc = ladder.short_delta if short_call_delta is None else short_call_delta
    qe = prefer_root(chain.quotes)
    qe = qe[(qe["expiry"] == expiry_ts) & (qe["bid"] > 0) & (qe["ask"] >= qe["bid"])]
    if qe.empty:
        raise ValueError(f"chain has no two-sided quotes for expiry {expiry_ts.date()}")
    T = int((expiry_ts - chain.as_of).days) / DAYS_PER_YEAR
    S = chain.spot

    def _pick(put_call: str, target_delta: float, wing_sign: float) -> tuple[pd.Series, pd.Series]:
        side = qe[qe["put_call"] == put_call]
        with_iv = side[side["iv"].notna() & side["delta"].notna()]
        short = with_iv.loc[(with_iv["delta"] - target_delta).abs().idxmin()]
        wing_target = short["strike"] + wing_sign * ladder.wing_width
        beyond = side[(side["strike"] - short["strike"]) * wing_sign > 0]
        long = beyond.loc[(beyond["strike"] - wing_target).abs().idxmin()]
        return short, long

    sp, lp = _pick("P", -dp, -1.0)
    sc, lc = _pick("C", dc, +1.0)
    rows = pd.DataFrame([sp, lp, sc, lc]).reset_index(drop=True)
    iv = rows["iv"].to_numpy(dtype=float)
    # wings can be far enough out that CBOE gives no IV: fall back to the short leg's IV
    iv = np.where(np.isnan(iv), iv[[0, 0, 2, 2]], iv)
    strikes = rows["strike"].to_numpy(dtype=float)
    g = bsm(S, strikes, T, r, q, iv, CONDOR_IS_CALL)
    assert g.delta is not None and g.gamma is not None
    delta = np.where(rows["delta"].notna(), rows["delta"].to_numpy(dtype=float), g.delta)
    gamma = np.where(rows["gamma"].notna(), rows["gamma"].to_numpy(dtype=float), g.gamma)
    fwd = S * np.exp((r - q) * T)
    mid = rows["mid"].to_numpy(dtype=float)
    numbers = CondorLegNumbers(strikes, iv, float(fwd), mid, delta, gamma, g.vega, g.theta)
    sigma_atm = chain_atm_iv(chain, expiry_ts, fwd)
    return _condor_from_numbers(
        numbers, chain.as_of, expiry_ts, S, r, q, sigma_atm, mrp, dp, dc, "chain"
    )


def widen_short_delta(short_delta: float, risk_off_delta_mult: float) -> float:
    """SPEC §7 step 1, ``risk_off``: the short strikes move out to delta ``δ × mult`` [0.75]."""
    return short_delta * risk_off_delta_mult


def tighten_candidates(short_delta: float, tighten_delta: float) -> list[tuple[float, float]]:
    """The (put, call) short deltas :func:`tighten_short_strikes` tries, in its order: both
    sides tightened, only the put side, only the call side, then the untightened condor."""
    d, t = short_delta, tighten_delta
    return [(d + t, d + t), (d + t, d), (d, d + t), (d, d)]


def pick_tightened(net_deltas: ArrayLike, net_delta_tolerance: float) -> int:
    """Index among :func:`tighten_candidates` of the condor the rule keeps: the first of the
    three tightened ones with ``|net_delta| ≤ tolerance``, else the smallest ``|net_delta|``
    of all four (the first of equals)."""
    nd = np.abs(np.asarray(net_deltas, dtype=float))
    for i in range(3):
        if nd[i] <= net_delta_tolerance:
            return i
    return int(np.argmin(nd))


def tighten_short_strikes(
    build: Callable[[float, float], IronCondor],
    short_delta: float,
    tighten_delta: float,
    net_delta_tolerance: float,
) -> IronCondor:
    """SPEC §7 step 1 (strong dollar and hot PPI): short strikes toward the money by +0.02 delta.

    ``build(short_put_delta, short_call_delta)`` builds the tranche (e.g. a
    ``functools.partial`` of :func:`iron_condor` or :func:`condor_from_chain`). Candidates
    are tried in order — both sides tightened, then only the put side, then only the call
    side — and the first whose ``|net_delta| ≤ net_delta_tolerance`` is returned. If none
    qualifies, the candidate with the smallest ``|net_delta|`` (including the untightened
    condor) is returned, so the rule never makes the condor's delta worse than needed
    (:func:`pick_tightened`; a modelled ladder applies it to all candidates at once).
    """
    built: list[IronCondor] = []
    for p, c in tighten_candidates(short_delta, tighten_delta):
        built.append(build(p, c))  # one at a time: the first that qualifies ends the search
        if len(built) <= 3 and abs(built[-1].net_delta) <= net_delta_tolerance:
            return built[-1]
    return built[pick_tightened([b.net_delta for b in built], net_delta_tolerance)]
