"""Signals → rule switches (tasks.sizing.inputs.read_rules), each rule alone."""

from __future__ import annotations

import json

import pandas as pd

from tasks.conventions import SignalState
from tasks.sizing.inputs import read_rules


def _rows(**states: str | tuple[str, dict]) -> pd.DataFrame:
    rows = []
    for name, st in states.items():
        state, params = st if isinstance(st, tuple) else (st, {})
        rows.append(
            {
                "signal": name,
                "value": 3.0,
                "state": state,
                "params": json.dumps(params),
                "input_date": pd.Timestamp("2026-07-01"),
            }
        )
    return pd.DataFrame(rows)


def test_risk_off_fires_with_the_rules_named_in_its_params() -> None:
    r = read_rules(
        _rows(
            risk_state=(SignalState.RISK_OFF, {"rules": ["backwardation", "crisis"]}),
            usd_strength=SignalState.NEUTRAL,
            ppi_surprise=SignalState.INLINE,
            fomc_window=SignalState.CLEAR,
        )
    )
    assert r.risk_off and not r.macro and not r.fomc_event
    assert r.risk_rules == ("backwardation", "crisis")
    assert r.fomc_sessions == 3.0 and r.notes == ()


def test_macro_needs_both_a_strong_dollar_and_hot_ppi() -> None:
    both = _rows(usd_strength=SignalState.STRONG, ppi_surprise=SignalState.HOT)
    one = _rows(usd_strength=SignalState.STRONG, ppi_surprise=SignalState.INLINE)
    assert read_rules(both).macro
    assert not read_rules(one).macro


def test_stale_insufficient_and_missing_signals_fire_nothing_and_are_named() -> None:
    r = read_rules(
        _rows(
            risk_state=(SignalState.STALE, {"stale": ["vix3m"]}),
            usd_strength=SignalState.INSUFFICIENT,
            ppi_surprise=SignalState.HOT,
        )
    )
    assert not (r.risk_off or r.macro or r.fomc_event)
    assert r.notes == (
        "risk_state is stale (newest 2026-07-01): risk-off rule not applied",
        "risk_state inputs stale: vix3m (they fired no risk rule)",
        "usd_strength has insufficient history: macro rule not applied",
        "fomc_window not available: FOMC rule not applied",
    )
    assert pd.isna(r.fomc_sessions)


def test_no_signals_at_all_fire_nothing() -> None:
    r = read_rules(pd.DataFrame())
    assert not (r.risk_off or r.macro or r.fomc_event)
    assert len(r.notes) == 4  # risk_state, usd_strength, ppi_surprise, fomc_window


def test_lazy_rows_build_once_and_pickle_built() -> None:
    import pickle

    from tasks.sizing.inputs import LazyRows

    calls = []

    def build() -> tuple[pd.DataFrame, pd.DataFrame]:
        calls.append(1)
        return pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [2]})

    rows = LazyRows(build)
    assert calls == []  # nothing built until read
    back = pickle.loads(pickle.dumps(rows))  # a Dask result: built before it travels
    assert calls == [1] and back.get()[1]["b"].tolist() == [2]
    assert rows.get()[0]["a"].tolist() == [1] and calls == [1]  # built once
