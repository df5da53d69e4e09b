"""Input checks the CLI runs before Prefect starts: dates, paths, the portfolio file.

Starting Prefect costs 10-30 s, so a typo must be refused before that, in one line that
names the option (or the file and key), with no traceback. This module imports nothing
heavy at module level (no pandas, prefect or duckdb): ``condorcap --help`` and a refused
date stay well under a second.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from schemas.config import PortfolioFile

NEW_YORK = ZoneInfo("America/New_York")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# a DuckDB database file carries this magic at byte 8 (checked without importing duckdb)
_DUCKDB_MAGIC = b"DUCK"


class InputError(ValueError):
    """Arguments or files a run cannot start from; ``str()`` is one line per problem."""


def new_york_today() -> date:
    return datetime.now(NEW_YORK).date()


def parse_day(
    option: str, text: str | None, allow_today: bool = True, allow_future: bool = False
) -> date | None:
    """A ``YYYY-MM-DD`` option value (or ``'today'``, New York's date) as a date.

    Raises
    ------
    InputError
        Not a real calendar date, or a day after New York's today (no close exists yet).
    """
    if text is None:
        return None
    if allow_today and text.strip().lower() == "today":
        return new_york_today()
    expected = "expected YYYY-MM-DD" + (" or 'today'" if allow_today else "")
    if not _ISO_DATE.fullmatch(text.strip()):
        raise InputError(f"{option} {text}: not a date ({expected})")
    try:
        day = date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InputError(f"{option} {text}: not a date ({exc}; {expected})") from None
    today = new_york_today()
    if day > today and not allow_future:
        raise InputError(f"{option} {text}: in the future (New York's date is {today})")
    return day


def check_db(path: Path) -> list[str]:
    """A warehouse path the run can use: a DuckDB file, or a new file in a usable folder."""
    if path.is_dir():
        return [f"--db {path}: is a directory (give a file such as {path / 'condorcap.duckdb'})"]
    if path.exists():
        with open(path, "rb") as fh:
            head = fh.read(12)
        if head[8:12] != _DUCKDB_MAGIC:
            return [f"--db {path}: not a DuckDB database"]
        return []
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        return [f"--db {path}: {parent} is a file, not a folder"]
    return []


def check_snapshot(path: Path) -> list[str]:
    """A snapshot folder with a readable ``manifest.toml`` whose files all exist."""
    manifest = path / "manifest.toml"
    if not path.is_dir():
        return [f"--snapshot-dir {path}: no such folder"]
    if not manifest.is_file():
        return [f"--snapshot-dir {path}: no manifest.toml in it"]
    try:
        raw = tomllib.loads(manifest.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        return [f"{manifest}: not UTF-8 (byte at offset {exc.start})"]
    except tomllib.TOMLDecodeError as exc:
        return [f"{manifest}: not valid TOML: {exc}"]
    problems = []
    for i, entry in enumerate(raw.get("files", [])):
        name = entry.get("path")
        if not isinstance(name, str):
            problems.append(f"{manifest}: files[{i}].path: missing")
        elif not (path / name).is_file():
            problems.append(f"{manifest}: files[{i}].path: {name} not found in {path}")
    if not raw.get("files"):
        problems.append(f"{manifest}: files: no [[files]] entries")
    return problems


def load_config(path: Path) -> PortfolioFile:
    """The validated portfolio file; :class:`InputError` naming file and key otherwise."""
    from schemas.config import ConfigError, load_portfolios

    try:
        loaded = load_portfolios(path)
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    for p in loaded.portfolios:  # a malformed positions file stops the run before it starts
        # the readers import pandas and the book (~1 s): only when a portfolio names a file,
        # since whatever runs before Prefect starts cannot overlap the server's boot
        if p.positions_file:
            from tasks.book.reconcile import PositionsFileError, read_positions_csv

            try:
                read_positions_csv(p.positions_file)
            except PositionsFileError as exc:
                raise InputError(f"{path}: portfolio {p.portfolio_id}: {exc}") from None
        if p.fills_file:
            from tasks.risk.fills import FillsError, read_fills_csv

            try:
                read_fills_csv(p.fills_file)
            except FillsError as exc:
                raise InputError(f"{path}: portfolio {p.portfolio_id}: {exc}") from None
    return loaded


@dataclass
class Refusal:
    """What to record in ``runs`` for a refused run."""

    flow: str
    db_path: Path
    as_of: date | None
    message: str


def record_refusal(refusal: Refusal) -> bool:
    """Record a refused run as a ``failed`` row of ``runs``, if that warehouse exists.

    A refused run leaves every data table as it was (the row goes through the
    warehouse's own isolated publish). No warehouse file, or one that is not DuckDB, is
    not created or touched; another run holding the lock is not waited for. Returns
    whether the row was written.
    """
    if not refusal.db_path.is_file() or check_db(refusal.db_path):
        return False
    from warehouse.store import RunWorkspace, WarehouseBusy

    started = datetime.now(UTC).replace(tzinfo=None)  # runs.started_at is naive UTC
    try:
        with RunWorkspace(refusal.db_path, wait=False) as ws:
            ws.warehouse.record_run(
                ws.run_id, refusal.flow, refusal.as_of, started, "failed", 0,
                ("refused: " + refusal.message)[:2000],
            )  # fmt: skip
            ws.publish()
    except WarehouseBusy:
        return False
    return True
