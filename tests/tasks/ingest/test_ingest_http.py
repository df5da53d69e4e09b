"""Tests of tasks/ingest/http.py: live fetching against a loopback replay server (retries,
timeouts, truncated bodies, the API key sent but never stored)."""

from __future__ import annotations

import json
import time

import pytest
import requests
from httpreplay import HTML_BOT_CHECK, ReplayServer, Reply
from ingest_support import FIX, SECRET, _urls

from schemas.config import SourceUrls
from tasks.ingest import (
    LIVE_SOURCES,
    SourceFetchError,
    SourceParseError,
    fetch_cboe,
    fetch_fred_api,
    fetch_fred_graph,
    fetch_live,
    fred_api_key_from_env,
    make_session,
    parse,
    shared_session,
)
from tasks.ingest.http import _short_body


def test_api_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    assert fred_api_key_from_env() is None
    monkeypatch.setenv("FRED_API_KEY", f" {SECRET} ")
    assert fred_api_key_from_env() == SECRET


# --------------------------------------------------------------------------- live fetching (loopback)


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
        with pytest.raises(SourceParseError, match="truncated") as err:
            fetch_cboe("vix", make_session(urls), urls)
    assert f"vix from cboe {srv.url}/cboe/VIX_History.csv" in str(err.value)


@pytest.mark.parametrize(
    ("headers", "n_body", "short"),
    [
        ({"Content-Length": "1000"}, 400, "400 of 1000 bytes (Content-Length)"),
        ({"Content-Length": "400"}, 400, None),
        ({}, 400, None),  # nothing announced (chunked): nothing to compare
        ({"Content-Length": "100", "Content-Encoding": "gzip"}, 400, None),  # decoded size
    ],
)
def test_the_explicit_content_length_check(headers: dict, n_body: int, short: str | None) -> None:
    # behind urllib3's own check: any transport handing over a short body without an error
    resp = requests.Response()
    resp.headers.update(headers)
    assert _short_body(resp, b"x" * n_body) == short


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
