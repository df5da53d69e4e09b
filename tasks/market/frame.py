"""Point-in-time market state: the daily closes and rates the pricing needs, per session.

Everything downstream of the signals (the modelled history, betas, sizing) reads the
market through :func:`market_frame`, so the point-in-time rule lives in one place:
a session's row holds only values whose ``available_at`` is on or before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.config import PricingParams, ReleaseLags
from tasks.market import calendar
from tasks.market.pricing import rate_from_tbill
from tasks.market.surface import VolTerm, long_end_vix6m

MARKET_SERIES = ("spx", "vix9d", "vix", "vix3m", "vix6m", "vvix", "tbill_3m")
# VIX9D and VIX6M only shape the surface when fresh for the session (SPEC §3.1); the
# rate is carried forward over its publication lag (and the odd missing print) for
# ReleaseLags.rate_carry_sessions sessions (a week)
_RATE_CARRY_DEFAULT = ReleaseLags().rate_carry_sessions
_LONG_END_DEFAULT = (
    PricingParams().vix6m_ratio_long_run,
    PricingParams().vix6m_ratio_half_life,
)


class MarketDataMissing(ValueError):
    """A session the market cannot be priced on (a required close or rate is not knowable)."""


@dataclass(frozen=True)
class MarketContext:
    """The market as known at one session's close."""

    as_of: pd.Timestamp
    spot: float  # SPX close
    term: VolTerm  # VIX9D/VIX/VIX3M/VIX6M closes (NaN where not fresh)
    vvix: float  # NaN when not fresh
    tbill_pct: float  # 3-month T-bill, percent, discount basis
    risk_free: float  # ln(1 + y/100), SPEC §0

    @property
    def vix(self) -> float:
        return float(self.term.vix)


def market_frame(
    obs: pd.DataFrame,
    sessions: pd.DatetimeIndex | None = None,
    rate_carry_sessions: int = _RATE_CARRY_DEFAULT,
    long_end: tuple[float, float] = _LONG_END_DEFAULT,
) -> pd.DataFrame:
    """One row per session: ``spx, vix9d, vix, vix3m, vix6m, vvix, tbill_3m, r, vix6m_estimated``.

    A session without a fresh VIX6M close but with a VIX3M close gets an estimated VIX6M
    (:func:`tasks.market.surface.long_end_vix6m`, flagged in ``vix6m_estimated``) from the
    last session on or before it on which both printed; ``long_end`` is
    ``(PricingParams.vix6m_ratio_long_run, PricingParams.vix6m_ratio_half_life)``. Before
    the first VIX6M close ever seen the point stays NaN (SPEC §3.1: no long knot).

    ``obs`` is what was knowable at the close of the day being computed (the caller reads
    ``available_at <= as_of``); each date takes its latest vintage among those rows. Daily
    closes appear on their own session (SPEC §1.2: knowable at their own close) and are
    NaN where the index did not print, which drops optional knots from the surface. The
    T-bill rate of a session is the print of the newest *date* first knowable by then
    (it is published the next session), carried at most ``rate_carry_sessions`` sessions
    (``ReleaseLags.rate_carry_sessions``; pass ``params.release_lags.rate_carry_sessions``).
    """
    obs = obs[obs["series_id"].isin(MARKET_SERIES)]
    if sessions is None:
        spx = obs.loc[obs["series_id"] == "spx", "date"]
        if spx.empty:
            raise ValueError("no SPX closes in the observations")
        sessions = calendar.sessions(spx.min(), obs["available_at"].max())
    sessions = pd.DatetimeIndex(sessions)
    frame = pd.DataFrame(index=sessions)
    frame.index.name = "as_of"
    for sid in MARKET_SERIES:
        rows = obs[obs["series_id"] == sid].sort_values(["date", "available_at"])
        latest = rows.drop_duplicates("date", keep="last").set_index("date")["value"]
        if sid == "tbill_3m":
            frame[sid] = _carried_rate(rows, latest, sessions, rate_carry_sessions)
        else:
            frame[sid] = latest.reindex(sessions).to_numpy()
    frame["r"] = rate_from_tbill(frame["tbill_3m"].to_numpy())
    _fill_long_end(frame, obs, long_end)
    return frame


