"""Tests of tasks/ingest/redaction.py: the API key masked in URLs, messages, tracebacks and
log records."""

from __future__ import annotations

import hashlib
import logging
import pickle
import socket
import sys
import traceback
import warnings

import pytest
from echoserver import Echo, EchoServer
from httpreplay import ReplayServer, Reply
from ingest_support import SECRET, _urls

from schemas.config import SourceUrls
from tasks.ingest import (
    HTTP_LOGGERS,
    PREFECT_LOGGERS,
    RedactSecrets,
    SourceError,
    SourceFetchError,
    SourceParseError,
    fetch_fred_api,
    install_log_redaction,
    make_session,
    parse,
    redact,
    register_secret,
    shared_session,
)
from tasks.ingest.redaction import snippet


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


# --------------------------------------------------------------------------- an upstream that echoes


@pytest.mark.parametrize("mode", list(Echo))
def test_an_upstream_echoing_the_key_leaks_it_into_no_message_or_log(
    mode: Echo, caplog: pytest.LogCaptureFixture
) -> None:
    key = hashlib.md5(mode.encode()).hexdigest()  # 32 characters, like a FRED key
    caplog.set_level(logging.DEBUG)
    # the CLI quiets urllib3 (tests of it may run first in this process): hear it here
    caplog.set_level(logging.DEBUG, logger="urllib3")
    with EchoServer(mode) as srv:
        urls = SourceUrls(
            fred_api=srv.url + "/fred", retries=1, backoff_factor=0.0, read_timeout=2.0
        )
        with pytest.raises(SourceError) as err:
            parse(fetch_fred_api("spx", make_session(urls), urls, key))
    assert any(f"api_key={key}" in seen for seen in srv.seen)  # the echo did carry it
    exc = err.value
    text = "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.args)
    assert key not in text
    assert "spx from fred_api" in str(exc)
    if mode is Echo.JSON_SHORT:
        assert isinstance(exc, SourceParseError) and "truncated" in str(exc)
    else:  # the echoed request is quoted in the message, with its key masked
        assert "api_key=***" in str(exc), str(exc)
    if mode is Echo.HTML_200:
        assert "HTML" in str(exc) and "Blocked: series_id=SP500&api_key=***" in str(exc)
    # urllib3 logged each request line, query included: only its redacted form got through
    assert any("api_key=***" in r.getMessage() for r in caplog.records)
    if mode is Echo.STATUS_500:  # retried once, then refused
        assert len(srv.seen) == 2 and isinstance(exc, SourceFetchError)
    for record in caplog.records:
        assert key not in caplog.handler.format(record)


def test_a_source_error_is_redacted_whoever_builds_it() -> None:
    url = f"https://x.test/obs?series_id=DFF&api_key={SECRET}"
    for exc in (SourceError(f"failed {url}"), SourceParseError("a", f"b {url}")):
        assert SECRET not in str(exc) and SECRET not in repr(exc)
        assert "api_key=***" in str(exc)
        again = pickle.loads(pickle.dumps(exc))  # how Prefect ships a failure between processes
        assert type(again) is type(exc) and again.args == exc.args


def test_snippet_redacts_before_cutting() -> None:
    register_secret(SECRET)
    body = ("x" * 70 + SECRET).encode()  # the key straddles the 80-character cut
    out = snippet(body)
    assert SECRET[:10] not in out and out == repr("x" * 70 + "***")


def test_prefect_loggers_and_their_handlers_get_the_filter() -> None:
    import prefect.main  # noqa: F401  (what `from prefect import flow` does: sets up logging)

    install_log_redaction()
    install_log_redaction()  # idempotent
    assert logging.getLogger("prefect.task_runs").handlers  # Prefect's API handler is there
    url = f"https://x.test/obs?api_key={SECRET}"
    for name in PREFECT_LOGGERS:
        logger = logging.getLogger(name)
        assert sum(isinstance(f, RedactSecrets) for f in logger.filters) == 1, name
        for handler in logger.handlers:
            assert sum(isinstance(f, RedactSecrets) for f in handler.filters) == 1, handler
        seen: list[logging.LogRecord] = []
        capture = logging.Handler()
        capture.emit = seen.append  # type: ignore[method-assign]
        logger.addHandler(capture)
        try:
            try:
                raise SourceFetchError(f"boom {url}") from ValueError(url)
            except SourceFetchError:
                with warnings.catch_warnings():  # the API handler: "no flow run id" outside a run
                    warnings.simplefilter("ignore", UserWarning)
                    logger.error("task failed for %s", url, exc_info=True)
        finally:
            logger.removeHandler(capture)
        (record,) = seen
        rendered = logging.Formatter().format(record)
        assert SECRET not in rendered and "api_key=***" in rendered
        assert "ValueError" in rendered  # the chained cause survives, redacted
