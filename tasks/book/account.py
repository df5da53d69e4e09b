"""The account's evolution between two closes (SPEC §10) and the sleeve's IRR and EVA (SPEC §6).

NAV = cash + T-bills + holdings + marked value of the options + other − margin debt − box
debt. Between two sessions ``dt = calendar days / 365`` apart: holdings move by
``β_h · r_SPX``; T-bills earn the risk-free rate (continuously compounded, SPEC §0); cash
earns the sweep rate ``r_sweep`` (simple); margin debt costs ``margin_rate`` and box debt the
box rate ``r_f + box_spread`` (simple, paid from cash).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.config import RiskParams
from tasks.conventions import DAYS_PER_YEAR
from tasks.risk.returns import resampled_annual_returns

SESSIONS_PER_YEAR = 252  # a bootstrapped year, as the IRR window (SPEC §6 [252 sessions])

ACCOUNT_COLUMNS: tuple[str, ...] = (
    "as_of",
    "portfolio_id",
    "nav",
    "cash",
    "capital_at_risk",
    "pnl",
    "realised_pnl",
    "unrealised_pnl",
    "condor_pnl",
    "hedge_pnl",
    "drawdown",
    "tbills",
    "holdings_value",
    "options_value",
    "holdings_pnl",
    "carry_pnl",
    "commissions",
    "condor_contracts",
    "hedge_units",
)
"""SPEC §9 ``account_daily`` columns, then the pieces NAV is made of and the carry."""


@dataclass(frozen=True)
class Carry:
    """The non-option P&L of one session (USD) and the balances after it."""

    holdings: tuple[tuple[float, float], ...]
    holdings_pnl: float
    tbills: float
    tbill_interest: float
    cash_interest: float
    debt_cost: float

    @property
    def carry_pnl(self) -> float:
        return self.tbill_interest + self.cash_interest - self.debt_cost


IRR_COLUMNS: tuple[str, ...] = ("as_of", "capital_at_risk", "condor_pnl", "hedge_pnl")
"""The account columns the IRR and p_hurdle read (:func:`account_irr`, :func:`sleeve_returns`)."""


class AccountTail:
    """The last ``window`` sessions of an account's :data:`IRR_COLUMNS`, a session appended
    at a time; :meth:`frame` is what a sizing reads (its IRR and p_hurdle history).

    Array buffers of twice the window, shifted when full: a backtest sizes ~3,000 times,
    and a frame of four array slices per sizing costs a fraction of concatenating frames.
    """

    def __init__(self, window: int, account: pd.DataFrame | None = None) -> None:
        self.window = int(window)
        size = 2 * self.window
        self._dates = np.empty(size, dtype="datetime64[ns]")
        self._values = np.empty((len(IRR_COLUMNS) - 1, size))
        self._n = 0
        if account is not None and len(account):
            tail = account.iloc[-self.window :]
            self._n = len(tail)
            self._dates[: self._n] = pd.to_datetime(tail["as_of"]).to_numpy("datetime64[ns]")
            for k, c in enumerate(IRR_COLUMNS[1:]):
                self._values[k, : self._n] = tail[c].to_numpy(float)

    def append(self, row: dict[str, object]) -> None:
        """Add a session's ``account_daily`` row (a dict with the :data:`IRR_COLUMNS`)."""
        if self._n == len(self._dates):  # full: keep the last window, at the front
            w = self.window
            self._dates[:w] = self._dates[self._n - w : self._n]
            self._values[:, :w] = self._values[:, self._n - w : self._n]
            self._n = w
        self._dates[self._n] = np.datetime64(pd.Timestamp(row["as_of"]), "ns")
        for k, c in enumerate(IRR_COLUMNS[1:]):
            self._values[k, self._n] = float(row[c])
        self._n += 1

    def __len__(self) -> int:
        """Sessions held (at most ``window`` are read)."""
        return min(self._n, self.window)

    def irr(self, as_of: object, window: int) -> AccountIrr:
        """:func:`account_irr` of :meth:`frame` over its last ``window`` sessions, on the
        buffers (a backtest reads it at every sizing)."""
        lo = max(0, self._n - self.window)
        dates = self._dates[lo : self._n]
        capital, condor, hedge = self._values[:, lo : self._n]
        keep = dates <= np.datetime64(pd.Timestamp(as_of).normalize(), "ns")
        if not keep.all():  # (a tail of earlier closes never has a later row)
            dates, capital, condor, hedge = dates[keep], capital[keep], condor[keep], hedge[keep]
        cut = slice(max(0, len(dates) - int(window)), None)
        return window_irr(dates[cut], condor[cut] + hedge[cut], capital[cut])

    def frame(self) -> pd.DataFrame | None:
        """The last ``window`` sessions as a frame of :data:`IRR_COLUMNS` (None when empty)."""
        if not self._n:
            return None
        lo = max(0, self._n - self.window)
        out: dict[str, np.ndarray] = {"as_of": self._dates[lo : self._n].copy()}
        for k, c in enumerate(IRR_COLUMNS[1:]):
            out[c] = self._values[k, lo : self._n].copy()
        return pd.DataFrame(out)


