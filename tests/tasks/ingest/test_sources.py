"""Tests of tasks/sources.py: parsers on recorded real payloads, live fetching against a
loopback replay server, point-in-time stamps, and the bundled snapshot."""

from __future__ import annotations

import calendar as pycal
import csv
import hashlib
import json
import logging
import socket
import sys
import time
import tomllib
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest
from httpreplay import HTML_BOT_CHECK, ReplayServer, Reply
from paths import FIXTURES, SNAPSHOT

from schemas.config import ReleaseLags, SourceUrls
from schemas.sources import validate
from tasks.ingest import (
    HTTP_LOGGERS,
    LIVE_SOURCES,
    FetchResult,
    RedactSecrets,
    SourceFetchError,
    SourceParseError,
    assign_available_at,
    combine_newest_wins,
    fetch_cboe,
    fetch_fred_api,
    fetch_fred_graph,
    fetch_live,
    fred_api_key_from_env,
    make_session,
    parse,
    parse_cboe_index,
    parse_fomc_calendar,
    parse_fred_api,
    parse_fred_graph,
    parse_snapshot,
    parse_yahoo_close,
    read_snapshot,
    redact,
    shared_session,
)

FIX = FIXTURES / "sources"
SECRET = "abcdef0123456789abcdef0123456789"


def _csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


@lru_cache(maxsize=1)
def _xnys() -> xcals.ExchangeCalendar:
    return xcals.get_calendar("XNYS", start="1985-01-02")


