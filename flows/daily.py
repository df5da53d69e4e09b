"""The daily flow: ingest → validate → load → signals → analytics → book (size, orders) → publish."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from prefect import flow
from prefect.logging import get_run_logger

from flows import DEFAULT_CONFIG, SNAPSHOT_DIR, steps
from flows.as_of import resolve_session
from flows.book import BookRun, run_books
from schemas.config import Params, PortfolioFile, SourceUrls, load_portfolios
from schemas.series import OPTIONAL_SERIES
from schemas.tables import TABLE_MODELS
from tasks import ingest as sources
from tasks.market import calendar
from tasks.sizing import SizingResult
from warehouse import db
from warehouse.store import RunWorkspace

# every series with a live endpoint (the FOMC calendar ships with the project)
LIVE_SERIES = tuple(s for s, (kind, _) in sources.LIVE_SOURCES.items() if kind != "calendar")
NEW_YORK = ZoneInfo("America/New_York")


class DataQualityError(RuntimeError):
    """The day cannot be sized from the data at hand (the reason is in the message)."""


@dataclass
class DailyResult:
    """What a daily run did; the CLI prints it, the artifacts show it."""

    run_id: str
    as_of: pd.Timestamp | None
    status: str
    message: str = ""
    loaded: dict[str, int] = field(default_factory=dict)
    quarantined: pd.DataFrame = field(default_factory=pd.DataFrame)
    signals: pd.DataFrame = field(default_factory=pd.DataFrame)
    sizing: list[SizingResult] = field(default_factory=list)
    books: list[BookRun] = field(default_factory=list)
    rows_written: int = 0
    seconds: float = 0.0
    #: series whose payload equalled the last one loaded (logged, not parsed or loaded again)
    unchanged: list[str] = field(default_factory=list)


def warm_up() -> None:
    """Import the report's modules, build the NYSE calendar, register pandera's backends.

    Call while Prefect's temporary server boots (``flows.server_lifecycle.start_server_early``):
    those seconds are otherwise spent waiting for the server process, and the run then starts
    its first task with the calendar built and matplotlib imported.
    """
    import pandera.pandas as pa

    import report.artifacts  # noqa: F401 - matplotlib and the report modules
    from tasks.signals.staleness import session_array

    session_array()  # calendar.nyse(), cached for the process
    # pandera registers its backends on the first validation (~0.6 s): not in a task
    pa.DataFrameSchema({"x": pa.Column(float)}).validate(pd.DataFrame({"x": [0.0]}))
    for model in TABLE_MODELS.values():  # each output contract's schema, built once (~0.5 s)
        model.to_schema()


def resolve_as_of(as_of: date | str | None) -> pd.Timestamp | None:
    """``None`` → latest complete session (decided after loading); ``'today'`` → New York's date.

    A run for ``'today'`` sizes the latest complete session up to that date (decided after
    loading, see :func:`flows.as_of.resolve_session`); on a non-session it is skipped.
    """
    if as_of is None:
        return None
    if isinstance(as_of, str) and as_of.lower() == "today":
        return pd.Timestamp(datetime.now(NEW_YORK).date())
    return pd.Timestamp(as_of).normalize()


def ingest(
    source: str,
    snapshot_dir: str | None,
    urls: SourceUrls,
    params: Params,
    last_loaded: Mapping[sources.FetchKey, str] | None = None,
) -> list[steps.IngestedSource]:
    """Acquire every source (snapshot files or live endpoints) and validate each one.

    A payload whose fingerprint equals ``last_loaded``'s for its fetch (the warehouse's
    last ``raw_fetch`` row) is not parsed, validated or loaded: it is only logged.
    """
    snap = str(snapshot_dir or SNAPSHOT_DIR)
    if source == "snapshot":
        fetches = steps.read_snapshot(snap)
    elif source == "live":
        futures = [steps.fetch_live.submit(s, urls) for s in LIVE_SERIES]
        got = [f.result() for f in futures]
        # urllib3's chained reason ("Caused by NameResolutionError(…)") stays in the logs
        failed = [str(g).split(" (Caused by")[0] for g in got if isinstance(g, sources.SourceError)]
        if failed:  # every failed source, one line each, and what to do about it
            raise sources.SourceFetchError(
                _failed_sources(
                    failed,
                    f"of {len(got)} live sources failed",
                    "check the network (or CONDORCAP_* URLs)",
                )  # fmt: skip
            )
        fetches = [g for g in got if not isinstance(g, sources.SourceError)]
        # the FOMC calendar ships with the project: refreshed by updating the snapshot
        fetches += [f for f in steps.read_snapshot(snap) if f.series_id == "fomc"]
        fetches += optional_fetches(urls)
    else:
        raise ValueError(f"source must be 'snapshot' or 'live', not {source!r}")
    changed, unchanged, prints = sources.split_unchanged(
        fetches, last_loaded or {}, params.release_lags, params.ingest
    )
    futures = [
        steps.ingest_source.submit(f, params.release_lags, limits=params.ingest) for f in changed
    ]
    done: dict[sources.FetchKey, steps.IngestedSource] = {}
    failed: list[Exception] = []
    for f, fut in zip(changed, futures, strict=True):
        try:
            r = _kept(f, fut)
        except Exception as exc:  # collected: every failed source is named, not the first
            failed.append(exc)
            continue
        if r is not None:
            done[sources.fetch_key(f)] = r
    if len(failed) == 1:
        raise failed[0]
    if failed:  # one line each (a traceback per source stays in the Prefect logs)
        kinds = {type(e) for e in failed}
        kind = kinds.pop() if len(kinds) == 1 else sources.SourceError
        hint = "an upstream answered with something other than data" if source == "live" else None
        raise kind(
            _failed_sources(
                [str(e).splitlines()[0] for e in failed],
                f"of {len(changed)} sources failed validation",
                hint,
            )  # fmt: skip
        )
    for f in unchanged:
        done[sources.fetch_key(f)] = steps.unchanged_source(f, prints[sources.fetch_key(f)])
    for key, i in done.items():
        i.fingerprint = prints[key]
    # the fetch order, as before; a dropped optional source is left out
    return [done[k] for f in fetches if (k := sources.fetch_key(f)) in done]


def _failed_sources(lines: list[str], what: str, hint: str | None) -> str:
    """``"N <what>:"``, one line per failed source, and (for a live run) what to do next."""
    out = [f"{len(lines)} {what}:", *lines]
    if hint is not None:
        out.append(
            f"hint: {hint}; `condorcap run --source snapshot` runs offline on the bundled data"
        )
    return "\n".join(out)


def _kept(fetch: sources.FetchResult, fut: Any) -> steps.IngestedSource | None:
    """A source's validated rows; an optional source that cannot be validated is dropped."""
    if fetch.series_id not in OPTIONAL_SERIES:
        return fut.result()
    try:
        return fut.result()
    except Exception as exc:  # an optional source never fails the run
        get_run_logger().warning(
            "optional source %s dropped: %s", fetch.series_id, str(exc).splitlines()[0]
        )
        return None


