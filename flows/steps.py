"""Thin Prefect task wrappers over the pure method and the warehouse.

Each task does one step of the daily/backfill flows. Tasks receive and return
plain values (paths, DataFrames, dataclasses) — never a DuckDB connection,
which Prefect can neither hash nor pickle — and open the run's working copy of
the warehouse only for as long as they read or write it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger

from schemas.config import (
    IngestLimits,
    Params,
    Portfolio,
    ReleaseLags,
    SignalParams,
    SourceUrls,
)
from schemas.sources import SchemaLevelError, validate
from tasks import ingest as sources
from tasks.history import LadderHistory, model_ladder, vix_future_series
from tasks.history.incremental import find_splice, splice_history
from tasks.market import calendar
from tasks.market.chain import ChainFormatError, chain_as_of, read_chain
from tasks.market.frame import MARKET_SERIES, context_at, market_frame
from tasks.market.surface import VolTerm, vix_term_curves
from tasks.risk import (
    IrrResult,
    betas_table,
    irr_from_events,
    joint_scenarios,
    read_fills_csv,
    simple_returns,
)
from tasks.signals import compute_signals
from tasks.sizing import SizingInputs, SizingResult, size_portfolio
from warehouse import reads
from warehouse.store import FactBatch, Warehouse

NEW_YORK = ZoneInfo("America/New_York")


@dataclass
class IngestedSource:
    """What one source produced: validated rows, quarantined rows and its fetch log row."""

    fetch: sources.FetchResult
    observations: pd.DataFrame
    quarantine: pd.DataFrame
    rows_parsed: int
    rows_accepted: int
    rows_quarantined: int
    vintaged: bool = False
    fingerprint: str | None = None
    #: the payload equals the last one loaded: not parsed, validated or loaded (only logged)
    unchanged: bool = False


def unchanged_source(fetch: sources.FetchResult, fingerprint: str) -> IngestedSource:
    """A payload equal to the last one loaded: nothing to parse or load, only its log row."""
    empty = pd.DataFrame()
    return IngestedSource(fetch, empty, empty, 0, 0, 0, fingerprint=fingerprint, unchanged=True)


def last_fingerprints(work_path: str) -> dict[sources.FetchKey, str]:
    """Each fetch key's last logged fingerprint (empty for a new warehouse)."""
    return Warehouse(work_path).last_fingerprints()


# --------------------------------------------------------------------------- ingest


@task(name="read-snapshot", cache_policy=NO_CACHE)
def read_snapshot(snapshot_dir: str) -> list[sources.FetchResult]:
    return sources.read_snapshot(Path(snapshot_dir))


def fred_api_key() -> str | None:
    """The FRED API key from ``FRED_API_KEY`` or the Prefect Secret block ``fred-api-key``."""
    key = sources.fred_api_key_from_env()
    if key:
        return key
    try:
        from prefect.blocks.system import Secret

        return Secret.load("fred-api-key").get()
    except Exception:  # no block configured (or no server): fall back to fredgraph.csv
        return None


@task(name="fetch-live", cache_policy=NO_CACHE)
def fetch_live(series_id: str, urls: SourceUrls) -> sources.FetchResult | sources.SourceError:
    """Fetch one series from its default live source (retries happen in the HTTP session).

    A source that cannot be fetched is returned as its :class:`~tasks.ingest.SourceError`
    (logged as one line), so the flow can report every failed source at once, one line
    each, instead of 16 tracebacks (see :func:`flows.daily.ingest`).
    """
    sources.install_log_redaction()  # Prefect's handlers exist by now: filter them too
    session = sources.shared_session(urls)  # one session (one connection pool) per run's settings
    try:
        return sources.fetch_live(
            series_id, session, urls, api_key=fred_api_key(), vintages=urls.fred_vintages
        )
    except sources.SourceFetchError as exc:
        # INFO: the flow fails with every failed source listed (one line each, a hint)
        get_run_logger().info("fetch failed: %s", exc)
        return exc


def run_session_day(as_of: pd.Timestamp | None) -> pd.Timestamp:
    """The day no row may postdate: ``as_of``, or the machine's New York date when none."""
    if as_of is not None:
        return pd.Timestamp(as_of).normalize()
    return pd.Timestamp(datetime.now(NEW_YORK).date())


