"""Tests of tasks/ingest/parsers.py (and result.py): each provider format on recorded real
payloads, unparseable responses, malformed rows kept for quarantine."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from httpreplay import HTML_BOT_CHECK
from ingest_support import FIX, SECRET, _csv_rows
from paths import SNAPSHOT

from tasks.ingest import (
    FetchResult,
    SourceParseError,
    parse,
    parse_cboe_index,
    parse_fomc_calendar,
    parse_fred_api,
    parse_fred_graph,
    parse_yahoo_close,
)

# --------------------------------------------------------------------------- parsers on real data


def test_cboe_ohlc_parser_matches_file() -> None:
    header, rows = _csv_rows(FIX / "cboe_VIX_History_tail300.csv")
    out = parse_cboe_index((FIX / "cboe_VIX_History_tail300.csv").read_bytes(), "vix")
    assert list(out.columns) == ["series_id", "date", "value", "value_missing", "raw"]
    assert len(out) == len(rows) == 300
    m, d, y = rows[0][0].split("/")
    assert out["date"].iloc[0] == pd.Timestamp(int(y), int(m), int(d))
    assert out["value"].iloc[0] == float(rows[0][4])  # CLOSE, not OPEN
    assert out["value"].iloc[-1] == float(rows[-1][4]) == 16.64
    assert out["date"].iloc[-1] == pd.Timestamp("2026-07-22")
    assert out["raw"].iloc[-1] == ",".join(rows[-1])
    assert not out["value_missing"].any() and out["value"].notna().all()
    assert str(out["date"].dtype).startswith("datetime64") and out["value"].dtype == np.float64


def test_cboe_parser_accepts_datahub_iso_crlf_variant() -> None:
    # datasets/finance-vix re-save: same values, ISO dates, CRLF line endings
    _, rows = _csv_rows(FIX / "cboe_VIX_History_tail300.csv")
    lines = ["DATE,OPEN,HIGH,LOW,CLOSE"]
    for r in rows:
        m, d, y = r[0].split("/")
        lines.append(",".join([f"{y}-{m}-{d}", *r[1:]]))
    out = parse_cboe_index(("\r\n".join(lines) + "\r\n").encode(), "vix")
    ref = parse_cboe_index((FIX / "cboe_VIX_History_tail300.csv").read_bytes(), "vix")
    pd.testing.assert_series_equal(out["date"], ref["date"])
    pd.testing.assert_series_equal(out["value"], ref["value"])


def test_cboe_single_value_parser_vvix() -> None:
    _, rows = _csv_rows(FIX / "cboe_VVIX_History_2006.csv")
    out = parse_cboe_index((FIX / "cboe_VVIX_History_2006.csv").read_bytes(), "vvix")
    assert len(out) == len(rows) == 130
    assert out["date"].iloc[0] == pd.Timestamp("2006-03-06") and out["value"].iloc[0] == 71.73
    assert out["value"].iloc[1] == 15.71  # the bad print is parsed, not filtered
    assert out["value"].iloc[-1] == float(rows[-1][1])


@pytest.mark.parametrize(
    ("name", "series_id", "marker"),
    [
        ("fredgraph_DGS3MO_legacy_head300.csv", "tbill_3m", "."),
        ("fredgraph_DTWEXBGS_head300.csv", "usd", ""),
    ],
)
def test_fred_graph_both_layouts_missing_markers(name: str, series_id: str, marker: str) -> None:
    _, rows = _csv_rows(FIX / name)
    out = parse_fred_graph((FIX / name).read_bytes(), series_id)
    assert len(out) == len(rows) == 300
    is_marker = np.array([r[1] == marker for r in rows])
    assert is_marker.sum() > 0
    np.testing.assert_array_equal(out["value_missing"].to_numpy(), is_marker)
    assert out.loc[is_marker, "value"].isna().all()
    expected = np.array([float(r[1]) for r in rows if r[1] != marker])
    np.testing.assert_array_equal(out.loc[~is_marker, "value"].to_numpy(), expected)
    assert out["date"].iloc[0] == pd.Timestamp(rows[0][0])
    assert out["date"].iloc[-1] == pd.Timestamp(rows[-1][0])


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("fred_DTB3_tail300.csv", "date,value"),
        ("fred_GDPC1_tail24.csv", "date,GDPC1"),
        ("fred_PPIACO_tail24.csv", "Date,Value"),
        ("fred_RBUSBIS_head24.csv", '"Date","RBUSBIS"'),
        ("fredgraph_GDPC1_tail24.csv", "observation_date,GDPC1"),
    ],
)
def test_fred_graph_resaved_variants(name: str, header: str) -> None:
    raw = (FIX / name).read_bytes()
    assert raw.decode().splitlines()[0] == header
    _, rows = _csv_rows(FIX / name)
    out = parse_fred_graph(raw, "x")
    assert len(out) == len(rows)
    np.testing.assert_array_equal(out["value"].to_numpy(), [float(r[1]) for r in rows])
    np.testing.assert_array_equal(
        out["date"].to_numpy(), pd.to_datetime([r[0] for r in rows]).to_numpy()
    )
    assert not out["value_missing"].any()


def test_yahoo_close_parser() -> None:
    _, rows = _csv_rows(FIX / "spx_daily_yahoo_close_tail300.csv")
    out = parse_yahoo_close((FIX / "spx_daily_yahoo_close_tail300.csv").read_bytes(), "spx")
    assert len(out) == 300
    assert out["value"].iloc[-1] == float(rows[-1][1]) == 7674.3701171875
    assert out["date"].iloc[-1] == pd.Timestamp("2026-08-21")
    assert out["value"].iloc[0] == float(rows[0][1])


def test_fred_api_json_parser() -> None:
    doc = json.loads((FIX / "fred_api_CPIAUCSL.json").read_text())
    out = parse_fred_api((FIX / "fred_api_CPIAUCSL.json").read_bytes(), "cpi")
    assert len(out) == len(doc["observations"]) == 31
    dots = np.array([o["value"] == "." for o in doc["observations"]])
    np.testing.assert_array_equal(out["value_missing"].to_numpy(), dots)
    assert out.loc[dots, "date"].tolist() == [pd.Timestamp("2025-10-01")]
    good = [float(o["value"]) for o in doc["observations"] if o["value"] != "."]
    np.testing.assert_array_equal(out.loc[~dots, "value"].to_numpy(), good)
    # a default (non-vintage) request says nothing about publication dates
    assert out["realtime_start"].isna().all()
    assert json.loads(out["raw"].iloc[0]) == doc["observations"][0]


def test_fred_api_vintages_parser() -> None:
    doc = json.loads((FIX / "fred_api_CPIAUCSL_vintages.json").read_text())
    out = parse_fred_api((FIX / "fred_api_CPIAUCSL_vintages.json").read_bytes(), "cpi")
    assert len(out) == 6
    np.testing.assert_array_equal(
        out["realtime_start"].to_numpy(),
        pd.to_datetime([o["realtime_start"] for o in doc["observations"]]).to_numpy(),
    )
    march = out[out["date"] == pd.Timestamp("2021-03-01")]
    assert march["value"].tolist() == [264.847, 264.961]


def test_fomc_calendar_parser() -> None:
    out = parse_fomc_calendar((FIX / "fomc_calendar.csv").read_bytes())
    _, rows = _csv_rows(FIX / "fomc_calendar.csv")
    assert len(out) == len(rows) == 223
    unscheduled = {
        "2001-01-03", "2001-04-18", "2001-09-17", "2007-08-17",
        "2008-01-22", "2008-10-08", "2020-03-03", "2020-03-15",
    }  # fmt: skip
    got = set(out.loc[out["value"] == 0.0, "date"].dt.strftime("%Y-%m-%d"))
    assert got == unscheduled
    assert (out.loc[out["value"] != 0.0, "value"] == 1.0).all()
    assert pd.Timestamp("2026-04-29") in set(out["date"])
    assert pd.Timestamp("2026-05-06") not in set(out["date"])


# --------------------------------------------------------------------------- unparseable responses


@pytest.mark.parametrize(
    "parser", [parse_cboe_index, parse_fred_graph, parse_yahoo_close, parse_fred_api]
)
def test_html_page_with_200_is_a_parse_error(parser) -> None:
    with pytest.raises(SourceParseError, match="HTML"):
        parser(HTML_BOT_CHECK, "vix", "cboe https://example.test/VIX_History.csv")


@pytest.mark.parametrize("body", [b"", b"   \n", b"\n\n"])
def test_empty_body_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(SourceParseError, match="empty"):
        parse_cboe_index(body, "vix", "cboe https://x.test/VIX_History.csv")


def test_unknown_header_is_a_parse_error_naming_the_url() -> None:
    body = b"Exceeded the daily hits limit\n"
    with pytest.raises(SourceParseError, match=r"https://x\.test/VIX_History\.csv"):
        parse_cboe_index(body, "vix", "cboe https://x.test/VIX_History.csv")
    with pytest.raises(SourceParseError, match="header"):
        parse_fred_graph(b"foo,bar,baz\n1,2,3\n", "cpi")


def test_truncated_json_is_a_parse_error() -> None:
    raw = (FIX / "fred_api_CPIAUCSL.json").read_bytes()
    with pytest.raises(SourceParseError, match="truncated"):
        parse_fred_api(raw[: len(raw) // 2], "cpi")


def test_fred_error_envelope_is_a_parse_error_without_the_key() -> None:
    body = json.dumps(
        {"error_code": 400, "error_message": f"Bad Request. Bad request for api_key={SECRET}."}
    ).encode()
    with pytest.raises(SourceParseError, match="FRED API error 400") as err:
        parse_fred_api(body, "cpi", f"fred_api https://api.test/obs?api_key={SECRET}")
    assert SECRET not in str(err.value)


def test_header_only_response_gives_no_rows_and_fails_its_source() -> None:
    raw = b"observation_date,DTB3\n"
    out = parse_fred_graph(raw, "tbill_3m")
    assert len(out) == 0 and list(out.columns) == [
        "series_id",
        "date",
        "value",
        "value_missing",
        "raw",
    ]
    # a source with nothing under its header is a failed download, not an empty history
    now = pd.Timestamp.now(tz="UTC").to_pydatetime()
    fr = FetchResult("fred", "tbill_3m", "https://x.test/g.csv", 200, raw, now, "fred_graph")
    with pytest.raises(SourceParseError) as err:
        parse(fr)
    assert str(err.value) == "tbill_3m from fred https://x.test/g.csv: no data rows (header only)"


# --------------------------------------------------------------------------- malformed rows are kept


def test_malformed_rows_are_kept_not_dropped() -> None:
    good = (FIX / "cboe_VIX_History_tail300.csv").read_text().splitlines()
    bad = [
        "13/45/2026,17.0,18.0,16.0,17.5",  # unparseable date
        "this is not a row",  # garbage line
        "07/23/2026,17.0,18.0,16.0,abc",  # non-numeric value
        "07/24/2026,17.0,18.0",  # too few fields
        "07/27/2026,17.0,18.0,16.0,17.5,99",  # too many fields
    ]
    out = parse_cboe_index(("\n".join(good + bad) + "\n").encode(), "vix")
    assert len(out) == 300 + len(bad)
    tail = out.iloc[-len(bad) :]
    assert tail["raw"].tolist() == bad
    assert tail["date"].isna().tolist() == [True, True, False, False, False]
    assert tail["value"].isna().tolist() == [False, True, True, True, True]
    assert not tail["value_missing"].any()  # malformed is not the same as missing


# --------------------------------------------------------------------------- FetchResult


def test_fetch_result_redacts_key_and_hashes() -> None:
    raw = b"DATE,VVIX\n03/06/2006,71.730000\n"
    fr = FetchResult(
        "fred_api", "cpi", f"https://api.test/x?series_id=C&api_key={SECRET}&file_type=json",
        200, raw, pd.Timestamp.now(tz="UTC").to_pydatetime(), "fred_api",
    )  # fmt: skip
    assert SECRET not in fr.url and "api_key=***" in fr.url and "file_type=json" in fr.url
    assert fr.sha256 == hashlib.sha256(raw).hexdigest()


def test_parse_dispatches_on_fmt_and_rejects_unknown() -> None:
    raw = (FIX / "cboe_VVIX_History_2006.csv").read_bytes()
    now = pd.Timestamp.now(tz="UTC").to_pydatetime()
    fr = FetchResult("cboe", "vvix", "file.csv", None, raw, now, "cboe_index")
    assert len(parse(fr)) == 130
    with pytest.raises(SourceParseError, match="unknown format"):
        parse(FetchResult("cboe", "vvix", "file.csv", None, raw, now, "nope"))


# --------------------------------------------------------------------------- truncation


def _cut_after(text: str, marker: str, keep: int) -> str:
    """``text`` up to ``keep`` characters into the line starting with ``marker``."""
    start = text.index("\n" + marker) + 1
    return text[: start + keep]


def test_a_file_cut_mid_line_is_truncation_naming_source_and_line() -> None:
    text = (SNAPSHOT / "cboe_VIX3M_History.csv").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("02/15/2018"))
    n_line = text.splitlines().index(line) + 1
    # cut inside the third field: two of five fields left
    cut = _cut_after(text, "02/15/2018", len("02/15/2018,1") + 3)
    with pytest.raises(SourceParseError, match="truncated") as err:
        parse_cboe_index(cut.encode(), "vix3m", "snapshot cboe_VIX3M_History.csv")
    msg = str(err.value)
    assert "vix3m from snapshot cboe_VIX3M_History.csv" in msg
    assert f"line {n_line} '02/15/2018," in msg and "2 of 5 fields" in msg


@pytest.mark.parametrize("keep_decimals", [0, 1, 5])
def test_a_last_number_cut_short_is_truncation(keep_decimals: int) -> None:
    text = (SNAPSHOT / "cboe_VIX3M_History.csv").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("02/15/2018"))
    close = line.rsplit(",", 1)[1]
    assert len(close.split(".")[1]) == 6  # CBOE writes six decimals
    keep = len(line) - len(close) + close.index(".") + (keep_decimals + 1 if keep_decimals else 0)
    cut = _cut_after(text, "02/15/2018", keep)
    last = cut.rsplit("\n", 1)[1]
    assert line.startswith(last) and len(last) < len(line)  # five fields, the last one short
    with pytest.raises(SourceParseError, match="fewer decimals than the 6"):
        parse_cboe_index(cut.encode(), "vix3m")


def test_a_whole_last_line_without_a_final_newline_is_not_truncation() -> None:
    text = (FIX / "cboe_VIX_History_tail300.csv").read_text()
    assert text.endswith("\n")
    out = parse_cboe_index(text.rstrip("\n").encode(), "vix")
    ref = parse_cboe_index(text.encode(), "vix")
    pd.testing.assert_frame_equal(out, ref)
    # FRED's varying decimals: no witnesses agree, so a short last value is not suspect
    fred = b"observation_date,DTB3\n2026-07-20,4.2\n2026-07-21,4.25\n2026-07-22,4.3\n2026-07-23,4"
    assert parse_fred_graph(fred, "tbill_3m")["value"].tolist() == [4.2, 4.25, 4.3, 4.0]


def test_a_malformed_last_line_ending_in_a_newline_is_a_row_not_truncation() -> None:
    text = (FIX / "cboe_VIX_History_tail300.csv").read_text() + "07/23/2026,17.0\n"
    out = parse_cboe_index(text.encode(), "vix")
    assert len(out) == 301 and np.isnan(out["value"].iloc[-1])  # quarantined later
    with pytest.raises(SourceParseError, match="truncated"):
        parse_cboe_index(text.rstrip("\n").encode(), "vix")


def test_fomc_calendar_cut_mid_line_is_truncation() -> None:
    text = (SNAPSHOT / "fomc_calendar.csv").read_text()
    with pytest.raises(SourceParseError, match="1 of 2 fields"):
        parse_fomc_calendar(text.rstrip("\n")[: -len(",scheduled")].encode())
