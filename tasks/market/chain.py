"""CBOE SPX option chain ("Download CSV" of the delayed-quotes page) and box-spread rates.

File layout (``data/WIRE_FORMATS.md`` §5): line 1 blank; line 2 the underlying's name,
``Last: <spot>``; line 3 the quote timestamp ``"Date: January 6, 2025 at 9:26 PM EST"``
(older files: ``"Date: June 11, 2022, 8:47 PM EDT"``); line 4 a header whose column names
repeat (calls left of ``Strike``, puts right); IV is a fraction; IV, delta and gamma are 0
where CBOE could not compute them.

:func:`read_chain` returns a tidy long frame, one row per (expiry, root, put_call, strike);
:func:`box_rate` and :func:`box_rate_for_target` imply the financing rate of SPX box
spreads (SPEC §6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.conventions import DAYS_PER_YEAR
from tasks.risk.capital import box_rate_from_quote

# Column positions of the CBOE layout (the names repeat, so positions are the contract).
_CALL_COLS = {1: "symbol", 4: "bid", 5: "ask", 7: "iv", 8: "delta", 9: "gamma", 10: "open_interest"}
_PUT_COLS = {
    12: "symbol",
    15: "bid",
    16: "ask",
    18: "iv",
    19: "delta",
    20: "gamma",
    21: "open_interest",
}
_EXPECTED_HEADER = (
    "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,"
    "Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest"
)
_SYMBOL_RE = r"^(?P<root>[A-Z]+)\d{6}[CP]\d{8}$"
# Root preference when SPX (AM-settled monthly) and SPXW (PM-settled) list the same
# expiry/strike: SPXW, because the weekly ladder and the Friday-close expiry are PM-settled.
_ROOT_PREFERENCE = {"SPXW": 0, "SPX": 1}
CHAIN_COLUMNS = [
    "quote_date",
    "expiry",
    "root",
    "put_call",
    "strike",
    "bid",
    "ask",
    "mid",
    "iv",
    "delta",
    "gamma",
    "open_interest",
]


class ChainFormatError(ValueError):
    """The file is not a CBOE chain download in the documented layout."""


@dataclass(frozen=True)
class Chain:
    """A parsed option chain: tidy quotes, the underlying's last price and the quote date."""

    quotes: pd.DataFrame
    spot: float
    as_of: pd.Timestamp


def _head_lines(path: str | Path, n: int = 4) -> list[str]:
    with open(path, encoding="utf-8-sig") as fh:
        return [fh.readline().rstrip("\r\n") for _ in range(n)]


def chain_as_of(path: str | Path) -> pd.Timestamp:
    """The quote date on line 3 (``"Date: January 6, 2025 at 9:26 PM EST"``), parsed loosely."""
    line = _head_lines(path, 3)[2]
    m = re.search(r"Date:\s*([A-Za-z]+\s+\d{1,2},\s*\d{4})", line)
    if not m:
        raise ChainFormatError(f"{path}: line 3 has no 'Date: Month D, YYYY': {line[:80]!r}")
    return pd.Timestamp(pd.to_datetime(m.group(1), format="%B %d, %Y")).normalize()


def chain_spot(path: str | Path) -> float:
    """The underlying's last price on line 2 (``Last: 5975.3799``)."""
    line = _head_lines(path, 2)[1]
    m = re.search(r"Last:\s*([0-9.]+)", line)
    if not m:
        raise ChainFormatError(f"{path}: line 2 has no 'Last: <price>': {line[:80]!r}")
    return float(m.group(1))


