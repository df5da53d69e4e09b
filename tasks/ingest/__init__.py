"""Ingestion: fetch raw responses and parse each provider's wire format (SPEC §1.1, §1.2).

Pure pandas/numpy + ``requests``. Nothing here writes a table: fetchers return a
:class:`FetchResult` (the raw bytes plus where they came from), parsers turn those bytes
into one *rows* frame per series, and :func:`assign_available_at` stamps every row with
the first session on which it was knowable. Validation and quarantine live in
``schemas/sources.py``.

Rows frame (what every parser returns)
--------------------------------------
``series_id`` (str), ``date`` (datetime64, NaT if unparseable), ``value`` (float64, NaN
if missing or unparseable), ``value_missing`` (bool: the provider's own missing marker
``'.'`` or an empty field — a recorded gap, not an error), ``raw`` (the original line
text, so a quarantined row can be shown exactly as received). FRED API frames add
``realtime_start`` (datetime64; NaT unless the response carried ALFRED vintages).

Parsers never drop a malformed row (garbage line, bad date, non-numeric value, wrong
field count): it is kept with NaT/NaN and its raw text, so validation quarantines it
with a reason. Only blank lines are skipped — they carry no row. A response that
cannot be parsed at all (HTML served with status 200, unknown header, empty body,
truncated JSON, FRED's JSON error envelope) raises :class:`SourceParseError`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from schemas.config import ReleaseLags, SourceUrls
from tasks.market.calendar import CALENDAR_START, nyse, roll_to_sessions

ROW_COLUMNS = ["series_id", "date", "value", "value_missing", "raw"]

# Canonical series (SPEC §1.1 / docs/contracts.md) -> default live source.
# kind: 'cboe' (CBOE index-history CSV), 'fred' (API with a key, else fredgraph.csv),
# 'calendar' (the shipped FOMC file; refreshed by editing it, no live endpoint).
LIVE_SOURCES: dict[str, tuple[str, str]] = {
    "spx": ("fred", "SP500"),
    "vix": ("cboe", "VIX"),
    "vix3m": ("cboe", "VIX3M"),
    "vix9d": ("cboe", "VIX9D"),
    "vix6m": ("cboe", "VIX6M"),
    "vvix": ("cboe", "VVIX"),
    "tbill_3m": ("fred", "DTB3"),
    "fed_funds": ("fred", "DFF"),
    "cpi": ("fred", "CPIAUCSL"),
    "ppi": ("fred", "PPIFIS"),
    "ppi_all": ("fred", "PPIACO"),
    "gdp_real": ("fred", "GDPC1"),
    "usd": ("fred", "DTWEXBGS"),
    "usd_real": ("fred", "RBUSBIS"),
    "fomc": ("calendar", "fomc_calendar.csv"),
}

# How each series' availability is derived (SPEC §1.2); see assign_available_at.
MARKET_CLOSE_SERIES = frozenset({"spx", "vix", "vix3m", "vix9d", "vix6m", "vvix"})
NEXT_SESSION_SERIES = frozenset({"tbill_3m", "fed_funds"})
WEEKLY_PUBLISHED_SERIES = frozenset({"usd"})
WEEKLY_PUBLICATION_DAYS = 7

# ALFRED: ask for every real-time period ever recorded.
ALFRED_REALTIME_START = "1776-07-04"
ALFRED_REALTIME_END = "9999-12-31"

# The key's parameter name, raw or percent-encoded ("_" -> %5F, once or twice: a URL that
# was itself quoted into another URL's query, as in a redirect or an error page's link).
_API_KEY_NAME = r"api(?:_|%(?:25)?5F)key"
# Query form: ``api_key=<value>`` with "=" raw or encoded (%3D, %253D); the value ends at
# the next parameter (a raw "&" or an encoded %26 / %2526), a quote, a space or a fragment.
_API_KEY_QUERY_RE = re.compile(
    rf"({_API_KEY_NAME}(?:=|%(?:25)?3D))(?:(?!%(?:25)?26)[^&\s\"'<>#])*", flags=re.IGNORECASE
)
# Mapping form: ``'api_key': '<value>'`` as printed by a dict repr (params=..., JSON bodies).
_API_KEY_MAPPING_RE = re.compile(
    rf"([\"']{_API_KEY_NAME}[\"']\s*:\s*[\"']?)[^\"'\s,}}]*", flags=re.IGNORECASE
)
# Shorter strings are not masked literally: too likely to be ordinary text (FRED keys are
# 32 characters).
_MIN_SECRET_LEN = 8
_secrets: tuple[str, ...] = ()  # replaced, never mutated: redact() may run in any thread
_secrets_lock = threading.Lock()


class SourceError(RuntimeError):
    """Base class: a source that failed as a whole (its task fails, no table changes)."""


class SourceFetchError(SourceError):
    """The HTTP request failed (connection, timeout, retries exhausted, error status)."""


class SourceParseError(SourceError):
    """The response arrived but cannot be parsed at all (HTML, unknown header, truncated...)."""


def _register_secret(value: str) -> None:
    """Have :func:`redact` also mask ``value`` wherever it appears, whatever surrounds it.

    Called with the API key before it is sent, so a key echoed without its ``api_key=``
    name (an error body, a library message) is masked too.
    """
    global _secrets
    if len(value) < _MIN_SECRET_LEN or value in _secrets:
        return
    with _secrets_lock:
        if value not in _secrets:
            _secrets = (*_secrets, value)


def redact(text: str) -> str:
    """Replace the FRED API key in ``text`` by ``***`` (URLs, error bodies, log messages).

    Masks the value of an ``api_key`` parameter in a query string or a full URL, also when
    percent-encoded (``api_key%3D...``, ``api%5Fkey=...``, doubly encoded ``%253D``), the
    value of an ``'api_key': ...`` mapping entry, and every literal occurrence (raw or
    percent-encoded) of a key passed to :func:`fetch_fred_api` in this process.
    """
    text = _API_KEY_QUERY_RE.sub(r"\1***", text)
    text = _API_KEY_MAPPING_RE.sub(r"\1***", text)
    for secret in _secrets:
        text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return text


class RedactSecrets(logging.Filter):
    """Logging filter that passes every record with the API key masked by :func:`redact`.

    The message is formatted once (``record.getMessage()``), redacted, and stored back
    as ``record.msg`` with ``record.args = ()``, so every handler downstream (Prefect's
    console and API handlers, pytest's caplog) sees only the redacted text. Traceback and
    stack text are redacted the same way (``exc_text``; ``exc_info`` is then dropped,
    since a handler re-rendering it would print the URL again).

    A logger's filters only see records created on that very logger, not those
    propagating from its children, so :func:`install_log_redaction` attaches one to each
    ``urllib3`` / ``requests`` module logger rather than to ``urllib3`` alone.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed %-format must not hide the text: redact it raw
            message = f"{record.msg} {record.args}"
        record.msg = redact(message)
        record.args = ()
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True  # never drops a record, only rewrites it


# Every logger of the HTTP stack that can print a request URL. urllib3's connectionpool
# WARNs "Retrying (...) after connection broken by ...: <path>?...&api_key=..." and its
# util.retry DEBUGs "Incremented Retry for (url=...)".
HTTP_LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
    "requests",
)


