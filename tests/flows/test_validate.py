"""``condorcap validate-model`` end to end on a small real warehouse and the CNDR fixture."""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from click.testing import Result
from paths import FIXTURES, SNAPSHOT
from typer.testing import CliRunner

from flows.cli import app
from schemas.config import ReleaseLags
from tasks import ingest
from warehouse import db, store

runner = CliRunner()
CNDR_FILE = FIXTURES / "validation" / "cboe_CNDR_History_2016-11_2018-01.csv"
SERIES = ("spx", "vix", "vix9d", "vix3m", "vix6m", "tbill_3m")
KEYS = ["months", "corr", "sharpe_model", "sharpe_index", "mean_model", "mean_index"]
# the 2017 months: entry on one monthly expiry, settled on the next (third Fridays)
ROLLS_2017 = ["2016-12-16", "2017-01-20", "2017-02-17", "2017-03-17", "2017-04-21",
              "2017-05-19", "2017-06-16", "2017-07-21", "2017-08-18", "2017-09-15",
              "2017-10-20", "2017-11-17", "2017-12-15"]  # fmt: skip


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding the snapshot's market series for 2016-10 … 2018-01, loaded as a run does."""
    path = tmp_path_factory.mktemp("validate") / "w.duckdb"
    with store.RunWorkspace(path) as ws:
        con = ws.connect()
        try:
            with db.transaction(con):
                for fetch in ingest.read_snapshot(SNAPSHOT):
                    if fetch.series_id not in SERIES:
                        continue
                    rows = ingest.parse(fetch)
                    rows = rows[(rows["date"] >= "2016-10-01") & (rows["date"] <= "2018-01-31")]
                    rows = ingest.assign_available_at(rows.dropna(subset=["value"]),
                                                      fetch.series_id, ReleaseLags())  # fmt: skip
                    rows = rows.assign(source="snapshot")
                    db.insert_observations(con, rows, pd.Timestamp("2018-01-31"))
        finally:
            con.close()
        ws.publish()
    return path


def _invoke(*args: str) -> Result:
    return runner.invoke(app, ["validate-model", *args])


def _csv_values(path: Path, date_fmt: str) -> pd.Series:
    lines = path.read_text().splitlines()[1:]
    dates = pd.to_datetime([ln.split(",")[0] for ln in lines], format=date_fmt)
    vals = pd.to_numeric(pd.Series([ln.split(",")[1] for ln in lines]), errors="coerce")
    return pd.Series(vals.to_numpy(), index=dates).dropna()


def test_json_last_line_and_the_model_checks_rows(small_db: Path) -> None:
    res = _invoke("--index", "cndr", "--file", str(CNDR_FILE), "--db", str(small_db),
                  "--start", "2017-01-01", "--end", "2017-12-31", "--format", "json")  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert list(out) == KEYS
    assert out["months"] == 12 and -1 <= out["corr"] <= 1

    # the index side, recomputed from the raw files: CNDR closes on the rolls, and the
    # bill rate knowable at each entry (DTB3 is published the next session: the print of
    # the session before the roll), r = ln(1 + y/100), bill return e^{r·days/365} − 1
    cndr = _csv_values(CNDR_FILE, "%m/%d/%Y")
    dtb3 = _csv_values(SNAPSHOT / "fred_DTB3.csv", "%Y-%m-%d")
    excess = []
    for a, b in zip(ROLLS_2017[:-1], ROLLS_2017[1:], strict=True):
        y = dtb3[dtb3.index < pd.Timestamp(a)].iloc[-1]
        days = (pd.Timestamp(b) - pd.Timestamp(a)).days
        bill = math.exp(math.log1p(y / 100) * days / 365) - 1
        excess.append(cndr[pd.Timestamp(b)] / cndr[pd.Timestamp(a)] - 1 - bill)
    assert out["mean_index"] == pytest.approx(sum(excess) / 12, rel=1e-9)

    con = duckdb.connect(str(small_db), read_only=True)
    try:
        rows = con.execute(
            'SELECT scope, "start", "end", months, corr, mean_index FROM model_checks '
            "ORDER BY scope"
        ).fetchall()
        runs = con.execute("SELECT status FROM runs WHERE flow = 'validate-model'").fetchall()
    finally:
        con.close()
    (rng, year) = rows
    assert rng[0] == "range" and year[0] == "year"
    assert str(rng[1]) == ROLLS_2017[0] and str(rng[2]) == ROLLS_2017[-1]
    assert rng[3] == 12 and rng[4] == pytest.approx(out["corr"])
    assert rng[5] == pytest.approx(out["mean_index"])
    assert runs == [("completed",)]


