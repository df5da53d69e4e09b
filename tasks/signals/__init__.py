"""Signal states of SPEC §2: RSI, MACD, volatility regime, term structure, dollar strength,
inflation surprises, growth, the FOMC event window and the composite risk state.

:func:`compute_signals` turns the long observations frame (docs/contracts.md) into one row
per (``as_of``, ``signal``) with ``value``, ``state``, ``params`` (compact JSON of the
parameters used and the series the value came from) and ``input_date`` (the date of the
newest observation used). The same code serves the daily flow (one ``as_of``) and the
backfill (every session since 1990): each indicator is computed once over the whole
series and the value for each ``as_of`` is *picked*, never recomputed per day.

Point-in-time (SPEC §1.2)
-------------------------
The value for ``as_of`` uses only rows with ``available_at <= as_of``. The engine
(:func:`_pick`) splits time into *vintage epochs*: a new epoch starts at every
``available_at`` on which an already-published observation date gets a different value
(a revision). Inside one epoch the information set only grows by appending first
publications, so the indicator is computed once on the epoch's final series and each
``as_of`` in the epoch takes the value at the newest observation date whose whole history
is known by then (``pd.merge_asof``-style search on the running maximum of
``available_at``). Market series without revisions form one epoch; revised macro series a
few hundred at most. This is exact, with one conservative choice: an observation
published *before* an earlier date's first row (out-of-order publication) is used only
once the gap is filled, so a series is always read as a gap-free prefix.

Conventions and choices (SPEC §2 where it speaks, written down where it is silent)
---------------------------------------------------------------------------------
- Rows with ``value`` NaN ("recorded missing") carry no number: the observation date is
  left out of the series (a later non-missing revision brings it in).
- RSI: Wilder smoothing seeded with the simple mean of the first ``n`` gains/losses
  (TA-Lib's convention); 100 when the average loss is 0, as SPEC §2 says (TA-Lib returns
  0 for a perfectly flat window instead).
- MACD: ``ewm(span, adjust=False)`` from the first close. The EMAs exist from the first
  close, but the signal is reported ``insufficient_history`` until ``slow + signal - 1``
  closes exist (TA-Lib's look-back), so a barely-started EMA never drives a state.
- z-scores: the latest value against the mean and sample std (ddof=1) of the ``window``
  values *before* it; ``window`` counts observations (252 daily dollar-index rows, 12
  monthly rows). A zero std gives NaN (the z-score is undefined).
- Month-over-month (and quarter-over-quarter) changes are taken between consecutive
  published periods. A missing period (e.g. October 2025 CPI, never published during the
  government shutdown) is bridged by the per-period geometric equivalent
  ``(P_t / P_prev) ** (1/k) - 1`` over the ``k`` periods spanned.
- GDP: ``(G_t / G_{t-1}) ** 4 - 1`` (quarter over quarter, annualised).
- Staleness: an input is fresh while its age is at most the maximum age
  (``age <= max_age``; stale from ``max_age + 1``). Daily age = NYSE sessions after
  ``input_date`` up to and including ``as_of``. Monthly/quarterly age = calendar days from
  the END of the observation period (month end / quarter end) to ``as_of``, because
  observation dates are period starts: measuring from the start would call a series stale
  roughly one period earlier than its actual release rhythm warrants.
- Primary/secondary series (``usd``/``usd_real``, ``ppi``/``ppi_all``): the primary is used
  when it is fresh and has a value; else the secondary when it is fresh and has a value;
  when neither is usable the one with the newer ``input_date`` is reported (primary on
  ties), so a stale signal still shows the most recent information.
- ``term_structure`` = VIX / VIX3M on the newest session where both closes are known.
- ``fomc_window``: ``value`` = NYSE sessions from ``as_of`` to the next decision date on or
  after it (0 on the day; a decision on a non-session day, such as the Sunday 2020-03-15
  cut, counts to the next session), among decision dates whose row is available by
  ``as_of``; ``input_date`` is that decision date. No known future date: ``stale``,
  ``value`` NaN, ``input_date`` the last known decision date.
- A signal without enough history (or with no data at all yet) has ``value`` NaN and state
  ``insufficient_history``; a stale one keeps its value and has state ``stale``.
- ``risk_state``: ``value`` = number of rules that fired; ``params`` lists them under
  ``rules`` and names the inputs that could not fire because they were ``stale`` or had
  ``insufficient`` history; ``input_date`` = the newest input date of its four inputs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from schemas.config import SignalParams
from tasks.market.calendar import CALENDAR_START, nyse, sessions

SIGNALS: tuple[str, ...] = (
    "rsi_spx",
    "macd_spx",
    "vix_regime",
    "term_structure",
    "usd_strength",
    "ppi_surprise",
    "cpi_shock",
    "gdp_trend",
    "fomc_window",
    "risk_state",
)
STALE = "stale"
INSUFFICIENT = "insufficient_history"
# names of the risk_state rules, in SPEC order (the sizing step turns them into words)
RISK_RULES: tuple[str, ...] = ("vix_stressed", "backwardation", "bearish_oversold")
OUTPUT_COLUMNS: tuple[str, ...] = ("as_of", "signal", "value", "state", "params", "input_date")

_OBS_COLUMNS = ("series_id", "date", "value", "available_at")
_NS = "datetime64[ns]"
_NAT = np.datetime64("NaT", "ns")
_END_OF_TIME = np.datetime64("2262-04-11", "ns")  # beyond every session, within ns range

Compute = Callable[[pd.DataFrame], pd.DataFrame]


# --------------------------------------------------------------------------- indicator helpers


def _wilder_smooth(x: np.ndarray, n: int) -> np.ndarray:
    """Wilder's running average of ``x``: seed = mean of the first ``n`` values, then
    ``avg_t = (avg_{t-1}·(n-1) + x_t) / n``. Returns ``len(x) - n + 1`` values, the first
    aligned with ``x[n-1]``.

    The recursion is the first-order IIR filter ``y_t = a·y_{t-1} + b·x_t`` with
    ``a = (n-1)/n``, ``b = 1/n``; ``lfilter`` runs it in C, seeded through its initial
    state ``zi = a·seed`` (so its first output is ``a·seed + b·x_n``).
    """
    seed = x[:n].mean()
    a = (n - 1) / n
    rest, _ = lfilter([1.0 / n], [1.0, -a], x[n:], zi=[a * seed])
    return np.concatenate(([seed], rest))


def wilder_rsi(close: pd.Series, n: int) -> pd.Series:
    """Wilder RSI of ``close`` with window ``n`` (SPEC §2, TA-Lib's convention).

    ``d_t = P_t - P_{t-1}``; the first average gain/loss is the simple mean of the first
    ``n`` gains/losses; then ``avg_t = (avg_{t-1}·(n-1) + x_t)/n``;
    ``RSI = 100 - 100/(1 + avg_gain/avg_loss)``, 100 when ``avg_loss`` is 0.

    Parameters
    ----------
    close : pd.Series
        Closes in time order. NaN entries are skipped (the RSI runs over the non-missing
        closes) and are NaN in the result.
    n : int
        Window (SPEC default 30, ``SignalParams.rsi_window``).

    Returns
    -------
    pd.Series
        Same index as ``close``; NaN for the first ``n`` closes (no full window yet).
    """
    if n < 1:
        raise ValueError(f"RSI window must be >= 1, got {n}")
    valid = close.dropna()
    p = valid.to_numpy(dtype=float)
    out = np.full(p.shape, np.nan)
    if len(p) > n:
        d = np.diff(p)
        avg_gain = _wilder_smooth(np.maximum(d, 0.0), n)
        avg_loss = _wilder_smooth(np.maximum(-d, 0.0), n)
        with np.errstate(divide="ignore", invalid="ignore"):
            rsi = 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
        out[n:] = np.where(avg_loss == 0.0, 100.0, rsi)
    return pd.Series(out, index=valid.index, name=close.name).reindex(close.index)


def macd(close: pd.Series, fast: int, slow: int, signal: int) -> pd.DataFrame:
    """MACD of SPEC §2: EMAs with ``alpha = 2/(span+1)`` started at the first close, no bias
    adjustment (``ewm(span, adjust=False)``).

    Returns
    -------
    pd.DataFrame
        Columns ``macd`` (EMA_fast − EMA_slow), ``signal`` (EMA_signal of ``macd``) and
        ``hist`` (``macd − signal``), same index as ``close``. The values exist from the
        first close (NaN closes are skipped and NaN in the result); :func:`compute_signals`
        applies the warm-up rule.
    """
    valid = close.dropna().astype(float)
    line = valid.ewm(span=fast, adjust=False).mean() - valid.ewm(span=slow, adjust=False).mean()
    sig = line.ewm(span=signal, adjust=False).mean()
    out = pd.DataFrame({"macd": line, "signal": sig, "hist": line - sig}, index=valid.index)
    return out.reindex(close.index)


def trailing_zscore(x: pd.Series, window: int) -> pd.Series:
    """z-score of each value against the ``window`` values before it (SPEC §2).

    ``z_t = (x_t − mean(x_{t−w..t−1})) / std(x_{t−w..t−1}, ddof=1)``: the window ends
    *before* the value it scores. NaN until ``window`` earlier values exist, and where the
    window's std is 0 (undefined).
    """
    if window < 2:
        raise ValueError(f"a z-score needs a window of at least 2 values, got {window}")
    prior = x.astype(float).shift(1).rolling(window, min_periods=window)
    mean = prior.mean()
    std = prior.std(ddof=1)
    z = (x - mean) / std.where(std > 0.0)
    return z.rename(x.name)


def _per_period_growth(level: pd.Series, months_per_period: int) -> pd.Series:
    """Growth per period between consecutive published periods of a monthly/quarterly
    series indexed by period-start dates; a gap of ``k`` periods is bridged geometrically,
    ``(P_t/P_prev)**(1/k) − 1``, so a missing month does not blank the whole window."""
    idx = pd.DatetimeIndex(level.index)
    month_no = idx.year.to_numpy() * 12 + idx.month.to_numpy()
    periods = np.diff(month_no, prepend=month_no[:1] if len(month_no) else month_no)
    k = periods / months_per_period
    p = level.to_numpy(dtype=float)
    ratio = np.full(p.shape, np.nan)
    if len(p) > 1:
        ratio[1:] = p[1:] / p[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(k > 0, ratio ** (1.0 / np.where(k > 0, k, 1.0)) - 1.0, np.nan)
    return pd.Series(growth, index=level.index, name=level.name)


# --------------------------------------------------------------------------- point in time


def _check_obs(obs: pd.DataFrame) -> None:
    missing = [c for c in _OBS_COLUMNS if c not in obs.columns]
    if missing:
        raise ValueError(f"observations frame lacks column(s): {', '.join(missing)}")


def _to_ns(values: Any) -> np.ndarray:
    """Dates as tz-naive ``datetime64[ns]`` at midnight."""
    idx = pd.DatetimeIndex(pd.to_datetime(values))
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    return idx.normalize().astype(_NS).to_numpy()


def point_in_time(obs: pd.DataFrame, series_id: str, as_of: object) -> pd.Series:
    """The series ``series_id`` as it was known at ``as_of``.

    Rows with ``available_at <= as_of`` only; for each observation date the latest such
    row (the newest vintage). Recorded-missing values stay NaN.

    Returns
    -------
    pd.Series
        Values indexed by observation ``date`` (ascending), named ``series_id``.
    """
    _check_obs(obs)
    cutoff = _to_ns([as_of])[0]
    rows = obs.loc[obs["series_id"] == series_id, ["date", "value", "available_at"]]
    rows = rows.assign(date=_to_ns(rows["date"]), available_at=_to_ns(rows["available_at"]))
    rows = rows[rows["available_at"] <= cutoff]
    rows = rows.sort_values(["date", "available_at"], kind="stable")
    rows = rows.drop_duplicates("date", keep="last")
    return pd.Series(
        rows["value"].to_numpy(dtype=float),
        index=pd.DatetimeIndex(rows["date"], name="date"),
        name=series_id,
    )


def _prepare(obs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split the observations by series: sorted by (date, available_at), with repeated
    identical versions of a date removed (a re-ingested unchanged value is not a revision)
    and each remaining later version flagged ``revision``."""
    _check_obs(obs)
    frame = pd.DataFrame(
        {
            "series_id": obs["series_id"].to_numpy(),
            "date": _to_ns(obs["date"]),
            "value": pd.to_numeric(obs["value"], errors="coerce").to_numpy(dtype=float),
            "available_at": _to_ns(obs["available_at"]),
        }
    )
    frame = frame.sort_values(["series_id", "date", "available_at"], kind="stable")
    same_key = (frame["series_id"] == frame["series_id"].shift()) & (
        frame["date"] == frame["date"].shift()
    )
    prev = frame["value"].shift()
    same_value = (frame["value"] == prev) | (frame["value"].isna() & prev.isna())
    frame = frame[~(same_key & same_value)]
    frame = frame.assign(
        revision=(frame["series_id"] == frame["series_id"].shift())
        & (frame["date"] == frame["date"].shift())
    )
    return {
        str(sid): g.drop(columns="series_id").reset_index(drop=True)
        for sid, g in frame.groupby("series_id", sort=False)
    }


def _pick(
    groups: dict[str, pd.DataFrame],
    series_ids: Sequence[str],
    as_of: np.ndarray,
    compute: Compute,
    columns: Sequence[str],
) -> pd.DataFrame:
    """Compute an indicator once per vintage epoch and pick its value at each ``as_of``.

    Parameters
    ----------
    groups : dict
        Output of :func:`_prepare`.
    series_ids : sequence of str
        Input series; with several, only dates where all are known are used (inner join),
        and a date is known once the last of its inputs is.
    as_of : np.ndarray
        Sorted ``datetime64[ns]`` sessions.
    compute : callable
        Maps the epoch's series (DataFrame indexed by date, one column per series id, no
        NaN) to a DataFrame with the same index and the given ``columns``.

    Returns
    -------
    pd.DataFrame
        One row per ``as_of`` (positional index): ``input_date`` (NaT when nothing is
        known yet) and ``columns`` (NaN when nothing is known yet).
    """
    n = len(as_of)
    out: dict[str, np.ndarray] = {c: np.full(n, np.nan) for c in columns}
    input_date = np.full(n, _NAT)
    frames = [groups.get(s) for s in series_ids]
    if n == 0 or any(f is None or f.empty for f in frames):
        return pd.DataFrame({"input_date": input_date, **out})

    revision_times = np.unique(
        np.concatenate([f.loc[f["revision"], "available_at"].to_numpy() for f in frames])
    )
    # epoch k covers [revision_times[k-1], revision_times[k]); epoch 0 starts at -inf
    epoch_of = np.searchsorted(revision_times, as_of, side="right")
    for k in np.unique(epoch_of):
        end = revision_times[k] if k < len(revision_times) else _END_OF_TIME
        values, known = [], []
        for sid, f in zip(series_ids, frames, strict=True):
            state = f[f["available_at"] < end].drop_duplicates("date", keep="last")
            state = state[state["value"].notna()]
            index = pd.DatetimeIndex(state["date"])
            values.append(pd.Series(state["value"].to_numpy(), index=index, name=sid))
            known.append(pd.Series(state["available_at"].to_numpy(), index=index, name=sid))
        path = pd.concat(values, axis=1, join="inner")
        if path.empty:
            continue
        known_at = pd.concat(known, axis=1, join="inner").max(axis=1).to_numpy().astype(_NS)
        # a date is usable once it and every earlier date are known: running maximum
        known_at = np.maximum.accumulate(known_at)
        result = compute(path)
        sel = np.flatnonzero(epoch_of == k)
        pos = np.searchsorted(known_at, as_of[sel], side="right") - 1
        hit = pos >= 0
        rows, at = sel[hit], pos[hit]
        input_date[rows] = path.index.to_numpy().astype(_NS)[at]
        for c in columns:
            out[c][rows] = result[c].to_numpy(dtype=float)[at]
    return pd.DataFrame({"input_date": input_date, **out})


# --------------------------------------------------------------------------- staleness


@lru_cache(maxsize=1)
def _session_array() -> np.ndarray:
    return np.asarray(sessions(CALENDAR_START, nyse().last_session).to_numpy().astype(_NS))


def _age_sessions(input_date: np.ndarray, as_of: np.ndarray) -> np.ndarray:
    """NYSE sessions after ``input_date`` up to and including ``as_of`` (NaN for NaT)."""
    s = _session_array()
    age = np.searchsorted(s, as_of, side="right") - np.searchsorted(s, input_date, side="right")
    return np.where(np.isnat(input_date), np.nan, age.astype(float))


def _age_days_after_period(
    input_date: np.ndarray, as_of: np.ndarray, period_end: pd.DateOffset
) -> np.ndarray:
    """Calendar days from the end of the observation period starting at ``input_date``."""
    end = (pd.DatetimeIndex(input_date) + period_end).astype(_NS).to_numpy()
    days = (as_of - end) / np.timedelta64(1, "D")
    return np.where(np.isnat(input_date), np.nan, days)


# --------------------------------------------------------------------------- assembling rows


def _params_json(**items: Any) -> str:
    return json.dumps(items, separators=(",", ":"))


def _finish(
    as_of: np.ndarray,
    signal: str,
    picked: pd.DataFrame,
    value: np.ndarray,
    state: np.ndarray,
    stale: np.ndarray,
    params: str | np.ndarray,
) -> pd.DataFrame:
    """One signal's rows: ``insufficient_history`` where the value is NaN, ``stale`` where
    the input is too old, the threshold state otherwise."""
    value = np.asarray(value, dtype=float)
    final = np.where(np.isnan(value), INSUFFICIENT, np.where(stale, STALE, state))
    return pd.DataFrame(
        {
            "as_of": as_of,
            "signal": signal,
            "value": value,
            "state": final.astype(object),
            "params": params,
            "input_date": picked["input_date"].to_numpy().astype(_NS),
        }
    )


def _choose(
    primary: pd.DataFrame,
    primary_stale: np.ndarray,
    fallback: pd.DataFrame,
    fallback_stale: np.ndarray,
) -> np.ndarray:
    """True where the secondary series should be used (see the module notes)."""
    has_p = primary["value"].notna().to_numpy()
    has_f = fallback["value"].notna().to_numpy()
    usable_p = has_p & ~primary_stale
    usable_f = has_f & ~fallback_stale
    in_p = primary["input_date"].to_numpy()
    in_f = fallback["input_date"].to_numpy()
    fallback_newer = has_f & (~has_p | (in_f > in_p))
    return (~usable_p & usable_f) | (~usable_p & ~usable_f & fallback_newer)


def _combine(
    use_fallback: np.ndarray, primary: pd.DataFrame, fallback: pd.DataFrame
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "input_date": np.where(
                use_fallback, fallback["input_date"].to_numpy(), primary["input_date"].to_numpy()
            ),
            "value": np.where(use_fallback, fallback["value"], primary["value"]),
        }
    )