def install_log_redaction() -> None:
    """Attach a :class:`RedactSecrets` filter to each HTTP-stack logger, once (idempotent).

    Also covers any other ``urllib3.*`` / ``requests.*`` logger already created. Called by
    :func:`make_session` (so by :func:`shared_session`): logging is touched only once a
    session that could log a URL exists, never by merely importing the parsers.
    """
    existing = [
        name
        for name in list(logging.root.manager.loggerDict)
        if name.startswith(("urllib3.", "requests."))
    ]
    for name in (*HTTP_LOGGERS, *existing):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())


# --------------------------------------------------------------------------- FetchResult


@dataclass(frozen=True)
class FetchResult:
    """One raw response (or snapshot file), exactly as received.

    Attributes
    ----------
    source : str
        ``'snapshot'``, ``'cboe'``, ``'fred_api'``, ``'fred_graph'`` or ``'calendar'``.
    series_id : str
        Canonical series id (SPEC §1.1).
    url : str
        URL or file path; any ``api_key=`` value is redacted on construction.
    status : int | None
        HTTP status, None for files.
    raw : bytes
        The body, unmodified.
    fetched_at : datetime
        UTC time of the fetch.
    fmt : str
        Parser name, a key of :data:`PARSERS`.
    """

    source: str
    series_id: str
    url: str
    status: int | None
    raw: bytes
    fetched_at: datetime
    fmt: str
    origin: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # the key must never reach a log or a table, whoever built this object
        object.__setattr__(self, "url", redact(self.url))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def n_bytes(self) -> int:
        return len(self.raw)


