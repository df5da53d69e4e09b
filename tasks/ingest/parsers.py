"""Parse each provider's wire format into a *rows* frame (SPEC §1.1).

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
truncated JSON, a CSV whose last line is cut mid-field, FRED's JSON error envelope)
raises :class:`~tasks.ingest.errors.SourceParseError`; its message quotes the response
only through :func:`~tasks.ingest.redaction.snippet` (redacted).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pandas as pd

from tasks.ingest.errors import SourceParseError
from tasks.ingest.redaction import redact, snippet
from tasks.ingest.result import FetchResult

ROW_COLUMNS = ["series_id", "date", "value", "value_missing", "raw"]

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
            f"(bot check or error page?): {snippet(text)}"
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
    text = _decode(raw, series_id, origin)
    lines = _lines(text)
    header = _header_fields(lines[0])
    value_col = header_ok(header)
    if value_col is None:
        raise SourceParseError(
            f"{_where(series_id, origin)}: not a {fmt_name} file (header {snippet(lines[0])})"
        )
    data = lines[1:]
    if not data:
        return _empty_rows(series_id)
    check_complete(text, lines, len(header), series_id, origin)
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


# --------------------------------------------------------------------------- truncation

# how many lines before the last one must agree on the decimals of their last field
# before a last field with fewer decimals is taken as cut (CBOE writes 6, FRED 2-10)
_DECIMALS_WITNESSES = 3


def _decimals(field: str) -> int:
    field = field.strip().strip('"')
    return len(field) - field.index(".") - 1 if "." in field else 0


def truncation_reason(text: str, lines: Sequence[str], n_header_fields: int) -> str | None:
    """Why the last line of a CSV body looks cut mid-field, or None if it does not.

    Only a body that does not end with a line break can have been cut mid-line (every
    provider file and every snapshot file ends with one). Its last line is then cut if
    it has fewer fields than the header, or if its last field has fewer decimals than
    the same field of each of the :data:`_DECIMALS_WITNESSES` lines before it (which all
    agree): ``01/02/2018,17.24,17.9,16.8,17.1`` cut to ``...,17.`` or ``...,1``.

    Parameters
    ----------
    text : str
        The decoded body.
    lines : sequence of str
        Its non-blank lines, header first.
    n_header_fields : int
        Number of header fields.
    """
    if text.endswith(("\n", "\r")) or len(lines) < 2:
        return None
    fields = _header_fields(lines[-1])
    if len(fields) < n_header_fields:
        return f"{len(fields)} of {n_header_fields} fields"
    if len(lines) - 1 <= _DECIMALS_WITNESSES:  # too few data lines to witness a format
        return None
    before = [_header_fields(ln)[-1] for ln in lines[-1 - _DECIMALS_WITNESSES : -1]]
    witnessed = {_decimals(f) for f in before}
    if len(witnessed) == 1 and _decimals(fields[-1]) < (d := witnessed.pop()):
        return f"last field {fields[-1]!r} has fewer decimals than the {d} of the lines before"
    return None


def check_complete(
    text: str, lines: Sequence[str], n_header_fields: int, series_id: str, origin: str
) -> None:
    """Raise :class:`SourceParseError` naming the source and line if the body is cut.

    A truncated file must fail its source, never load as a shorter history (issue 12,
    item 4): a short VIX3M would silently move ``as_of`` years back.
    """
    why = truncation_reason(text, lines, n_header_fields)
    if why is not None:
        raise SourceParseError(
            f"{_where(series_id, origin)}: truncated: line {len(lines)} {snippet(lines[-1])} "
            f"is cut mid-field (no final line break; {why})"
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
    text = _decode(raw, series_id, origin)
    lines = _lines(text)
    header = [h.lower() for h in _header_fields(lines[0])]
    if header != ["date", "kind"]:
        raise SourceParseError(
            f"{_where(series_id, origin)}: not an FOMC calendar (header {snippet(lines[0])}, "
            "expected 'date,kind')"
        )
    data = lines[1:]
    if not data:
        return _empty_rows(series_id)
    check_complete(text, lines, len(header), series_id, origin)
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
        ) from None  # the decoder error holds the whole body (.doc): never chain it
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
        Unknown format, a response that cannot be parsed at all, or one with a header
        and no data rows (names source and URL).
    """
    parser = PARSERS.get(fetch.fmt)
    if parser is None:
        raise SourceParseError(
            f"{fetch.series_id} from {fetch.source} {fetch.url}: unknown format {fetch.fmt!r}"
        )
    rows = parser(fetch.raw, fetch.series_id, f"{fetch.source} {fetch.url}")
    if rows.empty:
        # a header with nothing under it is a failed download or a cut file, never an
        # empty history: loading it would let the run fall back on older data
        raise SourceParseError(
            f"{fetch.series_id} from {fetch.source} {fetch.url}: no data rows (header only)"
        )
    return rows
