"""schemas/tables.py: the output tables' contracts, and their vocabularies kept in step."""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from schemas import tables
from schemas.tables import TableContractError, check_table
from tasks.conventions import SignalState
from warehouse import db


def _sizing() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "as_of": pd.to_datetime(["2026-07-22"] * 2),
            "portfolio_id": "steward_1m",
            "position_id": ["IC1-2026-08-21", "ALVH-2026-10-21"],
            "kind": ["condor", "hedge"],
            "expiry": pd.to_datetime(["2026-08-21", "2026-10-21"]),
            "leg": ["short_put", "long_call"],
            "put_call": ["P", "C"],
            "strike": [7150.0, 24.0],
            "qty": [-1, 1],
            "contracts": [2, 2],
            "spot": 7400.0,
            "rate": 0.04,
            "div_yield": [0.012, np.nan],
            "iv": [0.18, 1.1],
            "model_price": [20.0, 2.0],
            "delta": [-0.2, 0.3],
            "pricing_source": "model",
        }
    )


def _risk() -> pd.DataFrame:
    cols = [
        c for c in tables.PortfolioRisk.to_schema().columns if c not in ("as_of", "portfolio_id")
    ]
    row = {c: 1.0 for c in cols} | {"rationale": "why"}
    return pd.DataFrame([{"as_of": pd.Timestamp("2026-07-22"), "portfolio_id": "p", **row}])


def test_valid_frames_pass_even_in_the_dtypes_a_warehouse_read_returns() -> None:
    check_table("daily_sizing", _sizing())
    us = _sizing().astype({"as_of": "datetime64[us]", "expiry": "datetime64[us]"})
    check_table("daily_sizing", us.assign(contracts=[2.0, 2.0]))  # whole floats fit INTEGER
    check_table("portfolio_risk", _risk())
    check_table("raw_fetch", pd.DataFrame({"anything": [1]}))  # no contract: passes
    check_table("daily_sizing", _sizing().iloc[0:0])  # nothing to write


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"kind": ["condor", "spread"]},
            r"^daily_sizing\.kind: isin\(\['condor', 'hedge'\]\) failed on 1 row\(s\), e\.g\. 'spread'$",
        ),
        ({"put_call": ["P", "X"]}, r"^daily_sizing\.put_call: isin"),
        ({"pricing_source": ["model", "guess"]}, r"^daily_sizing\.pricing_source: isin"),
        ({"contracts": [2, -1]}, r"^daily_sizing\.contracts: greater_than_or_equal_to\(0\)"),
        ({"contracts": [2.5, 2]}, r"^daily_sizing\.contracts: coerce_dtype"),
        ({"strike": [7150.0, 0.0]}, r"^daily_sizing\.strike: greater_than\(0"),
        ({"portfolio_id": [None, "p"]}, r"^daily_sizing\.portfolio_id: not_nullable"),
        ({"as_of": ["2026-07-22", "not a date"]}, r"^daily_sizing\.as_of: coerce_dtype"),
    ],
)
def test_a_broken_frame_fails_with_one_line_naming_table_and_column(
    change: dict[str, list[object]], message: str
) -> None:
    with pytest.raises(TableContractError) as info:
        check_table("daily_sizing", _sizing().assign(**change))
    assert "\n" not in str(info.value)
    assert re.search(message, str(info.value)), str(info.value)


def test_missing_columns_and_duplicate_keys_are_named() -> None:
    with pytest.raises(TableContractError, match=r"^daily_sizing: required column kind is missing"):
        check_table("daily_sizing", _sizing().drop(columns="kind"))
    twice = pd.concat([_risk(), _risk()], ignore_index=True)
    with pytest.raises(TableContractError, match=r"unique \(as_of, portfolio_id\)"):
        check_table("portfolio_risk", twice)
    sig = pd.DataFrame(
        {"as_of": pd.to_datetime(["2026-07-22"] * 2), "signal": ["vix_regime"] * 2,
         "value": 1.0, "state": "calm", "params": "{}", "input_date": pd.NaT}
    )  # fmt: skip
    with pytest.raises(TableContractError, match=r"^signal_states: check unique \(as_of, signal\)"):
        check_table("signal_states", sig)
    bad = sig.iloc[:1].assign(state="sideways")
    with pytest.raises(TableContractError, match=r"^signal_states\.state: isin"):
        check_table("signal_states", bad)


def test_betas_and_vix_term_contracts() -> None:
    betas = pd.DataFrame(
        {"as_of": pd.to_datetime(["2026-07-22"]), "asset": "vix", "window_days": 60,
         "beta": -3.1, "alpha": 0.0, "r2": 0.7, "n_obs": 60}
    )  # fmt: skip
    check_table("betas", betas)
    check_table("betas", betas.assign(beta=np.nan, r2=np.nan, n_obs=np.nan))  # too little data
    with pytest.raises(TableContractError, match=r"^betas\.r2: less_than_or_equal_to"):
        check_table("betas", betas.assign(r2=1.5))
    with pytest.raises(TableContractError, match=r"^betas\.window_days: greater_than\(0\)"):
        check_table("betas", betas.assign(window_days=0))
    term = pd.DataFrame(
        {"as_of": pd.to_datetime(["2026-07-22"]), "expiry": pd.to_datetime(["2026-08-19"]),
         "tenor_days": 28, "future_model": 18.2}
    )  # fmt: skip
    check_table("vix_term", term)
    with pytest.raises(TableContractError, match=r"^vix_term\.future_model: greater_than\(0"):
        check_table("vix_term", term.assign(future_model=-1.0))


def test_the_signal_state_vocabulary_is_the_method_s() -> None:
    enum = {s.value for s in SignalState}
    assert enum <= set(tables.SIGNAL_STATES)
    # tasks.signals also emits these as literals; nothing else may be extra
    assert set(tables.SIGNAL_STATES) - enum <= {"bullish_cross", "bearish_cross", "slow"}
    assert len(tables.SIGNAL_STATES) == len(set(tables.SIGNAL_STATES))


def test_the_database_checks_list_the_same_vocabularies() -> None:
    """Migration 003's CHECK constraints and these models must never drift apart."""
    con = duckdb.connect()
    db.migrate(con)
    rows = con.execute(
        "SELECT table_name, constraint_column_names[1], constraint_text "
        "FROM duckdb_constraints() WHERE constraint_type = 'CHECK'"
    ).fetchall()
    got = {(t, c): set(re.findall(r"'([^']*)'", text)) for t, c, text in rows}
    assert got == {
        ("daily_sizing", "kind"): set(tables.POSITION_KINDS),
        ("daily_sizing", "put_call"): set(tables.PUT_CALL),
        ("daily_sizing", "pricing_source"): set(tables.PRICING_SOURCES),
        ("sizing_positions", "kind"): set(tables.POSITION_KINDS),
        ("sizing_positions", "pricing_source"): set(tables.PRICING_SOURCES),
        ("signal_states", "state"): set(tables.SIGNAL_STATES),
        ("runs", "status"): set(tables.RUN_STATUSES),
    }
