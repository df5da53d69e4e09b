"""Ingestion: fetch raw responses and parse each provider's wire format (SPEC §1.1, §1.2).

Pure pandas/numpy + ``requests``. Nothing here writes a table: fetchers return a
:class:`FetchResult` (the raw bytes plus where they came from), parsers turn those bytes
into one *rows* frame per series, and :func:`assign_available_at` stamps every row with
the first session on which it was knowable. Validation and quarantine live in
``schemas/sources.py``; which series exist, and their rules, in ``schemas/series.py``.

Modules
-------
``http``          the requests session (urllib3 Retry), ``_get``, one fetcher per provider
``parsers``       one parser per provider format, :data:`PARSERS`, :func:`parse`, truncation
``availability``  ``available_at`` by the SPEC §1.2 rule of each series
``snapshot``      the bundled snapshot: manifest, files, newest-wins combination
``completeness``  refusing a source: too many rejected rows, stale against its peers
``incremental`` fingerprints: an unchanged payload is not parsed or loaded again
``redaction``     the API key out of every message, exception and log record
``errors``        :class:`SourceError` and its kinds (messages redacted on construction)
``result``        :class:`FetchResult`

This package re-exports the names its callers use (``from tasks import ingest as sources``).
"""

from tasks.ingest.availability import assign_available_at
from tasks.ingest.completeness import (
    check_rejections,
    malformed_rows,
    stale_sources,
    too_many_rejected,
)
from tasks.ingest.errors import (
    SourceError,
    SourceFetchError,
    SourceParseError,
    SourceRejectedError,
    SourceStaleError,
)
from tasks.ingest.http import (
    ALFRED_REALTIME_END,
    ALFRED_REALTIME_START,
    LIVE_SOURCES,
    fetch_cboe,
    fetch_fred_api,
    fetch_fred_graph,
    fetch_live,
    fred_api_key_from_env,
    make_session,
    shared_session,
)
from tasks.ingest.incremental import FetchKey, fetch_key, fingerprint, split_unchanged
from tasks.ingest.parsers import (
    PARSERS,
    ROW_COLUMNS,
    parse,
    parse_cboe_index,
    parse_fomc_calendar,
    parse_fred_api,
    parse_fred_graph,
    parse_yahoo_close,
)
from tasks.ingest.redaction import (
    HTTP_LOGGERS,
    PREFECT_LOGGERS,
    RedactSecrets,
    install_log_redaction,
    redact,
    register_secret,
)
from tasks.ingest.result import FetchResult
from tasks.ingest.snapshot import combine_newest_wins, parse_snapshot, read_manifest, read_snapshot

__all__ = [
    "ALFRED_REALTIME_END",
    "ALFRED_REALTIME_START",
    "HTTP_LOGGERS",
    "LIVE_SOURCES",
    "PARSERS",
    "PREFECT_LOGGERS",
    "ROW_COLUMNS",
    "FetchKey",
    "FetchResult",
    "RedactSecrets",
    "SourceError",
    "SourceFetchError",
    "SourceParseError",
    "SourceRejectedError",
    "SourceStaleError",
    "assign_available_at",
    "check_rejections",
    "combine_newest_wins",
    "fetch_cboe",
    "fetch_fred_api",
    "fetch_fred_graph",
    "fetch_key",
    "fetch_live",
    "fingerprint",
    "fred_api_key_from_env",
    "install_log_redaction",
    "make_session",
    "malformed_rows",
    "parse",
    "parse_cboe_index",
    "parse_fomc_calendar",
    "parse_fred_api",
    "parse_fred_graph",
    "parse_snapshot",
    "parse_yahoo_close",
    "read_manifest",
    "read_snapshot",
    "redact",
    "register_secret",
    "shared_session",
    "split_unchanged",
    "stale_sources",
    "too_many_rejected",
]