def account_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """``account_daily`` rows (dicts keyed by :data:`ACCOUNT_COLUMNS`) as one typed frame.

    A book step keeps its row as a dict; a backtest builds its 9,200 rows once here instead
    of concatenating 9,200 one-row frames.
    """
    out = pd.DataFrame.from_records(rows, columns=list(ACCOUNT_COLUMNS))
    out["as_of"] = out["as_of"].astype("datetime64[ns]")
    return out


def carry(
    days: int,
    r_spx: float,
    holdings: tuple[tuple[float, float], ...],
    cash: float,
    tbills: float,
    risk_free: float,
    r_sweep: float,
    margin_debt: float,
    margin_rate: float,
    box_debt: float,
    box_rate: float,
) -> Carry:
    """Holdings, bills, cash and debt over ``days`` calendar days and an SPX return ``r_spx``."""
    dt = days / DAYS_PER_YEAR
    moved = tuple((v * (1.0 + b * r_spx), b) for v, b in holdings)
    h_pnl = float(sum(b * r_spx * v for v, b in holdings))
    bill_int = tbills * math.expm1(risk_free * dt)
    return Carry(
        holdings=moved,
        holdings_pnl=h_pnl,
        tbills=tbills + bill_int,
        tbill_interest=bill_int,
        cash_interest=cash * r_sweep * dt,
        debt_cost=(margin_debt * margin_rate + box_debt * box_rate) * dt,
    )


# --------------------------------------------------------------------------- IRR / EVA


@dataclass(frozen=True)
class AccountIrr:
    """The sleeve's IRR over a trailing window of its account (SPEC §6, revised)."""

    irr: float  # NaN when unknown (note says why)
    pnl: float  # sleeve P&L from the window's first close to as_of, USD
    capital: float  # C̄: mean capital at risk over the window's sessions, USD
    days: int  # calendar days from the first session to as_of
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    sessions: int
    note: str = ""


