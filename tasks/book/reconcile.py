"""The user's positions file against the shadow book (SPEC §10: the user's file wins).

A positions file lists what the broker shows as held after a close, one option leg per row:

============  =========================================================================
column        meaning
============  =========================================================================
position_id   the user's name for the structure the leg belongs to
kind          ``condor`` or ``hedge``
underlying    ``SPX`` (condor legs) or ``VIX`` (hedge legs)
expiry        ISO date ``YYYY-MM-DD``
put_call      ``P`` or ``C``
strike        index points, > 0
qty           signed contracts held: + long, − short (a 3-lot condor: −3 short put, +3 long
              put, −3 short call, +3 long call)
as_of         optional: the close the file describes; when given it must be the book's
              previous close, else the file is stale and not applied
entry_price   optional: the fill price per option, points (default: the book's, or the
              previous close's mark for a leg the book does not hold)
============  =========================================================================

Legs are matched on the option itself (underlying, expiry, put/call, strike), so the user's
position ids need not be the book's. :func:`reconcile` returns the book as the file says,
keeping the book's id, open date and entry price for every structure the file holds at the
same legs, and the differences in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.book.positions import BOOK_LEG_COLUMNS

REQUIRED_COLUMNS: tuple[str, ...] = (
    "position_id", "kind", "underlying", "expiry", "put_call", "strike", "qty",
)  # fmt: skip
OPTIONAL_COLUMNS: tuple[str, ...] = ("as_of", "entry_price")
_KEY = ["underlying", "expiry", "put_call", "strike"]


class PositionsFileError(ValueError):
    """A positions file that cannot be used: the message names the file, row and column."""


def _fail(path: str, row: int | None, column: str | None, problem: str) -> PositionsFileError:
    where = (
        path
        + (f": row {row}" if row is not None else "")
        + (f", column {column!r}" if column else "")
    )
    return PositionsFileError(f"{where}: {problem}")


def read_positions_csv(path: str | Path) -> pd.DataFrame:
    """Read and check a positions file (module docstring); the first problem is raised as a
    :class:`PositionsFileError` naming the row (1 = the first data row) and the column."""
    name = str(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError:
        raise _fail(name, None, None, "no such file") from None
    except UnicodeDecodeError:
        raise _fail(name, None, None, "not UTF-8 text") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _fail(name, None, None, f"not a CSV table ({str(exc).splitlines()[0]})") from None
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise _fail(name, None, missing[0], "missing from the header")
    return positions_frame(raw, name)


def positions_frame(raw: pd.DataFrame, name: str = "positions") -> pd.DataFrame:
    """Typed, checked positions from text cells (a CSV or the portfolio file's list)."""
    out: dict[str, list[object]] = {c: [] for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)}
    for i, r in enumerate(raw.astype(str).to_dict("records"), start=1):

        def cell(c: str, r: dict = r) -> str:
            return str(r.get(c, "")).strip()

        if cell("kind") not in ("condor", "hedge"):
            raise _fail(name, i, "kind", f"{cell('kind')!r} is not 'condor' or 'hedge'")
        if cell("underlying") not in ("SPX", "VIX"):
            raise _fail(name, i, "underlying", f"{cell('underlying')!r} is not 'SPX' or 'VIX'")
        if cell("put_call") not in ("P", "C"):
            raise _fail(name, i, "put_call", f"{cell('put_call')!r} is not 'P' or 'C'")
        if not cell("position_id"):
            raise _fail(name, i, "position_id", "blank")
        for c in ("expiry", *(["as_of"] if cell("as_of") else [])):
            try:
                pd.Timestamp(cell(c))
                if len(cell(c)) != 10:
                    raise ValueError
            except ValueError:
                raise _fail(name, i, c, f"{cell(c)!r} is not a YYYY-MM-DD date") from None
        for c, positive in (("strike", True), ("qty", False), ("entry_price", True)):
            if c == "entry_price" and not cell(c):
                continue
            try:
                v = float(cell(c))
            except ValueError:
                raise _fail(name, i, c, f"{cell(c)!r} is not a number") from None
            if not np.isfinite(v) or (positive and v < 0) or (c == "strike" and v == 0):
                raise _fail(name, i, c, f"{cell(c)} is out of range")
            if c == "qty" and (v == 0 or v != round(v)):
                raise _fail(name, i, c, f"{cell(c)} is not a non-zero whole number")
        for c in out:
            out[c].append(cell(c) if c in r else "")
    df = pd.DataFrame(out)
    df["expiry"] = pd.to_datetime(df["expiry"])
    df["strike"] = df["strike"].astype(float)
    df["qty"] = df["qty"].astype(float)
    df["entry_price"] = pd.to_numeric(df["entry_price"].replace("", np.nan))
    df["as_of"] = pd.to_datetime(df["as_of"].replace("", None))
    dup = df.duplicated(_KEY, keep=False)
    if dup.any():
        i = int(np.flatnonzero(dup)[1]) + 1
        raise _fail(name, i, "strike", "the same option is listed twice: net it into one row")
    return df


