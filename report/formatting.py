"""How the report writes numbers, money, percents and dates: ``—`` for anything missing.

Every formatter takes whatever a warehouse row holds (a float, a numpy scalar, ``None``,
``NaN``, ``NaT``, a string) and returns display text; none raises.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

MISSING = "—"


def to_float(x: object) -> float:
    """``float(x)``, or NaN when ``x`` is not a number."""
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def is_missing(v: object) -> bool:
    """True for ``None``, a non-finite float and ``NaT``."""
    return v is None or (isinstance(v, float | np.floating) and not np.isfinite(v)) or v is pd.NaT


def fmt_num(v: object, nd: int = 2) -> str:
    """``1,234.57`` with ``nd`` decimals."""
    x = to_float(v)
    return MISSING if is_missing(v) or not np.isfinite(x) else f"{x:,.{nd}f}"


def fmt_usd(v: object) -> str:
    """Whole dollars with a real minus sign: ``$1,235``, ``−$61,234``."""
    x = to_float(v)
    if is_missing(v) or not np.isfinite(x):
        return MISSING
    return f"−${abs(x):,.0f}" if x < 0 else f"${x:,.0f}"


def fmt_pct(v: object, nd: int = 2) -> str:
    """A fraction as a percent: ``0.0532`` → ``5.32%``."""
    x = to_float(v)
    return MISSING if is_missing(v) or not np.isfinite(x) else f"{100 * x:.{nd}f}%"


def fmt_date(v: object) -> str:
    """``YYYY-MM-DD`` (a value that is not a date is shown as it is)."""
    if is_missing(v):
        return MISSING
    try:
        return f"{pd.Timestamp(v):%Y-%m-%d}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)


def fmt_params(params: object) -> str:
    """A signal's JSON ``params`` as ``window=14, source=spx`` (unparseable text as it is)."""
    try:
        text = json.dumps(json.loads(params), separators=(", ", "="))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(params)
    return text[1:-1].replace('"', "")


#: below this R² a regression beta explains almost none of the variance: it is shown, but
#: marked as carrying no statistical meaning (the ``betas.r2`` column comment says the same)
MEANINGFUL_R2 = 0.1


def fmt_beta(beta: object, r2: object, nd: int = 2) -> str:
    """``β −0.44`` → ``−0.44 (R² 0.003: not meaningful)`` when R² < :data:`MEANINGFUL_R2`."""
    text = fmt_num(beta, nd).replace("-", "−")
    x = to_float(r2)
    if text != MISSING and not is_missing(r2) and np.isfinite(x) and x < MEANINGFUL_R2:
        text += f" (R² {x:.3f}: not meaningful)"
    return text
