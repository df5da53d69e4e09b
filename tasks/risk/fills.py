"""A user's fills file (SPEC §6: IRR flows "from a user's fills file"): read and validated
into the condor and hedge event frames of :mod:`tasks.risk.returns`."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from tasks.conventions import MULTIPLIER
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
    raw = _read_raw(path)
    check = _Problems(raw)
    kind = raw["kind"].str.lower()
    is_condor, is_hedge = kind == "condor", kind == "hedge"
    check.flag(~(is_condor | is_hedge), "kind must be 'condor' or 'hedge'")
    check.flag(raw["position_id"] == "", "position_id is empty")
    check.flag(
        raw["position_id"].duplicated(keep=False) & (raw["position_id"] != ""),
        "position_id is not unique",
    )
    open_date, close_date = check.dates("open_date"), check.dates("close_date")
    check.flag(raw["open_date"] == "", "open_date is empty")
    check.flag(close_date < open_date, "close_date is before open_date")
    num = {c: check.numbers(c) for c in _NUMBER_COLUMNS}
    _check_values(check, num, is_condor, is_hedge, is_closed=raw["close_date"] != "")
    check.raise_if_any(path)

    base = pd.DataFrame(
        {"position_id": raw["position_id"], "open_date": open_date, "close_date": close_date}
    )
    contracts = num["contracts"]
    condors = base[is_condor].assign(
        contracts=contracts[is_condor].astype("int64"),
        width=num["width"][is_condor],
        credit=num["credit"][is_condor],
        close_cost=num["close_cost"][is_condor],
    )
    hedges = base[is_hedge].assign(
        units=contracts[is_hedge].astype("int64"),
        premium=num["premium"][is_hedge],
        close_value=num["close_value"][is_hedge],
    )
    return Fills(
        condors=condors.reset_index(drop=True)[list(CONDOR_EVENT_COLUMNS)],
        hedges=hedges.reset_index(drop=True)[list(HEDGE_EVENT_COLUMNS)],
    )


_NUMBER_COLUMNS = ("contracts", "width", "credit", "close_cost", "premium", "close_value")


def _read_raw(path: Path) -> pd.DataFrame:
    """The file as stripped strings in :data:`FILLS_COLUMNS` order; unreadable → FillsError."""
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
    return raw[list(FILLS_COLUMNS)].apply(lambda s: s.str.strip())


class _Problems:
    """Collects every bad value with its file line, so one error lists them all."""

    def __init__(self, raw: pd.DataFrame) -> None:
        self.raw = raw
        self.line = pd.Series(np.arange(len(raw)) + 2, index=raw.index)  # header is line 1
        self.found: list[tuple[int, str]] = []

    def flag(self, mask: pd.Series, message: str) -> None:
        self.found.extend((int(n), message) for n in self.line[mask.fillna(False).astype(bool)])

    def dates(self, col: str) -> pd.Series:
        # the project's convention is datetime64[ns] (pandas 3 would give [us])
        parsed = pd.to_datetime(self.raw[col], format="%Y-%m-%d", errors="coerce").astype(
            "datetime64[ns]"
        )
        self.flag((self.raw[col] != "") & parsed.isna(), f"{col} is not a YYYY-MM-DD date")
        return parsed

    def numbers(self, col: str) -> pd.Series:
        parsed = pd.to_numeric(self.raw[col].replace("", np.nan), errors="coerce")
        self.flag(
            (self.raw[col] != "") & ~np.isfinite(parsed.astype(float)), f"{col} is not a number"
        )
        return parsed.astype(float)

    def raise_if_any(self, path: Path) -> None:
        if not self.found:
            return
        problems = sorted(self.found)
        shown = "\n".join(f"  line {n}: {msg}" for n, msg in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise FillsError(f"{path}: invalid fills file\n{shown}{more}")


def _check_values(
    check: _Problems,
    num: dict[str, pd.Series],
    is_condor: pd.Series,
    is_hedge: pd.Series,
    is_closed: pd.Series,
) -> None:
    """The per-kind rules: positive whole contracts, a condor's width/credit/close cost, a
    hedge's premium/close value, and close values only once closed."""
    contracts = num["contracts"]
    check.flag(
        ~((contracts > 0) & (contracts == np.round(contracts))),
        "contracts must be a positive whole number",
    )
    w, c, x = num["width"], num["credit"], num["close_cost"]
    check.flag(is_condor & ~(w > 0), "width must be a positive number for a condor")
    check.flag(is_condor & ~(c > 0), "credit must be a positive number for a condor")
    check.flag(
        is_condor & (c >= w), "credit must be below width (a condor cannot take in its width)"
    )
    check.flag(
        is_condor & is_closed & ~(x >= 0), "close_cost must be a non-negative number once closed"
    )
    check.flag(is_condor & ~is_closed & x.notna(), "close_cost is given but close_date is blank")
    p, v = num["premium"], num["close_value"]
    check.flag(is_hedge & ~(p > 0), "premium must be a positive number for a hedge")
    check.flag(
        is_hedge & is_closed & ~(v >= 0), "close_value must be a non-negative number once closed"
    )
    check.flag(is_hedge & ~is_closed & v.notna(), "close_value is given but close_date is blank")


