"""Volatility surface and VIX futures curve from the VIX term structure (SPEC §3.1, §3.2).

The VIX-family indices (VIX9D, VIX, VIX3M, VIX6M) are 30-day-style variance-swap rates at
fixed tenors. Their squares times the tenor are total variances ``w = σ²T`` that we
interpolate linearly in T; the SPX ATM vol is ``atm_ratio`` times the interpolated vol,
a linear-in-standardised-moneyness skew sits on top, and the VIX futures curve is the
forward variance between T and T + 30 days with a lognormal convexity haircut.

Everything is vectorised: a :class:`VolTerm` may hold scalars (one date) or arrays (one
entry per date or per scenario) and broadcasts against arrays of T and K.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Literal, Protocol

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from tasks.conventions import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]

# Tenors of the VIX-family indices, calendar days (SPEC §3.1).
VIX9D_DAYS = 9
VIX_DAYS = 30
VIX3M_DAYS = 93
VIX6M_DAYS = 182
# The VIX itself is a 30-day variance rate: a VIX future settles on the 30-day forward variance.
VIX_WINDOW_DAYS = 30
# Smallest T used where a formula divides by T or sqrt(T) (T → 0 limits).
_T_MIN = 1e-10


# the knots' tenors in years (read-only: every interpolation shares it)
_KNOT_TENORS = np.array([VIX9D_DAYS, VIX_DAYS, VIX3M_DAYS, VIX6M_DAYS]) / DAYS_PER_YEAR
_KNOT_TENORS.setflags(write=False)
_KNOT_TENORS_FROM_0 = np.concatenate([[0.0], _KNOT_TENORS])  # with the (0, 0) knot first
_KNOT_TENORS_FROM_0.setflags(write=False)


@dataclass(frozen=True)
class VolTerm:
    """The VIX term structure of one date (scalars) or many dates/scenarios (arrays).

    Values are in index points (e.g. 16.04). ``vix9d`` and ``vix6m`` are optional and
    ``NaN`` when not fresh for ``as_of`` (SPEC §3.1); a missing point is skipped by the
    interpolation. Fields may be numpy arrays of one common (broadcastable) shape.
    """

    vix9d: ArrayLike
    vix: ArrayLike
    vix3m: ArrayLike
    vix6m: ArrayLike

    def map(self, func: Callable[[FloatArray], ArrayLike]) -> VolTerm:
        """Apply ``func`` to every field (as a float array) and return the new term."""
        return VolTerm(
            *(func(np.asarray(getattr(self, f.name), dtype=float)) for f in fields(self))
        )

    def scaled(self, ratio: ArrayLike) -> VolTerm:
        """The whole term structure multiplied by ``ratio`` (a VIX day ratio per scenario).

        SPEC §7 step 3: the historical VIX ratio scales the whole term structure; a
        ``ratio`` array of shape (n,) gives a term of shape (n,) (NaN points stay NaN).
        """
        ratio = np.asarray(ratio, dtype=float)
        return self.map(lambda v: v * ratio)

    def expand(self, axis: int = -1) -> VolTerm:
        """Add a length-1 axis to every field, e.g. (n_scenarios,) → (n_scenarios, 1)."""
        return self.map(lambda v: np.expand_dims(v, axis))

    def knots(self) -> tuple[FloatArray, FloatArray]:
        """Tenors (years, shape (4,)) and vols (decimal, shape (..., 4)) of the four points."""
        points = (self.vix9d, self.vix, self.vix3m, self.vix6m)  # in tenor order
        vols = np.stack(np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in points)), axis=-1)
        return _KNOT_TENORS, vols / 100.0


def total_variance_raw(
    T: ArrayLike, term: VolTerm, beyond: Literal["flat_vol", "flat_forward"] = "flat_vol"
) -> FloatArray:
    """Total variance ``w(T) = σ²T`` interpolated linearly in T (SPEC §3.1), without ``atm_ratio``.

    Knots: (0, 0), (9/365, VIX9D²·9/365), (30/365, VIX²·30/365), (93/365, VIX3M²·93/365),
    (182/365, VIX6M²·182/365), σ = index/100. Missing (NaN) knots are skipped. Below the
    first available knot the line from (0, 0) gives a flat vol; beyond the last available
    knot the vol is flat, ``w = σ_last²·T`` (SPEC §3.1, ``beyond="flat_vol"``), or the last
    segment's forward variance carries on, ``w = w_last + v_fwd·(T − t_last)``
    (``beyond="flat_forward"``, the VIX futures' long end: :func:`vix_future`).

    Parameters
    ----------
    T : years; broadcasts with the term's fields.
    term : :class:`VolTerm`.
    beyond : ``"flat_vol"`` or ``"flat_forward"``: the extrapolation past the last knot.

    Returns
    -------
    ndarray
        ``w(T)`` of the broadcast shape; NaN only when every knot is missing.
    """
    if beyond not in ("flat_vol", "flat_forward"):
        raise ValueError(f"beyond must be 'flat_vol' or 'flat_forward', not {beyond!r}")
    T = np.maximum(np.asarray(T, dtype=float), 0.0)
    tenors, vols = term.knots()
    w_knots = vols**2 * tenors  # (..., 4), NaN where missing
    avail = ~np.isnan(w_knots)
    flat = avail.reshape(-1, len(tenors))
    if flat.shape[0] and (flat == flat[0]).all():
        # every date/scenario misses the same knots (a day's scenarios always do): the
        # segment of each T is then found on T alone, not on the broadcast grid
        return _total_variance_same_knots(T, w_knots, flat[0], beyond)
    shape = np.broadcast_shapes(T.shape, vols.shape[:-1])
    t = np.broadcast_to(T, shape)[..., None]  # (..., 1)
    w_knots = np.broadcast_to(w_knots, (*shape, len(tenors)))
    avail = np.broadcast_to(avail, w_knots.shape)
    # prepend the (0, 0) knot, always available
    tk = _KNOT_TENORS_FROM_0
    wk = np.concatenate([np.zeros((*shape, 1)), w_knots], axis=-1)
    ak = np.concatenate([np.ones((*shape, 1), dtype=bool), avail], axis=-1)
    idx = np.arange(len(tk))
    # previous available knot: largest index with t_k <= T; next: smallest with t_k > T
    prev_i = np.where(ak & (tk <= t), idx, -1).max(axis=-1)
    next_i = np.where(ak & (tk > t), idx, len(tk)).min(axis=-1)
    last_i = np.where(ak, idx, -1).max(axis=-1)
    has_next = next_i < len(tk)
    t_prev = tk[prev_i]
    w_prev = np.take_along_axis(wk, prev_i[..., None], axis=-1)[..., 0]
    nxt = np.where(has_next, next_i, last_i)
    t_next = tk[nxt]
    w_next = np.take_along_axis(wk, nxt[..., None], axis=-1)[..., 0]
    tt = t[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        span = np.where(has_next, t_next - t_prev, 1.0)
        w_lin = w_prev + (w_next - w_prev) * (tt - t_prev) / span
        # flat vol beyond the last knot: σ_last² · T
        t_last = tk[last_i]
        w_last = np.take_along_axis(wk, last_i[..., None], axis=-1)[..., 0]
        var_last = np.where(t_last > 0, w_last / np.where(t_last > 0, t_last, 1.0), np.nan)
        w_beyond = var_last * tt
        if beyond == "flat_forward":
            # the segment ending at the last knot: from the available knot before it
            before_i = np.where(ak & (idx < last_i[..., None]), idx, 0).max(axis=-1)
            t_b = tk[before_i]
            w_b = np.take_along_axis(wk, before_i[..., None], axis=-1)[..., 0]
            fwd = np.maximum((w_last - w_b) / np.where(t_last > t_b, t_last - t_b, 1.0), 0.0)
            w_beyond = w_last + fwd * (tt - t_last)
        w = np.where(has_next, w_lin, w_beyond)
    return w


def _gather(wk: FloatArray, i: NDArray[np.intp]) -> FloatArray:
    """``wk[..., i]`` per element: knot ``i`` (shaped like T) of each term entry (the
    leading axes of ``wk``), broadcast as T and the term's fields broadcast."""
    if wk.ndim == 1:  # one date's term (a mark, a ladder, a hedge unit): plain indexing
        return wk[i]
    nd = max(wk.ndim - 1, i.ndim)
    wk_b = wk.reshape((1,) * (nd - wk.ndim + 1) + wk.shape)
    i_b = i.reshape((1,) * (nd - i.ndim) + i.shape + (1,))
    return np.take_along_axis(wk_b, i_b, axis=-1)[..., 0]


def _total_variance_same_knots(
    T: FloatArray,
    w_knots: FloatArray,
    avail: NDArray[np.bool_],
    beyond: str,
) -> FloatArray:
    """:func:`total_variance_raw` when every entry of the term has the same ``avail`` knots:
    the same arithmetic on the same values (so the same numbers), with the knot search done
    once on ``T`` instead of on the (..., knots) grid."""
    tk = _KNOT_TENORS_FROM_0
    wk = np.concatenate([np.zeros((*w_knots.shape[:-1], 1)), w_knots], axis=-1)
    have = np.flatnonzero(np.concatenate([[True], avail]))  # available knot indices
    last_i = int(have[-1])
    # previous available knot: largest t_k <= T; next: smallest t_k > T
    pos = np.searchsorted(tk[have], T, side="right")  # available knots with t_k <= T
    prev_i = have[pos - 1]
    has_next = pos < len(have)
    nxt = np.where(has_next, have[np.minimum(pos, len(have) - 1)], last_i)
    t_prev, t_next = tk[prev_i], tk[nxt]
    w_prev, w_next = _gather(wk, prev_i), _gather(wk, nxt)
    with np.errstate(invalid="ignore", divide="ignore"):
        span = np.where(has_next, t_next - t_prev, 1.0)
        w_lin = w_prev + (w_next - w_prev) * (T - t_prev) / span
        t_last = tk[last_i]
        w_last = wk[..., last_i]
        var_last = np.where(t_last > 0, w_last / np.where(t_last > 0, t_last, 1.0), np.nan)
        w_beyond = var_last * T
        if beyond == "flat_forward":
            before = have[have < last_i]
            before_i = int(before[-1]) if len(before) else 0
            t_b, w_b = tk[before_i], wk[..., before_i]
            fwd = np.maximum((w_last - w_b) / np.where(t_last > t_b, t_last - t_b, 1.0), 0.0)
            w_beyond = w_last + fwd * (T - t_last)
        return np.where(has_next, w_lin, w_beyond)


def atm_vol(T: ArrayLike, term: VolTerm, atm_ratio: float) -> FloatArray:
    """SPX ATM vol ``σ_ATM(T) = atm_ratio · sqrt(w(T)/T)`` (SPEC §3.1).

    At ``T → 0`` the limit (the first available knot's vol times ``atm_ratio``) is returned.
    """
    t = np.maximum(np.asarray(T, dtype=float), _T_MIN)
    return atm_ratio * np.sqrt(total_variance_raw(t, term) / t)


def skew_vol(
    K: ArrayLike,
    F: ArrayLike,
    T: ArrayLike,
    sigma_atm: ArrayLike,
    put_slope: ArrayLike,
    call_slope: ArrayLike,
    vol_floor: float,
) -> FloatArray:
    """Skewed implied vol at strike K (SPEC §3.1).

    ``m = ln(K/F) / (σ_ATM √T)``; ``σ(K) = max(σ_floor, σ_ATM − put_slope·m)`` for m < 0 and
    ``max(σ_floor, σ_ATM − call_slope·m)`` for m ≥ 0.

    Notes
    -----
    T is floored at a tiny positive number: at expiry the vol no longer matters for the
    price (intrinsic), but the function must stay finite and silent.
    """
    K = np.asarray(K, dtype=float)
    F = np.asarray(F, dtype=float)
    sigma_atm = np.asarray(sigma_atm, dtype=float)
    sqrt_t = np.sqrt(np.maximum(np.asarray(T, dtype=float), _T_MIN))
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.log(K / F) / (sigma_atm * sqrt_t)
    slope = np.where(m < 0.0, put_slope, call_slope)
    return np.maximum(vol_floor, sigma_atm - slope * m)


def vix_skew_slopes(
    vix: ArrayLike,
    put_slope: float,
    call_slope: float,
    put_slope_per_vix: float = 0.0,
    call_slope_per_vix: float = 0.0,
    skew_vix_ref: float = 20.0,
) -> tuple[FloatArray, FloatArray]:
    """Put and call skew slopes at a VIX level (the calibrated surface, docs/method-notes.md).

    ``slope = base + per_vix · (VIX − skew_vix_ref)/100``, floored at 0 (a negative slope
    would price the wings below ATM vol on that side, which no SPX chain shows).

    Why the slopes rise with the VIX: the slopes are per unit of *standardised* moneyness
    ``ln(K/F)/(σ_ATM√T)``. A smile whose slope in plain log-strike is steady (the sticky
    part of SPX skew) has a standardised slope proportional to ``σ_ATM``, so a constant
    standardised slope is too steep in calm markets and too flat in stressed ones. The
    linear form is that proportionality to first order around ``skew_vix_ref``.
    """
    dv = (np.asarray(vix, dtype=float) - skew_vix_ref) / 100.0
    put = np.maximum(put_slope + put_slope_per_vix * dv, 0.0)
    call = np.maximum(call_slope + call_slope_per_vix * dv, 0.0)
    return put, call


class SkewParams(Protocol):
    """The skew fields of ``schemas.config.PricingParams`` (what :func:`surface_slopes` reads)."""

    put_slope: float
    call_slope: float
    put_slope_per_vix: float
    call_slope_per_vix: float
    skew_vix_ref: float


def surface_slopes(vix: ArrayLike, pricing: SkewParams) -> tuple[FloatArray, FloatArray]:
    """:func:`vix_skew_slopes` with the fields of ``PricingParams``: the slopes every
    modelled SPX vol uses (sizing, book marks, history, validation)."""
    return vix_skew_slopes(
        vix,
        pricing.put_slope,
        pricing.call_slope,
        pricing.put_slope_per_vix,
        pricing.call_slope_per_vix,
        pricing.skew_vix_ref,
    )


def model_vol(
    K: ArrayLike,
    S: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    term: VolTerm,
    atm_ratio: float,
    put_slope: ArrayLike,
    call_slope: ArrayLike,
    vol_floor: float,
) -> FloatArray:
    """The full model vol at strike K: ATM vol from the term structure plus the skew.

    Convenience composition of :func:`atm_vol` and :func:`skew_vol` with
    ``F = S e^{(r−q)T}``; all arguments broadcast.
    """
    T = np.asarray(T, dtype=float)
    F = np.asarray(S, dtype=float) * np.exp((np.asarray(r) - np.asarray(q)) * T)
    sig_atm = atm_vol(T, term, atm_ratio)
    return skew_vol(K, F, T, sig_atm, put_slope, call_slope, vol_floor)


def long_end_vix6m(
    vix3m: ArrayLike,
    last_ratio: ArrayLike,
    age_sessions: ArrayLike,
    long_run_ratio: float,
    half_life_sessions: float,
) -> FloatArray:
    """An estimated VIX6M for a session whose VIX6M is stale (docs/method-notes.md §3).

    ``VIX3M · (ρ̄ + (ρ_last − ρ̄) · 2^(−age/half_life))``: the last VIX6M/VIX3M ratio seen,
    ``age`` sessions ago, decayed toward its long-run level ρ̄. The 6-month/3-month slope is
    persistent (a ratio a day old misses VIX6M by 0.17 points in the median, 2008–2026) but
    mean-reverting (a quarter old it misses by 0.81; decayed with a 63-session half-life,
    by 0.66), whereas a flat VIX3M beyond 93 days misses by 1.71 and slopes the curve the
    wrong way whenever the indices slope up.
    """
    decay = np.exp2(-np.asarray(age_sessions, dtype=float) / half_life_sessions)
    ratio = long_run_ratio + (np.asarray(last_ratio, dtype=float) - long_run_ratio) * decay
    return np.asarray(vix3m, dtype=float) * ratio


def convexity_variance(T: ArrayLike, convexity_vol: float, mean_reversion: float) -> FloatArray:
    """Variance of ``ln VIX_T`` in the convexity haircut of :func:`vix_future`.

    ``v(T) = σ_c²·(1 − e^{−2κT}) / (2κ)``: the log VIX as a mean-reverting (Ornstein–Uhlenbeck)
    process with speed κ, so its variance saturates at ``σ_c²/(2κ)`` instead of growing
    without bound; ``κ = 0`` gives SPEC §3.2's ``σ_c²·T``.
    """
    T = np.asarray(T, dtype=float)
    if mean_reversion <= 0:
        return convexity_vol**2 * T
    k2 = 2.0 * mean_reversion
    return convexity_vol**2 * -np.expm1(-k2 * T) / k2


def vix_future(
    T: ArrayLike, term: VolTerm, convexity_vol: float, mean_reversion: float
) -> FloatArray:
    """Modelled VIX futures price for expiry T (SPEC §3.2, with a mean-reverting long end).

    ``F_VIX(T) = 100·sqrt((w_raw(T + 30/365) − w_raw(T)) / (30/365))·exp(−v(T)/2)``, with
    ``v(T)`` = :func:`convexity_variance` (``mean_reversion`` = 0: SPEC's ``σ_c²·T``) and
    ``w_raw`` carrying the last segment's forward variance past the last knot
    (``total_variance_raw(beyond="flat_forward")``) where SPEC §3.1 keeps the vol flat.

    Why (docs/method-notes.md §12, the real CFE settlements of the January 2015 future): past
    the VIX6M knot a flat vol makes every later future ≈ VIX6M and the haircut
    ``exp(−σ_c²T/2)`` keeps shrinking it (−8 % at nine months), so the modelled curve sagged
    3.1 points below the settlements beyond 152 days while the VIX indices sloped up. The log
    VIX mean-reverts (κ ≈ 3.9 a year, the AR(1) of its daily closes 1990–2013), so the spread
    of VIX_T and its haircut stop growing after a few months.

    Notes
    -----
    A forward variance below zero (possible only in an extreme inverted term structure,
    where the interpolated ``w`` decreases) is floored at zero rather than returning NaN.
    """
    T = np.maximum(np.asarray(T, dtype=float), 0.0)
    tau = VIX_WINDOW_DAYS / DAYS_PER_YEAR
    # w at T + τ and at T in one interpolation (a trailing axis of two; the term's fields
    # get one too, so they broadcast as they did against T): every mark, hedge unit and
    # VIX-leg revaluation asks
    t2 = np.stack([T + tau, T], axis=-1)
    w = total_variance_raw(t2, term.expand(-1), beyond="flat_forward")
    fwd_var = (w[..., 0] - w[..., 1]) / tau
    haircut = np.exp(-0.5 * convexity_variance(T, convexity_vol, mean_reversion))
    return 100.0 * np.sqrt(np.maximum(fwd_var, 0.0)) * haircut


def vix_term_curve(
    as_of: object, term: VolTerm, n_expiries: int, convexity_vol: float, mean_reversion: float
) -> pd.DataFrame:
    """The modelled VIX futures curve for the next ``n_expiries`` VIX expiries (SPEC §9 ``vix_term``).

    Parameters
    ----------
    as_of : session date.
    term : scalar :class:`VolTerm` of ``as_of``.
    n_expiries : number of expiries (``PricingParams.vix_term_expiries``).
    convexity_vol : σ_c (``PricingParams.convexity_vol``).
    mean_reversion : κ of the log VIX (``PricingParams.convexity_mean_reversion``).

    Returns
    -------
    DataFrame
        Columns ``as_of, expiry, tenor_days, future_model``; expiries strictly after ``as_of``.
    """
    from tasks.market.expiries import vix_expiries  # local import: expiries → calendar only

    as_of_ts = pd.Timestamp(as_of).normalize()
    expiries = vix_expiries(as_of_ts, n_expiries)
    tenor_days = np.asarray((expiries - as_of_ts).days, dtype=int)
    fut = vix_future(tenor_days / DAYS_PER_YEAR, term, convexity_vol, mean_reversion)
    return pd.DataFrame(
        {
            "as_of": pd.DatetimeIndex([as_of_ts] * len(expiries)).astype("datetime64[ns]"),
            "expiry": pd.DatetimeIndex(expiries).astype("datetime64[ns]"),
            "tenor_days": tenor_days,
            "future_model": np.asarray(fut, dtype=float),
        }
    )


def vix_term_curves(
    as_of: pd.DatetimeIndex,
    term: VolTerm,
    n_expiries: int,
    convexity_vol: float,
    mean_reversion: float,
) -> pd.DataFrame:
    """:func:`vix_term_curve` for many sessions at once (the backfill), vectorised.

    ``term`` holds arrays aligned with ``as_of``. Rows whose VIX is NaN are dropped.
    """
    from tasks.market.expiries import vix_expiry_for_month

    days = pd.DatetimeIndex(as_of).normalize()
    if len(days) == 0:
        return pd.DataFrame(columns=["as_of", "expiry", "tenor_days", "future_model"])
    months = pd.period_range(days.min().to_period("M"), days.max().to_period("M") + n_expiries + 2)
    expiries = vix_expiry_for_month(months).to_numpy()
    first = np.searchsorted(expiries, days.to_numpy(), side="right")  # strictly after as_of
    idx = first[:, None] + np.arange(n_expiries)[None, :]
    chosen = expiries[idx]  # (n_dates, n_expiries)
    tenor_days = ((chosen - days.to_numpy()[:, None]) / np.timedelta64(1, "D")).astype(int)
    fut = vix_future(tenor_days / DAYS_PER_YEAR, term.expand(-1), convexity_vol, mean_reversion)
    out = pd.DataFrame(
        {
            "as_of": np.repeat(days.to_numpy(), n_expiries).astype("datetime64[ns]"),
            "expiry": chosen.ravel(),
            "tenor_days": tenor_days.ravel(),
            "future_model": np.asarray(fut, dtype=float).ravel(),
        }
    )
    return out.dropna(subset=["future_model"]).reset_index(drop=True)
