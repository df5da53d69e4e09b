"""Returns and betas (SPEC §0, §5): simple returns, the rolling OLS beta, the ``betas``
table, dollar betas of option legs and holdings, and the portfolio and tranche betas.

Prices are in points; the contract multiplier :data:`tasks.conventions.MULTIPLIER` turns
an option's delta into dollars per unit SPX return.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from schemas.config import RiskParams
from tasks.conventions import MULTIPLIER
from tasks.risk._shared import EPS, check_index, scalar_or_array

_RISK_DEFAULTS = RiskParams()


def simple_returns(prices: pd.Series) -> pd.Series:
    """Simple returns between consecutive sessions, ``r_t = P_t / P_{t-1} - 1`` (SPEC §0).

    Parameters
    ----------
    prices : pandas.Series
        Closes indexed by session date, ascending and unique. A missing close is NaN.

    Returns
    -------
    pandas.Series
        Same index; the first value is NaN. A NaN close makes both returns it touches NaN:
        no gap is bridged, so a later regression never mixes one-day and two-day returns.

    Raises
    ------
    ValueError
        When the index is not strictly increasing or a close is not positive.
    """
    check_index(prices.index, "prices")
    values = prices.astype(float)
    if (values <= 0).any():
        raise ValueError("prices must be positive to form simple returns")
    # fill_method=None: a missing close must not be forward-filled into a fake zero return
    return values.pct_change(fill_method=None)


def default_min_obs(window: int, params: RiskParams = _RISK_DEFAULTS) -> int:
    """Fewest valid pairs for which :func:`rolling_beta` reports a number.

    ``max(params.beta_min_obs_floor, window // params.beta_min_obs_divisor)``: 63 for the
    252-session window with the defaults (``max(3, window // 4)``). Not a SPEC default (the
    SPEC is silent); callers may pass their own ``min_obs``.
    """
    return max(params.beta_min_obs_floor, window // params.beta_min_obs_divisor)


def _trailing_sums(values: np.ndarray, window: int) -> np.ndarray:
    """Sums over the trailing ``window`` rows (shorter at the start), by a cumulative sum."""
    csum = np.concatenate([np.zeros((1,) + values.shape[1:]), np.cumsum(values, axis=0)])
    upper = np.arange(1, len(values) + 1)
    lower = np.maximum(upper - window, 0)
    return csum[upper] - csum[lower]


def rolling_beta(
    y: pd.Series, x: pd.Series, window: int, min_obs: int | None = None
) -> pd.DataFrame:
    """Rolling OLS with intercept of ``y`` on ``x`` over the trailing ``window`` rows (SPEC §5).

    For every date ``t`` the regression ``y = alpha + beta·x + e`` uses the rows
    ``t-window+1 .. t`` of the two series aligned on their common dates, dropping any pair
    with a NaN in either series. It is computed in one pass from rolling sums
    (``beta = cov(x, y) / var(x)``), so 9,000 dates cost microseconds.

    Parameters
    ----------
    y, x : pandas.Series
        Returns (``r_X`` and ``r_SPX``) indexed by session date.
    window : int
        Trailing window in rows of the aligned data (sessions), e.g. ``RiskParams.beta_window``.
    min_obs : int, optional
        Fewest valid pairs for a result; fewer gives NaN. Default :func:`default_min_obs`.

    Returns
    -------
    pandas.DataFrame
        Indexed by the common dates, columns ``beta``, ``alpha``, ``r2`` (float) and ``n_obs``
        (int, pairs actually used, reported even when below ``min_obs``). The first rows use the
        shorter history available (their ``n_obs`` says so). ``beta``/``alpha``/``r2`` are NaN
        when ``x`` has no variance in the window; ``r2`` is NaN when ``y`` has none.
    """
    if window < 2:
        raise ValueError("window must be at least 2")
    min_obs = default_min_obs(window) if min_obs is None else int(min_obs)
    if min_obs < 2:
        raise ValueError("min_obs must be at least 2 (a line needs two points)")
    check_index(y.index, "y")
    check_index(x.index, "x")
    common = y.index.intersection(x.index).sort_values()
    yv = y.reindex(common).to_numpy(dtype=float)
    xv = x.reindex(common).to_numpy(dtype=float)
    valid = np.isfinite(yv) & np.isfinite(xv)

    # Demean by the full-sample mean first: cov/var are shift invariant and the rolling-sum
    # form (sum xy - n·mean x·mean y) loses precision when the mean is large against the spread.
    mu_x = xv[valid].mean() if valid.any() else 0.0
    mu_y = yv[valid].mean() if valid.any() else 0.0
    xc = np.where(valid, xv - mu_x, 0.0)
    yc = np.where(valid, yv - mu_y, 0.0)
    stacked = np.column_stack([valid.astype(float), xc, yc, xc * xc, yc * yc, xc * yc])
    n, sx, sy, sxx, syy, sxy = _trailing_sums(stacked, window).T

    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = sx / n
        mean_y = sy / n
        var_x = sxx - n * mean_x**2  # n·Var(x), centred sum of squares
        var_y = syy - n * mean_y**2
        cov_xy = sxy - n * mean_x * mean_y
        # cumulative-sum differences carry an absolute error of order eps·(total sum); a window
        # whose spread is below that is treated as having none
        tol_x = 1e3 * EPS * max(float((xc * xc).sum()), 1e-300)
        tol_y = 1e3 * EPS * max(float((yc * yc).sum()), 1e-300)
        beta = np.where(var_x > tol_x, cov_xy / var_x, np.nan)
        alpha = (mean_y + mu_y) - beta * (mean_x + mu_x)
        r2 = np.where(var_y > tol_y, beta * cov_xy / var_y, np.nan)
    enough = n >= min_obs
    out = pd.DataFrame(
        {
            "beta": np.where(enough, beta, np.nan),
            "alpha": np.where(enough, alpha, np.nan),
            "r2": np.where(enough, np.clip(r2, 0.0, 1.0), np.nan),
            "n_obs": np.rint(n).astype("int64"),
        },
        index=common,
    )
    return out


def betas_table(
    returns: pd.DataFrame,
    as_of_dates: ArrayLike | pd.DatetimeIndex,
    window: int,
    min_obs: int | None = None,
    market: str = "spx",
) -> pd.DataFrame:
    """Rows of the ``betas`` table: every asset's rolling beta on SPX at the given dates.

    Parameters
    ----------
    returns : pandas.DataFrame
        Daily simple returns indexed by session date; one column per asset plus the market
        column ``market`` (``'spx'``). NaN where a return is missing.
    as_of_dates : array-like of dates
        Dates to report. A date absent from ``returns.index`` yields NaN values and
        ``n_obs = 0`` rather than a stale estimate from an earlier row.
    window : int
        Trailing window in sessions (``RiskParams.beta_window``).
    min_obs : int, optional
        See :func:`rolling_beta`.
    market : str
        Name of the regressor column.

    Returns
    -------
    pandas.DataFrame
        Long format, columns ``as_of, asset, window_days, beta, alpha, r2, n_obs``, sorted by
        ``as_of`` then ``asset``. Each row uses only returns dated on or before its ``as_of``.
    """
    if market not in returns.columns:
        raise ValueError(f"returns has no '{market}' column (the regressor)")
    assets = [c for c in returns.columns if c != market]
    dates = pd.DatetimeIndex(pd.to_datetime(np.asarray(as_of_dates))).normalize().unique()
    dates = dates.sort_values()
    frames = []
    for asset in assets:  # a handful of assets; each regression is itself vectorised over dates
        fit = rolling_beta(returns[asset], returns[market], window, min_obs).reindex(dates)
        fit["n_obs"] = fit["n_obs"].fillna(0).astype("int64")
        fit.index.name = "as_of"
        fit = fit.reset_index()
        fit.insert(1, "asset", asset)
        frames.append(fit)
    columns = ["as_of", "asset", "window_days", "beta", "alpha", "r2", "n_obs"]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    out = pd.concat(frames, ignore_index=True)
    out.insert(2, "window_days", int(window))
    out["as_of"] = out["as_of"].astype("datetime64[ns]")
    return out.sort_values(["as_of", "asset"], kind="stable").reset_index(drop=True)[columns]


def spx_leg_dollar_beta(delta: ArrayLike, S: ArrayLike, qty: ArrayLike) -> np.ndarray | float:
    """Dollar beta of an SPX option leg, ``Δ·100·S·qty``: P&L per unit SPX return (SPEC §5).

    ``delta`` is per option (puts negative), ``S`` the SPX level, ``qty`` signed contracts.
    """
    return scalar_or_array(
        np.asarray(delta, float) * MULTIPLIER * np.asarray(S, float) * np.asarray(qty)
    )


def vix_leg_dollar_beta(
    delta_F: ArrayLike, F: ArrayLike, beta_F: ArrayLike, qty: ArrayLike
) -> np.ndarray | float:
    """Dollar beta of a VIX option leg, ``Δ_F·100·F·β_F·qty`` (SPEC §5).

    ``delta_F`` is the Black-76 delta with respect to the VIX future ``F`` of the option's
    expiry, ``beta_F`` the beta of that future's returns on SPX returns (negative), ``qty``
    signed contracts.
    """
    value = (
        np.asarray(delta_F, float)
        * MULTIPLIER
        * np.asarray(F, float)
        * np.asarray(beta_F, float)
        * np.asarray(qty)
    )
    return scalar_or_array(value)


def holding_dollar_beta(beta: ArrayLike, value: ArrayLike) -> np.ndarray | float:
    """Dollar beta of a non-option holding, ``β_h·value_h`` (SPEC §5)."""
    return scalar_or_array(np.asarray(beta, float) * np.asarray(value, float))


def portfolio_beta(dollar_betas: ArrayLike, equity: float) -> float:
    """Portfolio beta ``β_p = Σ dollar beta / equity`` (SPEC §5)."""
    if not equity > 0:
        raise ValueError("equity must be positive")
    return float(np.sum(np.asarray(dollar_betas, float)) / equity)


def tranche_beta(dollar_beta: ArrayLike, max_loss: ArrayLike) -> np.ndarray | float:
    """Tranche beta = its dollar beta / its max loss (both in dollars, same contract count)."""
    max_loss = np.asarray(max_loss, float)
    if np.any(max_loss <= 0):
        raise ValueError("max_loss must be positive")
    return scalar_or_array(np.asarray(dollar_beta, float) / max_loss)
