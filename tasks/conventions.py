"""Conventions every part of the method shares (SPEC §0), defined once.

Import these instead of restating them: a day count, a contract multiplier or a
signal state spelled twice is a place for the two to drift apart.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

DAYS_PER_YEAR = 365.0
"""Option time and rate accrual: ``T = calendar days / 365`` (ACT/365)."""

DAYS_PER_MONTH = 30.0
"""A "month" of the hedge premium budget (SPEC §7 step 5)."""

MULTIPLIER = 100.0
"""SPX and VIX option contract multiplier: index points → USD per contract."""

# An iron condor's four legs, in the order every leg frame and array uses.
CONDOR_LEGS: tuple[str, ...] = ("short_put", "long_put", "short_call", "long_call")
CONDOR_QTY = np.array([-1.0, 1.0, -1.0, 1.0])  # per contract: short −1, long +1
CONDOR_PUT_CALL: tuple[str, ...] = ("P", "P", "C", "C")
CONDOR_IS_CALL = np.array([False, False, True, True])
# The same legs by strike, low to high (how a trader reads a condor).
CONDOR_LEGS_BY_STRIKE: tuple[str, ...] = ("long_put", "short_put", "short_call", "long_call")

STRESS_SCENARIOS: tuple[str, ...] = ("crash", "correction", "cpi_shock", "vol_spike", "rally")
"""The SPEC §7 step 6 stress scenarios, in the order tables and reports show them."""


class SignalState(StrEnum):
    """Every state a signal of SPEC §2 can take (``signal_states.state``)."""

    # data quality: a signal in one of these fires no rule
    STALE = "stale"
    INSUFFICIENT = "insufficient_history"
    # RSI
    OVERBOUGHT = "overbought"
    OVERSOLD = "oversold"
    NEUTRAL = "neutral"
    # MACD
    BULLISH = "bullish"
    BEARISH = "bearish"
    BULLISH_CROSS = "bullish_cross"  # the session the histogram turns positive
    BEARISH_CROSS = "bearish_cross"  # the session it turns non-positive
    # VIX regime
    CALM = "calm"
    NORMAL = "normal"
    STRESSED = "stressed"
    CRISIS = "crisis"
    # term structure
    CONTANGO = "contango"
    FLAT = "flat"
    BACKWARDATION = "backwardation"
    # dollar
    STRONG = "strong"
    WEAK = "weak"
    # inflation surprises
    HOT = "hot"
    COOL = "cool"
    INLINE = "inline"
    SHOCK = "shock"
    # growth
    EXPANSION = "expansion"
    SLOW = "slow"
    CONTRACTION = "contraction"
    # FOMC
    EVENT = "event"
    CLEAR = "clear"
    # composite
    RISK_ON = "risk_on"
    RISK_OFF = "risk_off"

    @property
    def is_usable(self) -> bool:
        """False for the data-quality states, which fire no rule."""
        return self not in (SignalState.STALE, SignalState.INSUFFICIENT)
