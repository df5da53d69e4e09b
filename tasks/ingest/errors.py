"""The ways a source fails as a whole: its task fails, no table changes (SPEC §1.3).

Every message is passed through :func:`~tasks.ingest.redaction.redact` when the
exception is built, so no code path (a quoted HTML page, a library's error text, a URL)
can carry the API key into a traceback, a log record, ``runs.message`` or Prefect's
database, whoever raises it.
"""

from __future__ import annotations

from tasks.ingest.redaction import redact


class SourceError(RuntimeError):
    """Base class: a source that failed as a whole (its task fails, no table changes)."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(redact(str(message)), *(redact(str(a)) for a in args))


class SourceFetchError(SourceError):
    """The HTTP request failed (connection, timeout, retries exhausted, error status)."""


class SourceParseError(SourceError):
    """The response arrived but cannot be parsed at all (HTML, unknown header, truncated...)."""


class SourceRejectedError(SourceError):
    """The response parsed, but too many of its rows were quarantined to trust the rest."""


class SourceStaleError(SourceError):
    """A daily source ends well before its peers (see ``completeness.stale_sources``)."""