def _up_to(account: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """The rows dated ``≤ end``, in date order (as they come, when they already are: a
    book's account is built in date order and read at every sizing)."""
    dates = pd.to_datetime(account["as_of"])
    if len(dates) and dates.is_monotonic_increasing and dates.iloc[-1] <= end:
        return account
    return account[dates <= end].sort_values("as_of")


def account_irr(account: pd.DataFrame, as_of: object, window: int) -> AccountIrr:
    """``IRR = (1 + P&L/C̄)^(365/days) − 1`` over the last ``window`` sessions up to ``as_of``.

    The flows are ``−C̄`` at the window's first close and ``C̄ + P&L`` at ``as_of``, so the
    P&L is the sleeve's (``condor_pnl + hedge_pnl``) summed over the window's sessions
    after the first; ``C̄`` is the mean ``capital_at_risk`` over all of them. NaN with a
    note when the window has fewer than two sessions or no capital was at risk.
    """
    acc = _up_to(account, pd.Timestamp(as_of).normalize()).tail(window)
    return window_irr(
        pd.to_datetime(acc["as_of"]).to_numpy("datetime64[ns]"),
        acc["condor_pnl"].to_numpy(float) + acc["hedge_pnl"].to_numpy(float),
        acc["capital_at_risk"].to_numpy(float),
    )


def window_irr(dates: np.ndarray, sleeve_pnl: np.ndarray, capital: np.ndarray) -> AccountIrr:
    """:func:`account_irr` of a window already cut: its sessions' dates (datetime64[ns], in
    order), the sleeve's P&L (``condor_pnl + hedge_pnl``) and the capital at risk of each."""
    if len(dates) < 2:
        return AccountIrr(
            float("nan"), float("nan"), float("nan"), 0, None, None, len(dates),
            "fewer than two sessions of account history",
        )  # fmt: skip
    start, last = pd.Timestamp(dates[0]), pd.Timestamp(dates[-1])
    pnl = float(sleeve_pnl[1:].sum())
    cap = float(capital.mean())
    days = int((last - start).days)
    if not cap > 0:
        return AccountIrr(
            float("nan"), pnl, cap, days, start, last, len(dates),
            "no capital at risk in the window",
        )  # fmt: skip
    growth = 1.0 + pnl / cap
    irr = -1.0 if growth <= 0 else float(growth ** (DAYS_PER_YEAR / days) - 1.0)
    return AccountIrr(irr, pnl, cap, days, start, last, len(dates))


def account_eva(irr: float, wacc: float, capital: float) -> float:
    """``EVA = (IRR − WACC) · C̄`` (USD per year); NaN when the IRR is unknown."""
    return float((irr - wacc) * capital) if np.isfinite(irr) else float("nan")


def with_policy_history(
    account: pd.DataFrame | None, backtest: pd.DataFrame, first_session: pd.Timestamp
) -> tuple[pd.DataFrame | None, int]:
    """The account history with the sessions before the book existed taken from the backtest
    of the same policy (SPEC §6: "so a new portfolio has an IRR from day one", and p_hurdle
    over book + backtest).

    Parameters
    ----------
    account : the book's ``account_daily`` rows (None or empty before its first close).
    backtest : ``backtest_daily`` rows of the same portfolio and policy (``as_of,
        capital_at_risk, condor_pnl, hedge_pnl`` are read).
    first_session : the book's first session (its first stored close, or the first
        session a warm start steps; no ``account`` row is older): only backtest rows dated
        before it are used, so no session is counted twice.

    Returns
    -------
    (DataFrame or None, int)
        The spliced history in date order and how many of its rows came from the backtest.
    """
    older = backtest[pd.to_datetime(backtest["as_of"]) < pd.Timestamp(first_session)]
    if older.empty:
        return account, 0
    parts = [older] + ([account] if account is not None and len(account) else [])
    return pd.concat(parts, ignore_index=True), len(older)


# --------------------------------------------------------------------------- p_hurdle


def sleeve_returns(account: pd.DataFrame, as_of: object, max_sessions: int) -> pd.Series:
    """The sleeve's daily return on capital up to ``as_of``: ``(condor_pnl + hedge_pnl) / C̄``.

    ``C̄`` is the mean ``capital_at_risk`` over the same sessions — the denominator of the
    IRR of SPEC §6 — so that a year of these returns summed is that year's ``P&L/C̄``.
    Dividing each day by its own capital instead would blow up on the days a book holds
    almost nothing (a first tranche, a monetised hedge). The first session's P&L is
    dropped, as in :func:`account_irr` (it is the window's opening flow). Empty when the
    history has fewer than two sessions or no capital at risk.
    """
    end = pd.Timestamp(as_of).normalize()
    acc = _up_to(account, end).tail(max_sessions)
    cap = float(acc["capital_at_risk"].to_numpy(float).mean()) if len(acc) else float("nan")
    if len(acc) < 2 or not cap > 0:
        return pd.Series(dtype=float)
    pnl = (acc["condor_pnl"] + acc["hedge_pnl"]).to_numpy(float)[1:]
    return pd.Series(pnl / cap, index=pd.DatetimeIndex(acc["as_of"].iloc[1:]), name="roc")


def resampled_years(account: pd.DataFrame, as_of: object, risk: RiskParams) -> np.ndarray:
    """Bootstrapped annual returns on capital of the sleeve up to ``as_of`` (SPEC §6
    p_hurdle): its daily return on capital over at most ``p_hurdle_max_years`` of history."""
    r = sleeve_returns(account, as_of, risk.p_hurdle_max_years * SESSIONS_PER_YEAR)
    return resampled_annual_returns(
        r.to_numpy(), SESSIONS_PER_YEAR, risk.p_hurdle_block, risk.p_hurdle_resamples,
        risk.p_hurdle_seed,
    )  # fmt: skip
