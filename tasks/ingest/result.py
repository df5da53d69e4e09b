"""The raw response of one fetch (or one snapshot file), exactly as received."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from tasks.ingest.redaction import redact


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
        Parser name, a key of ``tasks.ingest.parsers.PARSERS``.
    origin : dict[str, str]
        The snapshot manifest entry the file came from (empty for live fetches).
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