@dataclass(frozen=True)
class Reconciliation:
    """The book as the user's file says, and what differed from the shadow book."""

    legs: pd.DataFrame
    differences: list[str]
    applied: bool  # False: the file describes another close (stale) and was not applied


def _signed(legs: pd.DataFrame) -> pd.Series:
    """Signed contracts held per option (book legs: qty per unit × contracts)."""
    if legs.empty:
        return pd.Series(dtype=float)
    q = legs["qty"] * legs["contracts"]
    return q.groupby([legs[k] for k in _KEY]).sum()


def _leg_names(kind: str, put_call: Sequence[str], qty: np.ndarray) -> list[str]:
    side = np.where(qty < 0, "short", "long")
    if kind == "hedge":
        return [f"{s}_call" for s in side]
    return [f"{s}_{'put' if pc == 'P' else 'call'}" for s, pc in zip(side, put_call, strict=True)]


def reconcile(
    book: pd.DataFrame, user: pd.DataFrame, previous_close: pd.Timestamp
) -> Reconciliation:
    """Make the book what ``user`` (a :func:`positions_frame`) says it held at ``previous_close``.

    Per user structure: when the book holds a structure with the same options (the same
    legs in the same ratio), the book's id, open date and entry prices are kept and only the
    contracts take the file's number; otherwise the structure enters under the user's id,
    opened at ``previous_close``, at the file's ``entry_price`` or the book's previous mark
    (NaN when neither: the caller marks it at the previous close). Book structures the file
    does not list are dropped. ``differences`` names each change, one line per structure.
    """
    dated = user["as_of"].dropna()
    if len(dated) and (pd.DatetimeIndex(dated).normalize() != previous_close).any():
        return Reconciliation(
            book, [f"positions file describes {pd.Timestamp(dated.iloc[0]).date()}, the book "
                   f"is at {previous_close.date()}: stale, not applied"], False,
        )  # fmt: skip
    if (_signed(book).round(9).sort_index().to_dict()
            == user.set_index(_KEY)["qty"].sort_index().to_dict()):  # fmt: skip
        return Reconciliation(book, [], True)
    diffs: list[str] = []
    kept: list[pd.DataFrame] = []
    matched: set[str] = set()
    books = {pid: g for pid, g in book.groupby("position_id", sort=True)}
    for uid, u in user.groupby("position_id", sort=True):
        units = float(np.gcd.reduce(np.abs(u["qty"].to_numpy()).astype(np.int64)))
        per_unit = (u["qty"] / units).to_numpy()
        shape = dict(zip(map(tuple, u[_KEY].to_numpy()), per_unit, strict=True))
        same = next(
            (pid for pid, g in books.items() if pid not in matched
             and dict(zip(map(tuple, g[_KEY].to_numpy()), g["qty"], strict=True)) == shape),
            None,
        )  # fmt: skip
        if same is not None:
            matched.add(same)
            g = books[same].copy()
            held = int(g["contracts"].iloc[0])
            if held != units:
                diffs.append(f"{same}: book {held}, file {int(units)} contracts — the file wins")
            g["contracts"] = int(units)
            kept.append(g)
            continue
        kind = str(u["kind"].iloc[0])
        prev = book.set_index(_KEY)["mark"] if len(book) else pd.Series(dtype=float)
        price = [
            float(e) if np.isfinite(e) else float(prev.get(tuple(k), np.nan))
            for e, k in zip(u["entry_price"], u[_KEY].to_numpy(), strict=True)
        ]
        kept.append(
            pd.DataFrame(
                {
                    "position_id": uid, "kind": kind, "underlying": u["underlying"].to_numpy(),
                    "expiry": u["expiry"].to_numpy(),
                    "leg": _leg_names(kind, list(u["put_call"]), per_unit),
                    "put_call": u["put_call"].to_numpy(), "strike": u["strike"].to_numpy(),
                    "qty": per_unit, "contracts": int(units), "opened_on": previous_close,
                    "entry_price": price, "mark": price, "iv": np.nan, "pricing_source": "model",
                }
            )
        )  # fmt: skip
        diffs.append(f"{uid}: in the file, not the book ({int(units)} × {kind}) — added")
    for pid in sorted(set(books) - matched):
        diffs.append(f"{pid}: in the book, not the file — dropped")
    legs = pd.concat(kept, ignore_index=True) if kept else book.iloc[0:0].copy()
    legs = legs.astype({"opened_on": "datetime64[ns]", "expiry": "datetime64[ns]"})
    return Reconciliation(legs[list(BOOK_LEG_COLUMNS)].reset_index(drop=True), diffs, True)