def _next_session(d: date | pd.Timestamp) -> pd.Timestamp:
    """Reference: first XNYS session on/after d, straight from exchange_calendars."""
    return pd.Timestamp(_xnys().date_to_session(pd.Timestamp(d), direction="next")).tz_localize(
        None
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


def test_header_only_response_gives_no_rows() -> None:
    out = parse_fred_graph(b"observation_date,DTB3\n", "tbill_3m")
    assert len(out) == 0 and list(out.columns) == [
        "series_id",
        "date",
        "value",
        "value_missing",
        "raw",
    ]


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


def test_api_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    assert fred_api_key_from_env() is None
    monkeypatch.setenv("FRED_API_KEY", f" {SECRET} ")
    assert fred_api_key_from_env() == SECRET


# --------------------------------------------------------------------------- live fetching (loopback)


def _urls(srv: ReplayServer, **kw: object) -> SourceUrls:
    base = {
        "cboe_index": srv.url + "/cboe",
        "fred_api": srv.url + "/fred",
        "fred_graph": srv.url + "/fredgraph.csv",
        "retries": 3,
        "backoff_factor": 0.0,
        "connect_timeout": 1.0,
        "read_timeout": 2.0,
    }
    base.update(kw)
    return SourceUrls(**base)


def test_cboe_500_then_200_succeeds_with_retries_and_user_agent() -> None:
    body = (FIX / "cboe_VIX_History_tail300.csv").read_bytes()
    route = "/cboe/VIX_History.csv"
    with ReplayServer({route: [Reply(500, b"oops"), Reply(503, b"busy"), Reply(200, body)]}) as srv:
        urls = _urls(srv)
        fr = fetch_cboe("vix", make_session(urls), urls)
        reqs = srv.requests_for(route)
    assert fr.status == 200 and fr.raw == body and fr.source == "cboe" and fr.fmt == "cboe_index"
    assert fr.url.endswith(route)
    assert len(reqs) == 3  # two retried failures, then success
    assert all(r.headers.get("User-Agent") == urls.user_agent for r in reqs)
    assert len(parse(fr)) == 300


def test_429_with_retry_after_is_retried() -> None:
    body = (FIX / "fred_DTB3_tail300.csv").read_bytes()
    with ReplayServer(
        {"/fredgraph.csv": [Reply(429, headers={"Retry-After": "0"}), Reply(200, body)]}
    ) as srv:
        urls = _urls(srv)
        fr = fetch_fred_graph("tbill_3m", make_session(urls), urls, start="2025-01-01")
        reqs = srv.requests_for("/fredgraph.csv")
    assert len(reqs) == 2 and fr.raw == body
    assert reqs[-1].query == {"id": ["DTB3"], "cosd": ["2025-01-01"]}


def test_retries_exhausted_is_a_fetch_error() -> None:
    with ReplayServer({"/cboe/VIX3M_History.csv": [Reply(503, b"down")]}) as srv:
        urls = _urls(srv, retries=2)
        with pytest.raises(SourceFetchError, match="vix3m"):
            fetch_cboe("vix3m", make_session(urls), urls)
        assert len(srv.requests_for("/cboe/VIX3M_History.csv")) == 3  # 1 + 2 retries


def test_read_timeout_fails_quickly() -> None:
    body = (FIX / "cboe_VIX_History_tail300.csv").read_bytes()
    with ReplayServer({"/cboe/VIX_History.csv": [Reply(200, body, delay=1.5)]}) as srv:
        urls = _urls(srv, retries=1, read_timeout=0.2)
        t0 = time.monotonic()
        with pytest.raises(SourceFetchError, match="VIX_History"):
            fetch_cboe("vix", make_session(urls), urls)
        assert time.monotonic() - t0 < 1.2  # two attempts of 0.2 s, not the server's 1.5 s


def _refused_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return port


@pytest.mark.parametrize("level", [logging.WARNING, logging.DEBUG])
def test_connection_refused_is_a_fetch_error_without_key(
    caplog: pytest.LogCaptureFixture, level: int
) -> None:
    urls = SourceUrls(
        fred_api=f"http://127.0.0.1:{_refused_port()}/fred", retries=1, backoff_factor=0.0
    )
    caplog.set_level(level, logger="urllib3")
    with pytest.raises(SourceFetchError) as err:
        fetch_fred_api("cpi", make_session(urls), urls, SECRET)
    assert SECRET not in str(err.value) and "cpi" in str(err.value)
    # urllib3's Retry logs the request path, query included, before retrying: the path
    # was exercised, and only its redacted form reached the handlers
    retrying = [r for r in caplog.records if r.getMessage().startswith("Retrying")]
    assert len(retrying) == 1 and retrying[0].levelno == logging.WARNING
    assert "series_id=CPIAUCSL&api_key=***&file_type=json" in retrying[0].getMessage()
    for record in caplog.records:
        assert SECRET not in caplog.handler.format(record)
    assert SECRET not in caplog.text
    if level == logging.DEBUG:  # util.retry's "Incremented Retry for (url=...)" too
        assert any(r.name == "urllib3.util.retry" for r in caplog.records)


@pytest.mark.parametrize(
    "message",
    [
        "GET https://api.stlouisfed.org/fred/series/observations?series_id=DFF&api_key={k}",
        "https://x.test/obs?api_key={k}&file_type=json#frag",
        "next=https%3A%2F%2Fx.test%2Fobs%3Fapi_key%3D{k}%26file_type%3Djson",
        "next=https%253A%252F%252Fx.test%252Fobs%253Fapi_key%253D{k}%2526file_type%253Djson",
        "/obs?api%5Fkey={k}&file_type=json",
        "params={{'series_id': 'DFF', 'api_key': '{k}'}}",
        '{{"API_KEY":"{k}"}}',
    ],
)
def test_redact_filter_masks_key_in_urls_encoded_and_mappings(message: str) -> None:
    key = "0123456789fedcba0123456789fedcba"  # never sent: masked by its name, not literally
    text = message.format(k=key)
    record = logging.LogRecord("urllib3.connectionpool", logging.WARNING, __file__, 1,
                               "broken: %s (%d)", (text, 3), None)  # fmt: skip
    assert RedactSecrets().filter(record) is True  # rewrites, never drops
    out = record.getMessage()
    assert record.args == () and key not in out
    assert out.startswith("broken: ") and out.endswith(" (3)") and "***" in out
    # everything but the key survives: removing the key from the input gives the output
    assert out == f"broken: {text.replace(key, '***')} (3)"


def test_redact_filter_masks_tracebacks_and_registered_keys() -> None:
    url = f"https://x.test/obs?api_key={SECRET}&file_type=json"
    try:
        raise ValueError(f"bad url {url}")
    except ValueError:
        record = logging.LogRecord("requests", logging.ERROR, __file__, 1, "failed", (),
                                   sys.exc_info())  # fmt: skip
    RedactSecrets().filter(record)
    text = logging.Formatter().format(record)
    assert "ValueError: bad url https://x.test/obs?api_key=***&file_type=json" in text
    assert SECRET not in text
    # a key once passed to fetch_fred_api is masked even without its parameter name
    with ReplayServer({"/fred/series/observations": [Reply(200, b"{}")]}) as srv:
        urls = _urls(srv)
        fetch_fred_api("cpi", make_session(urls), urls, SECRET)
    assert redact(f"invalid key {SECRET}!") == "invalid key ***!"


def test_log_redaction_is_installed_once_per_logger() -> None:
    urls = SourceUrls()
    make_session(urls)
    make_session(urls)
    shared_session(urls)
    for name in HTTP_LOGGERS:
        filters = logging.getLogger(name).filters
        assert sum(isinstance(f, RedactSecrets) for f in filters) == 1, name


def test_shared_session_is_one_per_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"fred_api": "http://127.0.0.1:9/fred", "retries": 2}
    first = shared_session(SourceUrls(**base))
    # equal settings, built separately and partly from the environment: the same session
    monkeypatch.setenv("CONDORCAP_RETRIES", "2")
    assert shared_session(SourceUrls(fred_api=base["fred_api"])) is first
    assert shared_session(SourceUrls(**base)) is first
    # any different setting: another session, configured with its own settings
    other = shared_session(SourceUrls(**{**base, "retries": 4}))
    assert other is not first
    assert shared_session(SourceUrls(**{**base, "read_timeout": 7.0})) not in (first, other)
    assert first.get_adapter("https://x.test/").max_retries.total == 2
    assert other.get_adapter("https://x.test/").max_retries.total == 4
    # make_session stays the way to get a fresh one
    assert make_session(SourceUrls(**base)) is not first


