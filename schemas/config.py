"""Configuration models: the single source of every SPEC default.

Every number the SPEC calls a *default* lives here exactly once. Code in
``tasks/`` receives these models (or plain values taken from them) as
arguments and never hard-codes a default of its own. A portfolio file (TOML)
is validated into :class:`PortfolioFile`; its ``overrides`` tables are
deep-merged over the profile preset, so any value stays overridable.
"""

from __future__ import annotations

import json
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Strict(BaseModel):
    """Unknown keys are errors: a typo in a config file must not be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- data


class ReleaseLags(_Strict):
    """Conservative release lags (calendar days after the period's end), SPEC §1.2."""

    cpi: int = Field(20, ge=0, le=366)
    ppi: int = Field(20, ge=0, le=366)
    gdp_real: int = Field(30, ge=0, le=366)
    usd_monthly: int = Field(45, ge=0, le=366)
    # NYSE sessions (not calendar days) the 3-month T-bill print is carried forward in the
    # market frame: over its next-session publication lag and the odd missing print
    rate_carry_sessions: int = 5
    # DTWEXBGS: daily values the Fed's H.10 publishes weekly; an upper bound on the delay
    weekly_publication_days: int = 7


class IngestLimits(_Strict):
    """When a fetched source as a whole is refused (issue 12, items 4 and 5).

    A fetch fails when more than ``max_quarantined_fraction`` of its rows, or more than
    ``max_quarantined_rows`` rows, are quarantined: a flood of junk must never complete a
    run nor bloat the warehouse. A daily source is stale when its newest row is more than
    ``stale_sessions`` sessions older than the newest of its peers.
    """

    max_quarantined_fraction: float = Field(0.01, ge=0.0, le=1.0)
    max_quarantined_rows: int = Field(100, ge=0)
    stale_sessions: int = Field(5, ge=0)


class MaxAge(_Strict):
    """Maximum age of a signal's newest input before the signal is `stale`, SPEC §2."""

    daily_sessions: int = Field(5, ge=1)
    monthly_days: int = Field(75, ge=1)
    quarterly_days: int = Field(150, ge=1)


class SourceUrls(BaseSettings):
    """Base URLs, timeouts and retries of the live sources.

    Each field can be set from the environment with the ``CONDORCAP_`` prefix, e.g.
    ``CONDORCAP_FRED_API=http://127.0.0.1:8080/fred`` (tests point them at a loopback
    server replaying recorded payloads).
    """

    model_config = SettingsConfigDict(env_prefix="CONDORCAP_", extra="forbid", frozen=True)

    cboe_index: str = "https://cdn.cboe.com/api/global/us_indices/daily_prices"
    fred_api: str = "https://api.stlouisfed.org/fred"
    fred_graph: str = "https://fred.stlouisfed.org/graph/fredgraph.csv"
    user_agent: str = "condorcap/0.1 (+https://github.com/condorcap/condorcap)"
    connect_timeout: float = Field(3.05, gt=0)
    read_timeout: float = Field(20.0, gt=0)
    retries: int = Field(5, ge=0, le=20)
    backoff_factor: float = Field(0.2, ge=0)
    # with a FRED API key: ask ALFRED for every vintage, so available_at is the real
    # publication date (realtime_start) instead of the conservative release lag
    fred_vintages: bool = False


# --------------------------------------------------------------------------- signals


class SignalParams(_Strict):
    """Thresholds and windows of SPEC §2."""

    rsi_window: int = Field(30, ge=2)
    rsi_overbought: float = Field(70.0, gt=0, lt=100)
    rsi_oversold: float = Field(30.0, gt=0, lt=100)
    macd_fast: int = Field(12, ge=1)
    macd_slow: int = Field(26, ge=2)
    macd_signal: int = Field(9, ge=1)
    vix_calm: float = Field(15.0, gt=0)
    vix_normal: float = Field(25.0, gt=0)
    vix_stressed: float = Field(35.0, gt=0)
    ts_contango: float = Field(0.95, gt=0)
    ts_flat: float = Field(1.0, gt=0)
    usd_window_sessions: int = Field(252, ge=2)
    usd_window_months: int = Field(12, ge=2)
    usd_strong: float = 1.0
    usd_weak: float = -1.0
    ppi_window_months: int = Field(12, ge=2)
    ppi_hot: float = 1.0
    ppi_cool: float = -1.0
    cpi_window_months: int = Field(12, ge=2)
    cpi_shock: float = 2.0
    gdp_slow: float = Field(0.015, gt=-1, lt=1)
    fomc_event_sessions: int = Field(2, ge=0)
    max_age: MaxAge = MaxAge()


# --------------------------------------------------------------------------- pricing


class PricingParams(_Strict):
    """SPEC §3."""

    div_yield: float = Field(0.013, ge=0, lt=1)
    atm_ratio: float = Field(0.85, gt=0, le=2)
    put_slope: float = Field(0.03, ge=0, lt=1)
    call_slope: float = Field(0.025, ge=0, lt=1)
    vol_floor: float = Field(0.05, gt=0, lt=5)
    convexity_vol: float = Field(0.5, gt=0, lt=5)
    # κ of the log VIX in the VIX futures' convexity haircut (docs/method-notes.md §12): its
    # variance saturates at σ_c²/(2κ); 3.9/yr is the AR(1) of daily log VIX closes 1990–2013
    # (φ = 0.98456 per session); 0 gives SPEC §3.2's σ_c²·T
    convexity_mean_reversion: float = Field(3.9, ge=0, lt=100)
    vol_of_vol_default: float = Field(0.90, gt=0, lt=10)
    spx_strike_step: float = Field(5.0, gt=0)
    vix_strike_step: float = Field(1.0, gt=0)
    chain_match_days: int = Field(7, ge=0)
    vix_term_expiries: int = Field(8, ge=1, le=24)
    # the skew slopes move with the VIX level (SPEC §12 calibration, docs/method-notes.md
    # "Model calibration"): slope = base + per_vix·(VIX − skew_vix_ref)/100, fitted on the
    # CNDR months expiring 1990–2012 only
    skew_vix_ref: float = Field(20.0, gt=0)
    put_slope_per_vix: float = Field(0.15, ge=-1, le=1)
    call_slope_per_vix: float = Field(0.10, ge=-1, le=1)
    # a stale VIX6M (SPEC §3.1 uses it only when fresh) is replaced by VIX3M times the last
    # VIX6M/VIX3M ratio seen, decayed toward its long-run level (docs/method-notes.md §3):
    # the 2008–2015 mean ratio, and a half-life in sessions
    vix6m_ratio_long_run: float = Field(1.085, gt=0.5, lt=2)
    vix6m_ratio_half_life: float = Field(63.0, gt=0)


# --------------------------------------------------------------------------- structures


class LadderParams(_Strict):
    """Iron condor ladder, SPEC §4."""

    short_delta: float = Field(0.16, gt=0, lt=0.5)  # a short strike out of the money
    wing_width: float = Field(50.0, gt=0, le=1000)  # index points between short and long strike
    n_tranches: int = Field(4, ge=3, le=5)
    target_dtes: tuple[int, ...] = (28, 35, 42, 49)

    @model_validator(mode="after")
    def _dtes_match(self) -> LadderParams:
        if len(self.target_dtes) < self.n_tranches:
            raise ValueError(
                f"target_dtes has {len(self.target_dtes)} entries but n_tranches is {self.n_tranches}"
            )
        return self


class HedgeParams(_Strict):
    """ALVH hedge unit, SPEC §4 and §7 step 5."""

    kind: Literal["vix_call", "vix_call_spread", "vix_call_calendar"] = "vix_call"
    tenor_days: int = Field(90, ge=1, le=400)
    short_tenor_days: int = Field(30, ge=1, le=400)
    moneyness: float = Field(1.25, gt=0, le=10)
    # VIX points between the long and short call of a spread
    spread_width: float = Field(10.0, gt=0)
    beta_band_low: float = Field(0.2, ge=-5, le=5)  # a portfolio beta band: may be below 0
    beta_band_high: float = Field(0.6, ge=-5, le=5)
    phi: float = Field(1.0, ge=0)
    macro_scale: float = Field(0.25, ge=0, le=1)
    premium_cap_monthly: float = Field(0.01, ge=0, le=1)


# --------------------------------------------------------------------------- risk / capital


class RiskParams(_Strict):
    """SPEC §5 and §6."""

    beta_window: int = Field(252, ge=20)
    mrp: float = Field(0.055, ge=0, lt=1)
    box_spread: float = Field(0.0030, ge=0, lt=1)
    t_ord: float = Field(0.37, ge=0, lt=1)
    t_ltcg: float = Field(0.20, ge=0, lt=1)
    r_sweep: float = Field(0.005, ge=0, lt=1)
    irr_window: int = Field(252, ge=1)
    hurdle_bps: float = Field(400.0, ge=0, le=10_000)
    # fewest valid return pairs for a rolling beta: max(floor, window // divisor), 63 for the
    # 252-session window (the SPEC is silent; a quarter of the window, at least 3)
    beta_min_obs_floor: int = Field(3, ge=2)
    beta_min_obs_divisor: int = Field(4, ge=1)
    box_target_days: int = 30  # tenor of the box rate read from a chain (~1 month financing)
    # SPEC §6 p_hurdle: stationary block bootstrap of the sleeve's daily return on capital
    hurdle_rule: Literal["trailing", "bootstrap"] = "trailing"
    p_hurdle_block: float = Field(21.0, ge=1)  # mean block length, sessions
    p_hurdle_resamples: int = Field(2000, ge=100)
    p_hurdle_max_years: int = Field(10, ge=1)  # longest history resampled
    p_hurdle_seed: int = 20_250_106  # fixed: the same history gives the same p_hurdle
    # hurdle_rule = bootstrap: below the hurdle when p_hurdle is under this (SPEC silent:
    # "more likely than not to clear WACC + hurdle", docs/method-notes.md)
    p_hurdle_min: float = Field(0.5, gt=0, lt=1)


class Scenario(_Strict):
    """A stress scenario: SPX return, VIX multiplier (new VIX = vix_mult × VIX), rate shift."""

    spx_return: float = Field(gt=-1, le=10)  # an index cannot lose more than all of itself
    vix_mult: float = Field(gt=0, le=20)
    rate_shift: float = Field(0.0, ge=-0.2, le=0.2)


def _default_scenarios() -> dict[str, Scenario]:
    return {
        "crash": Scenario(spx_return=-0.20, vix_mult=3.0),
        "correction": Scenario(spx_return=-0.10, vix_mult=2.0),
        # "VIX +80%" is a multiplier of 1.8; rates +50 bp
        "cpi_shock": Scenario(spx_return=-0.07, vix_mult=1.8, rate_shift=0.005),
        "vol_spike": Scenario(spx_return=0.0, vix_mult=1.5),
        "rally": Scenario(spx_return=0.08, vix_mult=0.7),
    }


# --------------------------------------------------------------------------- sizing


class SizingParams(_Strict):
    """SPEC §7 (values shown are the steward preset)."""

    risk_off_delta_mult: float = Field(0.75, gt=0, le=1)
    macro_tighten_delta: float = Field(0.02, ge=0, lt=0.5)
    net_delta_tolerance: float = Field(0.02, ge=0, le=1)
    wacc_high: float = Field(0.07, gt=0, lt=1)
    # SPEC §7 step 2 (revised): the cap tightens when capital is dear (WACC > wacc_high);
    # max loss of a tranche as a share of equity
    cap_base: float = Field(0.06, gt=0, le=1)
    cap_when_wacc_high: float = Field(0.04, gt=0, le=1)
    hist_window: int = Field(252, ge=2)
    target_vol: float = Field(0.005, gt=0, le=1)
    hurdle_mult: float = Field(0.25, ge=0, le=1)
    fomc_mult: float = Field(0.75, ge=0, le=1)
    risk_off_mult: float = Field(0.5, ge=0, le=1)
    max_drawdown: float = Field(0.10, gt=0, le=1)
    quick_ratio_min: float = Field(1.5, ge=0)
    scenarios: dict[str, Scenario] = Field(default_factory=_default_scenarios)
    max_passes: int = 3  # passes of the WACC ↔ post-hedge β fixed point (tasks.sizing notes)


class HistoryParams(_Strict):
    """The modelled ladder of SPEC §8."""

    profit_target: float = Field(0.50, gt=0, le=1)
    stop_loss_mult: float = Field(2.0, gt=0)
    exit_dte: int = Field(7, ge=0)
    commission_per_leg: float = Field(0.65, ge=0)
    slippage_per_leg: float = Field(0.05, ge=0)
    # sessions of capital at risk averaged as strategy_return's base (one trading month)
    return_base_sessions: int = Field(21, ge=1)


class ValidationParams(_Strict):
    """SPEC §12: the CNDR replication's rules and the calibration candidates it can test.

    The calibration fields here are *candidate* terms on top of the surface the whole
    project uses (``PricingParams``, whose VIX-dependent slopes are the calibrated ones); they
    default to 0 (no extra term, no entry costs); see docs/method-notes.md for their fit.
    """

    short_delta: float = 0.20
    wing_delta: float = 0.05
    skew_vix_ref: float = 20.0  # VIX level at which the skew slopes equal put/call_slope
    put_slope_per_vix: float = 0.0  # change in put_slope per 100 VIX points above the ref
    call_slope_per_vix: float = 0.0
    cost_min_per_leg: float = 0.0  # points per option on each opening trade (half-spread floor)
    cost_frac_per_leg: float = 0.0  # ... or this fraction of the option's price, if larger
    skew_index_ref: float = 120.0  # CBOE SKEW level at which put_slope applies unchanged
    put_slope_per_skew: float = 0.0  # change in put_slope per 100 SKEW points above the ref
    atm_ratio_per_vix: float = 0.0  # change in atm_ratio per 100 VIX points above the ref
    atm_ratio_per_skew: float = 0.0  # change in atm_ratio per 100 SKEW points above the ref
    # the daily model-health line (SPEC §12): trailing window and the bar it is held to
    health_years: int = Field(3, ge=1)
    health_min_months: int = Field(12, ge=3)  # fewer months with both series: no line
    min_corr: float = 0.90
    max_sharpe_gap: float = 0.15


class BookParams(_Strict):
    """The book's trading rules, SPEC §8 and §10 (exits, hedge lifecycle)."""

    profit_target: float = 0.50  # close when the cost to close ≤ (1 − 0.50) × entry credit
    stop_loss_mult: float = 2.0  # close when the loss (cost to close − credit) ≥ 2 × credit
    exit_dte: int = 7  # close a condor with this many calendar days or fewer left
    hedge_roll_days: int = 30  # roll a hedge unit with this many days or fewer on its long leg
    monetise_vix: float = 50.0  # VIX close at or above which every hedge unit is sold
    rebuy_vix: float = 30.0  # after monetising, buy no hedge until VIX closes below this
    hedge_dead_band: int = 1  # ignore a hedge shortfall/excess of this many units or fewer
    warm_start_sessions: int = Field(252, ge=1)  # a first run replays the trailing IRR window
    # SPEC §11 hedge policy: alvh (§7 step 5), vxth (Cboe VXTH by VIX level) or none
    hedge_policy: Literal["alvh", "vxth", "none"] = "alvh"
    vxth_tenor_days: int = Field(30, ge=1, le=400)  # VXTH buys ~1-month VIX calls
    vxth_delta: float = Field(0.30, gt=0, lt=1)  # ... struck near 30 delta
    vxth_roll_days: int = Field(5, ge=0)  # ... and holds them to about a week before expiry
    vxth_rebalance_band: float = Field(0.25, ge=0)  # hold the units while the target is within ±25%


class Params(_Strict):
    """Every method parameter, grouped by concern."""

    release_lags: ReleaseLags = ReleaseLags()
    signals: SignalParams = SignalParams()
    pricing: PricingParams = PricingParams()
    ladder: LadderParams = LadderParams()
    hedge: HedgeParams = HedgeParams()
    risk: RiskParams = RiskParams()
    sizing: SizingParams = SizingParams()
    history: HistoryParams = HistoryParams()
    ingest: IngestLimits = IngestLimits()
    validation: ValidationParams = ValidationParams()
    book: BookParams = BookParams()


Profile = Literal["steward", "promoter"]

# parameter groups the daily run computes once for all portfolios (so not overridable per one;
# a portfolio file sets them in its [method] table, see MethodParams)
RUN_WIDE_GROUPS = ("release_lags", "signals", "history", "ingest")
RUN_WIDE_RISK_KEYS = ("beta_window", "beta_min_obs_floor", "beta_min_obs_divisor")


class RunWideRisk(_Strict):
    """The run-wide part of :class:`RiskParams` (same default and bounds as there)."""

    beta_window: int = Field(252, ge=20)
    beta_min_obs_floor: int = Field(3, ge=2)
    beta_min_obs_divisor: int = Field(4, ge=1)


class MethodParams(_Strict):
    """A portfolio file's ``[method]`` table: the run-wide parameters.

    Signals, the point-in-time data, the modelled ladder and its betas are computed once
    per run for every portfolio, so their parameters belong to the file, not to one
    portfolio. Unset groups and keys keep the defaults above.
    """

    release_lags: ReleaseLags = ReleaseLags()
    signals: SignalParams = SignalParams()
    history: HistoryParams = HistoryParams()
    ingest: IngestLimits = IngestLimits()
    risk: RunWideRisk = RunWideRisk()

    def params(self) -> Params:
        """The run-wide :class:`Params`: these groups set, every other group at its default."""
        return Params(
            release_lags=self.release_lags,
            signals=self.signals,
            history=self.history,
            ingest=self.ingest,
            risk=RiskParams(**self.risk.model_dump()),
        )


# Profile presets: only what differs from the steward defaults above.
PROFILE_PRESETS: dict[str, dict[str, Any]] = {
    "steward": {},
    "promoter": {
        "risk": {"hurdle_bps": 600.0},
        "sizing": {
            "cap_base": 0.10,
            "cap_when_wacc_high": 0.06,
            "target_vol": 0.01,
            "hurdle_mult": 0.5,
            "max_drawdown": 0.20,
            "quick_ratio_min": 1.0,
        },
        "hedge": {"macro_scale": 0.15},
    },
}


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``over`` merged in, recursively for nested tables."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def params_for(profile: Profile, overrides: dict[str, Any] | None = None) -> Params:
    """The parameters of a profile, with a portfolio's overrides applied on top.

    Memoised on the profile and the overrides' JSON (``Params`` is frozen): a backtest reads
    ``portfolio.params`` at every sizing, and validating the merged presets each time was
    ~2 % of its loop.
    """
    try:
        key = json.dumps(overrides or {}, sort_keys=True)
    except TypeError:  # an override that is not JSON: validated every time
        return Params.model_validate(deep_merge(PROFILE_PRESETS[profile], overrides or {}))
    return _params_of(profile, key)


@lru_cache(maxsize=1024)
def _params_of(profile: Profile, overrides_json: str) -> Params:
    return Params.model_validate(deep_merge(PROFILE_PRESETS[profile], json.loads(overrides_json)))


# --------------------------------------------------------------------------- portfolio file


class Holding(_Strict):
    """A non-option holding: its market value and its beta to SPX."""

    name: str
    value: float
    beta: float


class Position(_Strict):
    """An existing option leg (replaces the modelled ladder when given)."""

    position_id: str
    kind: Literal["condor", "hedge"]
    underlying: Literal["SPX", "VIX"]
    expiry: str
    put_call: Literal["P", "C"]
    strike: float = Field(gt=0)
    qty: int


class Portfolio(_Strict):
    portfolio_id: str
    profile: Profile = "steward"
    equity: float = Field(gt=0)
    cash: float = Field(0.0, ge=0)
    tbills: float = Field(0.0, ge=0)
    idle_collateral: float = Field(0.0, ge=0)
    margin_debt: float = Field(0.0, ge=0)
    margin_rate: float = Field(0.08, ge=0, le=0.5)
    box_debt: float = Field(0.0, ge=0)
    holdings: list[Holding] = Field(default_factory=list)
    positions: list[Position] = Field(default_factory=list)
    fills_file: str | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    # the broker's positions after a close (CSV, tasks/book/reconcile.py); wins over the book
    positions_file: str | None = None

    @field_validator("portfolio_id")
    @classmethod
    def _id_ok(cls, v: str) -> str:
        if not v or not v.replace("_", "").replace("-", "").isalnum():
            raise ValueError("portfolio_id must be letters, digits, '-' or '_'")
        return v

    @field_validator("overrides")
    @classmethod
    def _overrides_valid(cls, overrides: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        # these are computed once per day for every portfolio (signals, the point-in-time
        # data, the modelled ladder and its betas): a per-portfolio value would be ignored
        run_wide = [g for g in RUN_WIDE_GROUPS if g in overrides]
        risk = overrides.get("risk", {})
        run_wide += [
            f"risk.{k}" for k in RUN_WIDE_RISK_KEYS if isinstance(risk, dict) and k in risk
        ]
        if run_wide:
            raise ValueError(
                f"overrides of {', '.join(run_wide)} are run-wide, not per portfolio: "
                "set them in the file's [method] table instead"
            )
        # validate now so a bad override names its key (under `overrides`) when the file
        # is loaded; a bad profile is reported on its own field
        if "profile" in info.data:
            Params.model_validate(deep_merge(PROFILE_PRESETS[info.data["profile"]], overrides))
        return overrides

    @property
    def params(self) -> Params:
        return params_for(self.profile, self.overrides)


class PortfolioFile(_Strict):
    portfolios: list[Portfolio] = Field(min_length=1)
    method: MethodParams = MethodParams()

    @property
    def run_params(self) -> Params:
        """The run-wide parameters (``Params()`` when the file has no ``[method]`` table)."""
        return self.method.params()

    @model_validator(mode="after")
    def _unique_ids(self) -> PortfolioFile:
        ids = [p.portfolio_id for p in self.portfolios]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate portfolio_id: {', '.join(dupes)}")
        return self


class ConfigError(ValueError):
    """A configuration file that cannot be used: one line per problem, each naming file and key."""


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from exc


def _key(loc: tuple[int | str, ...], raw: dict[str, Any]) -> str:
    """A TOML-style key for a pydantic error location: ``portfolios[1].overrides.ladder``.

    A list index is shown with its ``portfolio_id`` when there is one, so the user finds
    the table without counting.
    """
    out = ""
    node: Any = raw
    for part in loc:
        if isinstance(part, int):
            pid = node[part].get("portfolio_id") if isinstance(node, list) else None
            out += f"[{part}]" + (f" ({pid})" if isinstance(pid, str) else "")
        else:
            out += ("." if out else "") + str(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return out


def _problem(err: Any, raw: dict[str, Any]) -> str:
    loc = tuple(err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif "input" in err and not isinstance(err["input"], dict | list):
        msg += f" (got {err['input']!r})"
    return f"{_key(loc, raw)}: {msg}" if loc else msg


def load_portfolios(path: str | Path) -> PortfolioFile:
    """Read and validate a portfolio TOML file.

    Raises
    ------
    ConfigError
        One line per problem, each starting with the file name and naming the key
        (``p.toml: portfolios[0] (a).overrides.ladder.wing_width: Input should be
        greater than 0 (got -50)``); a file that is missing, not UTF-8 or not TOML says so.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: portfolio file not found") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path}: is a directory, not a portfolio file") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        raw = tomllib.loads(_decode(path, data))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return PortfolioFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("\n".join(f"{path}: {_problem(e, raw)}" for e in exc.errors())) from exc