def optional_fetches(urls: SourceUrls) -> list[sources.FetchResult]:
    """The optional live sources (``schemas.series.OPTIONAL_SERIES``: CNDR) that answered.

    Optional means its failure never fails the run: a source that cannot be fetched is
    logged as a warning and left out (the model-health line then uses what the warehouse
    already holds, or is absent).
    """
    logger = get_run_logger()
    futures = {sid: steps.fetch_live.submit(sid, urls) for sid in OPTIONAL_SERIES}
    got = []
    for sid, fut in futures.items():
        try:
            res = fut.result()
        except Exception as exc:  # any failure of an optional source is only a warning
            res = exc
        if isinstance(res, Exception):  # fetch_live returns a SourceError it logged
            logger.warning("optional source %s not fetched: %s", sid, str(res).splitlines()[0])
        else:
            got.append(res)
    return got


def sizing_tables(results: list[SizingResult]) -> dict[str, pd.DataFrame]:
    return {
        "daily_sizing": pd.concat([r.daily_sizing for r in results], ignore_index=True),
        "portfolio_risk": pd.concat([r.portfolio_risk for r in results], ignore_index=True),
        "sizing_positions": pd.concat([r.positions for r in results], ignore_index=True),
    }


@flow(name="daily", log_prints=True)
def daily_flow(
    as_of: date | str | None = None,
    source: str = "snapshot",
    snapshot_dir: str | None = None,
    db_path: str | None = None,
    config_path: str | None = None,
    artifacts: bool = True,
    progress: Callable[[str], None] | None = None,
) -> DailyResult:
    """Size every configured portfolio for ``as_of``.

    Parameters
    ----------
    as_of : session date, or ``'today'``/None for the latest session on which SPX, VIX,
        VIX3M and the T-bill rate are all knowable (``'today'`` skips NYSE holidays).
    source : ``'snapshot'`` (the bundled real history, offline) or ``'live'``.
    snapshot_dir : a snapshot folder in the bundled layout (default: the bundled one).
    db_path : the warehouse file (default ``$CONDORCAP_DB`` or ``data/condorcap.duckdb``).
    config_path : portfolio TOML (default ``examples/portfolios.toml``); its ``[method]``
        table sets the run-wide parameters.
    progress : called with a short line before each slow stage (the CLI prints them).
    """
    logger = get_run_logger()
    started = time.perf_counter()
    db_file = Path(db_path) if db_path else db.default_db_path()
    say = progress or (lambda _msg: None)
    portfolios: PortfolioFile = load_portfolios(config_path or DEFAULT_CONFIG)
    params = portfolios.run_params
    day = resolve_as_of(as_of)
    latest = as_of is None or (isinstance(as_of, str) and as_of.lower() == "today")

    if day is not None and not calendar.is_session(day):
        msg = f"{day.date()} is not an NYSE session: nothing to size"
        logger.info(msg)
        return DailyResult(run_id="", as_of=day, status="skipped", message=msg)

    with RunWorkspace(db_file, flow="daily") as ws:
        ws.as_of = day
        work = ws.path
        say("loading snapshot…" if source == "snapshot" else "fetching live sources…")
        ingested = ingest(source, snapshot_dir, SourceUrls(), params, steps.last_fingerprints(work))
        loaded = steps.load_facts(work, ingested, ws.run_id)
        today = pd.Timestamp(datetime.now(NEW_YORK).date())
        if latest:  # a default run: a stale source must not move as_of back silently
            steps.check_sources_complete(work, ingested, today, params.ingest.stale_sessions)
        day, note = resolve_session(work, None if latest else day, today=day or today)
        ws.as_of = day
        say(note)
        say("signals, modelled history and betas…")
        sig = steps.signal_states(work, [day], params.signals)
        tenors = steps.hedge_tenors_of([p.params for p in portfolios.portfolios])
        facts = steps.analytics(work, [day], params, tenors, incremental=True)
        if day not in facts.market.index or pd.isna(facts.market.loc[day, "spx"]):
            raise DataQualityError(
                f"no SPX close knowable on {day.date()}: the data ends "
                f"{facts.market['spx'].last_valid_index().date()} — cannot size this day"
            )
        say(f"sizing {len(portfolios.portfolios)} portfolio(s) against their books…")
        # SPEC §10: each portfolio's book — previous session's positions, exits, new tranches
        # sized with the open book counted, the hedge — then the sizing rows of today
        books = run_books(
            work, day, portfolios.portfolios, sig, facts.market, facts.betas,
            steps.hedge_asset, lambda d: steps.find_chain(snapshot_dir or SNAPSHOT_DIR, d),
        )  # fmt: skip
        sized = [b.sizing for b in books if b.sizing is not None]
        derived = {
            "signal_states": sig,
            "betas": facts.betas,
            "vix_term": facts.vix_term,
            **sizing_tables(sized),
        }
        written = steps.write_derived(work, derived, pd.DataFrame({"as_of": [day]}))
        written += steps.write_history(work, facts.history, day, params)
        rows_written = written + sum(loaded.values())
        ws.complete(rows_written)

    result = DailyResult(
        run_id=ws.run_id,
        as_of=day,
        status="completed",
        loaded=loaded,
        quarantined=pd.concat([i.quarantine for i in ingested], ignore_index=True),
        signals=sig,
        sizing=sized,
        books=books,
        rows_written=rows_written,
        seconds=time.perf_counter() - started,
        unchanged=sorted({i.fetch.series_id for i in ingested if i.unchanged}),
    )
    if artifacts:
        from report.artifacts import publish_artifacts

        publish_artifacts(db_file, day)
    return result