def test_shared_session_serves_several_fetches() -> None:
    body = (FIX / "cboe_VVIX_History_2006.csv").read_bytes()
    routes = {"/cboe/VVIX_History.csv": [Reply(200, body)], "/fredgraph.csv": [Reply(200, body)]}
    with ReplayServer(routes) as srv:
        urls = _urls(srv)
        a = fetch_cboe("vvix", shared_session(urls), urls)
        b = fetch_live("tbill_3m", shared_session(urls), urls)
        assert len(srv.requests_for("/cboe/VVIX_History.csv")) == 1
    assert a.raw == body == b.raw


def test_truncated_body_content_length_is_a_parse_error() -> None:
    body = (FIX / "cboe_VIX_History_tail300.csv").read_bytes()
    with ReplayServer(
        {"/cboe/VIX_History.csv": [Reply(200, body, truncate_to=len(body) // 3)]}
    ) as srv:
        urls = _urls(srv, retries=0)
        with pytest.raises(SourceParseError, match="truncated"):
            fetch_cboe("vix", make_session(urls), urls)


def test_cut_json_and_html_200_are_parse_errors() -> None:
    raw = (FIX / "fred_api_CPIAUCSL.json").read_bytes()
    routes = {
        "/fred/series/observations": [Reply(200, raw[:-40], content_type="application/json")],
        "/cboe/VVIX_History.csv": [Reply(200, HTML_BOT_CHECK, content_type="text/html")],
    }
    with ReplayServer(routes) as srv:
        urls = _urls(srv)
        session = make_session(urls)
        fr_json = fetch_fred_api("cpi", session, urls, SECRET)
        fr_html = fetch_cboe("vvix", session, urls)
    assert fr_json.status == 200 and fr_html.status == 200
    with pytest.raises(SourceParseError, match="truncated JSON") as err:
        parse(fr_json)
    assert SECRET not in str(err.value)
    with pytest.raises(SourceParseError, match="HTML"):
        parse(fr_html)


def test_fred_api_key_sent_but_never_stored() -> None:
    raw = (FIX / "fred_api_CPIAUCSL_vintages.json").read_bytes()
    with ReplayServer({"/fred/series/observations": [Reply(200, raw)]}) as srv:
        urls = _urls(srv)
        fr = fetch_fred_api(
            "cpi", make_session(urls), urls, SECRET, vintages=True, start="2021-01-01"
        )
        (req,) = srv.requests_for("/fred/series/observations")
    assert req.query["api_key"] == [SECRET]  # the server did receive it
    assert req.query["series_id"] == ["CPIAUCSL"] and req.query["file_type"] == ["json"]
    assert req.query["realtime_start"] == ["1776-07-04"] and req.query["realtime_end"] == [
        "9999-12-31"
    ]
    assert req.query["observation_start"] == ["2021-01-01"]
    assert SECRET not in fr.url and "api_key=***" in fr.url
    assert SECRET not in repr(fr)
    assert parse(fr)["realtime_start"].notna().all()


def test_fred_api_http_400_error_message_has_no_key() -> None:
    body = json.dumps({"error_code": 400, "error_message": f"Bad request for api_key={SECRET}."})
    with ReplayServer({"/fred/series/observations": [Reply(400, body.encode())]}) as srv:
        urls = _urls(srv)
        with pytest.raises(SourceFetchError, match="HTTP 400") as err:
            fetch_fred_api("cpi", make_session(urls), urls, SECRET)
    assert SECRET not in str(err.value)


def test_fetch_live_falls_back_to_fredgraph_without_key() -> None:
    body = (FIX / "fred_DTB3_tail300.csv").read_bytes()
    with ReplayServer({"/fredgraph.csv": [Reply(200, body)]}) as srv:
        urls = _urls(srv)
        fr = fetch_live("tbill_3m", make_session(urls), urls, api_key=None)
    assert fr.source == "fred_graph" and fr.fmt == "fred_graph"
    with pytest.raises(ValueError, match="no live endpoint"):
        fetch_live("fomc", make_session(urls), urls)


def test_live_sources_cover_spec_table() -> None:
    assert LIVE_SOURCES["spx"] == ("fred", "SP500")
    for sid, sym in [
        ("vix", "VIX"),
        ("vix3m", "VIX3M"),
        ("vix9d", "VIX9D"),
        ("vix6m", "VIX6M"),
        ("vvix", "VVIX"),
    ]:
        assert LIVE_SOURCES[sid] == ("cboe", sym)
    for sid, sym in [
        ("tbill_3m", "DTB3"), ("fed_funds", "DFF"), ("cpi", "CPIAUCSL"), ("ppi", "PPIFIS"),
        ("ppi_all", "PPIACO"), ("gdp_real", "GDPC1"), ("usd", "DTWEXBGS"), ("usd_real", "RBUSBIS"),
    ]:  # fmt: skip
        assert LIVE_SOURCES[sid] == ("fred", sym)


# --------------------------------------------------------------------------- available_at


def _month_end(d: pd.Timestamp) -> date:
    return date(d.year, d.month, pycal.monthrange(d.year, d.month)[1])


def test_available_at_cpi_month_end_plus_lag() -> None:
    lags = ReleaseLags()
    rows = parse_fred_graph((FIX / "fred_CPIAUCSL_tail30.csv").read_bytes(), "cpi")
    out = assign_available_at(rows, "cpi", lags)
    expected = [_next_session(_month_end(d) + timedelta(days=lags.cpi)) for d in rows["date"]]
    assert out["available_at"].tolist() == expected
    # one worked case: July 2026 -> 2026-07-31 + 20 d = Thu 2026-08-20, a session
    july = out.loc[out["date"] == pd.Timestamp("2026-07-01"), "available_at"].item()
    assert july == pd.Timestamp("2026-08-20")


def test_available_at_other_lag_rules() -> None:
    lags = ReleaseLags(cpi=20, ppi=25, gdp_real=31, usd_monthly=45)

    def stamp(sid: str, dates: list[str], values: list[float] | None = None) -> list[pd.Timestamp]:
        rows = pd.DataFrame(
            {
                "series_id": sid,
                "date": pd.to_datetime(dates),
                "value": values or [1.0] * len(dates),
                "value_missing": False,
                "raw": dates,
            }
        )
        return assign_available_at(rows, sid, lags)["available_at"].tolist()

    # market close: own session; a FRED holiday row (2016-02-15, Presidents Day) rolls forward
    assert stamp("vix", ["2026-07-22", "2016-02-15"]) == [
        pd.Timestamp("2026-07-22"),
        pd.Timestamp("2016-02-16"),
    ]
    # daily rates: the next session (Fri 2026-07-17 -> Mon 2026-07-20; Thu 2026-07-02 -> Mon 07-06)
    assert stamp("tbill_3m", ["2026-07-17", "2026-07-02"]) == [
        _next_session(date(2026, 7, 18)),
        _next_session(date(2026, 7, 3)),
    ]
    assert stamp("fed_funds", ["2026-07-02"]) == [pd.Timestamp("2026-07-06")]
    # usd daily: + 7 days
    assert stamp("usd", ["2026-07-24"]) == [_next_session(date(2026, 7, 31))]
    # ppi uses lags.ppi, ppi_all too
    for sid in ("ppi", "ppi_all"):
        assert stamp(sid, ["2025-09-01"]) == [_next_session(date(2025, 9, 30) + timedelta(25))]
    # gdp: quarter end + lag
    assert stamp("gdp_real", ["2026-01-01"]) == [_next_session(date(2026, 3, 31) + timedelta(31))]
    # usd_real: month end + 45
    assert stamp("usd_real", ["2023-10-01"]) == [_next_session(date(2023, 10, 31) + timedelta(45))]
    # fomc: scheduled known from July 1 of the previous year; unscheduled on its own date
    assert stamp("fomc", ["2024-03-20", "2020-03-15"], [1.0, 0.0]) == [
        _next_session(date(2023, 7, 1)),
        pd.Timestamp("2020-03-16"),  # a Sunday action: first session after
    ]


def test_available_at_vintages_and_unparseable_dates() -> None:
    rows = parse_fred_api((FIX / "fred_api_CPIAUCSL_vintages.json").read_bytes(), "cpi")
    out = assign_available_at(rows, "cpi", ReleaseLags())
    expected = [_next_session(d) for d in rows["realtime_start"]]
    assert out["available_at"].tolist() == expected
    assert out["available_at"].iloc[0] == pd.Timestamp("2025-12-15")  # Sat 12-13 -> Mon
    bad = parse_cboe_index(b"DATE,VVIX\nxx/yy/2006,71.73\n", "vvix")
    assert assign_available_at(bad, "vvix", ReleaseLags())["available_at"].isna().all()


def test_available_at_is_never_before_the_observation() -> None:
    frames = parse_snapshot(SNAPSHOT)
    for sid, rows in frames.items():
        out = assign_available_at(rows, sid, ReleaseLags())
        if sid == "fomc":
            continue  # scheduled meetings are known in advance by design
        assert (out["available_at"] >= out["date"]).all(), sid


# --------------------------------------------------------------------------- snapshot


def _manifest() -> dict:
    with (SNAPSHOT / "manifest.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_read_snapshot_covers_every_manifest_entry() -> None:
    manifest = _manifest()
    fetches = read_snapshot(SNAPSHOT)
    assert sorted(Path(f.url).name for f in fetches) == sorted(
        Path(e["path"]).name for e in manifest["files"]
    )
    for f in fetches:
        assert f.raw == Path(f.url).read_bytes()
        assert f.source in {"snapshot", "calendar"} and f.status is None
        assert f.sha256 == hashlib.sha256(f.raw).hexdigest()
    for c in manifest["chains"]:
        assert (SNAPSHOT / c["path"]).exists()


def test_manifest_ranges_match_files() -> None:
    for e in _manifest()["files"]:
        rows = parse(
            FetchResult("snapshot", e["series_id"], str(SNAPSHOT / e["path"]), None,
                        (SNAPSHOT / e["path"]).read_bytes(), pd.Timestamp.now(tz="UTC"), e["format"])
        )  # fmt: skip
        assert len(rows) == e["rows"], e["path"]
        assert rows["date"].min() == pd.Timestamp(e["first"]), e["path"]
        assert rows["date"].max() == pd.Timestamp(e["last"]), e["path"]
        cutoff = (
            "1990-01-01"
            if e["series_id"] not in {"cpi", "ppi", "ppi_all", "gdp_real", "usd_real"}
            else "1988-01-01"
        )
        assert rows["date"].min() >= pd.Timestamp(cutoff) or e["series_id"] == "fomc"


def test_every_snapshot_series_parses_and_validates() -> None:
    frames = parse_snapshot(SNAPSHOT)
    assert set(frames) == {sid for sid in LIVE_SOURCES}
    for sid, rows in frames.items():
        res = validate(assign_available_at(rows, sid, ReleaseLags()), "snapshot", sid)
        assert res.rows_parsed == len(rows) > 0
        assert res.rows_quarantined < 0.01 * res.rows_parsed, (sid, res.quarantine.head())
        assert res.rows_accepted + res.rows_quarantined == res.rows_parsed


def test_snapshot_gdp_is_the_union_with_newest_winning() -> None:
    old = parse_fred_graph((SNAPSHOT / "fredgraph_GDPC1_1990_2025.csv").read_bytes(), "gdp_real")
    new = parse_fred_graph((SNAPSHOT / "fred_GDPC1.csv").read_bytes(), "gdp_real")
    gdp = parse_snapshot(SNAPSHOT)["gdp_real"]
    assert gdp["date"].is_unique and gdp["date"].is_monotonic_increasing
    assert set(gdp["date"]) == set(old["date"]) | set(new["date"])
    merged = gdp.set_index("date")["value"]
    for d, v in zip(new["date"], new["value"], strict=True):
        assert merged[d] == v
    assert merged[pd.Timestamp("1990-01-01")] == 10047.386  # only in the older file


def test_combine_newest_wins_on_conflicts() -> None:
    def frame(dates: list[str | None], values: list[float], tag: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "series_id": "cpi",
                "date": pd.to_datetime(dates),
                "value": values,
                "value_missing": False,
                "raw": [f"{tag}{i}" for i in range(len(dates))],
            }
        )

    older = frame(["2021-01-01", "2021-02-01", "2021-03-01", None], [1.0, 2.0, 3.0, np.nan], "old")
    newer = frame(["2021-02-01", "2021-03-01", "2021-04-01"], [20.0, 30.0, 40.0], "new")
    out = combine_newest_wins([older, newer])
    valid = out.dropna(subset=["date"])
    assert valid["value"].tolist() == [1.0, 20.0, 30.0, 40.0]
    assert out["date"].isna().sum() == 1  # the malformed row survives for quarantine


def test_snapshot_fomc_calendar_is_corrected() -> None:
    text = (SNAPSHOT / "fomc_calendar.csv").read_text().splitlines()
    assert text[0] == "date,kind"
    assert "2026-04-29,scheduled" in text and not any(t.startswith("2026-05-06") for t in text)
    assert sum(t.endswith(",unscheduled") for t in text) == 8


def test_snapshot_keeps_provider_formats() -> None:
    # the VIX file is untrimmed (starts 1990) and must be CBOE's bytes: MM/DD/YYYY, 6 decimals
    lines = (SNAPSHOT / "cboe_VIX_History.csv").read_bytes().split(b"\n")
    assert lines[0] == b"DATE,OPEN,HIGH,LOW,CLOSE"
    assert lines[1] == b"01/02/1990,17.240000,17.240000,17.240000,17.240000"
    dff = (SNAPSHOT / "fred_DFF.csv").read_text().splitlines()
    assert dff[0] == "date,value" and dff[-1] == "2026-07-22,3.6300000000"


def test_alfred_vintages_do_not_delay_a_market_close() -> None:
    """FRED posts SP500 the next day; the close was still knowable at its own close."""
    rows = pd.DataFrame(
        {
            "series_id": ["spx", "cpi"],
            "date": pd.to_datetime(["2026-02-11", "2026-01-01"]),
            "value": [6941.47, 326.588],
            "value_missing": False,
            "raw": ["", ""],
            "realtime_start": pd.to_datetime(["2026-02-12", "2026-02-13"]),
        }
    )
    spx = assign_available_at(rows.iloc[[0]], "spx", ReleaseLags())
    cpi = assign_available_at(rows.iloc[[1]], "cpi", ReleaseLags())
    assert spx["available_at"].iloc[0] == pd.Timestamp("2026-02-11")
    assert cpi["available_at"].iloc[0] == pd.Timestamp("2026-02-13")  # the vintage date
