"""The daily model-health line: trailing CNDR tracking figures and the SPEC §12 flags."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from paths import FIXTURES, SNAPSHOT
from snapshot_obs import snapshot_observations

from schemas.config import Params, ValidationParams
from tasks.validation.fit import TrackingFigures
from tasks.validation.health import health_flags, health_line, model_health

CNDR_FILE = FIXTURES / "validation" / "cboe_CNDR_History_2016-11_2018-01.csv"
AS_OF = pd.Timestamp("2018-01-19")  # a monthly expiry: the last month in the window
# the months the fixture covers end to end: entries 2016-11-18 … 2017-12-15
ROLLS = ["2016-11-18", "2016-12-16", "2017-01-20", "2017-02-17", "2017-03-17", "2017-04-21",
         "2017-05-19", "2017-06-16", "2017-07-21", "2017-08-18", "2017-09-15", "2017-10-20",
         "2017-11-17", "2017-12-15", "2018-01-19"]  # fmt: skip


def _csv(path, fmt: str) -> pd.Series:
    lines = path.read_text().splitlines()[1:]
    dates = pd.to_datetime([ln.split(",")[0] for ln in lines], format=fmt)
    vals = pd.to_numeric(pd.Series([ln.split(",")[1] for ln in lines]), errors="coerce")
    return pd.Series(vals.to_numpy(), index=dates).dropna()


@pytest.fixture(scope="module")
def obs() -> pd.DataFrame:
    parts = [snapshot_observations("2014-12-01", "2018-02-28")]
    cndr = _csv(CNDR_FILE, "%m/%d/%Y")
    parts.append(pd.DataFrame({"series_id": "cndr", "date": cndr.index, "value": cndr.to_numpy(),
                               "available_at": cndr.index}))  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    return out.assign(date=pd.to_datetime(out["date"]).astype("datetime64[ns]"),
                      available_at=pd.to_datetime(out["available_at"]).astype("datetime64[ns]"))  # fmt: skip


def test_trailing_figures_cover_the_months_with_an_index_return(obs: pd.DataFrame) -> None:
    h = model_health(obs, AS_OF)
    assert h is not None
    assert h.figures.months == len(ROLLS) - 1
    assert h.start == pd.Timestamp(ROLLS[1]) and h.end == AS_OF
    # the index side by hand from the raw files (DTB3 of the session before each entry)
    cndr = _csv(CNDR_FILE, "%m/%d/%Y")
    dtb3 = _csv(SNAPSHOT / "fred_DTB3.csv", "%Y-%m-%d")
    excess = []
    for a, b in zip(ROLLS[:-1], ROLLS[1:], strict=True):
        y = dtb3[dtb3.index < pd.Timestamp(a)].iloc[-1]
        bill = math.exp(math.log1p(y / 100) * (pd.Timestamp(b) - pd.Timestamp(a)).days / 365) - 1
        excess.append(cndr[pd.Timestamp(b)] / cndr[pd.Timestamp(a)] - 1 - bill)
    assert h.figures.mean_index == pytest.approx(sum(excess) / len(excess), rel=1e-9)
    gap = abs(h.figures.sharpe_model - h.figures.sharpe_index)
    assert h.ok == (h.figures.corr >= 0.90 and gap <= 0.15)
    assert ("below SPEC §12" in health_line(h)) == (not h.ok)


def test_no_look_ahead_and_no_line_without_enough_history(obs: pd.DataFrame) -> None:
    # a CNDR close published after as_of changes nothing
    late = pd.DataFrame({"series_id": ["cndr"], "date": [AS_OF], "value": [1.0],
                         "available_at": [AS_OF + pd.Timedelta(days=3)]})  # fmt: skip
    with_late = pd.concat(
        [obs, late.astype({"date": "datetime64[ns]", "available_at": "datetime64[ns]"})]
    )
    assert model_health(with_late, AS_OF).figures == model_health(obs, AS_OF).figures
    assert model_health(obs[obs["series_id"] != "cndr"], AS_OF) is None
    strict = Params(validation=ValidationParams(health_min_months=15))
    assert model_health(obs, AS_OF, strict) is None


def test_flags_name_each_threshold_missed() -> None:
    def fig(corr: float, sm: float, si: float) -> TrackingFigures:
        return TrackingFigures(36, corr, sm, si, 0.0, 0.0)

    assert health_flags(fig(0.95, 0.5, 0.4), 0.90, 0.15) == ()
    assert health_flags(fig(0.85, 0.5, 0.4), 0.90, 0.15) == ("correlation 0.85 < 0.90",)
    assert health_flags(fig(0.95, 0.5, 0.2), 0.90, 0.15) == ("|Sharpe model − index| 0.30 > 0.15",)
    assert len(health_flags(fig(float("nan"), 0.5, 0.4), 0.90, 0.15)) == 1