# --------------------------------------------------------------------------- text helpers


def _where(series_id: str, origin: str) -> str:
    return f"{series_id} from {redact(origin)}"


def _decode(raw: bytes, series_id: str, origin: str) -> str:
    """Bytes -> text, refusing bodies that are empty or an HTML page (bot checks say 200)."""
    if not raw or not raw.strip():
        raise SourceParseError(f"{_where(series_id, origin)}: empty response body")
    text = raw.decode("utf-8-sig", errors="replace")
    head = text.lstrip()[:1024].lower()
    if head.startswith(("<!doctype", "<html", "<?xml")) or "<html" in head:
        raise SourceParseError(
            f"{_where(series_id, origin)}: got an HTML/XML page instead of data "
            f"(bot check or error page?): {text.strip()[:80]!r}"
        )
    return text


def _lines(text: str) -> list[str]:
    # blank lines carry no row (trailing newline, CRLF leftovers); everything else is kept
    return [ln.rstrip("\r") for ln in text.splitlines() if ln.strip()]


def _split_fields(lines: Sequence[str]) -> pd.DataFrame:
    """Split CSV data lines into string columns 0..k (no quoted commas in these formats)."""
    s = pd.Series(list(lines), dtype=object)
    parts = s.str.split(",", expand=True) if len(s) else pd.DataFrame(index=s.index)
    parts = parts.apply(lambda c: c.str.strip().str.strip('"').str.strip())
    return parts


def _header_fields(line: str) -> list[str]:
    return [f.strip().strip('"').strip() for f in line.split(",")]


def _parse_dates(s: pd.Series, formats: Sequence[str]) -> pd.Series:
    """Parse with each format in turn (first match wins); NaT where none matches."""
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = out.isna()
        if not todo.any():
            break
        out[todo] = pd.to_datetime(s[todo], format=fmt, errors="coerce")
    return out.astype("datetime64[ns]")


def _parse_values(s: pd.Series, missing_markers: Sequence[str]) -> tuple[pd.Series, pd.Series]:
    """Return (value float64 with NaN for missing/unparseable, value_missing bool)."""
    s = s.astype(object)
    missing = s.isin(list(missing_markers)) & s.notna()
    value = pd.to_numeric(s.where(~missing), errors="coerce").astype("float64")
    return value, missing.astype(bool)


def _rows_frame(
    series_id: str,
    lines: Sequence[str],
    date_field: pd.Series,
    value_field: pd.Series,
    n_fields_ok: pd.Series,
    date_formats: Sequence[str],
    missing_markers: Sequence[str],
) -> pd.DataFrame:
    date_s = _parse_dates(date_field, date_formats)
    value, missing = _parse_values(value_field, missing_markers)
    # a line with the wrong number of fields is malformed even if a number sits where the
    # value should be: blank its value so validation quarantines it as non-numeric
    value = value.where(n_fields_ok)
    missing = missing & n_fields_ok
    return pd.DataFrame(
        {
            "series_id": pd.Series([series_id] * len(lines), dtype=object),
            "date": date_s.to_numpy(),
            "value": value.to_numpy(dtype="float64"),
            "value_missing": missing.to_numpy(dtype=bool),
            "raw": pd.Series(list(lines), dtype=object),
        }
    )


def _empty_rows(series_id: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series_id": pd.Series([], dtype=object),
            "date": pd.Series([], dtype="datetime64[ns]"),
            "value": pd.Series([], dtype="float64"),
            "value_missing": pd.Series([], dtype=bool),
            "raw": pd.Series([], dtype=object),
        }
    )


def _csv_rows(
    raw: bytes,
    series_id: str,
    origin: str,
    header_ok: Callable[[list[str]], int | None],
    date_formats: Sequence[str],
    missing_markers: Sequence[str],
    fmt_name: str,
) -> pd.DataFrame:
    """Shared CSV path: check the header, pick the value column, parse every line."""
    lines = _lines(_decode(raw, series_id, origin))
    header = _header_fields(lines[0])
    value_col = header_ok(header)
    if value_col is None:
        raise SourceParseError(
            f"{_where(series_id, origin)}: not a {fmt_name} file (header {lines[0][:80]!r})"
        )
    data = lines[1:]
    if not data:
        return _empty_rows(series_id)
    parts = _split_fields(data)
    n_fields = parts.notna().sum(axis=1)
    date_field = parts[0]
    value_field = (
        parts[value_col] if value_col in parts.columns else pd.Series(None, index=parts.index)
    )
    return _rows_frame(
        series_id,
        data,
        date_field,
        value_field,
        n_fields == len(header),
        date_formats,
        missing_markers,
    )


