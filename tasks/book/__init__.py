"""The book of SPEC §10: positions carried from close to close, marks, exits, free ladder
slots, the hedge lifecycle, orders, the account and the sleeve's IRR.

:func:`step_book` runs one session; the daily run, the warm start and the backtest share it.
"""

from tasks.book.account import ACCOUNT_COLUMNS, AccountIrr, account_eva, account_irr
from tasks.book.orders import ORDER_COLUMNS
from tasks.book.positions import BOOK_LEG_COLUMNS, BookState, capital_at_risk, start_state
from tasks.book.rules import Slot, condor_exits, free_slots, plan_hedge
from tasks.book.step import (
    BOOK_COLUMNS,
    MarketDay,
    NewCondor,
    SizingDecision,
    StepResult,
    book_rows,
    step_book,
)

__all__ = [
    "ACCOUNT_COLUMNS",
    "BOOK_COLUMNS",
    "BOOK_LEG_COLUMNS",
    "ORDER_COLUMNS",
    "AccountIrr",
    "BookState",
    "MarketDay",
    "NewCondor",
    "SizingDecision",
    "Slot",
    "StepResult",
    "account_eva",
    "account_irr",
    "book_rows",
    "capital_at_risk",
    "condor_exits",
    "free_slots",
    "plan_hedge",
    "start_state",
    "step_book",
]
