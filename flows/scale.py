"""Scale-out: size many portfolios for one day, optionally on a Dask cluster.

The day's market work (signals, modelled history, betas, the priced ladder) is done
once; the portfolios are then split into chunks, each chunk one Prefect task. With
``workers`` set, the chunks run on a local Dask cluster through ``prefect-dask``
(``pip install -e '.[dask]'``); with ``dask_address`` they run on an existing
cluster (``tcp://scheduler:8786``), so many machines can share one day's sizing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows import steps
from flows.daily import sizing_tables
from schemas.config import Portfolio, load_portfolios
from tasks.market import calendar
from tasks.sizing import SizingResult
from warehouse.store import RunWorkspace


@dataclass
class ScaleResult:
    as_of: pd.Timestamp
    portfolios: int
    contracts: int
    seconds_market: float
    seconds_sizing: float
    seconds_write: float
    run_id: str


@task(name="size-chunk", cache_policy=NO_CACHE)
def size_chunk(
    as_of: pd.Timestamp,
    portfolios: list[Portfolio],
    signals: pd.DataFrame,
    facts: steps.Analytics,
    chain_path: str | None,
) -> list[SizingResult]:
    return steps.size_portfolios.fn(as_of, portfolios, signals, facts, chain_path)


def _chunks(items: list[Portfolio], n: int) -> list[list[Portfolio]]:
    size = max(1, -(-len(items) // max(1, n)))
    return [items[i : i + size] for i in range(0, len(items), size)]


def run_size_many(
    as_of: date | str,
    config_path: str,
    db_path: str,
    chunks: int = 8,
) -> ScaleResult:
    """The body of :func:`size_many_flow` (the task runner is chosen by the caller)."""
    day = pd.Timestamp(as_of).normalize()
    if not calendar.is_session(day):
        raise ValueError(f"{day.date()} is not an NYSE session")
    portfolio_file = load_portfolios(config_path)
    params = portfolio_file.run_params  # the file's [method] table
    portfolios = portfolio_file.portfolios
    with RunWorkspace(Path(db_path), flow="size-many") as ws:
        ws.as_of = day
        work = ws.path
        t0 = time.perf_counter()
        sig = steps.signal_states(work, [day], params.signals)
        facts = steps.analytics(
            work, [day], params, steps.hedge_tenors_of([p.params for p in portfolios])
        )
        chain = steps.find_chain(Path(__file__).resolve().parent.parent / "warehouse/snapshot", day)
        t1 = time.perf_counter()
        futures = [
            size_chunk.submit(day, part, sig, facts, str(chain) if chain else None)
            for part in _chunks(portfolios, chunks)
        ]
        sized = [r for f in futures for r in f.result()]
        t2 = time.perf_counter()
        tables = sizing_tables(sized)
        written = steps.write_derived(work, tables, pd.DataFrame({"as_of": [day]}))
        ws.complete(written)
        t3 = time.perf_counter()
    contracts = int(tables["portfolio_risk"]["condor_contracts"].sum())
    return ScaleResult(day, len(portfolios), contracts, t1 - t0, t2 - t1, t3 - t2, ws.run_id)


def _api_url() -> str:
    """The Prefect API this process talks to (a configured server or the temporary one)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return str(client.api_url).rstrip("/")


def _task_runner(workers: int | None, dask_address: str | None) -> TaskRunner:
    """A Dask runner for ``workers`` local processes or an existing cluster, else threads."""
    if workers or dask_address:
        from prefect_dask import DaskTaskRunner

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": workers, "threads_per_worker": 1, "processes": True,
                # the workers report to this process's Prefect API (without it, under a
                # temporary server, each worker started a server of its own: seconds each,
                # and task runs the UI of this run never saw)
                "env": {"PREFECT_API_URL": _api_url()},
            }
        )  # fmt: skip
    return ThreadPoolTaskRunner(max_workers=1)


@flow(name="size-many", task_runner=ThreadPoolTaskRunner(max_workers=1), log_prints=True)
def size_many_flow(
    as_of: date | str,
    config_path: str,
    db_path: str,
    workers: int | None = None,
    dask_address: str | None = None,
    chunks: int | None = None,
) -> ScaleResult:
    """Size every portfolio of ``config_path`` for ``as_of`` (the warehouse must hold the day's data).

    ``workers``: run the chunks on a local Dask cluster of that many worker processes;
    ``dask_address``: on an existing Dask cluster; neither: Prefect's thread pool. A flow
    (so ``prefect deploy flows.scale:size_many_flow`` works); the Dask runner is chosen from
    the parameters at run time, so its chunks run in a subflow on that runner.
    """
    n_chunks = chunks or max(2, 2 * (workers or 1))
    if not (workers or dask_address):
        return run_size_many(as_of, config_path, db_path, chunks=n_chunks)
    on_dask = flow(
        name="size-many-dask", task_runner=_task_runner(workers, dask_address), log_prints=True
    )(run_size_many)
    return on_dask(as_of=as_of, config_path=config_path, db_path=db_path, chunks=n_chunks)
