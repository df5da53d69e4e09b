"""Historical simulation, scaling and liquidity (SPEC §7 steps 3 and 6): joint SPX/VIX
moves, the scenario covariance, risk-inverse contract counts, the quick ratio and the
proportional path a book is scaled down along."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from tasks.risk._shared import EPS, check_index, scalar_or_array


def joint_scenarios(
    spx: pd.Series, vix: pd.Series, as_of: object, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """The last ``window`` joint daily (SPX return, VIX ratio) pairs ending at ``as_of`` (SPEC §7.3).

    Both series are put on the union of their dates up to ``as_of`` (nothing later is read);
    each move is taken between consecutive dates of that index, and a pair is kept only when
    both moves exist, so a day missing from one series never produces a two-day move.

    Parameters
    ----------
    spx, vix : pandas.Series
        Closes indexed by session date.
    as_of : date-like
        Last session whose close may be used.
    window : int
        Number of pairs (``SizingParams.hist_window``).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        SPX simple returns ``S_t/S_{t-1} − 1`` and VIX ratios ``VIX_t/VIX_{t-1}``, oldest first.
        Fewer than ``window`` pairs when the history is shorter.

    Raises
    ------
    ValueError
        When no joint pair exists up to ``as_of``.
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    cutoff = pd.Timestamp(as_of).normalize()
    check_index(spx.index, "spx")
    check_index(vix.index, "vix")
    spx, vix = spx[spx.index <= cutoff], vix[vix.index <= cutoff]
    frame = pd.concat({"spx": spx.astype(float), "vix": vix.astype(float)}, axis=1, sort=True)
    # a day on which both are missing is not a trading day of either; drop before differencing
    frame = frame.dropna(how="all")
    moves = frame / frame.shift(1)
    moves = moves.dropna(how="any")
    moves = moves[np.isfinite(moves).all(axis=1)]
    if moves.empty:
        raise ValueError(f"no joint SPX/VIX daily move on or before {cutoff.date()}")
    moves = moves.iloc[-window:]
    return moves["spx"].to_numpy() - 1.0, moves["vix"].to_numpy()


def scenario_covariance(pnl: ArrayLike) -> np.ndarray:
    """Sample covariance (ddof = 1) of per-contract scenario P&L across tranches (SPEC §7.3).

    Parameters
    ----------
    pnl : array-like, shape (n_scenarios, n_tranches)
        One-day P&L per contract of each tranche under each historical scenario, dollars.

    Returns
    -------
    numpy.ndarray, shape (n_tranches, n_tranches)
    """
    pnl = np.asarray(pnl, float)
    if pnl.ndim != 2:
        raise ValueError("pnl must be a 2-d array [scenario, tranche]")
    if pnl.shape[0] < 2:
        raise ValueError("need at least two scenarios for a covariance")
    if not np.all(np.isfinite(pnl)):
        raise ValueError("pnl contains NaN or infinite values")
    return np.atleast_2d(np.cov(pnl, rowvar=False, ddof=1))


def risk_inverse_weights(sigma: ArrayLike, cov: ArrayLike, target_vol_dollars: float) -> np.ndarray:
    """Risk-inverse contract counts: ``q_i ∝ 1/σ_i`` scaled so ``sqrt(qᵀΣq) = target`` (SPEC §7.3).

    Parameters
    ----------
    sigma : array-like, shape (n_tranches,)
        Per-contract one-day P&L standard deviation of each tranche (normally
        ``sqrt(diag(cov))``), dollars.
    cov : array-like, shape (n_tranches, n_tranches)
        Scenario covariance of per-contract P&L (:func:`scenario_covariance`).
    target_vol_dollars : float
        Target daily P&L volatility in dollars, ``SizingParams.target_vol · E``.

    Returns
    -------
    numpy.ndarray
        Unrounded contract counts ``q_i >= 0``; the caller applies ``floor(min(n_cap, q_i))``.

    Notes
    -----
    A tranche with ``σ_i = 0`` (or NaN) shows no P&L variability in the scenarios, which for a
    short-premium structure means the revaluation is degenerate rather than that the tranche is
    riskless; ``1/σ_i`` would be infinite, so such a tranche gets ``q_i = 0`` and the others
    share the target. When the weighted portfolio's variance is zero (all degenerate, or
    perfectly offsetting tranches) every ``q_i`` is 0: there is no finite scale that hits the
    target.
    """
    sigma = np.asarray(sigma, float)
    cov = np.atleast_2d(np.asarray(cov, float))
    if sigma.ndim != 1 or cov.shape != (sigma.size, sigma.size):
        raise ValueError("sigma must be 1-d and cov square of the same size")
    if target_vol_dollars < 0:
        raise ValueError("target_vol_dollars must be non-negative")
    if np.any(sigma < 0):
        raise ValueError("sigma must be non-negative")
    usable = np.isfinite(sigma) & (sigma > 0)
    raw = np.zeros_like(sigma)
    raw[usable] = 1.0 / sigma[usable]
    sub = cov[np.ix_(usable, usable)]
    variance = float(raw[usable] @ sub @ raw[usable]) if usable.any() else 0.0
    # relative tolerance: variance of the unit-risk portfolio is of order n_usable² at most
    if not variance > 1e3 * EPS * max(1, int(usable.sum())) ** 2:
        return np.zeros_like(sigma)
    return raw * (target_vol_dollars / np.sqrt(variance))


def quick_ratio(
    cash: ArrayLike, tbills: ArrayLike, margin_requirement: ArrayLike, stressed_pnl: ArrayLike
) -> np.ndarray | float:
    """Quick ratio ``(cash + T-bills) / (margin + max(0, −stressed P&L))`` (SPEC §7.6).

    ``stressed_pnl`` is the portfolio's P&L in the stress scenario considered (normally the
    worst one), negative for a loss. An empty denominator gives ``inf`` — or ``−inf`` when
    the liquid assets are themselves negative (the cash cannot pay for what was bought, e.g.
    a hedge's premium), so a limit of ``ratio ≥ x`` still fails.
    """
    liquid = np.asarray(cash, float) + np.asarray(tbills, float)
    need = np.asarray(margin_requirement, float) + np.maximum(0.0, -np.asarray(stressed_pnl, float))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        empty = np.where(liquid >= 0, np.inf, -np.inf)
        ratio = np.where(need > 0, liquid / np.where(need > 0, need, 1.0), empty)
    return scalar_or_array(ratio)


def proportional_path(proposed: ArrayLike) -> np.ndarray:
    """Every distinct ``floor(f·proposed)`` for f in [0, 1], ordered by f (rows), exactly.

    The counts change only at ``f = j / p_i``; at that point tranche k holds
    ``floor(j·p_k / p_i)`` contracts, computed in integers so no rounding can lose a contract.
    """
    proposed = np.asarray(proposed, dtype=np.int64)
    nz = np.flatnonzero(proposed > 0)
    if nz.size == 0:
        return np.zeros((1, proposed.size), dtype=np.int64)
    owner = np.repeat(nz, proposed[nz])
    j = np.concatenate([np.arange(1, proposed[i] + 1) for i in nz])
    counts = (j[:, None] * proposed[None, :]) // proposed[owner][:, None]
    counts = np.vstack([np.zeros((1, proposed.size), dtype=np.int64), counts])
    # along the path every component is non-decreasing, so the total orders the rows
    counts = np.unique(counts, axis=0)
    return counts[np.argsort(counts.sum(axis=1), kind="stable")]