def _value_only(fn: Callable[[pd.Series], pd.Series], sid: str) -> Compute:
    return lambda path: pd.DataFrame({"value": fn(path[sid])})


# --------------------------------------------------------------------------- signals


def _as_of_array(as_of: pd.DatetimeIndex | Sequence | object) -> np.ndarray:
    """Sorted unique ``datetime64[ns]`` sessions; a non-session ``as_of`` is an error."""
    if isinstance(as_of, str) or not isinstance(
        as_of, Sequence | np.ndarray | pd.Index | pd.Series
    ):
        as_of = [as_of]
    days = np.unique(_to_ns(as_of))
    if np.isnat(days).any():
        raise ValueError("as_of contains a missing date")
    not_sessions = days[~np.isin(days, _session_array())]
    if len(not_sessions):
        shown = ", ".join(str(d)[:10] for d in not_sessions[:5])
        raise ValueError(f"as_of must be NYSE sessions; not sessions: {shown}")
    return days


def _daily_stale(picked: pd.DataFrame, as_of: np.ndarray, p: SignalParams) -> np.ndarray:
    age = _age_sessions(picked["input_date"].to_numpy(), as_of)
    return age > p.max_age.daily_sessions


def _monthly_stale(picked: pd.DataFrame, as_of: np.ndarray, p: SignalParams) -> np.ndarray:
    age = _age_days_after_period(picked["input_date"].to_numpy(), as_of, pd.offsets.MonthEnd(0))
    return age > p.max_age.monthly_days