def _redacted(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows as stored: raw lines and details are fetched text, so redact them."""
    if quarantine.empty:
        return quarantine
    out = quarantine.copy()
    for col in ("raw", "detail"):
        out[col] = out[col].astype(str).map(sources.redact)
    return out


@task(name="validate-source", cache_policy=NO_CACHE)
def ingest_source(
    fetch: sources.FetchResult,
    lags: ReleaseLags,
    as_of: pd.Timestamp | None = None,
    limits: IngestLimits | None = None,
) -> IngestedSource:
    """Parse → point-in-time stamp → validate one source. Unparseable input fails the task.

    Rows that cannot exist yet on ``as_of`` (default: today in New York) are quarantined
    as ``future_date``. The source fails as a whole (:class:`~tasks.ingest.SourceError`,
    message redacted) when it cannot be parsed, is truncated, or has more rows rejected
    than ``limits`` allow (``Params.ingest``) — checked once on the unparseable rows
    before validation, so a flood of junk is not validated at all, and once after.
    """
    sources.install_log_redaction()
    logger = get_run_logger()
    limits = limits if limits is not None else IngestLimits()
    where = f"{fetch.series_id} from {fetch.source} {fetch.url}"
    rows = sources.parse(fetch)
    sources.check_rejections(
        len(rows), sources.malformed_rows(rows), where, limits, "unparseable date or value"
    )
    rows = sources.assign_available_at(rows, fetch.series_id, lags)
    try:
        result = validate(rows, fetch.source, fetch.series_id, as_of=run_session_day(as_of))
    except SchemaLevelError as exc:
        # validate() names the series and source label; the URL or path is what the
        # user can act on, so it replaces the label rather than repeating it
        why = str(exc).removeprefix(f"{fetch.series_id} from {fetch.source}: ")
        raise SchemaLevelError(
            sources.redact(f"{fetch.series_id} from {fetch.url}: {why}")
        ) from exc
    checks = ", ".join(sorted(set(result.quarantine["check_name"])))
    sources.check_rejections(result.rows_parsed, result.rows_quarantined, where, limits, checks)
    if result.rows_quarantined:
        logger.warning(
            "%s: quarantined %d of %d rows (%s)",
            fetch.series_id,
            result.rows_quarantined,
            result.rows_parsed,
            checks,
        )
    return IngestedSource(
        fetch=fetch,
        observations=result.observations,
        quarantine=_redacted(result.quarantine),
        rows_parsed=result.rows_parsed,
        rows_accepted=result.rows_accepted,
        rows_quarantined=result.rows_quarantined,
        vintaged="realtime_start" in rows.columns,
    )


@task(name="load-facts", cache_policy=NO_CACHE)
def load_facts(work_path: str, ingested: list[IngestedSource], run_id: str) -> dict[str, int]:
    """Write observations, quarantine and the raw_fetch log in one transaction."""
    revision_session = calendar.session_on_or_after(pd.Timestamp.now(tz="UTC").tz_localize(None))
    now = datetime.now(UTC).replace(tzinfo=None)
    log = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "source": i.fetch.source,
                "series_id": i.fetch.series_id,
                "url": i.fetch.url,
                "status": i.fetch.status,
                "bytes": len(i.fetch.raw),
                "sha256": i.fetch.sha256,
                "rows_parsed": i.rows_parsed,
                "rows_accepted": i.rows_accepted,
                "rows_quarantined": i.rows_quarantined,
                "fetched_at": i.fetch.fetched_at.replace(tzinfo=None),
                "fingerprint": i.fingerprint,
                "unchanged": i.unchanged,
            }
            for i in ingested
        ]
    )
    batches = [
        FactBatch(i.observations, i.quarantine, i.vintaged) for i in ingested if not i.unchanged
    ]
    return Warehouse(work_path).load_facts(batches, log, run_id, revision_session, now)


# --------------------------------------------------------------------------- as_of


def check_sources_complete(
    work_path: str, ingested: list[IngestedSource], today: pd.Timestamp, stale_sessions: int
) -> None:
    """Refuse a default run when a daily source ends well before its peers (issue 12).

    A stale or truncated file would otherwise silently move the latest complete session
    (and so ``as_of``) back — years back for a VIX3M file cut in 2018. The newest rows
    are the warehouse's (knowable by ``today``), for the series this run fetched, so an
    unchanged payload that was skipped is judged too. Snapshot files are judged against
    the files downloaded with them (same manifest ``snapshot_date``); live sources
    against all the others.

    Raises
    ------
    SourceStaleError
        One line per stale source, naming it, its newest row and the peer's.
    """
    fetched = {i.fetch.series_id: i.fetch for i in ingested}
    with Warehouse(work_path).read() as con:
        fresh = reads.series_freshness(con, today)
    newest = {
        sid: d.date()
        for sid, d in zip(fresh["series_id"], fresh["latest_date"], strict=True)
        if sid in fetched
    }
    together = {
        sid: f.origin.get("snapshot_date") if f.origin else "live" for sid, f in fetched.items()
    }
    stale = sources.stale_sources(newest, stale_sessions, together)
    if stale:
        raise sources.SourceStaleError(
            "\n".join(
                [*stale, "hint: refresh those sources, or name the session with --as-of DATE"]
            )
        )


def latest_complete_session(work_path: str) -> pd.Timestamp:
    """The latest session on which every daily market series has a close."""
    return Warehouse(work_path).latest_complete_session()


def first_session(work_path: str) -> pd.Timestamp:
    """The first session with an SPX close on file (the start of a default backfill)."""
    return Warehouse(work_path).first_session("spx")


# --------------------------------------------------------------------------- signals


@task(name="signals", cache_policy=NO_CACHE)
def signal_states(work_path: str, as_of: list[pd.Timestamp], params: SignalParams) -> pd.DataFrame:
    """Signal states for each as_of, from observations knowable by the last of them."""
    obs = Warehouse(work_path).observations(as_of=max(as_of))
    return compute_signals(obs, pd.DatetimeIndex(as_of), params)


# --------------------------------------------------------------------------- derived writes


@task(name="write-derived", cache_policy=NO_CACHE)
def write_derived(
    work_path: str, tables: dict[str, pd.DataFrame], partitions: pd.DataFrame | None = None
) -> int:
    """Replace the as_of partitions of every derived table in ONE transaction.

    Each frame is checked against its table's contract first; tables with a
    ``portfolio_id`` are replaced per (as_of, portfolio_id) (see
    :meth:`warehouse.store.Warehouse.write_derived`).
    """
    return Warehouse(work_path).write_derived(tables, partitions)


# --------------------------------------------------------------------------- analytics


@dataclass
class Analytics:
    """Market state, modelled history, betas and the VIX futures curve for a set of sessions."""

    market: pd.DataFrame
    history: LadderHistory
    betas: pd.DataFrame
    vix_term: pd.DataFrame
    returns: pd.DataFrame


def hedge_tenors_of(params: list[Params]) -> set[int]:
    """Every hedge tenor the portfolios use (each needs its F_VIX beta in ``betas``)."""
    tenors = set()
    for p in params:
        tenors.add(p.hedge.tenor_days)
        if p.hedge.kind == "vix_call_calendar":
            tenors.add(p.hedge.short_tenor_days)
    return tenors


def hedge_asset(tenor_days: int) -> str:
    """The ``betas.asset`` name of a hedge tenor's modelled VIX future."""
    return f"vix_future_{tenor_days}d"


#: trailing windows (sessions) an incremental history is tried over before a full recompute:
#: the longest-dated slot's chain meets the full run's within about three years
HISTORY_WINDOWS: tuple[int, ...] = (1040, 2080)


def params_fingerprint(params: Params) -> str:
    """SHA-256 of the run's method parameters (a stored history is reused only under equal ones)."""
    return hashlib.sha256(params.model_dump_json().encode()).hexdigest()


def modelled_history(
    work_path: str, market: pd.DataFrame, params: Params, last: pd.Timestamp
) -> tuple[LadderHistory, str]:
    """The SPEC §8 history through ``last``: the stored one extended, else computed in full.

    Returns the history and how it was obtained (``'full'`` or ``'extended'``). The stored
    history is reused when it was computed with the same parameters, on or before
    ``last``, and a short trailing run meets it (:mod:`tasks.history.incremental`); the
    result equals a full recompute (``tests/flows/test_incremental_history.py``).
    """
    wh = Warehouse(work_path)
    stored = wh.stored_history()
    if (
        stored is None
        or stored.params_fingerprint != params_fingerprint(params)
        or stored.computed_as_of > last
    ):
        return model_ladder(market, params), "full"
    changed = wh.first_new_date(MARKET_SERIES, stored.computed_as_of, last)
    valid_until = stored.computed_as_of + pd.Timedelta(days=1)
    if changed is not None:
        valid_until = min(valid_until, changed)
    old = LadderHistory(stored.condor_events, stored.hedge_events, stored.daily)
    hedge_opens = stored.hedge_events["open_date"]
    for window in HISTORY_WINDOWS:
        if len(market) <= window:
            break
        starts = hedge_opens[hedge_opens <= market.index[-window]]
        if starts.empty:
            break
        # start on a stored hedge entry: the hedge rolls on a fixed schedule and would
        # never meet the full run's chain from another session
        recent = model_ladder(market, params, start=starts.max())
        cut = find_splice(old, recent, valid_until, params.history.return_base_sessions)
        if cut is not None:
            return splice_history(old, recent, cut), "extended"
    return model_ladder(market, params), "full"


@task(name="analytics", cache_policy=NO_CACHE)
def analytics(
    work_path: str,
    as_of: list[pd.Timestamp],
    params: Params,
    hedge_tenors: set[int] | None = None,
    incremental: bool = False,
) -> Analytics:
    """Market frame → modelled ladder → returns → rolling betas and VIX term curves.

    Everything is computed from observations knowable by the last ``as_of`` and each
    row uses only data dated on or before its own ``as_of`` (the regressions and the
    ladder are causal), so one pass serves every session of a backfill. With
    ``incremental`` the stored modelled history is extended rather than recomputed
    (:func:`modelled_history`); betas and the VIX curve are computed for ``as_of`` only.
    """
    last = max(as_of)
    obs = Warehouse(work_path).observations(as_of=last)
    market = market_frame(obs).loc[:last]
    if incremental:
        history, how = modelled_history(work_path, market, params, last)
        get_run_logger().info("modelled history: %s", how)
    else:
        history = model_ladder(market, params)
    tenors = set(hedge_tenors or ()) | hedge_tenors_of([params])
    levels = pd.DataFrame(
        {"spx": market["spx"], "vix": market["vix"], "vix3m": market["vix3m"]}, index=market.index
    )
    for t in sorted(tenors):
        levels[hedge_asset(t)] = vix_future_series(market, t, params.pricing)
    returns = levels.apply(simple_returns)
    returns["strategy"] = history.daily.set_index("as_of")["strategy_return"].reindex(market.index)
    days = pd.DatetimeIndex(as_of)
    betas = betas_table(returns, days, params.risk.beta_window)
    rows = market.reindex(days)
    term = VolTerm(
        vix9d=rows["vix9d"].to_numpy(),
        vix=rows["vix"].to_numpy(),
        vix3m=rows["vix3m"].to_numpy(),
        vix6m=rows["vix6m"].to_numpy(),
    )
    curve = vix_term_curves(
        days,
        term,
        params.pricing.vix_term_expiries,
        params.pricing.convexity_vol,
        params.pricing.convexity_mean_reversion,
    )
    return Analytics(market=market, history=history, betas=betas, vix_term=curve, returns=returns)


def history_tables(
    history: LadderHistory, computed_as_of: pd.Timestamp, params: Params | None = None
) -> dict[str, pd.DataFrame]:
    """The modelled ladder as warehouse rows (replaced whole on every run)."""
    day = pd.Timestamp(computed_as_of)
    cols = {
        "ladder_events": [
            "position_id", "slot", "open_date", "close_date", "expiry", "contracts", "width",
            "credit", "close_cost", "k_long_put", "k_short_put", "k_short_call", "k_long_call",
            "exit_reason", "commissions", "pnl",
        ],
        "hedge_events": [
            "position_id", "open_date", "close_date", "expiry", "strike", "units", "premium",
            "close_value", "exit_reason",
        ],
        "ladder_daily": [
            "as_of", "pnl", "capital_at_risk", "strategy_return", "open_condors", "open_hedges",
        ],
    }  # fmt: skip
    stamp = {"computed_as_of": day}
    frames = {
        "ladder_events": history.condor_events,
        "hedge_events": history.hedge_events,
        "ladder_daily": history.daily,
    }
    out = {name: frames[name][c].assign(**stamp) for name, c in cols.items()}
    if params is not None:  # lets the next run extend this history (see modelled_history)
        out["ladder_daily"] = out["ladder_daily"].assign(
            params_fingerprint=params_fingerprint(params)
        )
    return out


@task(name="write-history", cache_policy=NO_CACHE)
def write_history(
    work_path: str,
    history: LadderHistory,
    computed_as_of: pd.Timestamp,
    params: Params | None = None,
) -> int:
    """Replace the modelled ladder tables in one transaction.

    The tables hold the history as of the newest ``as_of`` run so far: rerunning an
    older day leaves them alone (its own history is a prefix it would truncate them to).
    """
    return Warehouse(work_path).write_history(
        history_tables(history, computed_as_of, params), computed_as_of
    )


# --------------------------------------------------------------------------- sizing


def find_chain(snapshot_dir: str | Path | None, as_of: pd.Timestamp) -> Path | None:
    """A bundled/downloaded CBOE chain quoted on ``as_of`` (``chains/*.csv``), if any."""
    if snapshot_dir is None:
        return None
    for path in sorted(Path(snapshot_dir).glob("chains/*.csv")):
        try:
            if chain_as_of(path) == pd.Timestamp(as_of):
                return path
        except ChainFormatError:
            continue
    return None


@task(name="size-portfolios", cache_policy=NO_CACHE)
def size_portfolios(
    as_of: pd.Timestamp,
    portfolios: list[Portfolio],
    signals: pd.DataFrame,
    facts: Analytics,
    chain_path: str | None,
) -> list[SizingResult]:
    """SPEC §7 for every portfolio of the config file on one session."""
    ctx = context_at(facts.market, as_of)
    chain = read_chain(chain_path) if chain_path else None
    day_signals = signals[signals["as_of"] == as_of]
    results = []
    cache: dict = {}  # the market book (ladder, hedge, scenario P&L) is priced once per params
    irr_by_window: dict[int, IrrResult] = {}  # the modelled ladder's IRR is the same for all
    for portfolio in portfolios:
        p = portfolio.params
        spx_returns, vix_ratios = joint_scenarios(
            facts.market["spx"], facts.market["vix"], as_of, p.sizing.hist_window
        )
        beta_row = facts.betas[
            (facts.betas["as_of"] == as_of)
            & (facts.betas["asset"] == hedge_asset(p.hedge.tenor_days))
        ]
        hedge_beta = float(beta_row["beta"].iloc[0]) if len(beta_row) else float("nan")
        if portfolio.fills_file:
            fills = read_fills_csv(portfolio.fills_file)
            condors, hedges = fills.condors, fills.hedges
        else:
            condors, hedges = facts.history.condor_events, facts.history.hedge_events
        if portfolio.fills_file:
            irr = irr_from_events(condors, hedges, as_of, p.risk.irr_window)
        else:
            if p.risk.irr_window not in irr_by_window:
                irr_by_window[p.risk.irr_window] = irr_from_events(
                    condors, hedges, as_of, p.risk.irr_window
                )
            irr = irr_by_window[p.risk.irr_window]
        inputs = SizingInputs(
            ctx=ctx,
            signals=day_signals,
            spx_returns=spx_returns,
            vix_ratios=vix_ratios,
            hedge_beta_F=hedge_beta,
            irr=irr,
            chain=chain,
            cache=cache,
        )
        results.append(size_portfolio(inputs, portfolio))
    return results