# --------------------------------------------------------------------------- parsers

_ISO = "%Y-%m-%d"
_US = "%m/%d/%Y"


def parse_cboe_index(raw: bytes, series_id: str, origin: str = "<bytes>") -> pd.DataFrame:
    """CBOE ``{SYM}_History.csv``: ``DATE,OPEN,HIGH,LOW,CLOSE`` or ``DATE,<SYM>``.

    Dates ``MM/DD/YYYY`` (ISO also accepted: the datahub re-save). The value is ``CLOSE``
    (or the single value column). CBOE files list trading days only and have no missing
    marker, so an empty field is malformed (quarantined), not a recorded gap.
    """

    def header_ok(h: list[str]) -> int | None:
        up = [x.upper() for x in h]
        if up == ["DATE", "OPEN", "HIGH", "LOW", "CLOSE"]:
            return 4
        if len(up) == 2 and up[0] == "DATE" and up[1].isalnum():
            return 1
        return None

    return _csv_rows(raw, series_id, origin, header_ok, (_US, _ISO), (), "CBOE index history")


def parse_fred_graph(raw: bytes, series_id: str, origin: str = "<bytes>") -> pd.DataFrame:
    """FRED ``fredgraph.csv`` in both layouts, plus the two-column re-saves in the snapshot.

    New layout ``observation_date,<ID>`` with empty cells; legacy ``DATE,<ID>`` with ``.``;
    re-saved variants ``date,value``, ``date,GDPC1``, ``Date,Value``, ``"Date","RBUSBIS"``.
    Both ``''`` and ``'.'`` are missing markers (as in datasets/s-and-p-500's reader).
    """

    def header_ok(h: list[str]) -> int | None:
        if len(h) == 2 and h[0].lower() in {"observation_date", "date"} and h[1]:
            return 1
        return None

    return _csv_rows(raw, series_id, origin, header_ok, (_ISO,), ("", "."), "FRED graph CSV")


def parse_yahoo_close(raw: bytes, series_id: str, origin: str = "<bytes>") -> pd.DataFrame:
    """yfinance re-save ``Date,Close,Volume`` (also the full Yahoo layout): value = Close."""

    def header_ok(h: list[str]) -> int | None:
        if h and h[0] == "Date" and "Close" in h:
            return h.index("Close")
        return None

    return _csv_rows(raw, series_id, origin, header_ok, (_ISO,), ("", "null"), "Yahoo CSV")


def parse_fomc_calendar(
    raw: bytes, series_id: str = "fomc", origin: str = "<bytes>"
) -> pd.DataFrame:
    """The shipped FOMC calendar ``date,kind``: value 1.0 = scheduled, 0.0 = unscheduled.

    An unknown ``kind`` gives NaN, so validation quarantines the row.
    """
    lines = _lines(_decode(raw, series_id, origin))
    header = [h.lower() for h in _header_fields(lines[0])]
    if header != ["date", "kind"]:
        raise SourceParseError(
            f"{_where(series_id, origin)}: not an FOMC calendar (header {lines[0][:80]!r}, "
            "expected 'date,kind')"
        )
    data = lines[1:]
    if not data:
        return _empty_rows(series_id)
    parts = _split_fields(data)
    kind = parts[1].str.lower() if 1 in parts.columns else pd.Series(None, index=parts.index)
    value = kind.map({"scheduled": "1", "unscheduled": "0"})
    return _rows_frame(
        series_id, data, parts[0], value, parts.notna().sum(axis=1) == 2, (_ISO,), ()
    )