def fills_account(fills: Fills, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """The sleeve's daily account rebuilt from a fills file (SPEC §6: the fills file
    "replaces the book's history" for the IRR, EVA and p_hurdle).

    A fills file holds entries and exits, not daily marks, so P&L is counted when it is
    realised: a condor's ``(credit − close_cost)·100·contracts`` and a hedge's
    ``(close_value − premium)·100·units`` on its ``close_date``; a position still open
    adds no P&L. Capital at risk on a session is what the positions open at its close put
    at risk: a condor's ``(width − credit)·100·contracts`` and a hedge's
    ``premium·100·units``, from ``open_date`` up to the session before ``close_date``.

    Parameters
    ----------
    fills : Fills
        From :func:`read_fills_csv`.
    sessions : DatetimeIndex
        The sessions to build (ascending); fills after the last one are ignored
        (point-in-time: they are not known yet).

    Returns
    -------
    DataFrame
        ``as_of, condor_pnl, hedge_pnl, capital_at_risk`` (USD), one row per session — the
        columns :func:`tasks.book.account.account_irr` reads.
    """
    days = pd.DatetimeIndex(sessions).normalize()
    day = days.to_numpy()[:, None]

    def open_mask(ev: pd.DataFrame) -> np.ndarray:
        opened = pd.to_datetime(ev["open_date"]).to_numpy()[None, :]
        closed = pd.to_datetime(ev["close_date"]).to_numpy()[None, :]
        return (opened <= day) & ~(closed <= day)  # NaT (still open) never compares true

    def realised_on(ev: pd.DataFrame, pnl: np.ndarray) -> np.ndarray:
        closed = pd.to_datetime(ev["close_date"]).to_numpy()[None, :]
        return ((closed == day) * np.nan_to_num(pnl)[None, :]).sum(axis=1)

    c, h = fills.condors, fills.hedges
    c_n = c["contracts"].to_numpy(float) * MULTIPLIER
    h_n = h["units"].to_numpy(float) * MULTIPLIER
    c_risk = (c["width"].to_numpy(float) - c["credit"].to_numpy(float)) * c_n
    h_risk = h["premium"].to_numpy(float) * h_n
    c_pnl = (c["credit"].to_numpy(float) - c["close_cost"].to_numpy(float)) * c_n
    h_pnl = (h["close_value"].to_numpy(float) - h["premium"].to_numpy(float)) * h_n
    return pd.DataFrame(
        {
            "as_of": days,
            "condor_pnl": realised_on(c, c_pnl),
            "hedge_pnl": realised_on(h, h_pnl),
            "capital_at_risk": (open_mask(c) * c_risk[None, :]).sum(axis=1)
            + (open_mask(h) * h_risk[None, :]).sum(axis=1),
        }
    )
