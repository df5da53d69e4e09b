"""The tracking figures, against the standard library's statistics."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from tasks.validation import figures_by_year, tracking_figures
from tasks.validation.fit import cumulative

MODEL = [0.20, 0.18, -0.35, 0.21, 0.05, 0.19, -0.60, 0.22]
INDEX = [0.012, 0.010, -0.020, 0.014, 0.001, 0.011, -0.045, 0.013]


def test_figures_match_the_statistics_module() -> None:
    fig = tracking_figures(np.array(MODEL), np.array(INDEX))
    assert fig.months == 8
    assert fig.corr == pytest.approx(statistics.correlation(MODEL, INDEX), rel=1e-12)
    for got, xs in ((fig.sharpe_model, MODEL), (fig.sharpe_index, INDEX)):
        assert got == pytest.approx(math.sqrt(12) * statistics.mean(xs) / statistics.stdev(xs))
    assert fig.mean_model == pytest.approx(statistics.mean(MODEL))
    assert fig.mean_index == pytest.approx(statistics.mean(INDEX))


def test_months_missing_on_either_side_are_left_out_and_nan_is_json_null() -> None:
    fig = tracking_figures(np.array([0.1, np.nan, 0.2]), np.array([0.01, 0.02, np.nan]))
    assert fig.months == 1 and math.isnan(fig.corr) and math.isnan(fig.sharpe_model)
    assert fig.as_dict()["corr"] is None and fig.as_dict()["mean_model"] == pytest.approx(0.1)


def test_per_year_figures_group_months_by_their_expiry_year() -> None:
    months = pd.DataFrame(
        {
            "expiry": pd.to_datetime(["2016-11-18", "2016-12-16", "2017-01-20", "2017-02-17",
                                      "2017-03-17", "2017-04-21", "2017-05-19", "2017-06-16"]),
            "model_excess": MODEL,
            "index_excess": INDEX,
        }
    )  # fmt: skip
    by_year = figures_by_year(months).set_index("year")
    assert by_year.loc[2016, "months"] == 2 and by_year.loc[2017, "months"] == 6
    assert by_year.loc[2017, "corr"] == pytest.approx(statistics.correlation(MODEL[2:], INDEX[2:]))
    cum = cumulative(months, scale=0.5)
    assert cum["model"].iloc[-1] == pytest.approx(math.prod(1 + 0.5 * x for x in MODEL))
    assert cum["index"].iloc[-1] == pytest.approx(math.prod(1 + x for x in INDEX))
    # the default scale is the least-squares leverage of index on model
    k = sum(m * i for m, i in zip(MODEL, INDEX, strict=True)) / sum(m * m for m in MODEL)
    auto = cumulative(months)
    assert auto["model"].iloc[1] == pytest.approx((1 + k * MODEL[0]) * (1 + k * MODEL[1]))