def parse_fred_api(raw: bytes, series_id: str, origin: str = "<bytes>") -> pd.DataFrame:
    """FRED API ``fred/series/observations`` JSON, including ALFRED vintages.

    ``raw`` of a row is the observation object re-serialised (compact JSON). The extra
    column ``realtime_start`` is the vintage date when the request covered several
    real-time periods (envelope ``realtime_start`` < ``realtime_end``, as with
    ``realtime_start=1776-07-04&realtime_end=9999-12-31``); for a default request (both
    equal to the request day) it is NaT, because "valid as of today" says nothing about
    when a value was first published.
    """
    text = _decode(raw, series_id, origin)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceParseError(
            f"{_where(series_id, origin)}: invalid or truncated JSON ({exc.msg} at char {exc.pos} "
            f"of {len(text)})"
        ) from exc
    if isinstance(doc, dict) and "error_code" in doc:
        raise SourceParseError(
            f"{_where(series_id, origin)}: FRED API error {doc.get('error_code')}: "
            f"{redact(str(doc.get('error_message', '')))}"
        )
    if not isinstance(doc, dict) or not isinstance(doc.get("observations"), list):
        raise SourceParseError(f"{_where(series_id, origin)}: JSON without an 'observations' list")
    obs = doc["observations"]
    if not obs:
        out = _empty_rows(series_id)
        out["realtime_start"] = pd.Series([], dtype="datetime64[ns]")
        return out
    lines = [json.dumps(o, separators=(",", ":")) if isinstance(o, dict) else str(o) for o in obs]
    recs = pd.DataFrame([o if isinstance(o, dict) else {} for o in obs])

    def col(key: str) -> pd.Series:
        # an observation object without the key (malformed) gives None -> NaT/NaN
        if key in recs.columns:
            return recs[key]
        return pd.Series(None, index=recs.index, dtype=object)

    frame = _rows_frame(
        series_id,
        lines,
        col("date").astype(object),
        col("value").astype(object),
        pd.Series(True, index=recs.index),
        (_ISO,),
        (".", ""),
    )
    env_start, env_end = doc.get("realtime_start"), doc.get("realtime_end")
    rt = _parse_dates(col("realtime_start").astype(object), (_ISO,))
    if env_start is not None and env_end is not None:
        vintages = str(env_start) < str(env_end)
    else:  # no envelope: vintages iff the rows disagree about their real-time period
        vintages = rt.nunique() > 1
    frame["realtime_start"] = rt.to_numpy() if vintages else pd.NaT
    frame["realtime_start"] = frame["realtime_start"].astype("datetime64[ns]")
    return frame


PARSERS: dict[str, Callable[[bytes, str, str], pd.DataFrame]] = {
    "cboe_index": parse_cboe_index,
    "fred_graph": parse_fred_graph,
    "fred_api": parse_fred_api,
    "yahoo_close": parse_yahoo_close,
    "fomc_calendar": parse_fomc_calendar,
}


def parse(fetch: FetchResult) -> pd.DataFrame:
    """Parse a :class:`FetchResult` with the parser named by ``fetch.fmt``.

    Raises
    ------
    SourceParseError
        Unknown format, or a response that cannot be parsed at all (names source and URL).
    """
    parser = PARSERS.get(fetch.fmt)
    if parser is None:
        raise SourceParseError(
            f"{fetch.series_id} from {fetch.source} {fetch.url}: unknown format {fetch.fmt!r}"
        )
    return parser(fetch.raw, fetch.series_id, f"{fetch.source} {fetch.url}")


# --------------------------------------------------------------------------- point in time


def _roll(dates: pd.Series) -> pd.Series:
    """Roll to the first session on/after each date; NaT stays NaT, so does a date past
    the calendar's end (validation then quarantines it as 'available_at_known').

    Dates before the calendar's first session roll to that session: later than the truth,
    hence still free of look-ahead.
    """
    d = pd.to_datetime(dates).astype("datetime64[ns]")
    last = pd.Timestamp(nyse().last_session).tz_localize(None)
    ok = d.notna() & (d <= last)
    out = pd.Series(pd.NaT, index=d.index, dtype="datetime64[ns]")
    if ok.any():
        out[ok] = roll_to_sessions(d[ok].clip(lower=pd.Timestamp(CALENDAR_START)))
    return out