def test_rerun_replaces_its_rows_and_table_format_prints_years(small_db: Path) -> None:
    args = ("--file", str(CNDR_FILE), "--db", str(small_db), "--start", "2017-01-01",
            "--end", "2018-01-31")  # fmt: skip
    for _ in range(2):
        res = _invoke(*args)
        assert res.exit_code == 0, res.output
    assert "2017" in res.stdout and "2018" in res.stdout and "all" in res.stdout
    con = duckdb.connect(str(small_db), read_only=True)
    try:
        n = con.execute(
            """SELECT count(*) FROM model_checks WHERE "end" = DATE '2018-01-19'"""
        ).fetchone()[0]
    finally:
        con.close()
    assert n == 2  # the range row and the 2018 year row, once each after two runs


def test_a_malformed_file_fails_with_one_line_and_exit_1(small_db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "CNDR_History.csv"
    bad.write_text("DATE,CNDR\n01/03/2017,740.1\n01/04/2017,n/a\n")
    res = _invoke("--file", str(bad), "--db", str(small_db))
    assert res.exit_code == 1
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "malformed CNDR file" in lines[0] and "line 3" in lines[0]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--index", "vxth"], 2, "unknown index"),
        (["--format", "csv"], 2, "--format"),
        (["--start", "2017-06-01", "--end", "2017-01-01"], 1, "after --end"),
        (["--start", "1995-01-01", "--end", "1995-12-31"], 1, "fewer than 2 months"),
        (["--start", "not-a-date"], 1, "YYYY-MM-DD"),
    ],
)
def test_usage_and_data_errors_have_their_exit_codes(
    small_db: Path, args: list[str], code: int, needle: str
) -> None:
    res = _invoke("--file", str(CNDR_FILE), "--db", str(small_db), *args)
    assert res.exit_code == code, res.output
    assert needle in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_missing_warehouse_or_file(tmp_path: Path) -> None:
    res = _invoke("--file", str(CNDR_FILE), "--db", str(tmp_path / "none.duckdb"))
    assert res.exit_code == 1 and "condorcap run" in res.stderr
    assert not (tmp_path / "none.duckdb").exists()
    missing = _invoke("--db", str(tmp_path / "none.duckdb"))
    assert missing.exit_code == 2  # --file is required (typer's usage error)


def test_an_unreadable_index_file_is_a_data_error(small_db: Path, tmp_path: Path) -> None:
    res = _invoke("--file", str(tmp_path / "nope.csv"), "--db", str(small_db))
    assert res.exit_code == 1 and "cannot read the index file" in res.stderr


def test_chart_option_writes_a_png_and_keeps_the_json_last(small_db: Path, tmp_path: Path) -> None:
    png = tmp_path / "cndr.png"
    res = _invoke("--file", str(CNDR_FILE), "--db", str(small_db), "--format", "json",
                  "--chart", str(png))  # fmt: skip
    assert res.exit_code == 0, res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(json.loads(res.stdout.strip().splitlines()[-1])) == KEYS


def test_a_skew_variant_without_skew_data_says_what_to_pass(small_db: Path) -> None:
    res = _invoke("--file", str(CNDR_FILE), "--db", str(small_db), "--variant", "skew_atm")
    assert res.exit_code == 1 and "--skew-file" in res.stderr
    bad = _invoke("--file", str(CNDR_FILE), "--db", str(small_db), "--variant", "nope")
    assert bad.exit_code == 1 and "unknown variant" in bad.stderr
