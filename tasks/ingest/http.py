"""Live fetching: one ``requests`` session with urllib3 retries, and a fetcher per provider.

Every failure becomes a :class:`~tasks.ingest.errors.SourceError` (whose message is
redacted); the API key is registered for redaction before it is first sent. A body
shorter than its ``Content-Length`` is a truncation error, never a shorter history.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, date, datetime

import pandas as pd
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from schemas.config import SourceUrls
from schemas.series import SERIES, spec
from tasks.ingest.errors import SourceFetchError, SourceParseError
from tasks.ingest.redaction import install_log_redaction, redact, register_secret, snippet
from tasks.ingest.result import FetchResult

# ALFRED: ask for every real-time period ever recorded.
ALFRED_REALTIME_START = "1776-07-04"
ALFRED_REALTIME_END = "9999-12-31"

_ISO = "%Y-%m-%d"


def make_session(urls: SourceUrls) -> requests.Session:
    """A new ``requests.Session`` with retries (backoff, 429/5xx, Retry-After) and our UA.

    Installs the log redaction first (:func:`install_log_redaction`), since urllib3 logs
    each retried request's URL, API key included. Pipeline code should use
    :func:`shared_session`; a fresh session is for tests that need isolated state.
    """
    install_log_redaction()
    retry = Retry(
        total=urls.retries,
        backoff_factor=urls.backoff_factor,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods={"GET", "HEAD"},
        respect_retry_after_header=True,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = urls.user_agent
    return session


_shared_sessions: dict[SourceUrls, requests.Session] = {}
_shared_sessions_lock = threading.Lock()


def shared_session(urls: SourceUrls) -> requests.Session:
    """The one HTTP session of a configuration, shared by the fetch tasks of a run.

    Memoised per ``urls``: ``SourceUrls`` is a frozen pydantic-settings model, hashable
    and compared by field values, so equal settings (however they were given: defaults,
    keywords, ``CONDORCAP_`` environment) share a session and its connection pool, and
    different settings (another host, timeout or retry count) get their own. The cache
    lives for the process; a lock makes the first concurrent callers agree on one object.

    Notes
    -----
    The fetch tasks call this from several threads (Prefect's thread-pool task runner)
    and use the session only for plain GETs: no cookies, auth or adapters are changed
    after creation. urllib3's connection pool is thread-safe; ``requests.Session`` is not
    documented as such, but this read-only use of it is the one commonly relied on. A
    process-based runner simply builds one session per worker process.
    """
    with _shared_sessions_lock:
        session = _shared_sessions.get(urls)
        if session is None:
            session = _shared_sessions[urls] = make_session(urls)
        return session


def fred_api_key_from_env() -> str | None:
    """``FRED_API_KEY`` from the environment, or None (the Secret block lookup is in flows/)."""
    key = os.environ.get("FRED_API_KEY", "").strip()
    return key or None


def _short_body(resp: requests.Response, body: bytes) -> str | None:
    """Why ``body`` is shorter than the response announced, or None.

    urllib3 already raises on a connection closed before ``Content-Length`` bytes (caught
    in :func:`_get`); this is the explicit check behind it, for any transport that hands
    over a short body without an error. A compressed body's length is not comparable with
    the decoded content, so it is not checked.
    """
    announced = resp.headers.get("Content-Length")
    if announced is None or resp.headers.get("Content-Encoding", "identity") != "identity":
        return None
    try:
        expected = int(announced)
    except ValueError:
        return None
    if len(body) < expected:
        return f"{len(body)} of {expected} bytes (Content-Length)"
    return None


def _get(
    session: requests.Session,
    url: str,
    params: dict[str, str],
    urls: SourceUrls,
    source: str,
    series_id: str,
    fmt: str,
) -> FetchResult:
    """GET with timeouts; every failure becomes a SourceError whose text holds no key."""
    fetched_at = datetime.now(UTC)
    where = f"{series_id} from {source} {redact(url)}"
    try:
        resp = session.get(url, params=params, timeout=(urls.connect_timeout, urls.read_timeout))
        body = resp.content  # reads the whole body: a short read raises here
    except requests.exceptions.ChunkedEncodingError as exc:
        # the server closed before sending Content-Length bytes: a truncated body
        raise SourceParseError(f"{where}: truncated response body ({type(exc).__name__})") from None
    except requests.RequestException as exc:
        # `from None`: the chained exception's text would carry the full URL with the key
        raise SourceFetchError(
            f"{where}: request failed (retries={urls.retries}, "
            f"timeout={urls.connect_timeout}/{urls.read_timeout}s): {type(exc).__name__}: "
            f"{redact(str(exc))[:300]}"
        ) from None
    final_url = redact(resp.url or url)
    if resp.status_code >= 400:
        raise SourceFetchError(
            f"{series_id} from {source} {final_url}: HTTP {resp.status_code}: {snippet(body, 300)}"
        )
    short = _short_body(resp, body)
    if short is not None:
        raise SourceParseError(f"{series_id} from {source} {final_url}: truncated body: {short}")
    return FetchResult(
        source=source,
        series_id=series_id,
        url=final_url,
        status=resp.status_code,
        raw=body,
        fetched_at=fetched_at,
        fmt=fmt,
    )


# Canonical series -> (provider, symbol): a view of the registry (schemas/series.py).
LIVE_SOURCES: dict[str, tuple[str, str]] = {
    sid: (s.provider, s.symbol) for sid, s in SERIES.items()
}


def _provider_symbol(series_id: str, kind: str) -> str:
    s = spec(series_id)
    if s.provider != kind:
        raise ValueError(f"series {series_id!r} is not a {kind} series (it is {s.provider})")
    return s.symbol


def fetch_cboe(series_id: str, session: requests.Session, urls: SourceUrls) -> FetchResult:
    """GET CBOE's ``{SYM}_History.csv`` for a VIX-family series (full history, one file)."""
    sym = _provider_symbol(series_id, "cboe")
    url = f"{urls.cboe_index.rstrip('/')}/{sym}_History.csv"
    return _get(session, url, {}, urls, "cboe", series_id, "cboe_index")


def fetch_fred_api(
    series_id: str,
    session: requests.Session,
    urls: SourceUrls,
    api_key: str,
    vintages: bool = False,
    start: date | str | None = None,
) -> FetchResult:
    """GET FRED ``series/observations`` as JSON; with ``vintages`` every ALFRED period."""
    sym = _provider_symbol(series_id, "fred")
    register_secret(api_key)  # before sending: urllib3 may log the URL on the first retry
    params = {"series_id": sym, "api_key": api_key, "file_type": "json"}
    if start is not None:
        params["observation_start"] = pd.Timestamp(start).strftime(_ISO)
    if vintages:
        params["realtime_start"] = ALFRED_REALTIME_START
        params["realtime_end"] = ALFRED_REALTIME_END
    url = f"{urls.fred_api.rstrip('/')}/series/observations"
    return _get(session, url, params, urls, "fred_api", series_id, "fred_api")


def fetch_fred_graph(
    series_id: str,
    session: requests.Session,
    urls: SourceUrls,
    start: date | str | None = None,
) -> FetchResult:
    """GET ``fredgraph.csv?id=...`` (no key needed; the fallback when no API key is set)."""
    sym = _provider_symbol(series_id, "fred")
    params = {"id": sym}
    if start is not None:
        params["cosd"] = pd.Timestamp(start).strftime(_ISO)
    return _get(session, urls.fred_graph, params, urls, "fred_graph", series_id, "fred_graph")


def fetch_live(
    series_id: str,
    session: requests.Session,
    urls: SourceUrls,
    api_key: str | None = None,
    vintages: bool = False,
    start: date | str | None = None,
) -> FetchResult:
    """Fetch a series from its default live source (the registry's ``provider``).

    FRED series use the API when ``api_key`` is given, else ``fredgraph.csv`` (no
    vintages there). ``fomc`` has no live endpoint: read the shipped calendar instead.
    """
    kind = spec(series_id).provider
    if kind == "cboe":
        return fetch_cboe(series_id, session, urls)
    if kind == "fred":
        if api_key:
            return fetch_fred_api(series_id, session, urls, api_key, vintages=vintages, start=start)
        return fetch_fred_graph(series_id, session, urls, start=start)
    raise ValueError(f"{series_id!r} has no live endpoint; use read_snapshot()")