def assign_available_at(rows: pd.DataFrame, series_id: str, lags: ReleaseLags) -> pd.DataFrame:
    """Stamp each row with ``available_at``, the first session it was knowable (SPEC §1.2).

    Rules (all rolled to the next NYSE session with ``tasks.market.calendar.roll_to_sessions``):

    - ``spx``, VIX family: the observation's own session (a close is known at the close).
    - ``tbill_3m``, ``fed_funds``: the session *after* the observation date. H.15 (DTB3)
      and the NY Fed (EFFR/DFF) publish the next business day, so a same-day stamp would
      be look-ahead. Conservative.
    - ``usd`` (DTWEXBGS, daily values published weekly by the Fed's H.10): observation
      date + 7 calendar days. Conservative upper bound on the weekly publication delay.
    - ``cpi``, ``ppi``, ``ppi_all``: month end + ``lags.cpi`` / ``lags.ppi`` days;
      ``gdp_real``: quarter end + ``lags.gdp_real``; ``usd_real``: month end +
      ``lags.usd_monthly``. (``ppi_all`` uses the PPI lag: same BLS release.)
    - ``fomc``: scheduled meetings (value 1) are known from the first session on/after
      July 1 of the preceding year (the Fed publishes next year's schedule around
      mid-year); unscheduled actions (value 0) only on their own date.
    - Rows with a non-null ``realtime_start`` (ALFRED vintages): that vintage date, except
      for market closes (``spx``), which stay on their own session.

    Parameters
    ----------
    rows : DataFrame
        A rows frame from a parser.
    series_id : str
        Canonical series id; decides the rule.
    lags : ReleaseLags
        Release lags from the configuration.

    Returns
    -------
    DataFrame
        A copy of ``rows`` with an ``available_at`` datetime64 column (NaT when the date is
        unparseable).
    """
    out = rows.copy()
    d = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    days = pd.to_timedelta
    if series_id in MARKET_CLOSE_SERIES:
        base = d
    elif series_id in NEXT_SESSION_SERIES:
        base = d + days(1, unit="D")
    elif series_id in WEEKLY_PUBLISHED_SERIES:
        base = d + days(WEEKLY_PUBLICATION_DAYS, unit="D")
    elif series_id in {"cpi", "ppi", "ppi_all", "usd_real"}:
        lag = {
            "cpi": lags.cpi,
            "ppi": lags.ppi,
            "ppi_all": lags.ppi,
            "usd_real": lags.usd_monthly,
        }[series_id]
        base = d + pd.offsets.MonthEnd(0) + days(lag, unit="D")
    elif series_id == "gdp_real":
        base = d + pd.offsets.QuarterEnd(0) + days(lags.gdp_real, unit="D")
    elif series_id == "fomc":
        value = pd.to_numeric(out["value"], errors="coerce")
        publication = pd.to_datetime(
            {"year": d.dt.year - 1, "month": 7, "day": 1}, errors="coerce"
        ).astype("datetime64[ns]")
        base = d.where(value != 1.0, publication)
    else:
        raise ValueError(f"no availability rule for series {series_id!r}")
    if "realtime_start" in out.columns and series_id not in MARKET_CLOSE_SERIES:
        # a market close is known at its own close, whenever FRED's vintage says it was
        # posted (SP500's realtime_start is the next day): keep the SPEC §1.2 rule for them
        rt = pd.to_datetime(out["realtime_start"]).astype("datetime64[ns]")
        base = base.where(rt.isna(), rt)
    out["available_at"] = _roll(pd.Series(base, index=out.index))
    return out


# --------------------------------------------------------------------------- live fetching


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
    try:
        resp = session.get(url, params=params, timeout=(urls.connect_timeout, urls.read_timeout))
        body = resp.content  # reads the whole body: a short read raises here
    except requests.exceptions.ChunkedEncodingError as exc:
        # the server closed before sending Content-Length bytes: a truncated body
        raise SourceParseError(
            f"{series_id} from {source} {redact(url)}: truncated response body "
            f"({type(exc).__name__})"
        ) from None
    except requests.RequestException as exc:
        # `from None`: the chained exception's text would carry the full URL with the key
        raise SourceFetchError(
            f"{series_id} from {source} {redact(url)}: request failed (retries={urls.retries}, "
            f"timeout={urls.connect_timeout}/{urls.read_timeout}s): {type(exc).__name__}: "
            f"{redact(str(exc))[:300]}"
        ) from None
    final_url = redact(resp.url or url)
    if resp.status_code >= 400:
        raise SourceFetchError(
            f"{series_id} from {source} {final_url}: HTTP {resp.status_code}: "
            f"{redact(body[:300].decode('utf-8', errors='replace'))!r}"
        )
    return FetchResult(
        source=source,
        series_id=series_id,
        url=final_url,
        status=resp.status_code,
        raw=body,
        fetched_at=fetched_at,
        fmt=fmt,
    )


