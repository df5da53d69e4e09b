"""The daily model-health line (SPEC §12): trailing tracking figures of the CNDR replica.

When the warehouse holds a CNDR history (the optional live source ``cndr``), the daily
report shows how the model surface tracked the index over the trailing ``health_years``
years of months, flagged when it falls below the SPEC §12 bar (correlation ≥ 0.90, Sharpe
ratios within 0.15). Pure: the caller passes the point-in-time observations.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from schemas.config import Params
from tasks.market.frame import market_frame
from tasks.validation.check import cndr_months, roll_sessions
from tasks.validation.fit import TrackingFigures, tracking_figures


@dataclass(frozen=True)
class ModelHealth:
    """Trailing tracking figures and the SPEC §12 verdict on them."""

    start: pd.Timestamp  # first month's expiry in the window
    end: pd.Timestamp  # last month's expiry (on or before as_of)
    figures: TrackingFigures
    flags: tuple[str, ...]  # the thresholds missed, in words; empty when the bar is met
    months: pd.DataFrame  # expiry, model_excess, index_excess (the chart's input)

    @property
    def ok(self) -> bool:
        return not self.flags


def health_flags(fig: TrackingFigures, min_corr: float, max_gap: float) -> tuple[str, ...]:
    """The SPEC §12 thresholds ``fig`` misses (a NaN figure misses its threshold)."""
    out = []
    if not fig.corr >= min_corr:
        out.append(f"correlation {fig.corr:.2f} < {min_corr:.2f}")
    gap = abs(fig.sharpe_model - fig.sharpe_index)
    if not gap <= max_gap:
        out.append(f"|Sharpe model − index| {gap:.2f} > {max_gap:.2f}")
    return tuple(out)


def cndr_closes(obs: pd.DataFrame) -> pd.Series:
    """The ``cndr`` closes of the observations (latest vintage per date), empty when none."""
    rows = obs[(obs["series_id"] == "cndr") & obs["value"].notna()]
    rows = rows.sort_values(["date", "available_at"]).drop_duplicates("date", keep="last")
    s = rows.set_index("date")["value"].astype(float).sort_index()
    s.index = pd.DatetimeIndex(s.index, name="date").astype("datetime64[ns]")
    return s.rename("cndr")


def model_health(
    obs: pd.DataFrame, as_of: object, params: Params | None = None
) -> ModelHealth | None:
    """The trailing tracking figures of months expiring in ``(as_of − health_years, as_of]``.

    Parameters
    ----------
    obs : observations knowable at ``as_of`` (``available_at <= as_of``): the market series
        of ``tasks.market.frame.MARKET_SERIES`` and ``cndr``.
    as_of : the run's session.
    params : the method parameters (the surface and ``ValidationParams``).

    Returns
    -------
    ModelHealth or None
        None when there is no CNDR history or fewer than ``health_min_months`` months
        have both a model price and an index return.
    """
    params = params or Params()
    rules = params.validation
    day = pd.Timestamp(as_of).normalize()
    obs = obs[obs["available_at"] <= day]
    cndr = cndr_closes(obs)
    if cndr.empty:
        return None
    lo = day - pd.DateOffset(years=rules.health_years) + pd.Timedelta(days=1)
    frame = market_frame(obs, sessions=roll_sessions(lo, day))
    months = cndr_months(frame, cndr, lo, day, params.pricing, rules)
    months = months[months["index_excess"].notna()].reset_index(drop=True)
    if len(months) < rules.health_min_months:
        return None
    fig = tracking_figures(months["model_excess"].to_numpy(), months["index_excess"].to_numpy())
    return ModelHealth(
        start=pd.Timestamp(months["expiry"].min()),
        end=pd.Timestamp(months["expiry"].max()),
        figures=fig,
        flags=health_flags(fig, rules.min_corr, rules.max_sharpe_gap),
        months=months[["expiry", "model_excess", "index_excess"]],
    )


def health_line(h: ModelHealth) -> str:
    """One line for the report and the artifacts."""
    f = h.figures
    head = (
        f"model health (CNDR, {f.months} months expiring {h.start.date()} … {h.end.date()}): "
        f"corr {f.corr:.2f}, Sharpe model {f.sharpe_model:.2f} vs index {f.sharpe_index:.2f}"
    )
    return head + (" — ⚠ below SPEC §12: " + "; ".join(h.flags) if h.flags else " — meets SPEC §12")