def _fill_long_end(frame: pd.DataFrame, obs: pd.DataFrame, long_end: tuple[float, float]) -> None:
    """Put an estimated VIX6M on sessions where it is stale and VIX3M is fresh (in place).

    The ratio comes from the observations, not the frame's rows, so a frame of a few roll
    sessions still finds the last day both printed; closes are knowable at their own close,
    so a ratio dated on or before the session is point in time.
    """
    latest = {
        sid: obs[obs["series_id"] == sid]
        .sort_values(["date", "available_at"])
        .drop_duplicates("date", keep="last")
        .set_index("date")["value"]
        for sid in ("vix3m", "vix6m")
    }
    both = pd.concat(latest, axis=1, sort=True).dropna()
    both = both[(both["vix3m"] > 0) & (both["vix6m"] > 0)]
    stale = frame["vix6m"].isna().to_numpy() & np.isfinite(frame["vix3m"].to_numpy())
    frame["vix6m_estimated"] = False
    if both.empty or not stale.any():
        return
    sessions = pd.DatetimeIndex(frame.index)
    pos = both.index.searchsorted(sessions, side="right") - 1
    seen = pos >= 0
    ratio = np.where(seen, (both["vix6m"] / both["vix3m"]).to_numpy()[np.maximum(pos, 0)], np.nan)
    last_day = pd.Series(
        np.where(seen, both.index.to_numpy()[np.maximum(pos, 0)], np.datetime64("NaT"))
    )
    age = _session_age(last_day, sessions)
    est = long_end_vix6m(frame["vix3m"].to_numpy(), ratio, age, *long_end)
    fill = stale & seen & np.isfinite(est)
    frame.loc[fill, "vix6m"] = est[fill]
    frame["vix6m_estimated"] = fill


def _carried_rate(
    rows: pd.DataFrame, latest: pd.Series, sessions: pd.DatetimeIndex, carry_sessions: int
) -> np.ndarray:
    """Per session: the latest value of the newest date whose first print was knowable by then.

    Ordering by first publication (not by the newest vintage) keeps a late revision of an
    old date from masquerading as today's print.
    """
    printed = rows.dropna(subset=["value"])
    if printed.empty:
        return np.full(len(sessions), np.nan)
    first = printed.groupby("date")["available_at"].min().sort_values()
    known = pd.DataFrame({"first": first.to_numpy(), "date": first.index})
    known["newest"] = known["date"].cummax()
    picked = pd.merge_asof(
        pd.DataFrame({"first": sessions}), known[["first", "newest"]], on="first"
    )
    age = _session_age(picked["newest"], sessions)
    value = latest.reindex(picked["newest"]).to_numpy()
    return np.where(age <= carry_sessions, value, np.nan)


def _session_age(dates: pd.Series, sessions: pd.DatetimeIndex) -> np.ndarray:
    all_sessions = calendar.sessions(calendar.CALENDAR_START, sessions.max())
    d = pd.DatetimeIndex(dates)
    pos_d = all_sessions.searchsorted(d.fillna(all_sessions[0]), side="right") - 1
    pos_s = all_sessions.searchsorted(sessions, side="right") - 1
    age = (pos_s - pos_d).astype(float)
    age[d.isna()] = np.inf
    return age


def context_at(frame: pd.DataFrame, as_of: pd.Timestamp) -> MarketContext:
    """The :class:`MarketContext` of one session; a clear error if a required close is missing."""
    as_of = pd.Timestamp(as_of)
    if as_of not in frame.index:
        raise MarketDataMissing(f"{as_of.date()} is not in the market frame")
    row = frame.loc[as_of]
    missing = [c for c in ("spx", "vix", "tbill_3m") if not np.isfinite(row[c])]
    if missing:
        raise MarketDataMissing(f"{as_of.date()}: no point-in-time value for {', '.join(missing)}")
    return MarketContext(
        as_of=as_of,
        spot=float(row["spx"]),
        term=VolTerm(
            vix9d=float(row["vix9d"]),
            vix=float(row["vix"]),
            vix3m=float(row["vix3m"]),
            vix6m=float(row["vix6m"]),
        ),
        vvix=float(row["vvix"]),
        tbill_pct=float(row["tbill_3m"]),
        risk_free=float(row["r"]),
    )