def _quarterly_stale(picked: pd.DataFrame, as_of: np.ndarray, p: SignalParams) -> np.ndarray:
    age = _age_days_after_period(picked["input_date"].to_numpy(), as_of, pd.offsets.QuarterEnd(0))
    return age > p.max_age.quarterly_days


def _mom_zscore(sid: str, window: int) -> Compute:
    """z-score of the latest month-over-month change vs the ``window`` changes before it."""
    return _value_only(lambda s: trailing_zscore(_per_period_growth(s, 1), window), sid)


def _fomc_window(
    groups: dict[str, pd.DataFrame], as_of: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """Sessions until the next known FOMC decision; returns (picked frame, has_future).

    Each calendar row speaks for its date from its ``available_at`` until the next version
    of the same date; a version whose value is NaN withdraws the date (a cancelled
    meeting). Dates are independent events, so unlike :func:`_pick` a newly announced date
    does not wait for earlier ones. Evaluated as an (as_of × calendar row) boolean matrix,
    in blocks to bound memory.
    """
    n = len(as_of)
    no_date = np.iinfo(np.int64).min  # the int64 of NaT: "no date" in a max
    next_i8 = np.full(n, np.iinfo(np.int64).max)
    last_i8 = np.full(n, no_date)
    f = groups.get("fomc")
    if f is not None and not f.empty:
        dates = f["date"].to_numpy().astype(_NS).view("i8")
        avail = f["available_at"].to_numpy().astype(_NS).view("i8")
        next_version = np.r_[dates[1:] == dates[:-1], False]
        until = np.where(next_version, np.r_[avail[1:], 0], np.iinfo(np.int64).max)
        decision = ~np.isnan(f["value"].to_numpy(dtype=float))
        a_all = as_of.view("i8")
        block = 2048
        for start in range(0, n, block):
            a = a_all[start : start + block, None]
            live = (avail <= a) & (a < until) & decision
            next_i8[start : start + block] = np.where(
                live & (dates >= a), dates, np.iinfo(np.int64).max
            ).min(axis=1)
            last_i8[start : start + block] = np.where(live & (dates < a), dates, no_date).max(
                axis=1
            )
    has_future = next_i8 != np.iinfo(np.int64).max
    next_date = np.where(has_future, next_i8, no_date).view(_NS)
    s = _session_array()
    # searchsorted "left" maps a non-session decision date to the next session
    count = np.searchsorted(s, next_date, side="left") - np.searchsorted(s, as_of, side="left")
    value = np.where(has_future, count.astype(float), np.nan)
    input_date = np.where(has_future, next_date, last_i8.view(_NS))
    return pd.DataFrame({"input_date": input_date, "value": value}), has_future


def _risk_state(as_of: np.ndarray, rows: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """SPEC §2 composite: ``risk_off`` when any rule fires. Stale or insufficient inputs
    carry states that match no rule, so they fire nothing; params names them."""
    vix = rows["vix_regime"]["state"].to_numpy()
    ts = rows["term_structure"]["state"].to_numpy()
    mac = rows["macd_spx"]["state"].to_numpy()
    rsi = rows["rsi_spx"]["state"].to_numpy()
    fired = np.column_stack(
        [
            np.isin(vix, ["stressed", "crisis"]),
            ts == "backwardation",
            np.isin(mac, ["bearish", "bearish_cross"]) & (rsi == "oversold"),
        ]
    )
    inputs = ("vix_regime", "term_structure", "macd_spx", "rsi_spx")
    inactive = {
        kind: np.column_stack([rows[s]["state"].to_numpy() == flag for s in inputs])
        for kind, flag in (("stale", STALE), ("insufficient", INSUFFICIENT))
    }
    # few distinct combinations: encode each row's flags as bits, write JSON once per combination
    flags = np.column_stack([fired, inactive["stale"], inactive["insufficient"]])
    codes, inverse = np.unique(flags, axis=0, return_inverse=True)
    texts = [
        _params_json(
            rules=[r for r, on in zip(RISK_RULES, c[:3], strict=True) if on],
            stale=[s for s, on in zip(inputs, c[3:7], strict=True) if on],
            insufficient=[s for s, on in zip(inputs, c[7:], strict=True) if on],
        )
        for c in codes
    ]
    n_fired = fired.sum(axis=1).astype(float)
    newest = np.column_stack([rows[s]["input_date"].to_numpy().view("i8") for s in inputs])
    return pd.DataFrame(
        {
            "as_of": as_of,
            "signal": "risk_state",
            "value": n_fired,
            "state": np.where(n_fired > 0, "risk_off", "risk_on").astype(object),
            "params": np.asarray(texts, dtype=object)[inverse.ravel()],
            # NaT is int64's minimum, so the max ignores unknown input dates
            "input_date": newest.max(axis=1).view(_NS),
        }
    )


def compute_signals(
    obs: pd.DataFrame, as_of: pd.DatetimeIndex | Sequence, params: SignalParams
) -> pd.DataFrame:
    """Signal states of SPEC §2 for every ``as_of`` session, point-in-time.

    Parameters
    ----------
    obs : pd.DataFrame
        Long observations frame (docs/contracts.md): ``series_id, date, value,
        available_at`` (``source`` and other columns are ignored). Series read: ``spx``,
        ``vix``, ``vix3m``, ``usd`` (fallback ``usd_real``), ``ppi`` (fallback ``ppi_all``),
        ``cpi``, ``gdp_real``, ``fomc``.
    as_of : DatetimeIndex or sequence of dates
        NYSE sessions: one (daily flow) or thousands (backfill). Duplicates are dropped.
    params : SignalParams
        Windows, thresholds and maximum ages.

    Returns
    -------
    pd.DataFrame
        Columns ``as_of, signal, value, state, params, input_date``; one row per
        (``as_of``, ``signal``), sorted by ``as_of`` then :data:`SIGNALS` order. The
        conventions are in the module docstring.

    Raises
    ------
    ValueError
        If ``obs`` lacks a column or an ``as_of`` is not an NYSE session.
    """
    p = params
    days = _as_of_array(as_of)
    groups = _prepare(obs)
    rows: dict[str, pd.DataFrame] = {}

    # rsi_spx
    picked = _pick(
        groups, ["spx"], days, _value_only(lambda s: wilder_rsi(s, p.rsi_window), "spx"), ["value"]
    )
    v = picked["value"].to_numpy()
    rows["rsi_spx"] = _finish(
        days,
        "rsi_spx",
        picked,
        v,
        np.select(
            [v >= p.rsi_overbought, v <= p.rsi_oversold], ["overbought", "oversold"], "neutral"
        ),
        _daily_stale(picked, days, p),
        _params_json(
            n=p.rsi_window, overbought=p.rsi_overbought, oversold=p.rsi_oversold, series="spx"
        ),
    )

    # macd_spx: the histogram, with the previous session's histogram to detect a sign change
    warmup = p.macd_slow + p.macd_signal - 1

    def _macd_compute(path: pd.DataFrame) -> pd.DataFrame:
        hist = macd(path["spx"], p.macd_fast, p.macd_slow, p.macd_signal)["hist"]
        enough = np.arange(len(hist)) >= warmup - 1
        return pd.DataFrame({"value": hist.where(enough), "prev": hist.shift(1)})

    picked = _pick(groups, ["spx"], days, _macd_compute, ["value", "prev"])
    h, prev = picked["value"].to_numpy(), picked["prev"].to_numpy()
    rows["macd_spx"] = _finish(
        days,
        "macd_spx",
        picked,
        h,
        np.select(
            [(h > 0) & (prev <= 0), (h <= 0) & (prev > 0), h > 0],
            ["bullish_cross", "bearish_cross", "bullish"],
            "bearish",
        ),
        _daily_stale(picked, days, p),
        _params_json(fast=p.macd_fast, slow=p.macd_slow, signal=p.macd_signal, series="spx"),
    )

    # vix_regime
    picked = _pick(groups, ["vix"], days, _value_only(lambda s: s, "vix"), ["value"])
    v = picked["value"].to_numpy()
    rows["vix_regime"] = _finish(
        days,
        "vix_regime",
        picked,
        v,
        np.select(
            [v < p.vix_calm, v < p.vix_normal, v < p.vix_stressed],
            ["calm", "normal", "stressed"],
            "crisis",
        ),
        _daily_stale(picked, days, p),
        _params_json(calm=p.vix_calm, normal=p.vix_normal, stressed=p.vix_stressed, series="vix"),
    )

    # term_structure: VIX / VIX3M on the same session
    picked = _pick(
        groups,
        ["vix", "vix3m"],
        days,
        lambda path: pd.DataFrame({"value": path["vix"] / path["vix3m"]}),
        ["value"],
    )
    v = picked["value"].to_numpy()
    rows["term_structure"] = _finish(
        days,
        "term_structure",
        picked,
        v,
        np.select([v < p.ts_contango, v < p.ts_flat], ["contango", "flat"], "backwardation"),
        _daily_stale(picked, days, p),
        _params_json(contango=p.ts_contango, flat=p.ts_flat, series="vix/vix3m"),
    )

    # usd_strength: daily `usd` when fresh, else monthly `usd_real`
    daily = _pick(
        groups,
        ["usd"],
        days,
        _value_only(lambda s: trailing_zscore(s, p.usd_window_sessions), "usd"),
        ["value"],
    )
    monthly = _pick(
        groups,
        ["usd_real"],
        days,
        _value_only(lambda s: trailing_zscore(s, p.usd_window_months), "usd_real"),
        ["value"],
    )
    daily_stale, monthly_stale = _daily_stale(daily, days, p), _monthly_stale(monthly, days, p)
    use_real = _choose(daily, daily_stale, monthly, monthly_stale)
    picked = _combine(use_real, daily, monthly)
    v = picked["value"].to_numpy()
    usd_params = {
        "strong": p.usd_strong,
        "weak": p.usd_weak,
    }
    rows["usd_strength"] = _finish(
        days,
        "usd_strength",
        picked,
        v,
        np.select([v >= p.usd_strong, v <= p.usd_weak], ["strong", "weak"], "neutral"),
        np.where(use_real, monthly_stale, daily_stale),
        np.where(
            use_real,
            _params_json(window=p.usd_window_months, **usd_params, series="usd_real"),
            _params_json(window=p.usd_window_sessions, **usd_params, series="usd"),
        ).astype(object),
    )

    # ppi_surprise: `ppi` (PPIFIS) when fresh, else `ppi_all` (PPIACO)
    primary = _pick(groups, ["ppi"], days, _mom_zscore("ppi", p.ppi_window_months), ["value"])
    fallback = _pick(
        groups, ["ppi_all"], days, _mom_zscore("ppi_all", p.ppi_window_months), ["value"]
    )
    primary_stale, fallback_stale = (
        _monthly_stale(primary, days, p),
        _monthly_stale(fallback, days, p),
    )
    use_all = _choose(primary, primary_stale, fallback, fallback_stale)
    picked = _combine(use_all, primary, fallback)
    v = picked["value"].to_numpy()
    ppi_params = {"window": p.ppi_window_months, "hot": p.ppi_hot, "cool": p.ppi_cool}
    rows["ppi_surprise"] = _finish(
        days,
        "ppi_surprise",
        picked,
        v,
        np.select([v >= p.ppi_hot, v <= p.ppi_cool], ["hot", "cool"], "inline"),
        np.where(use_all, fallback_stale, primary_stale),
        np.where(
            use_all,
            _params_json(**ppi_params, series="ppi_all"),
            _params_json(**ppi_params, series="ppi"),
        ).astype(object),
    )

    # cpi_shock
    picked = _pick(groups, ["cpi"], days, _mom_zscore("cpi", p.cpi_window_months), ["value"])
    v = picked["value"].to_numpy()
    rows["cpi_shock"] = _finish(
        days,
        "cpi_shock",
        picked,
        v,
        np.where(v >= p.cpi_shock, "shock", "normal"),
        _monthly_stale(picked, days, p),
        _params_json(window=p.cpi_window_months, shock=p.cpi_shock, series="cpi"),
    )

    # gdp_trend: quarter-over-quarter growth, annualised
    picked = _pick(
        groups,
        ["gdp_real"],
        days,
        _value_only(lambda s: (1.0 + _per_period_growth(s, 3)) ** 4 - 1.0, "gdp_real"),
        ["value"],
    )
    v = picked["value"].to_numpy()
    rows["gdp_trend"] = _finish(
        days,
        "gdp_trend",
        picked,
        v,
        np.select([v < 0.0, v < p.gdp_slow], ["contraction", "slow"], "expansion"),
        _quarterly_stale(picked, days, p),
        _params_json(slow=p.gdp_slow, series="gdp_real"),
    )

    # fomc_window
    picked, has_future = _fomc_window(groups, days)
    v = picked["value"].to_numpy()
    frame = _finish(
        days,
        "fomc_window",
        picked,
        v,
        np.where(v <= p.fomc_event_sessions, "event", "clear"),
        ~has_future,
        _params_json(event=p.fomc_event_sessions, series="fomc"),
    )
    # no known future decision is `stale` (SPEC), not a short history
    frame.loc[~has_future, "state"] = STALE
    rows["fomc_window"] = frame

    rows["risk_state"] = _risk_state(days, rows)

    out = pd.concat([rows[s] for s in SIGNALS], ignore_index=True)
    out = out.sort_values("as_of", kind="stable", ignore_index=True)
    return out[list(OUTPUT_COLUMNS)]
