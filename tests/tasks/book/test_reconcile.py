"""The user's positions file against the shadow book (SPEC §10: the file wins)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.book.reconcile import PositionsFileError, read_positions_csv, reconcile

PREV = pd.Timestamp("2026-07-21")
HEADER = "position_id,kind,underlying,expiry,put_call,strike,qty\n"
CONDOR = [  # a 3-lot 7000/7050 – 7600/7650 condor on 2026-08-21, the user's own id
    "mine-1,condor,SPX,2026-08-21,P,6950,3",
    "mine-1,condor,SPX,2026-08-21,P,7000,-3",
    "mine-1,condor,SPX,2026-08-21,C,7600,-3",
    "mine-1,condor,SPX,2026-08-21,C,7650,3",
]


def _book(contracts: int = 3) -> pd.DataFrame:
    legs = [("long_put", "P", 6950, 1), ("short_put", "P", 7000, -1),
            ("short_call", "C", 7600, -1), ("long_call", "C", 7650, 1)]  # fmt: skip
    return pd.DataFrame(
        {
            "position_id": "IC-2026-08-21-7000-7600", "kind": "condor", "underlying": "SPX",
            "expiry": pd.Timestamp("2026-08-21"), "leg": [x[0] for x in legs],
            "put_call": [x[1] for x in legs], "strike": [float(x[2]) for x in legs],
            "qty": [float(x[3]) for x in legs], "contracts": contracts,
            "opened_on": pd.Timestamp("2026-07-01"), "entry_price": [3.0, 5.0, 4.0, 2.0],
            "mark": [2.0, 3.5, 3.0, 1.0], "iv": np.nan, "pricing_source": "model",
        }
    )  # fmt: skip


def _file(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    p = tmp_path / "positions.csv"
    p.write_text(header + "\n".join(rows) + "\n")
    return p


def test_a_file_that_matches_the_book_changes_nothing(tmp_path: Path) -> None:
    rec = reconcile(_book(), read_positions_csv(_file(tmp_path, CONDOR)), PREV)
    assert rec.applied and rec.differences == []
    pd.testing.assert_frame_equal(rec.legs, _book())


def test_the_files_contracts_win_and_the_books_id_and_prices_stay(tmp_path: Path) -> None:
    rows = [r.replace(",3", ",2").replace(",-3", ",-2") for r in CONDOR]
    rec = reconcile(_book(), read_positions_csv(_file(tmp_path, rows)), PREV)
    assert rec.differences == ["IC-2026-08-21-7000-7600: book 3, file 2 contracts — the file wins"]
    assert set(rec.legs["contracts"]) == {2}
    assert rec.legs["entry_price"].tolist() == [3.0, 5.0, 4.0, 2.0]
    assert set(rec.legs["opened_on"]) == {pd.Timestamp("2026-07-01")}


def test_a_structure_only_in_the_file_is_added_and_one_only_in_the_book_dropped(
    tmp_path: Path,
) -> None:
    rows = ["h1,hedge,VIX,2026-10-21,C,25,4"]
    rec = reconcile(_book(), read_positions_csv(_file(tmp_path, rows)), PREV)
    assert rec.differences == [
        "h1: in the file, not the book (4 × hedge) — added",
        "IC-2026-08-21-7000-7600: in the book, not the file — dropped",
    ]
    h = rec.legs.iloc[0]
    assert (h["position_id"], h["leg"], h["contracts"], h["qty"]) == ("h1", "long_call", 4, 1.0)
    assert h["opened_on"] == PREV and np.isnan(h["mark"])  # the caller marks it


def test_a_file_of_another_close_is_stale_and_not_applied(tmp_path: Path) -> None:
    rows = [r + ",2026-07-17" for r in CONDOR[:1]]
    rec = reconcile(_book(), read_positions_csv(_file(tmp_path, rows, HEADER.strip() + ",as_of\n")),
                    PREV)  # fmt: skip
    assert not rec.applied and "stale" in rec.differences[0]
    pd.testing.assert_frame_equal(rec.legs, _book())


@pytest.mark.parametrize(
    ("row", "where"),
    [
        ("mine-1,condor,SPX,2026-08-21,X,6950,3", "row 1, column 'put_call'"),
        ("mine-1,condor,SPX,2026-13-21,P,6950,3", "row 1, column 'expiry'"),
        ("mine-1,condor,SPX,2026-08-21,P,abc,3", "row 1, column 'strike'"),
        ("mine-1,condor,SPX,2026-08-21,P,6950,1.5", "row 1, column 'qty'"),
        ("mine-1,spread,SPX,2026-08-21,P,6950,3", "row 1, column 'kind'"),
    ],
)
def test_a_malformed_file_names_its_row_and_column(tmp_path: Path, row: str, where: str) -> None:
    path = _file(tmp_path, [row])
    with pytest.raises(PositionsFileError) as err:
        read_positions_csv(path)
    msg = str(err.value)
    assert msg.startswith(str(path)) and where in msg and "\n" not in msg


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    path = _file(tmp_path, ["a,condor,SPX,2026-08-21,P,6950"], HEADER.replace(",qty", ""))
    with pytest.raises(PositionsFileError, match="column 'qty': missing from the header"):
        read_positions_csv(path)
