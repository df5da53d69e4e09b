"""Loading a day from the warehouse: a clear error without a run, betas as the SPEC's OLS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from report_warehouse import AS_OF, STRATEGY_BETA

from report import ReportError, load_report_data


def test_missing_run_is_a_clear_error(warehouse) -> None:
    with pytest.raises(ReportError, match=r"condorcap run --as-of 2026-07-21"):
        load_report_data(warehouse[0], "2026-07-21")
    with pytest.raises(FileNotFoundError):
        load_report_data(warehouse[0].with_name("nope.duckdb"), AS_OF)


def test_rolling_betas_match_lstsq(data, warehouse) -> None:
    built = warehouse[1]
    m, ld = built["market"], built["ladder_daily"].set_index("as_of")["strategy_return"]
    rb = data.rolling_betas
    assert rb.index[0] >= AS_OF - pd.DateOffset(years=3) and rb.index[-1] == AS_OF
    r_spx = m["spx"].pct_change(fill_method=None)
    w = data.params.risk.beta_window
    for day in (AS_OF, rb.index[len(rb) // 2]):
        r_vix = m["vix"].pct_change(fill_method=None)
        assert rb.loc[day, "vix"] == pytest.approx(_ols_at(r_vix, r_spx, day, w), rel=1e-8)
        assert rb.loc[day, "strategy"] == pytest.approx(_ols_at(ld, r_spx, day, w), rel=1e-8)
    assert rb.loc[AS_OF, "strategy"] == pytest.approx(STRATEGY_BETA, abs=0.05)


def _ols_at(y: pd.Series, x: pd.Series, day: pd.Timestamp, window: int) -> float:
    idx = x.index.intersection(y.index)
    both = (
        pd.DataFrame({"y": y.reindex(idx), "x": x.reindex(idx)}).loc[:day].iloc[-window:].dropna()
    )
    A = np.column_stack([np.ones(len(both)), both["x"]])
    return float(np.linalg.lstsq(A, both["y"].to_numpy(), rcond=None)[0][1])
