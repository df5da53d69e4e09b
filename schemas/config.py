"""Configuration models: the single source of every SPEC default.

Every number the SPEC calls a *default* lives here exactly once. Code in
``tasks/`` receives these models (or plain values taken from them) as
arguments and never hard-codes a default of its own. A portfolio file (TOML)
is validated into :class:`PortfolioFile`; its ``overrides`` tables are
deep-merged over the profile preset, so any value stays overridable.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Strict(BaseModel):
    """Unknown keys are errors: a typo in a config file must not be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- data


class ReleaseLags(_Strict):
    """Conservative release lags (calendar days after the period's end), SPEC §1.2."""

    cpi: int = 20
    ppi: int = 20
    gdp_real: int = 30
    usd_monthly: int = 45
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

    daily_sessions: int = 5
    monthly_days: int = 75
    quarterly_days: int = 150


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
    connect_timeout: float = 3.05
    read_timeout: float = 20.0
    retries: int = 5
    backoff_factor: float = 0.2
    # with a FRED API key: ask ALFRED for every vintage, so available_at is the real
    # publication date (realtime_start) instead of the conservative release lag
    fred_vintages: bool = False


# --------------------------------------------------------------------------- signals


class SignalParams(_Strict):
    """Thresholds and windows of SPEC §2."""

    rsi_window: int = 30
    rsi_overbought: float = 70.0
    rsi_oversold: float = 30.0
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    vix_calm: float = 15.0
    vix_normal: float = 25.0
    vix_stressed: float = 35.0
    ts_contango: float = 0.95
    ts_flat: float = 1.0
    usd_window_sessions: int = 252
    usd_window_months: int = 12
    usd_strong: float = 1.0
    usd_weak: float = -1.0
    ppi_window_months: int = 12
    ppi_hot: float = 1.0
    ppi_cool: float = -1.0
    cpi_window_months: int = 12
    cpi_shock: float = 2.0
    gdp_slow: float = 0.015
    fomc_event_sessions: int = 2
    max_age: MaxAge = MaxAge()


# --------------------------------------------------------------------------- pricing


class PricingParams(_Strict):
    """SPEC §3."""

    div_yield: float = 0.013
    atm_ratio: float = 0.85
    put_slope: float = 0.03
    call_slope: float = 0.025
    vol_floor: float = 0.05
    convexity_vol: float = 0.5
    vol_of_vol_default: float = 0.90
    spx_strike_step: float = 5.0
    vix_strike_step: float = 1.0
    chain_match_days: int = 7
    vix_term_expiries: int = 8


# --------------------------------------------------------------------------- structures


class LadderParams(_Strict):
    """Iron condor ladder, SPEC §4."""

    short_delta: float = 0.16
    wing_width: float = 50.0
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
    tenor_days: int = 90
    short_tenor_days: int = 30
    moneyness: float = 1.25
    spread_width: float = 10.0  # VIX points between the long and short call of a spread
    beta_band_low: float = 0.2
    beta_band_high: float = 0.6
    phi: float = 1.0
    macro_scale: float = 0.25
    premium_cap_monthly: float = 0.01


# --------------------------------------------------------------------------- risk / capital


class RiskParams(_Strict):
    """SPEC §5 and §6."""

    beta_window: int = 252
    mrp: float = 0.055
    box_spread: float = 0.0030
    t_ord: float = 0.37
    t_ltcg: float = 0.20
    r_sweep: float = 0.005
    irr_window: int = 252
    hurdle_bps: float = 400.0
    # fewest valid return pairs for a rolling beta: max(floor, window // divisor), 63 for the
    # 252-session window (the SPEC is silent; a quarter of the window, at least 3)
    beta_min_obs_floor: int = Field(3, ge=2)
    beta_min_obs_divisor: int = Field(4, ge=1)
    box_target_days: int = 30  # tenor of the box rate read from a chain (~1 month financing)