def read_chain(path: str | Path) -> Chain:
    """Parse a CBOE chain download into a tidy long frame.

    Returns
    -------
    Chain
        ``quotes`` with columns ``quote_date, expiry, root, put_call ('P'/'C'), strike, bid,
        ask, mid, iv, delta, gamma, open_interest``, one row per listed option; ``spot`` the
        underlying's last; ``as_of`` the quote date.

    Notes
    -----
    - IV, delta and gamma of 0 mean "not computable" and become NaN (together: a quoted
      zero IV makes its delta and gamma meaningless too).
    - ``mid = (bid + ask)/2`` when ``ask > 0`` (a zero bid is a real quote), else NaN.
    - Both roots are kept; use :func:`prefer_root` (applied by the helpers here) to keep
      SPXW where SPX and SPXW list the same expiry/strike.
    """
    head = _head_lines(path, 4)
    if head[3].strip() != _EXPECTED_HEADER:
        raise ChainFormatError(f"{path}: unexpected header on line 4: {head[3][:120]!r}")
    as_of = chain_as_of(path)
    spot = chain_spot(path)
    raw = pd.read_csv(path, skiprows=4, header=None, dtype=str, keep_default_na=False)
    if raw.shape[1] != 22:
        raise ChainFormatError(f"{path}: expected 22 columns, found {raw.shape[1]}")
    expiry = pd.to_datetime(raw[0], format="%a %b %d %Y")
    strike = pd.to_numeric(raw[11])
    sides = []
    for pc, cols in (("C", _CALL_COLS), ("P", _PUT_COLS)):
        side = pd.DataFrame({name: raw[i] for i, name in cols.items()})
        side["root"] = side["symbol"].str.extract(_SYMBOL_RE)["root"]
        for c in ("bid", "ask", "iv", "delta", "gamma", "open_interest"):
            side[c] = pd.to_numeric(side[c], errors="coerce")
        side["put_call"] = pc
        side["expiry"] = expiry
        side["strike"] = strike
        sides.append(side)
    q = pd.concat(sides, ignore_index=True)
    if q["root"].isna().any():
        bad = q.loc[q["root"].isna(), "symbol"].iloc[0]
        raise ChainFormatError(f"{path}: unparseable option symbol {bad!r}")
    no_iv = ~(q["iv"] > 0)
    q.loc[no_iv, ["iv", "delta", "gamma"]] = np.nan
    q["mid"] = np.where(q["ask"] > 0, 0.5 * (q["bid"] + q["ask"]), np.nan)
    q["quote_date"] = as_of
    q["open_interest"] = q["open_interest"].fillna(0).astype("int64")
    q["expiry"] = q["expiry"].astype("datetime64[ns]")
    q["quote_date"] = q["quote_date"].astype("datetime64[ns]")
    q = q[CHAIN_COLUMNS].sort_values(["expiry", "put_call", "strike", "root"], ignore_index=True)
    return Chain(quotes=q, spot=spot, as_of=as_of)


def prefer_root(quotes: pd.DataFrame) -> pd.DataFrame:
    """Keep one row per (expiry, put_call, strike): SPXW over SPX when both list it."""
    rank = quotes["root"].map(_ROOT_PREFERENCE).fillna(len(_ROOT_PREFERENCE))
    ordered = quotes.assign(_rank=rank).sort_values(["expiry", "put_call", "strike", "_rank"])
    out = ordered.drop_duplicates(["expiry", "put_call", "strike"], keep="first")
    return out.drop(columns="_rank").reset_index(drop=True)


def _tenor_years(chain: Chain, expiry: pd.Timestamp) -> float:
    return (pd.Timestamp(expiry) - chain.as_of).days / DAYS_PER_YEAR


def _two_sided(quotes: pd.DataFrame) -> pd.DataFrame:
    """Rows with a real two-sided market (bid > 0 and ask ≥ bid)."""
    return quotes[(quotes["bid"] > 0) & (quotes["ask"] >= quotes["bid"])]


def box_price(chain: Chain, expiry: object, K1: float, K2: float) -> float:
    """Mid price of the long box K1 < K2: long call K1, short call K2, long put K2, short put K1.

    The box pays ``K2 − K1`` at expiry whatever the index does. NaN when a leg is missing.
    """
    q = prefer_root(chain.quotes)
    q = q[q["expiry"] == pd.Timestamp(expiry)].set_index(["put_call", "strike"])["mid"]
    try:
        return float(q[("C", K1)] - q[("C", K2)] + q[("P", K2)] - q[("P", K1)])
    except KeyError:
        return float("nan")


