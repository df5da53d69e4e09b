"""A user's fills file (SPEC §6: IRR flows "from a user's fills file"): read and validated
into the condor and hedge event frames of :mod:`tasks.risk.returns`."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from tasks.risk.returns import CONDOR_EVENT_COLUMNS, HEDGE_EVENT_COLUMNS

#: Column names of a user's fills CSV (see :func:`read_fills_csv`).
FILLS_COLUMNS: tuple[str, ...] = (
    "position_id",
    "kind",
    "open_date",
    "close_date",
    "contracts",
    "width",
    "credit",
    "close_cost",
    "premium",
    "close_value",
)


class FillsError(ValueError):
    """A fills file that cannot be used; the message lists every problem with its line."""


class Fills(NamedTuple):
    """A fills file split into the two event frames :func:`irr_from_events` takes."""

    condors: pd.DataFrame
    hedges: pd.DataFrame


def read_fills_csv(path: str | Path) -> Fills:
    """Read and validate a user's fills file (SPEC §6: flows "from a user's fills file").

    One row per position, comma separated, with a header naming (any order, extra columns
    ignored) :data:`FILLS_COLUMNS`:

    ============  ==========================================================================
    column        meaning
    ============  ==========================================================================
    position_id   unique id of the position
    kind          ``condor`` or ``hedge``
    open_date     ISO date the position was opened (``YYYY-MM-DD``)
    close_date    ISO date it was closed or settled; blank while open
    contracts     positive whole number: condors sold, or hedge units bought
    width         condor wing width in points (condor rows; blank for hedges)
    credit        condor credit per contract in points, net of costs (condor rows)
    close_cost    condor cost to close/settle per contract in points, incl. costs; blank while
                  open (condor rows)
    premium       hedge debit per unit in points (hedge rows; blank for condors)
    close_value   hedge value per unit at close in points; blank while open (hedge rows)
    ============  ==========================================================================

    Returns
    -------
    Fills
        ``condors`` with :data:`CONDOR_EVENT_COLUMNS` and ``hedges`` with
        :data:`HEDGE_EVENT_COLUMNS` (``units`` = the file's ``contracts``).

    Raises
    ------
    FillsError
        Naming the file and, for every bad value, its line number and column.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError as exc:
        raise FillsError(f"fills file not found: {path}") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise FillsError(f"{path}: not a readable CSV file: {exc}") from exc
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in FILLS_COLUMNS if c not in raw.columns]
    if missing:
        raise FillsError(
            f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(FILLS_COLUMNS)}"
        )
    raw = raw[list(FILLS_COLUMNS)].apply(lambda s: s.str.strip())
    line = pd.Series(np.arange(len(raw)) + 2, index=raw.index)  # header is line 1
    problems: list[tuple[int, str]] = []

    def flag(mask: pd.Series, message: str) -> None:
        problems.extend((int(n), message) for n in line[mask.fillna(False).astype(bool)])

    kind = raw["kind"].str.lower()
    is_condor, is_hedge = kind == "condor", kind == "hedge"
    flag(~(is_condor | is_hedge), "kind must be 'condor' or 'hedge'")
    flag(raw["position_id"] == "", "position_id is empty")
    flag(
        raw["position_id"].duplicated(keep=False) & (raw["position_id"] != ""),
        "position_id is not unique",
    )

    def dates(col: str) -> pd.Series:
        # the project's convention is datetime64[ns] (pandas 3 would give [us])
        parsed = pd.to_datetime(raw[col], format="%Y-%m-%d", errors="coerce").astype(
            "datetime64[ns]"
        )
        flag((raw[col] != "") & parsed.isna(), f"{col} is not a YYYY-MM-DD date")
        return parsed

    def numbers(col: str) -> pd.Series:
        parsed = pd.to_numeric(raw[col].replace("", np.nan), errors="coerce")
        flag((raw[col] != "") & ~np.isfinite(parsed.astype(float)), f"{col} is not a number")
        return parsed.astype(float)

    open_date, close_date = dates("open_date"), dates("close_date")
    flag(raw["open_date"] == "", "open_date is empty")
    flag(close_date < open_date, "close_date is before open_date")
    is_closed = raw["close_date"] != ""

    num = {
        c: numbers(c)
        for c in ("contracts", "width", "credit", "close_cost", "premium", "close_value")
    }
    contracts = num["contracts"]
    flag(
        ~((contracts > 0) & (contracts == np.round(contracts))),
        "contracts must be a positive whole number",
    )
    w, c, x = num["width"], num["credit"], num["close_cost"]
    flag(is_condor & ~(w > 0), "width must be a positive number for a condor")
    flag(is_condor & ~(c > 0), "credit must be a positive number for a condor")
    flag(is_condor & (c >= w), "credit must be below width (a condor cannot take in its width)")
    flag(is_condor & is_closed & ~(x >= 0), "close_cost must be a non-negative number once closed")
    flag(is_condor & ~is_closed & x.notna(), "close_cost is given but close_date is blank")
    p, v = num["premium"], num["close_value"]
    flag(is_hedge & ~(p > 0), "premium must be a positive number for a hedge")
    flag(is_hedge & is_closed & ~(v >= 0), "close_value must be a non-negative number once closed")
    flag(is_hedge & ~is_closed & v.notna(), "close_value is given but close_date is blank")

    if problems:
        problems.sort()
        shown = "\n".join(f"  line {n}: {msg}" for n, msg in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise FillsError(f"{path}: invalid fills file\n{shown}{more}")

    base = pd.DataFrame(
        {"position_id": raw["position_id"], "open_date": open_date, "close_date": close_date}
    )
    condors = base[is_condor].assign(
        contracts=contracts[is_condor].astype("int64"),
        width=w[is_condor],
        credit=c[is_condor],
        close_cost=x[is_condor],
    )
    hedges = base[is_hedge].assign(
        units=contracts[is_hedge].astype("int64"),
        premium=p[is_hedge],
        close_value=v[is_hedge],
    )
    return Fills(
        condors=condors.reset_index(drop=True)[list(CONDOR_EVENT_COLUMNS)],
        hedges=hedges.reset_index(drop=True)[list(HEDGE_EVENT_COLUMNS)],
    )
