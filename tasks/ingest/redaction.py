"""Secret redaction: the one function every fetched byte or URL passes through (issue 12).

:func:`redact` masks the FRED API key in any text. It is applied at each boundary where
text that came from the network (or a URL that carries the key) leaves ingest: the URL
stored in a :class:`~tasks.ingest.result.FetchResult` (hence ``raw_fetch.url``), the
message of every :class:`~tasks.ingest.errors.SourceError` (hence the task's failure,
``runs.message`` and the Prefect database), the quarantined raw lines and details, and
every log record of the HTTP stack and of Prefect (:class:`RedactSecrets`).
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote

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


def register_secret(value: str) -> None:
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
    percent-encoded) of a key registered by :func:`register_secret` in this process.
    """
    text = _API_KEY_QUERY_RE.sub(r"\1***", text)
    text = _API_KEY_MAPPING_RE.sub(r"\1***", text)
    for secret in _secrets:
        text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return text


def snippet(raw: bytes | str, limit: int = 80) -> str:
    """The first ``limit`` characters of a fetched body, redacted, as a quoted repr.

    What error messages quote of a response (an HTML page, an unknown header): the text
    is redacted *before* it is cut, so a key straddling the cut cannot leave a prefix.
    """
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return repr(redact(text.strip())[:limit])


class RedactSecrets(logging.Filter):
    """Logging filter that passes every record with the API key masked by :func:`redact`.

    The message is formatted once (``record.getMessage()``), redacted, and stored back
    as ``record.msg`` with ``record.args = ()``, so every handler downstream (Prefect's
    console and API handlers, pytest's caplog) sees only the redacted text. Traceback and
    stack text are redacted the same way (``exc_text``; ``exc_info`` is then dropped,
    since a handler re-rendering it would print the URL again).

    A logger's filters only see records created on that very logger, not those
    propagating from its children, so :func:`install_log_redaction` attaches one to each
    named logger and to each handler of those loggers (a handler sees every record it
    emits, whichever child logger created it).
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

# Prefect's loggers: a failed task's exception (message and traceback) is logged on the
# task-run logger, sent to the console and, by the API handler, to the Prefect database.
PREFECT_LOGGERS = ("prefect", "prefect.flow_runs", "prefect.task_runs")

_PREFIXES = ("urllib3.", "requests.", "prefect.")


def _attach(target: logging.Logger | logging.Handler) -> None:
    if not any(isinstance(f, RedactSecrets) for f in target.filters):
        target.addFilter(RedactSecrets())


def install_log_redaction() -> None:
    """Attach a :class:`RedactSecrets` filter to each HTTP-stack and Prefect logger, once.

    Idempotent. Covers :data:`HTTP_LOGGERS`, :data:`PREFECT_LOGGERS`, every other
    ``urllib3.*`` / ``requests.*`` / ``prefect.*`` logger already created, and every
    handler attached to any of them or to the root logger (Prefect's console and API
    handlers included), so a record created on a child logger is redacted too before any
    handler emits it. Called by :func:`~tasks.ingest.http.make_session` and by the
    Prefect fetch/validate tasks; importing the parsers never touches logging.
    """
    existing = [n for n in list(logging.root.manager.loggerDict) if n.startswith(_PREFIXES)]
    loggers = [logging.getLogger(n) for n in (*HTTP_LOGGERS, *PREFECT_LOGGERS, *existing)]
    for logger in loggers:
        _attach(logger)
    for logger in (*loggers, logging.getLogger()):
        for handler in list(logger.handlers):
            _attach(handler)