def _provider_symbol(series_id: str, kind: str) -> str:
    try:
        k, sym = LIVE_SOURCES[series_id]
    except KeyError:
        raise ValueError(f"unknown series {series_id!r}") from None
    if k != kind:
        raise ValueError(f"series {series_id!r} is not a {kind} series (it is {k})")
    return sym


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
    _register_secret(api_key)  # before sending: urllib3 may log the URL on the first retry
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
    """Fetch a series from its default live source (:data:`LIVE_SOURCES`).

    FRED series use the API when ``api_key`` is given, else ``fredgraph.csv`` (no
    vintages there). ``fomc`` has no live endpoint: read the shipped calendar instead.
    """
    kind, _ = LIVE_SOURCES[series_id]
    if kind == "cboe":
        return fetch_cboe(series_id, session, urls)
    if kind == "fred":
        if api_key:
            return fetch_fred_api(series_id, session, urls, api_key, vintages=vintages, start=start)
        return fetch_fred_graph(series_id, session, urls, start=start)
    raise ValueError(f"{series_id!r} has no live endpoint; use read_snapshot()")


# --------------------------------------------------------------------------- snapshot


def read_manifest(snapshot_dir: Path) -> dict[str, list[dict[str, object]]]:
    """The parsed ``manifest.toml`` of a snapshot directory."""
    path = Path(snapshot_dir) / "manifest.toml"
    with path.open("rb") as fh:
        return tomllib.load(fh)


def read_snapshot(snapshot_dir: Path) -> list[FetchResult]:
    """One :class:`FetchResult` per ``[[files]]`` entry of ``manifest.toml``.

    ``source`` is ``'snapshot'`` (``'calendar'`` for the FOMC file), ``url`` the file
    path, ``status`` None, ``fetched_at`` the file's mtime (UTC). Results are ordered by
    series, then by the entry's ``snapshot_date`` ascending — so when one series has two
    files, the later result is the newer file (what :func:`combine_newest_wins` expects).
    ``[[chains]]`` entries (option chains) are not observation series and are skipped.
    """
    snapshot_dir = Path(snapshot_dir)
    manifest = read_manifest(snapshot_dir)
    entries = sorted(
        manifest.get("files", []),
        key=lambda e: (str(e["series_id"]), str(e.get("snapshot_date", ""))),
    )
    results = []
    for e in entries:
        path = snapshot_dir / str(e["path"])
        results.append(
            FetchResult(
                source="calendar" if e["series_id"] == "fomc" else "snapshot",
                series_id=str(e["series_id"]),
                url=str(path),
                status=None,
                raw=path.read_bytes(),
                fetched_at=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
                fmt=str(e["format"]),
                origin={k: str(v) for k, v in e.items()},
            )
        )
    return results


def combine_newest_wins(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Combine rows frames of one series given oldest first; on a date in several, the
    newest frame's row wins.

    The snapshot ships GDPC1 twice (a 1990–2025 fredgraph download of 2025-12 and a
    2000–2026Q1 API re-save of 2026-07); the newer download carries the newer vintage.
    Superseded rows are not lost: both raw files stay in the snapshot. Rows with an
    unparseable date are kept from every frame so validation quarantines them.
    """
    if not frames:
        raise ValueError("no frames to combine")
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    ranked = pd.concat([f.assign(_rank=i) for i, f in enumerate(frames)], ignore_index=True)
    newest = ranked.groupby("date", dropna=True)["_rank"].transform("max")
    keep = ranked["date"].isna() | (ranked["_rank"] == newest)
    out = ranked.loc[keep].drop(columns="_rank")
    # stable sort: within a date the surviving row keeps its file order
    order = np.argsort(out["date"].to_numpy(dtype="datetime64[ns]"), kind="stable")
    return out.iloc[order].reset_index(drop=True)


def parse_snapshot(snapshot_dir: Path) -> dict[str, pd.DataFrame]:
    """Parse every snapshot file and combine files of the same series (newest wins)."""
    by_series: dict[str, list[pd.DataFrame]] = {}
    for fetch in read_snapshot(snapshot_dir):
        by_series.setdefault(fetch.series_id, []).append(parse(fetch))
    return {sid: combine_newest_wins(frames) for sid, frames in by_series.items()}