def box_rate(chain: Chain, expiry: object, K1: float, K2: float) -> float:
    """Box-spread rate from the four legs' mid prices (SPEC §6).

    The formula ``r_box = ln(W_box / P_box) / T`` is :func:`tasks.risk.capital.box_rate_from_quote`;
    here ``W_box = K2 − K1`` and ``P_box`` are both in index points (the ×100 multiplier
    cancels in the ratio) and ``T = calendar days / 365`` from the chain's quote date.
    NaN, rather than an error, when a leg is missing or the box does not price positive.
    """
    p_box = box_price(chain, expiry, K1, K2)
    t = _tenor_years(chain, pd.Timestamp(expiry))
    if not (p_box > 0) or t <= 0 or not K2 > K1:
        return float("nan")
    return box_rate_from_quote(K2 - K1, p_box, t)


def box_rate_for_target(
    chain: Chain,
    target_days: int,
    width: float = 1000.0,
    n_boxes: int = 5,
    center_step: float = 25.0,
) -> tuple[float, pd.Timestamp, pd.DataFrame]:
    """Average box rate for the listed expiry nearest ``target_days``, from liquid near-money boxes.

    Boxes of ``width`` points are centred on the ``n_boxes`` strikes nearest the spot on a
    ``center_step`` grid, using only strikes where all four legs have a two-sided market.
    A wide box is used because the interest in a short-dated box is a small fraction of
    its price, so quote noise on the legs' mids moves the implied rate less when the box
    (and so the interest) is large. The rates are averaged with the median, which ignores
    one bad quote.

    Returns
    -------
    (rate, expiry, boxes)
        ``boxes`` lists each box's ``K1, K2, price, rate``. ``rate`` is NaN when no box
        could be formed.
    """
    q = _two_sided(prefer_root(chain.quotes))
    expiries = pd.DatetimeIndex(q["expiry"].unique())
    expiries = expiries[expiries > chain.as_of]
    target = chain.as_of + pd.Timedelta(days=int(target_days))
    expiry = pd.Timestamp(expiries[int(np.argmin(np.abs((expiries - target).days)))])
    qe = q[q["expiry"] == expiry]
    calls = set(qe.loc[qe["put_call"] == "C", "strike"])
    puts = set(qe.loc[qe["put_call"] == "P", "strike"])
    both = calls & puts
    centers = np.round(chain.spot / center_step) * center_step + center_step * (
        np.arange(n_boxes * 4) - n_boxes * 2
    )
    centers = centers[np.argsort(np.abs(centers - chain.spot), kind="stable")]
    rows = []
    for c in centers:  # a handful of candidate boxes, not a hot path
        k1, k2 = c - width / 2, c + width / 2
        if k1 in both and k2 in both:
            price = box_price(chain, expiry, k1, k2)
            rows.append(
                {"K1": k1, "K2": k2, "price": price, "rate": box_rate(chain, expiry, k1, k2)}
            )
        if len(rows) == n_boxes:
            break
    boxes = pd.DataFrame(rows, columns=["K1", "K2", "price", "rate"])
    rate = float(boxes["rate"].median()) if len(boxes) else float("nan")
    return rate, expiry, boxes


def chain_atm_iv(chain: Chain, expiry: object, forward: float) -> float:
    """Quoted ATM IV for an expiry: mean of the call and put IV at the listed strike nearest ``forward``."""
    q = prefer_root(chain.quotes)
    q = q[(q["expiry"] == pd.Timestamp(expiry)) & q["iv"].notna()]
    if q.empty:
        return float("nan")
    k = q["strike"].to_numpy()[np.argmin(np.abs(q["strike"].to_numpy() - forward))]
    return float(q.loc[q["strike"] == k, "iv"].mean())
