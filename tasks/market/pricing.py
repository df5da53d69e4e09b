"""Option pricing formulas of SPEC §3: Black–Scholes–Merton for SPX, Black-76 for VIX.

Everything here is vectorised numpy: every argument may be a scalar or an array, and
arrays broadcast against each other (dates × strikes × scenarios in one call). The
normal CDF is ``scipy.special.ndtr``.

Conventions (SPEC §0): rates and the dividend yield are continuously compounded annual
decimals, ``T`` is calendar days / 365, vega is per vol point (0.01 of sigma) and theta
per calendar day (the change in value when one day passes, usually negative for a long
option).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri

# re-exported: tasks/sizing imports the multiplier from here (the contract is conventions')
from tasks.conventions import (
    DAYS_PER_YEAR,
    MULTIPLIER,  # noqa: F401
)
from tasks.market.surface import skew_vol

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)

FloatArray = NDArray[np.float64]


class Greeks(NamedTuple):
    """BSM price and greeks, each an array of the broadcast shape of the inputs.

    ``delta``, ``gamma``, ``vega`` and ``theta`` are ``None`` when :func:`bsm` was called
    with ``greeks=False`` (price-only fast path).
    """

    price: FloatArray
    delta: FloatArray | None
    gamma: FloatArray | None
    vega: FloatArray | None  # per vol point: dV / d(sigma) * 0.01
    theta: FloatArray | None  # per calendar day: dV/dt / 365, t = calendar time


class Black76(NamedTuple):
    """Black-76 price and delta with respect to the futures price."""

    price: FloatArray
    delta: FloatArray


def rate_from_tbill(y_percent: ArrayLike) -> FloatArray:
    """Continuously compounded rate from a quoted T-bill rate in percent, SPEC §0.

    ``r = ln(1 + y/100)``.
    """
    return np.log1p(np.asarray(y_percent, dtype=float) / 100.0)


def _d1_parts(
    log_moneyness: FloatArray, vol_sqrt_t: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """d1 and d2 from ln(F/K) and sigma·sqrt(T), with the T → 0 / sigma → 0 limit.

    When ``sigma·sqrt(T)`` is zero the option is deterministic: d1 = d2 = ±inf by the sign
    of ln(F/K) (0 at the money), so N(d1), N(d2) are 0/1 and the price formula collapses
    to the discounted intrinsic value without dividing by zero.

    Returns ``(d1, d2, live)`` where ``live`` is ``None`` when every option is live (the
    common case, which then skips the masking work entirely).
    """
    live = vol_sqrt_t > 0.0
    if live.all():
        d1 = log_moneyness / vol_sqrt_t
        d1 += 0.5 * vol_sqrt_t
        return d1, d1 - vol_sqrt_t, None
    safe = np.where(live, vol_sqrt_t, 1.0)
    d1 = log_moneyness / safe + 0.5 * vol_sqrt_t
    dead = np.where(log_moneyness > 0.0, np.inf, np.where(log_moneyness < 0.0, -np.inf, 0.0))
    d1 = np.where(live, d1, dead)
    d2 = np.where(live, d1 - vol_sqrt_t, dead)
    return d1, d2, live


def bsm(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    greeks: bool = True,
) -> Greeks:
    """European Black–Scholes–Merton price and greeks with continuous dividend yield (SPEC §3.1).

    Parameters
    ----------
    S, K : spot and strike (index points).
    T : time to expiry in years (calendar days / 365); ``T <= 0`` gives intrinsic value,
        delta 0 or ±e^{-qT}, gamma and vega 0.
    r, q : continuously compounded rate and dividend yield.
    sigma : volatility (decimal).
    is_call : bool (array); False means put.
    greeks : when False only the price is computed (the others are ``None``); this is the
        fast path for bulk revaluation.

    Returns
    -------
    Greeks
        ``price``, ``delta`` (dV/dS), ``gamma``, ``vega`` per vol point, ``theta`` per
        calendar day, all of the broadcast shape.

    Notes
    -----
    Forward ``F = S e^{(r−q)T}``; ``d1 = (ln(F/K) + σ²T/2)/(σ√T)``;
    call = e^{−rT}(F N(d1) − K N(d2)), put = e^{−rT}(K N(−d2) − F N(−d1)).

    Implementation note: the put is computed as call − S e^{−qT} + K e^{−rT} (put–call
    parity), so ``ndtr`` runs once on d1 and once on d2 for calls and puts alike; this is
    what keeps the price within ~1.1× of a bare numpy formula (see
    ``benchmarks/bench_bsm.py``). The absolute accuracy is ~1e−12·S, so far
    out-of-the-money puts worth less than ~1e−8 points lose relative precision — far below
    any quote tick.
    """
    S = np.asarray(S, dtype=float)
    K = np.asarray(K, dtype=float)
    T = np.maximum(np.asarray(T, dtype=float), 0.0)
    r = np.asarray(r, dtype=float)
    q = np.asarray(q, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    # 1.0 for puts, 0.0 for calls: puts follow from the call by put–call parity, which
    # evaluates ndtr on d1, d2 only once each (ndtr dominates the cost) and needs no
    # np.where (slow on mixed masks)
    is_put = 1.0 - np.asarray(is_call, dtype=bool)

    sqrt_t = np.sqrt(T)
    vol_sqrt_t = sigma * sqrt_t
    s_dq = S * np.exp(-q * T)
    k_dr = K * np.exp(-r * T)
    with np.errstate(divide="ignore", invalid="ignore"):
        # K = 0 or S = 0 are degenerate but must not warn
        log_fk = np.log(S / K) + (r - q) * T
    d1, d2, live = _d1_parts(log_fk, vol_sqrt_t)
    n_d1 = ndtr(d1)
    n_d2 = ndtr(d2)
    call = s_dq * n_d1 - k_dr * n_d2
    # put = call − S e^{−qT} + K e^{−rT}; the floor at 0 removes rounding dust (~1e−12)
    # left by the parity subtraction on far out-of-the-money puts
    price = np.maximum(call + is_put * (k_dr - s_dq), 0.0)
    if not greeks:
        return Greeks(price, None, None, None, None)

    # put delta e^{−qT}(N(d1) − 1) = −e^{−qT}N(−d1); same shift for the theta terms
    n_d1_pc = n_d1 - is_put
    n_d2_pc = n_d2 - is_put
    disc_q = np.exp(-q * T)
    delta = disc_q * n_d1_pc
    if live is None:
        pdf_d1 = np.exp(-0.5 * np.square(d1)) * _INV_SQRT_2PI
        with np.errstate(divide="ignore", invalid="ignore"):
            gamma = disc_q * pdf_d1 / (S * vol_sqrt_t)
    else:
        # density is 0 for dead options (also at the money at expiry, where d1 = 0)
        pdf_d1 = np.where(live, np.exp(-0.5 * np.square(np.where(live, d1, 0.0))), 0.0)
        pdf_d1 *= _INV_SQRT_2PI
        safe_vst = np.where(live, vol_sqrt_t, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            gamma = np.where(live, disc_q * pdf_d1 / (S * safe_vst), 0.0)
    vega = s_dq * pdf_d1 * sqrt_t * 0.01
    safe_sqrt_t = sqrt_t if live is None else np.where(sqrt_t > 0.0, sqrt_t, 1.0)
    theta_year = (
        -s_dq * pdf_d1 * sigma / (2.0 * safe_sqrt_t) - r * k_dr * n_d2_pc + q * s_dq * n_d1_pc
    )
    theta = theta_year / DAYS_PER_YEAR
    return Greeks(price, delta, gamma, vega, theta)


def black76(
    F: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> Black76:
    """Black-76 option on a futures price (SPEC §3.2, VIX options on VIX futures).

    Parameters
    ----------
    F : futures price (for VIX options, the modelled ``F_VIX(T)``).
    K, T, r, sigma : strike, years to expiry, continuously compounded rate, vol (vol of vol).
    is_call : bool (array).

    Returns
    -------
    Black76
        ``price = e^{−rT}(F N(d1) − K N(d2))`` for a call (put by parity) and
        ``delta = dV/dF = ±e^{−rT} N(±d1)``.
    """
    F = np.asarray(F, dtype=float)
    K = np.asarray(K, dtype=float)
    T = np.maximum(np.asarray(T, dtype=float), 0.0)
    sign = 2.0 * np.asarray(is_call, dtype=bool) - 1.0
    disc = np.exp(-np.asarray(r, dtype=float) * T)
    vol_sqrt_t = np.asarray(sigma, dtype=float) * np.sqrt(T)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_fk = np.log(F / K)
    d1, d2, _ = _d1_parts(log_fk, vol_sqrt_t)
    n_d1 = ndtr(sign * d1)
    price = sign * disc * (F * n_d1 - K * ndtr(sign * d2))
    return Black76(price, sign * disc * n_d1)


def strike_for_delta(
    target_delta: ArrayLike,
    S: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma_atm: ArrayLike,
    put_slope: float,
    call_slope: float,
    vol_floor: float,
    strike_step: float,
    n_iter: int = 40,
) -> FloatArray:
    """Strike on the ``strike_step`` grid whose BSM delta under the skewed vol is nearest a target.

    Used to place the condor's short strikes at delta −δ (puts, ``target_delta < 0``) and
    +δ (calls, ``target_delta > 0``), SPEC §4.

    Method: in log-moneyness ``x = ln(K/F)`` the delta condition is
    ``d1 = ±N⁻¹(|δ| e^{qT})`` with ``d1 = (−x + σ(x)²T/2)/(σ(x)√T)``, i.e. the fixed point
    ``x = σ(x)²T/2 − d1·σ(x)√T``. The skew makes σ depend on x only mildly, so the
    iteration is a contraction and converges in a handful of steps (``n_iter`` is a safe
    upper bound, all vectorised). The continuous strike is then snapped to the grid by
    evaluating delta at the grid points below and above and keeping the nearer one.

    Parameters
    ----------
    target_delta : signed target (e.g. −0.16 put, +0.16 call); arrays broadcast.
    S, T, r, q : spot, years, rate, dividend yield.
    sigma_atm : ATM vol at T (``surface.atm_vol``).
    put_slope, call_slope, vol_floor : skew parameters (``PricingParams``).
    strike_step : strike grid (5 for SPX).

    Returns
    -------
    ndarray
        Grid strikes, broadcast shape of the inputs.
    """
    target = np.asarray(target_delta, dtype=float)
    S = np.asarray(S, dtype=float)
    T = np.maximum(np.asarray(T, dtype=float), 1e-8)
    r = np.asarray(r, dtype=float)
    q = np.asarray(q, dtype=float)
    sigma_atm = np.asarray(sigma_atm, dtype=float)
    is_call = target > 0
    F = S * np.exp((r - q) * T)
    sqrt_t = np.sqrt(T)
    # call delta e^{-qT}N(d1) = δ ; put delta -e^{-qT}N(-d1) = -|δ|
    p = np.clip(np.abs(target) * np.exp(q * T), 1e-12, 1 - 1e-12)
    d1_target = np.where(is_call, ndtri(p), -ndtri(p))
    x = np.zeros(np.broadcast_shapes(target.shape, F.shape, sigma_atm.shape))
    for _ in range(n_iter):  # fixed-point iterations (not a per-row loop)
        sig = skew_vol(F * np.exp(x), F, T, sigma_atm, put_slope, call_slope, vol_floor)
        x_new = 0.5 * sig * sig * T - d1_target * sig * sqrt_t
        # NaN rows never hold the others back (as nanmax would skip them), without its cost
        converged = not (np.abs(x_new - x) >= 1e-12).any()
        x = x_new
        if converged:
            break
    k_cont = F * np.exp(x)
    lo = np.floor(k_cont / strike_step) * strike_step
    hi = lo + strike_step

    def _delta_at(k: FloatArray) -> FloatArray:
        sig = skew_vol(k, F, T, sigma_atm, put_slope, call_slope, vol_floor)
        g = bsm(S, k, T, r, q, sig, is_call)
        assert g.delta is not None
        return g.delta

    err_lo = np.abs(_delta_at(lo) - target)
    err_hi = np.abs(_delta_at(hi) - target)
    return np.where(err_lo <= err_hi, lo, hi)
