"""SPEC §7 steps 5–6 together: the largest book whose hedge keeps the limits.

The hedge depends on the condor book (β before, crash loss) and the quick ratio on both,
so the new condors are scaled along the proportional path ``floor(f·proposed)``
(``risk.proportional_path``) from the top: the first book that — with the hedge computed for
*it* — meets the quick ratio and (when the hedge is capped) the crash limit is kept.
Alternating "hedge, then scale" stalls: a full ladder's low β forbids the hedge that a smaller
ladder would get. Every total counts the :class:`~tasks.sizing.book.OpenBook`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.config import Params
from tasks import risk
from tasks.sizing.book import NewTranches, OpenBook
from tasks.sizing.hedge import HedgeDecision, HedgeSpec, hedge_units
from tasks.sizing.stress import CRASH, book_quick_ratio, breaches_crash

QUICK_RATIO = "quick_ratio"  # the rule names a rejected book records


@dataclass(frozen=True)
class BookCheck:
    """One candidate book: its hedge (step 5), stress totals and quick ratio (step 6)."""

    contracts: np.ndarray
    hedge: HedgeDecision
    stress_total: pd.Series  # USD per scenario: open book + new condors + hedge
    quick_ratio: float


def hedge_for_book(
    n: np.ndarray,
    equity: float,
    book: OpenBook,
    new: NewTranches,
    hedge: HedgeSpec,
    macro: bool,
    params: Params,
) -> HedgeDecision:
    """Step 5 for the book ``open book + n`` new condors: β before and crash loss, then
    :func:`~tasks.sizing.hedge.hedge_units` (no tail hedge without a ``crash`` scenario)."""
    has_crash = CRASH in params.sizing.scenarios
    beta_before = (book.dollar_beta + float(n @ new.dollar_beta)) / equity
    crash_unhedged = (
        float(book.stress[CRASH] + n @ new.stress.loc[CRASH].to_numpy()) if has_crash else None
    )
    gain = float(hedge.stress[CRASH]) if has_crash else None
    return hedge_units(
        beta_before,
        equity,
        hedge.dollar_beta,
        crash_unhedged,
        gain,
        hedge.premium_usd,
        hedge.tenor_days,
        macro,
        params,
    )


class _Totals:
    """One search's open book, new tranches and hedge unit, their scenario arrays read once
    for every candidate book."""

    def __init__(self, book: OpenBook, new: NewTranches, hedge: HedgeSpec) -> None:
        self.book, self.new, self.hedge = book, new, hedge
        self.index = book.stress.index
        h = hedge.stress
        h = h if h.index.equals(self.index) else h.reindex(self.index)
        self._book, self._hedge = book.stress.to_numpy(float), h.to_numpy(float)
        self._new = new.stress.to_numpy()

    def of(self, n: np.ndarray, hd: HedgeDecision) -> tuple[np.ndarray, float]:
        """Stress total per scenario and quick ratio of the book with ``n`` new condors."""
        total = self._book + hd.units * self._hedge + self._new @ n
        qr = book_quick_ratio(
            self.book.cash,
            self.book.tbills,
            hd.units * self.hedge.premium_usd,
            self.book.margin + float(n @ self.new.max_loss),
            total,
        )
        return total, qr


def check_book(
    n: np.ndarray,
    equity: float,
    book: OpenBook,
    new: NewTranches,
    hedge: HedgeSpec,
    macro: bool,
    params: Params,
) -> BookCheck:
    """The hedge, total stress P&L and quick ratio of the book with ``n`` new condors."""
    return _check(n, equity, book, new, hedge, macro, params, _Totals(book, new, hedge))


def _check(
    n: np.ndarray, equity: float, book: OpenBook, new: NewTranches, hedge: HedgeSpec,
    macro: bool, params: Params, totals: _Totals,
) -> BookCheck:  # fmt: skip
    hd = hedge_for_book(n, equity, book, new, hedge, macro, params)
    total, qr = totals.of(n, hd)
    return BookCheck(n, hd, pd.Series(total, index=totals.index), qr)


def failed_limits(
    check: BookCheck, equity: float, crash_rule: bool, params: Params
) -> tuple[str, ...]:
    """The step-6 limits ``check`` fails: the quick ratio, and the crash limit when it applies."""
    failed = []
    if check.quick_ratio < params.sizing.quick_ratio_min:
        failed.append(QUICK_RATIO)
    if crash_rule and breaches_crash(check.stress_total, equity, params):
        failed.append(CRASH)
    return tuple(failed)


@dataclass(frozen=True)
class LimitDecision:
    """Steps 5–6's outcome for a proposal: the kept book and why larger ones were refused."""

    proposed: np.ndarray
    kept: BookCheck
    crash_rule: bool  # the open book alone keeps within the crash limit
    rejected: tuple[tuple[str, ...], ...]  # limits each refused larger book failed, top first
    feasible: bool  # the kept book meets the quick ratio
    crash_breach: bool  # the kept book's crash loss is beyond the limit

    @property
    def contracts(self) -> np.ndarray:
        return self.kept.contracts

    @property
    def scaled(self) -> bool:
        """True when fewer new contracts were kept than proposed."""
        return bool(self.kept.contracts.sum() < self.proposed.sum())

    @property
    def cut_by(self) -> tuple[str, ...]:
        """Every limit that refused a larger book (``quick_ratio``, ``crash``), first met first."""
        return tuple(dict.fromkeys(r for fails in self.rejected for r in fails))

    @property
    def crash_scaled(self) -> bool:
        """The proposed (largest) book was refused by the crash limit alone (the first refusal)."""
        return self.scaled and bool(self.rejected) and self.rejected[0] == (CRASH,)

    @property
    def binding(self) -> tuple[str, ...]:
        """The limits that refused the next larger book than the one kept: the ones that bound
        (empty when nothing was cut)."""
        return self.rejected[-1] if self.scaled else ()


def fit_limits(
    proposed: np.ndarray,
    equity: float,
    book: OpenBook,
    new: NewTranches,
    hedge: HedgeSpec,
    macro: bool,
    params: Params,
) -> LimitDecision:
    """Walk ``floor(f·proposed)`` from the top; keep the first book within the limits.

    With no book within the limits, the book with no new condors is kept (infeasible when
    it fails the quick ratio; a crash breach when the open book alone is beyond the crash
    limit — new condors would only add to that loss, so none are opened until exits and
    the hedge bring the book back within it).
    """
    args = (equity, book, new, hedge, macro, params)
    totals = _Totals(book, new, hedge)  # the scenario arrays, read once for the whole walk
    zero = _check(np.zeros_like(proposed), *args, totals)
    crash_on = CRASH in params.sizing.scenarios
    crash_rule = crash_on and not breaches_crash(zero.stress_total, equity, params)
    kept, rejected = zero, []
    for cand in risk.proportional_path(proposed)[::-1]:
        check = _check(cand, *args, totals)
        failed = failed_limits(check, equity, crash_on, params)
        if not failed:
            kept = check
            break
        rejected.append(failed)
    return LimitDecision(
        proposed=proposed,
        kept=kept,
        crash_rule=crash_rule,
        rejected=tuple(rejected),
        feasible=kept.quick_ratio >= params.sizing.quick_ratio_min,
        crash_breach=CRASH in params.sizing.scenarios
        and breaches_crash(kept.stress_total, equity, params),
    )
