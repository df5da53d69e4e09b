"""Incremental ingest: a payload seen before is not parsed, validated or loaded again.

Re-reading the bundled snapshot (or an unchanged live file) and re-validating 65,000 rows
costs most of a daily run and can only reproduce the rows already stored: the rows of a
payload are a function of its bytes and of the parameters that turn bytes into rows (the
release lags behind ``available_at``, the rejection limits). :func:`fingerprint` hashes
exactly those, so equal fingerprints mean equal rows and the load would be a no-op.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from schemas.config import IngestLimits, ReleaseLags
from schemas.series import spec
from tasks.ingest.result import FetchResult

#: how a fetch is identified across runs: the same series from the same place
FetchKey = tuple[str, str, str]


def fetch_key(fetch: FetchResult) -> FetchKey:
    """``(source, series_id, url)``: one series may come from two files (GDPC1 does)."""
    return (fetch.source, fetch.series_id, fetch.url)


def fingerprint(fetch: FetchResult, lags: ReleaseLags, limits: IngestLimits) -> str:
    """SHA-256 of the payload's hash, its parser and the parameters that make its rows.

    A change of release lag (so of ``available_at``), of the rejection limits or of the
    series' registry entry (bounds, availability rule) changes the fingerprint, so such a
    run parses, validates and loads the payload again.
    """
    parts = (fetch.sha256, fetch.series_id, fetch.fmt, repr(spec(fetch.series_id)))
    text = "|".join((*parts, lags.model_dump_json(), limits.model_dump_json()))
    return hashlib.sha256(text.encode()).hexdigest()


def split_unchanged(
    fetches: Sequence[FetchResult],
    last_loaded: Mapping[FetchKey, str],
    lags: ReleaseLags,
    limits: IngestLimits,
) -> tuple[list[FetchResult], list[FetchResult], dict[FetchKey, str]]:
    """The fetches to parse, the unchanged ones, and every fetch's fingerprint.

    Parameters
    ----------
    fetches : this run's payloads.
    last_loaded : the fingerprint last logged for each fetch key (the warehouse's
        ``raw_fetch``); a key missing here is always parsed.
    """
    changed, unchanged, prints = [], [], {}
    for f in fetches:
        prints[fetch_key(f)] = fingerprint(f, lags, limits)
        same = last_loaded.get(fetch_key(f)) == prints[fetch_key(f)]
        (unchanged if same else changed).append(f)
    return changed, unchanged, prints
