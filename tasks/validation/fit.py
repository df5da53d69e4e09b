"""How well the modelled CNDR months track the index (SPEC §12): the figures of a range.

The figures compare two monthly series of excess returns (decimal per month): the model's
P&L per unit of max loss and the index's return over bills. Correlation and the Sharpe
ratios do not depend on how much collateral each holds per condor (both are invariant to
scaling a series), so they compare the condor *pricing*, not CNDR's exact leverage; the
means do depend on it and are reported for the direction of any bias.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

MONTHS_PER_YEAR = 12


@dataclass(frozen=True)
class TrackingFigures:
    """The SPEC §12 figures of one range (``model_checks`` row, ``--format json`` keys)."""

    months: int
    corr: float
    sharpe_model: float
    sharpe_index: float
    mean_model: float
    mean_index: float

    def as_dict(self) -> dict[str, float | int | None]:
        """Plain JSON-ready values; NaN (too few months) becomes ``None``."""
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in asdict(self).items()
        }


def annual_sharpe(excess: np.ndarray) -> float:
    """Annualised Sharpe ratio of monthly excess returns: ``√12 · mean / std`` (ddof = 1).

    NaN with fewer than two months or no dispersion.
    """
    x = np.asarray(excess, dtype=float)
    if len(x) < 2:
        return float("nan")
    sd = x.std(ddof=1)
    return float(math.sqrt(MONTHS_PER_YEAR) * x.mean() / sd) if sd > 0 else float("nan")


def tracking_figures(model: np.ndarray, index: np.ndarray) -> TrackingFigures:
    """Months, Pearson correlation, Sharpe and mean of each, over the months both have.

    Parameters
    ----------
    model, index : monthly excess returns, aligned (NaN months are left out of both).
    """
    m = np.asarray(model, dtype=float)
    i = np.asarray(index, dtype=float)
    ok = np.isfinite(m) & np.isfinite(i)
    m, i = m[ok], i[ok]
    n = int(ok.sum())
    corr = float(np.corrcoef(m, i)[0, 1]) if n >= 3 and m.std() > 0 and i.std() > 0 else math.nan
    return TrackingFigures(
        months=n,
        corr=corr,
        sharpe_model=annual_sharpe(m),
        sharpe_index=annual_sharpe(i),
        mean_model=float(m.mean()) if n else math.nan,
        mean_index=float(i.mean()) if n else math.nan,
    )


def figures_by_year(months: pd.DataFrame) -> pd.DataFrame:
    """:func:`tracking_figures` per calendar year of each month's expiry (when its P&L is realised).

    ``months`` needs ``expiry``, ``model_excess`` and ``index_excess``.
    """
    rows = []
    for year, grp in months.groupby(pd.DatetimeIndex(months["expiry"]).year):
        fig = tracking_figures(grp["model_excess"].to_numpy(), grp["index_excess"].to_numpy())
        rows.append({"year": int(year), **asdict(fig)})
    return pd.DataFrame(rows, columns=["year", *TrackingFigures.__dataclass_fields__])


def leverage(model: np.ndarray, index: np.ndarray) -> float:
    """Least-squares ``k`` of ``index ≈ k · model`` (no intercept): CNDR's collateral per max loss.

    The model's return is per unit of max loss, CNDR's per unit of a larger collateral; ``k``
    puts the two on one scale for a chart (NaN months left out).
    """
    m = np.asarray(model, dtype=float)
    i = np.asarray(index, dtype=float)
    ok = np.isfinite(m) & np.isfinite(i)
    return float(m[ok] @ i[ok]) / float(m[ok] @ m[ok])


def cumulative(months: pd.DataFrame, scale: float | None = None) -> pd.DataFrame:
    """The two cumulative excess-return series (growth of 1, compounded monthly), for the chart.

    The model's months are multiplied by ``scale`` (default :func:`leverage`) so both
    series hold the same collateral per condor.
    """
    model = months["model_excess"].to_numpy(dtype=float)
    index = months["index_excess"].to_numpy(dtype=float)
    k = leverage(model, index) if scale is None else scale
    out = pd.DataFrame(index=pd.DatetimeIndex(months["expiry"], name="expiry"))
    out["model"] = np.cumprod(1.0 + k * np.nan_to_num(model))
    out["index"] = np.cumprod(1.0 + np.nan_to_num(index))
    return out
