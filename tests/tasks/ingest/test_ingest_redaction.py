"""Tests of tasks/ingest/redaction.py: the API key masked in URLs, messages, tracebacks and
log records."""

from __future__ import annotations

import logging
import socket
import sys

import pytest
from httpreplay import ReplayServer, Reply
from ingest_support import SECRET, _urls

from schemas.config import SourceUrls
from tasks.ingest import (
    HTTP_LOGGERS,
    RedactSecrets,
    SourceFetchError,
    fetch_fred_api,
    make_session,
    redact,
    shared_session,
)


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
