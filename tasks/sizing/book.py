"""The book the steps size against: what is already held (:class:`OpenBook`) and the new
tranches on offer (:class:`NewTranches`), each as per-unit numbers the steps multiply.

SPEC §7 step 1: "steps 2–6 size the new tranches with the open book counted in every total
(β, stress, margin, quick ratio, crash limit)". Every total in :mod:`tasks.sizing.limits`
is ``open book + Σ contracts · per-contract number + units · per-unit number``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from schemas.config import Holding, Params, Portfolio
from tasks import risk
from tasks.conventions import DAYS_PER_YEAR, MULTIPLIER
from tasks.market.expiries import days_to
from tasks.market.frame import MarketContext
from tasks.market.pricing import black76, bsm
from tasks.market.surface import model_vol, surface_slopes, vix_future
from tasks.sizing.inputs import MarketBook
from tasks.sizing.stress import stress_pnl
from tasks.structures import LEG_COLUMNS, position_sums
from tasks.structures.legs import FloatArray

_NO_LEGS = pd.DataFrame(columns=[*LEG_COLUMNS, "position_id"])


def _no_legs() -> pd.DataFrame:
    # a copy of one empty frame: building it from the column names costs 20× as much, and
    # a book with no condors yet asks at every sizing
    return _NO_LEGS.copy()


def existing_legs(
    portfolio: Portfolio, ctx: MarketContext, params: Params, vov: float
) -> tuple[pd.DataFrame, list[str]]:
    """The portfolio file's open legs as a leg frame (``qty`` = the signed contracts held).

    Priced on the model (BSM with the skewed vol for SPX, Black-76 on ``F_VIX`` for VIX), so
    their deltas feed the dollar betas and :func:`stress_pnl` can revalue them. Legs expiring
    on or before ``as_of`` are dropped with a note.
    """
    if not portfolio.positions:
        return _no_legs(), []
    raw = pd.DataFrame([p.model_dump() for p in portfolio.positions])
    return position_legs(raw, ctx, params, vov)


class PositionRows(NamedTuple):
    """Open positions leg by leg, as arrays (``qty`` = signed contracts held): what
    :func:`price_positions` prices. The book hands its legs over this way."""

    position_id: np.ndarray
    kind: np.ndarray
    underlying: np.ndarray
    expiry: np.ndarray  # datetime64[ns]
    put_call: np.ndarray
    strike: FloatArray
    qty: FloatArray

    @classmethod
    def of(cls, raw: pd.DataFrame) -> PositionRows:
        """The rows of a frame with those columns (a positions file's dates may be strings)."""
        expiry = raw["expiry"]
        if expiry.dtype != "datetime64[ns]":
            expiry = pd.to_datetime(expiry).astype("datetime64[ns]")
        return cls(
            raw["position_id"].to_numpy(object), raw["kind"].to_numpy(object),
            raw["underlying"].to_numpy(object), expiry.to_numpy("datetime64[ns]"),
            raw["put_call"].to_numpy(object), raw["strike"].to_numpy(float),
            raw["qty"].to_numpy(float),
        )  # fmt: skip


def position_legs(
    raw: pd.DataFrame, ctx: MarketContext, params: Params, vov: float
) -> tuple[pd.DataFrame, list[str]]:
    """:func:`existing_legs` of position rows (``position_id, kind, underlying, expiry,
    put_call, strike, qty``) given as a frame."""
    if raw.empty:
        return _no_legs(), []
    return price_positions(PositionRows.of(raw), ctx, params, vov)


def price_positions(
    rows: PositionRows, ctx: MarketContext, params: Params, vov: float
) -> tuple[pd.DataFrame, list[str]]:
    """The leg frame of ``rows`` priced on ``ctx`` (model price and delta: BSM on the skew
    for SPX, Black-76 on ``F_VIX`` for VIX); legs expired on or before ``as_of`` are left
    out with a note."""
    notes: list[str] = []
    expired = rows.expiry <= np.datetime64(ctx.as_of, "ns")
    if expired.any():
        ids = ", ".join(sorted(set(rows.position_id[expired])))
        notes.append(f"existing legs expired on or before {ctx.as_of.date()} ignored: {ids}")
        rows = PositionRows(*(a[~expired] for a in rows))
    if not len(rows.strike):
        return _no_legs(), notes
    return _price_legs(rows, ctx, params, vov), notes


def _price_legs(rows: PositionRows, ctx: MarketContext, params: Params, vov: float) -> pd.DataFrame:
    pr = params.pricing
    n = len(rows.strike)
    tenor = days_to(rows.expiry, ctx.as_of).astype(float)
    T = tenor / DAYS_PER_YEAR
    K = rows.strike
    is_call = rows.put_call == "C"
    is_spx = rows.underlying == "SPX"
    r, q = ctx.risk_free, pr.div_yield
    iv = np.full(n, vov)
    F = np.empty(n)  # the SPX forward or the modelled VIX future, per leg
    price = np.zeros(n)
    delta = np.zeros(n)
    if is_spx.any():
        i = is_spx
        iv[i] = model_vol(
            K[i], ctx.spot, T[i], r, q, ctx.term,
            pr.atm_ratio, *surface_slopes(ctx.term.vix, pr), pr.vol_floor,
        )  # fmt: skip
        g = bsm(ctx.spot, K[i], T[i], r, q, iv[i], is_call[i])
        assert g.delta is not None
        price[i], delta[i] = g.price, g.delta
        F[i] = ctx.spot * np.exp((r - q) * T[i])
    if (~is_spx).any():
        i = ~is_spx
        F[i] = vix_future(T[i], ctx.term, pr.convexity_vol, pr.convexity_mean_reversion)
        b = black76(F[i], K[i], T[i], r, vov, is_call[i])
        price[i], delta[i] = b.price, b.delta
    return pd.DataFrame(
        {
            "kind": rows.kind,
            "underlying": rows.underlying,
            "expiry": rows.expiry,
            "tenor_days": tenor.astype(int),
            "leg": [f"{pc}{k:g}" for pc, k in zip(rows.put_call, K.tolist(), strict=True)],
            "put_call": rows.put_call,
            "strike": K,
            "qty": rows.qty,
            "iv": iv,
            "F": F,
            "model_price": price,
            "delta": delta,
            "gamma": np.nan,
            "vega": np.nan,
            "theta": np.nan,
            "pricing_source": "model",
            "position_id": rows.position_id,
        }
    )


def expiry_margin(legs: pd.DataFrame) -> float:
    """Margin of existing legs: Σ over (underlying, expiry) of the worst payoff at expiry.

    The payoff ``100·Σ qty·intrinsic(X)`` is piecewise linear in the settlement X, so its
    minimum over ``X ≥ 0`` is at 0, a strike, or — when it still falls beyond the highest
    strike (net short calls) — unbounded; there it is taken at twice the highest strike.
    """
    if legs.empty:
        return 0.0
    total = 0.0
    # plain arrays and masks over a handful of groups, in groupby's (sorted) order
    und = legs["underlying"].to_numpy(object)
    exp = legs["expiry"].to_numpy("datetime64[ns]")
    strike, qty = legs["strike"].to_numpy(float), legs["qty"].to_numpy(float)
    call = legs["put_call"].to_numpy(object) == "C"
    for u, e in sorted(set(zip(und.tolist(), exp.tolist(), strict=True))):
        m = (und == u) & (exp == np.datetime64(e, "ns"))
        K = strike[m]
        X = np.concatenate([[0.0], K, [2.0 * K.max()]])[:, None]
        intrinsic = np.where(call[m], np.maximum(X - K, 0.0), np.maximum(K - X, 0.0))
        payoff = MULTIPLIER * (intrinsic * qty[m]).sum(axis=1)
        total += max(0.0, -float(payoff.min()))
    return total


def leg_dollar_betas(legs: pd.DataFrame, spot: float, beta_F: float) -> np.ndarray:
    """SPEC §5 dollar beta of every leg: ``Δ·100·S·qty`` (SPX), ``Δ_F·100·F·β_F·qty`` (VIX)."""
    spx = legs["underlying"].to_numpy(object) == "SPX"
    d, qty = legs["delta"].to_numpy(float), legs["qty"].to_numpy(float)
    return np.where(
        spx,
        risk.spx_leg_dollar_beta(d, spot, qty),
        risk.vix_leg_dollar_beta(d, legs["F"].to_numpy(float), beta_F, qty),
    )


@dataclass(frozen=True)
class OpenBook:
    """What the portfolio holds before today's new tranches, as the totals count it.

    ``legs`` are the open option legs (``qty`` = signed contracts held, the
    :func:`existing_legs` frame); ``stress`` and the dollar betas include the holdings.
    """

    legs: pd.DataFrame
    holdings_dollar_beta: float
    legs_dollar_beta: float
    stress: pd.Series  # USD per scenario: legs + holdings (β_h · value_h · SPX move)
    margin: float  # the legs' worst payoff at expiry (:func:`expiry_margin`)
    cash: float
    tbills: float
    notes: tuple[str, ...]

    @property
    def dollar_beta(self) -> float:
        return self.holdings_dollar_beta + self.legs_dollar_beta

    @property
    def condor_expiries(self) -> frozenset[pd.Timestamp]:
        """Expiries that already hold a condor: their ladder slots are taken."""
        if not len(self.legs):
            return frozenset()
        condor = self.legs["kind"].to_numpy(object) == "condor"
        return frozenset(pd.DatetimeIndex(self.legs["expiry"].to_numpy("datetime64[ns]")[condor]))


def open_book(
    legs: pd.DataFrame,
    holdings: list[Holding],
    cash: float,
    tbills: float,
    ctx: MarketContext,
    beta_F: float,
    params: Params,
    notes: tuple[str, ...] = (),
) -> OpenBook:
    """The :class:`OpenBook` of open ``legs`` (a leg frame, see :func:`existing_legs`) and
    ``holdings``, with cash and T-bills, priced on ``ctx``."""
    names = list(params.sizing.scenarios)
    spx_shock = np.array([params.sizing.scenarios[n].spx_return for n in names], dtype=float)
    holdings_db = sum(h.beta * h.value for h in holdings)
    # per scenario, summed over the positions (arrays: this runs at every sizing)
    legs_stress = (
        stress_pnl(ctx, legs, params).to_numpy().sum(axis=1) if len(legs) else np.zeros(len(names))
    )
    return OpenBook(
        legs=legs,
        holdings_dollar_beta=holdings_db,
        legs_dollar_beta=float(leg_dollar_betas(legs, ctx.spot, beta_F).sum())
        if len(legs)
        else 0.0,
        stress=pd.Series(legs_stress + holdings_db * spx_shock, index=names, dtype=float),
        margin=expiry_margin(legs),
        cash=cash,
        tbills=tbills,
        notes=notes,
    )


@dataclass(frozen=True)
class NewTranches:
    """The ladder's new tranches as per-contract numbers (steps 2–6 multiply by contracts)."""

    ids: tuple[str, ...]
    max_loss: np.ndarray  # R per contract, USD
    dollar_beta: np.ndarray  # per contract
    stress: pd.DataFrame  # (scenario × tranche) USD per contract
    slot_taken: np.ndarray  # bool: the open book already holds a condor on this expiry


def new_tranches(market: MarketBook, book: OpenBook, spot: float, beta_F: float) -> NewTranches:
    """The tranches of ``market``'s ladder, with the slots ``book`` already holds marked."""
    taken = book.condor_expiries
    db = leg_dollar_betas(market.legs, spot, beta_F)
    return NewTranches(
        ids=tuple(t.position_id for t in market.tranches),
        max_loss=np.array([t.condor.max_loss for t in market.tranches]),
        dollar_beta=position_sums(market.legs["position_id"].to_numpy(object), db[None, :])[1][0],
        stress=market.condor_stress,
        slot_taken=np.array([t.condor.expiry in taken for t in market.tranches]),
    )