class Scenario(_Strict):
    """A stress scenario: SPX return, VIX multiplier (or additive fraction), rate shift."""

    spx_return: float
    vix_mult: float
    rate_shift: float = 0.0


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

    risk_off_delta_mult: float = 0.75
    macro_tighten_delta: float = 0.02
    net_delta_tolerance: float = 0.02
    wacc_high: float = 0.07
    # SPEC §7 step 2 (revised): the cap tightens when capital is dear (WACC > wacc_high)
    cap_base: float = 0.06
    cap_when_wacc_high: float = 0.04
    hist_window: int = 252
    target_vol: float = 0.005
    hurdle_mult: float = 0.25
    fomc_mult: float = 0.75
    risk_off_mult: float = 0.5
    max_drawdown: float = 0.10
    quick_ratio_min: float = 1.5
    scenarios: dict[str, Scenario] = Field(default_factory=_default_scenarios)
    max_passes: int = 3  # passes of the WACC ↔ post-hedge β fixed point (tasks.sizing notes)


class HistoryParams(_Strict):
    """The modelled ladder of SPEC §8."""

    profit_target: float = 0.50
    stop_loss_mult: float = 2.0
    exit_dte: int = 7
    commission_per_leg: float = 0.65
    slippage_per_leg: float = 0.05
    # sessions of capital at risk averaged as strategy_return's base (one trading month)
    return_base_sessions: int = Field(21, ge=1)


class ValidationParams(_Strict):
    """SPEC §12: the CNDR replication's rules and the calibration candidates it can test.

    The calibration fields default to values that leave the SPEC §3.1 surface as it is
    (no VIX-dependent skew, no entry costs); see docs/method-notes.md for their fit.
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

# parameter groups the daily run computes once for all portfolios (so not overridable per one)
RUN_WIDE_GROUPS = ("release_lags", "signals", "history", "ingest")
RUN_WIDE_RISK_KEYS = ("beta_window", "beta_min_obs_floor", "beta_min_obs_divisor")

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
    """The parameters of a profile, with a portfolio's overrides applied on top."""
    merged = deep_merge(PROFILE_PRESETS[profile], overrides or {})
    return Params.model_validate(merged)


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
    strike: float
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

    @field_validator("portfolio_id")
    @classmethod
    def _id_ok(cls, v: str) -> str:
        if not v or not v.replace("_", "").replace("-", "").isalnum():
            raise ValueError("portfolio_id must be letters, digits, '-' or '_'")
        return v

    @model_validator(mode="after")
    def _overrides_valid(self) -> Portfolio:
        # these are computed once per day for every portfolio (signals, the point-in-time
        # data, the modelled ladder and its betas): a per-portfolio value would be ignored
        run_wide = [g for g in RUN_WIDE_GROUPS if g in self.overrides]
        run_wide += [f"risk.{k}" for k in RUN_WIDE_RISK_KEYS if k in self.overrides.get("risk", {})]
        if run_wide:
            raise ValueError(
                f"overrides of {', '.join(run_wide)} are run-wide, not per portfolio: "
                "change them in schemas/config.py defaults instead"
            )
        # validate now so a bad override names its key when the file is loaded
        params_for(self.profile, self.overrides)
        return self

    @property
    def params(self) -> Params:
        return params_for(self.profile, self.overrides)


class PortfolioFile(_Strict):
    portfolios: list[Portfolio] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> PortfolioFile:
        ids = [p.portfolio_id for p in self.portfolios]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate portfolio_id: {', '.join(dupes)}")
        return self


class ConfigError(ValueError):
    """A configuration file that cannot be used, with the offending key named."""


def load_portfolios(path: str | Path) -> PortfolioFile:
    """Read and validate a portfolio TOML file; errors name the bad key."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"portfolio file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return PortfolioFile.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {loc}: {err['msg']}")
        raise ConfigError(f"{path}: invalid portfolio configuration\n" + "\n".join(lines)) from exc
