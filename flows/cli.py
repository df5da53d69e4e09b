"""The ``condorcap`` command line: run, backfill, sql (and the operations commands).

Start-up cost matters here (``condorcap --help``, a refused date): this module imports
only typer and rich; pandas, Prefect and DuckDB are imported by the command that needs
them, after its inputs are checked (:mod:`flows.preflight`).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text

import flows  # noqa: F401 - sets Prefect start-up defaults before prefect is imported
from flows import DEFAULT_CONFIG
from flows.preflight import (
    InputError,
    Refusal,
    check_db,
    check_snapshot,
    load_config,
    parse_day,
    record_refusal,
)

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from tasks.sizing import SizingResult


class _LazyModule:
    """A module imported on first attribute access (``db.query`` imports warehouse.db then)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        module: ModuleType = importlib.import_module(self._name)
        return getattr(module, attr)


db: Any = _LazyModule("warehouse.db")


def _flags_take_no_value() -> None:
    """typer 0.29 prints a flag's Python type as if it took a value (``--help <bool>``).

    A flag takes no value, so its type column is left empty (options with a value keep theirs).
    """
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_condorcap", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    display_type_rich._condorcap = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_take_no_value()

app = typer.Typer(
    help="condorcap: daily CAPM/WACC-aware sizing of SPX iron-condor ladders with an ALVH hedge.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # errors are one line; --verbose re-raises for the traceback
)
# a pipe or CI log gets a wide fixed width rather than rich's 80 columns
console = Console(width=None if sys.stdout.isatty() else 140)
# progress and errors go to stderr, so `condorcap run > day.txt` keeps only the results
errors = Console(stderr=True, highlight=False)

# the same default as warehouse.db.default_db_path (not imported: it pulls in pandas)
DEFAULT_DB = "data/condorcap.duckdb"
DB_ENV = "CONDORCAP_DB"

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help=f"warehouse file \\[default: ${DB_ENV} or {DEFAULT_DB}]",
        envvar=DB_ENV,
        show_envvar=False,
        metavar="FILE",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="portfolio TOML (its \\[method] table sets the run-wide parameters) \\[default: examples/portfolios.toml]",
        metavar="FILE",
    ),
]
SnapshotOption = Annotated[
    Path | None,
    typer.Option(
        "--snapshot-dir",
        help="a snapshot folder (provider files + manifest.toml) \\[default: warehouse/snapshot]",
        metavar="DIR",
    ),
]
VerboseOption = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="full tracebacks and Prefect's own log lines", metavar=""),
]


class Source(StrEnum):
    snapshot = "snapshot"
    live = "live"


class Fmt(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


# --------------------------------------------------------------------------- plumbing


def _quiet_prefect(verbose: bool = False) -> None:
    """One-off commands print their own summary: Prefect's per-task INFO lines would bury it.

    Warnings (quarantined rows, failures) still show; ``--verbose`` (or
    ``PREFECT_LOGGING_LEVEL=INFO``) shows every task. Must run before prefect is first
    imported (flows import it lazily).
    """
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        # urllib3 logs every retry of every source; the run reports each failed source once
        logging.getLogger("urllib3").setLevel(logging.ERROR)
        # a Dask fan-out's scheduler and nannies log "event loop unresponsive" at INFO
        # every few seconds while the workers compute, and WARN "worker process still
        # alive …, killing" at teardown on a busy machine; a failed task still fails the
        # run with its own message. dask reads its config from the environment (inherited
        # by the worker processes), before distributed is imported
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
        # each fan-out task carries the shared market days (tens of MiB): by design, and
        # said once per run in the Prefect logs; not a console warning for the user
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
    from flows.server_lifecycle import bind_server_to_cli

    bind_server_to_cli()  # a killed CLI leaves no temporary Prefect server behind


class _NoEngineFailures(logging.Filter):
    """Drop the engine's own failure report from the console (not from the Prefect API).

    A failed flow logs its traceback twice ("Encountered exception during execution",
    "Task run failed … Retries are exhausted") and "Finished in state Failed(…)"; the CLI
    says the same in one line, and the full record stays in the Prefect database.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        engine = record.name.startswith(("prefect.flow_runs", "prefect.task_runs"))
        msg = str(record.msg)
        # the redaction filter (tasks.ingest.redaction) may already have rendered the
        # traceback into exc_text and cleared exc_info: recognise it by either, or by text
        failure = (
            record.exc_info is not None
            or bool(record.exc_text)
            or msg.startswith(("Finished in state", "Task run failed with exception"))
            or "Traceback (most recent call last)" in msg
            or msg.startswith("Encountered exception during execution")
        )
        return not (engine and record.levelno >= logging.ERROR and failure)


def _hush_engine_failures() -> None:
    """Install :class:`_NoEngineFailures` on Prefect's console handlers (call after import)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, PrefectConsoleHandler) and not any(
                isinstance(f, _NoEngineFailures) for f in handler.filters
            ):
                handler.addFilter(_NoEngineFailures())


def say(line: str) -> None:
    """A progress line (stderr, plain text: no rich markup in data-derived strings)."""
    errors.print(Text(line, style="dim"), soft_wrap=True)


def _fail(lines: list[str], code: int = 1, label: str = "error") -> NoReturn:
    """Print each problem as one line (never wrapped, never markup) and exit ``code``."""
    for line in lines:
        errors.print(Text.assemble((f"{label}: ", "bold red"), line), soft_wrap=True)
    raise typer.Exit(code)


def _db(path: Path | None) -> Path:
    return path or Path(os.environ.get(DB_ENV) or DEFAULT_DB)


def _collect(problems: list[str], check: Callable[[], Any]) -> Any:
    """Run one input check, adding its problem lines to ``problems`` instead of raising."""
    try:
        return check()
    except InputError as exc:
        problems.extend(str(exc).splitlines())
        return None


def _refuse(flow: str, db_path: Path, as_of: date | None, problems: list[str]) -> NoReturn:
    """Refuse a run before Prefect starts: one line per problem, a failed ``runs`` row, exit 2."""
    errors.print(Text.assemble(("refused: ", "bold red"), problems[0]), soft_wrap=True)
    for line in problems[1:]:
        errors.print(Text.assemble(("refused: ", "bold red"), line), soft_wrap=True)
    sys.stderr.flush()
    record_refusal(Refusal(flow, db_path, as_of, "; ".join(problems)))
    raise typer.Exit(2)


def _check_run_inputs(
    flow: str,
    db_path: Path,
    config: Path | None,
    snapshot_dir: Path | None,
    days: list[Callable[[], date | None]],
    record: bool = True,
) -> list[date | None]:
    """Dates, paths, then the portfolio file (only once the cheap checks pass).

    A refusal is recorded as a failed ``runs`` row of ``flow`` when ``record`` (the
    commands that run a flow) and the warehouse exists.
    """
    problems: list[str] = []
    parsed = [_collect(problems, d) for d in days]
    problems += check_db(db_path)
    if snapshot_dir is not None:
        problems += check_snapshot(snapshot_dir)
    if config is not None and not config.is_file():
        problems.append(f"--config {config}: no such file")
    if not problems:
        _collect(problems, lambda: load_config(config or DEFAULT_CONFIG))
    if problems and not record:
        _fail(problems, 2, label="refused")
    if problems:
        _refuse(flow, db_path, next((d for d in parsed if d is not None), None), problems)
    return parsed


def frame_table(df: pd.DataFrame, title: str | None = None) -> Table:
    """A rich table of a DataFrame (floats to 4 significant decimals)."""
    from rich.table import Table

    t = Table(title=title, show_lines=False, header_style="bold")
    for c in df.columns:
        t.add_column(str(c), overflow="fold")
    for row in df.itertuples(index=False):
        t.add_row(*[_fmt(v) for v in row])
    return t


def _fmt(v: object) -> str:
    import pandas as pd

    if v is None or v is pd.NaT or (isinstance(v, float) and pd.isna(v)):
        return ""  # SQL NULL (a NULL date comes back from pandas as NaT)
    if isinstance(v, float):
        if abs(v) >= 1e5:
            return f"{v:,.0f}"
        # up to 4 decimals, trailing zeros dropped down to 2: 6.50 and 54.3801, not 6.5000
        text = f"{v:,.4f}"
        return text[:-2] + text[-2:].rstrip("0") if text.endswith("0") else text
    if isinstance(v, pd.Timestamp):
        return str(v.date())
    return str(v)


# --------------------------------------------------------------------------- run


@app.command()
def run(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="session date YYYY-MM-DD; 'today' (or omitted): the latest session on which "
            "every required series (SPX, VIX, VIX3M, T-bill) is knowable \\[default: today]",
            metavar="DATE",
        ),
    ] = None,
    source: Annotated[Source, typer.Option(help="where data comes from")] = Source.snapshot,
    snapshot_dir: SnapshotOption = None,
    db_path: DbOption = None,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Run the daily flow once and print the day's signal states and sizing."""
    db_file = _db(db_path)
    (day,) = _check_run_inputs(
        "daily", db_file, config, snapshot_dir, [lambda: parse_day("--as-of", as_of)]
    )
    explicit = as_of is not None and as_of.strip().lower() != "today"
    say("starting Prefect…")  # first: _quiet_prefect imports Prefect's server module (~3 s)
    _quiet_prefect(verbose)
    from flows.server_lifecycle import start_server_early

    # the temporary server boots on the other core meanwhile: import and build what the
    # run needs in that time instead of waiting for it
    server_ready = start_server_early()
    from flows.daily import daily_flow, warm_up

    if not verbose:
        _hush_engine_failures()
    warm_up()
    try:
        server_ready()
        result = daily_flow(
            as_of=day.isoformat() if explicit and day else None,
            source=source.value,
            snapshot_dir=str(snapshot_dir) if snapshot_dir else None,
            db_path=str(db_file),
            config_path=str(config) if config else None,
            progress=say,
        )
    except Exception as exc:  # the Prefect logs keep the traceback; say it plainly
        if verbose:
            raise
        lines = [ln for ln in str(exc).splitlines() if ln.strip()] or [type(exc).__name__]
        _fail([f"run failed: {lines[0]}", *lines[1:]], 1, label="error")
    if result.status == "skipped":
        console.print(result.message, markup=False)
        return
    _print_daily(result, db_file)


def _print_books(result: Any) -> None:
    """Per portfolio: today's orders, the book after them, the account line."""
    from flows.book import account_line, book_view, orders_view

    for run in result.books:
        orders = orders_view(run)
        if orders.empty:
            console.print(
                f"[bold]{run.portfolio_id}[/] — no orders {run.as_of.date()}: hold the book"
            )
        else:
            console.print(frame_table(orders, f"{run.portfolio_id} — orders {run.as_of.date()}"))
        console.print(frame_table(book_view(run), f"{run.portfolio_id} — book after the orders"))
        console.print(account_line(run), markup=False)


def _print_daily(result: Any, db_file: Path) -> None:
    """The daily run's summary: loads, quarantine, signal states, each recommendation."""
    console.print(
        f"[bold]condorcap daily run[/] {result.run_id}  as_of [bold]{result.as_of.date()}[/]  "
        f"({result.seconds:.1f} s)  warehouse: {db_file}"
    )
    _print_books(result)  # what a trader reads first: today's orders, then the book
    console.print(
        "loaded: "
        + ", ".join(f"{k} +{v}" for k, v in result.loaded.items())
        + f"; {len(result.quarantined)} row(s) failed validation and are in `quarantine`"
    )
    unchanged = getattr(result, "unchanged", [])
    if unchanged:  # incremental ingest: logged in raw_fetch, not parsed or loaded again
        console.print(
            f"unchanged since the last load (not re-parsed): {len(unchanged)} series "
            f"({', '.join(unchanged)})",
            markup=False,
        )
    if len(result.quarantined):
        q = result.quarantined.groupby(["series_id", "check_name"]).size().reset_index(name="rows")
        console.print(frame_table(q, "quarantined rows (see the quarantine table)"))
    sig = result.signals[["signal", "value", "state", "input_date"]]
    console.print(frame_table(sig, f"signal states {result.as_of.date()}"))
    for sized in result.sizing:
        print_recommendation(sized)


def _money(v: float) -> str:
    import pandas as pd

    return "" if pd.isna(v) else f"${v:,.0f}"


def _pct(v: float) -> str:
    import pandas as pd

    return "" if pd.isna(v) else f"{v:.2%}"


def print_recommendation(sized: SizingResult) -> None:
    """One portfolio's recommendation: tranches, hedge, capital metrics, stress, rationale."""
    import pandas as pd
    from rich.table import Table

    risk = sized.portfolio_risk.iloc[0]
    legs = sized.daily_sizing
    pos = sized.positions
    strikes = legs.pivot_table(index="position_id", columns="leg", values="strike", aggfunc="first")
    condors = pos[pos["kind"] == "condor"].set_index("position_id")
    t = Table(
        title=f"{risk['portfolio_id']} ({risk['profile']}) — equity {_money(risk['equity'])} — "
        f"{pd.Timestamp(risk['as_of']).date()}",
        header_style="bold",
    )
    for col in (
        "tranche", "expiry", "DTE", "put wing/short", "call short/wing", "contracts", "cap",
        "credit", "max loss", "break-evens", "P(between)", "priced",
    ):  # fmt: skip
        t.add_column(col, no_wrap=True, justify="left" if col in {"tranche", "priced"} else "right")
    for pid, c in condors.iterrows():
        k = strikes.loc[pid]
        t.add_row(
            str(pid).split("-", 1)[0],
            str(pd.Timestamp(c["expiry"]).date()),
            str(int(c["dte"])),
            f"{k['long_put']:,.0f}/{k['short_put']:,.0f}",
            f"{k['short_call']:,.0f}/{k['long_call']:,.0f}",
            f"[bold]{int(c['contracts'])}[/]",
            str(int(c["n_cap"])),
            f"{c['credit']:.2f}",
            _money(c["max_loss"]),
            f"{c['breakeven_low']:,.0f}–{c['breakeven_high']:,.0f}",
            f"{c['prob_between_breakevens']:.0%}",
            str(c["pricing_source"]),
        )
    console.print(t)
    hedge = pos[pos["kind"] == "hedge"]
    for _, h in hedge.iterrows():
        hl = legs[legs["position_id"] == h["position_id"]]
        desc = ", ".join(
            f"{'long' if q > 0 else 'short'} {pd.Timestamp(e).date()} {pc} {k:g}"
            for q, e, pc, k in zip(
                hl["qty"], hl["expiry"], hl["put_call"], hl["strike"], strict=True
            )
        )
        console.print(
            f"hedge {h['position_id']}: [bold]{int(h['contracts'])} units[/] of ({desc}), "
            f"premium {_money(h['premium'])} per unit; volatility beta multiple "
            f"|β_F| = {risk['hedge_beta_multiple']:.2f}× the index"
        )
    console.print(
        f"β before {risk['beta_before']:.2f} → after {risk['beta_after']:.2f} | "
        f"cost of equity {_pct(risk['cost_of_equity'])} | WACC {_pct(risk['wacc'])} | "
        f"IRR {_pct(risk['irr'])} | spread {risk['spread_bps']:,.0f} bp vs hurdle "
        f"{risk['hurdle_bps']:.0f} bp | EVA {_money(risk['eva'])} | box rate "
        f"{_pct(risk['box_rate'])} ({risk['box_rate_source']})"
    )
    console.print(
        "stress P&L: "
        + " | ".join(
            f"{name} {_money(risk[f'stress_{name}_pnl'])}"
            for name in ("crash", "correction", "cpi_shock", "vol_spike", "rally")
        )
        + f" | quick ratio {risk['quick_ratio']:.2f}"
    )
    console.print("why:")
    for line in sized.rationale:
        console.print(f"  • {line}", markup=False)
    console.print()


@app.command()
def backfill(
    start: Annotated[
        str | None,
        typer.Option(
            help="first session YYYY-MM-DD \\[default: the snapshot's first]",
            metavar="DATE",
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            help="last session YYYY-MM-DD \\[default: the latest complete session]",
            metavar="DATE",
        ),
    ] = None,
    snapshot_dir: SnapshotOption = None,
    db_path: DbOption = None,
    sizing: Annotated[
        bool,
        typer.Option(
            "--sizing/--no-sizing", help="also size the portfolios on every session", metavar=""
        ),
    ] = False,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Run the method over every session of a range, vectorised, with a progress bar."""
    db_file = _db(db_path)
    lo, hi = _check_run_inputs(
        "backfill",
        db_file,
        config,
        snapshot_dir,
        [
            lambda: parse_day("--start", start, allow_today=False),
            lambda: parse_day("--end", end, allow_future=True),
        ],
    )
    if lo and hi and lo > hi:
        _refuse("backfill", db_file, hi, [f"--start {lo} is after --end {hi}"])
    say("starting Prefect…")  # first: _quiet_prefect imports Prefect's server module (~3 s)
    _quiet_prefect(verbose)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from flows.backfill import backfill_flow

    if not verbose:
        _hush_engine_failures()
    stages = ["ingest", "signals", "history and betas", "write"] + (["sizing"] if sizing else [])
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        job = bar.add_task("backfill", total=len(stages))

        def progress(stage: str) -> None:
            bar.update(job, completed=stages.index(stage), description=f"backfill: {stage}")

        try:
            res = backfill_flow(
                start=lo.isoformat() if lo else None,
                end=hi.isoformat() if hi else None,
                snapshot_dir=str(snapshot_dir) if snapshot_dir else None,
                db_path=str(db_file),
                config_path=str(config) if config else None,
                sizing=sizing,
                progress=progress,
            )
        except Exception as exc:
            if verbose:
                raise
            bar.stop()
            _fail([f"backfill failed: {exc}".replace("\n", "; ")], 1)
        bar.update(job, completed=len(stages), description="backfill: done")
    console.print(
        f"backfilled {res.sessions} sessions {res.start.date()} → {res.end.date()}: "
        f"{res.rows_written} rows in {res.seconds:.1f} s ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in res.timings.items())
        + ")",
        markup=False,
    )


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="one SQL query, run read-only in a sandbox")],
    fmt: Annotated[Fmt, typer.Option("--format", help="output format")] = Fmt.table,
    db_path: DbOption = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="seconds before the query is stopped")
    ] = 30.0,
    limit: Annotated[
        int, typer.Option("--limit", help="rows shown in table output (csv/json: all)")
    ] = 1000,
) -> None:
    """Query the warehouse read-only (safe while a run writes; no file or network access)."""
    from warehouse.sql import QueryRefused, run_query

    try:
        res = run_query(
            _db(db_path), query, timeout=timeout, row_limit=limit if fmt is Fmt.table else None
        )
    except (QueryRefused, FileNotFoundError) as exc:
        console.print(f"[bold red]query failed:[/] {exc}", soft_wrap=True)
        raise typer.Exit(1) from exc
    df = res.frame
    if fmt is Fmt.csv:
        df.to_csv(sys.stdout, index=False)
    elif fmt is Fmt.json:
        records = json.loads(df.to_json(orient="records", date_format="iso"))
        for rec in records:  # a JSON column is a nested object, not an escaped string
            for col in res.json_columns:
                if isinstance(rec.get(col), str):
                    rec[col] = json.loads(rec[col])
        sys.stdout.write(json.dumps(records, indent=1))
        sys.stdout.write("\n")
    else:
        console.print(frame_table(df))
        if res.truncated:
            console.print(f"(first {limit} rows shown: --limit N for more, or --format csv)")


@app.command()
def report(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="a session already run (YYYY-MM-DD)", metavar="DATE"),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="folder for the HTML file", metavar="DIR")
    ] = Path("."),
    db_path: DbOption = None,
    backtest_id: Annotated[
        str | None, typer.Option("--backtest", help="a backtest id: its tearsheet and equity curve")
    ] = None,
) -> None:
    """Write a static, offline HTML report of one day (tables and charts), or of a backtest."""
    if backtest_id is not None:
        from report.backtest import write_backtest_report

        try:
            path = write_backtest_report(_db(db_path), backtest_id, out)
        except FileNotFoundError as exc:
            _fail([f"report failed: {exc}"], 1)
        console.print(f"report written: {path}", markup=False)
        return
    if as_of is None:
        _fail(["--as-of DATE or --backtest ID is required"], 2, label="refused")
    problems: list[str] = []
    _collect(problems, lambda: parse_day("--as-of", as_of, allow_today=False))
    if problems:
        _fail(problems, 2, label="refused")
    from report import ReportError, write_report

    try:
        path = write_report(_db(db_path), as_of, out)
    except (ReportError, FileNotFoundError) as exc:
        _fail([f"report failed: {exc}"], 1)
    console.print(f"report written: {path}", markup=False)


@app.command()
def export(
    table: Annotated[str, typer.Option("--table", help="a warehouse table")],
    out: Annotated[Path, typer.Option("--out", help="FILE.parquet", metavar="FILE")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="only this day's rows \\[default: every day]",
        ),
    ] = None,
    db_path: DbOption = None,
) -> None:
    """Export a warehouse table (or one day of it) to Parquet."""
    problems: list[str] = []
    _collect(problems, lambda: parse_day("--as-of", as_of, allow_today=False))
    if problems:
        _fail(problems, 2, label="refused")
    from flows.export import ExportError, export_table

    try:
        n = export_table(_db(db_path), table, out, as_of=as_of)
    except (ExportError, FileNotFoundError) as exc:
        _fail([f"export failed: {exc}"], 1)
    console.print(f"{n} rows of {table} → {out}", markup=False)


@app.command("size-many")
def size_many(
    config: Annotated[
        Path,
        typer.Option("--config", help="portfolio TOML (any number of portfolios)", metavar="FILE"),
    ],
    as_of: Annotated[
        str, typer.Option("--as-of", help="a session already ingested (YYYY-MM-DD)", metavar="DATE")
    ],
    workers: Annotated[
        int | None,
        typer.Option(help="local Dask worker processes (needs the \\[dask] extra)", min=1),
    ] = None,
    dask_address: Annotated[
        str | None, typer.Option("--dask-address", help="an existing Dask scheduler")
    ] = None,
    db_path: DbOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Size many portfolios for one day, optionally across Dask workers."""
    db_file = _db(db_path)
    (day,) = _check_run_inputs(
        "size-many",
        db_file,
        config,
        None,
        [lambda: parse_day("--as-of", as_of, allow_today=False)],
    )
    if not db_file.is_file():
        _fail([f"--db {db_file}: no warehouse there (run `condorcap run` first)"], 2, "refused")
    say("starting Prefect…")  # first: _quiet_prefect imports Prefect's server module (~3 s)
    _quiet_prefect(verbose)
    from flows.scale import size_many_flow

    if not verbose:
        _hush_engine_failures()
    try:
        res = size_many_flow(
            day.isoformat(), str(config), str(db_file), workers=workers, dask_address=dask_address
        )
    except Exception as exc:
        if verbose:
            raise
        _fail([f"size-many failed: {exc}".replace("\n", "; ")], 1)
    console.print(
        f"sized {res.portfolios} portfolios for {res.as_of.date()}: {res.contracts} condor "
        f"contracts; market {res.seconds_market:.1f} s, sizing {res.seconds_sizing:.1f} s, "
        f"write {res.seconds_write:.1f} s"
    )


@app.command()
def serve(
    source: Annotated[
        Source, typer.Option(help="data source of the scheduled daily runs")
    ] = Source.live,
    db_path: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve the `daily` (cron 16:30 America/New_York, Mon-Fri) and `backfill` deployments.

    Needs a Prefect server: set PREFECT_API_URL (see README "Run it on a schedule").
    Runs until interrupted; scheduled runs on NYSE holidays finish as "not a session".
    """
    db_file = _db(db_path)
    _check_run_inputs("serve", db_file, config, None, [], record=False)
    if not os.environ.get("PREFECT_API_URL"):
        errors.print(
            "PREFECT_API_URL is not set: deployments need a running Prefect server "
            "(prefect server start --host 127.0.0.1 --port 4200, then "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api)",
            style="yellow",
            markup=False,
        )
        raise typer.Exit(2)
    from flows.deployments import DAILY_CRON, TIMEZONE, serve_all

    console.print(
        f"serving deployments daily ({DAILY_CRON}, {TIMEZONE}, source={source.value}) and backfill",
        markup=False,
    )
    serve_all(
        source=source.value,
        db_path=str(db_path.resolve()) if db_path else None,
        config_path=str(config.resolve()) if config else None,
    )


@app.command("validate-model")
def validate_model(
    file: Annotated[
        Path, typer.Option("--file", help="the index history (Cboe CNDR_History.csv format)")
    ],
    index: Annotated[str, typer.Option("--index", help="the strategy index: cndr")] = "cndr",
    start: Annotated[str | None, typer.Option(help="first month's expiry, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="last month's expiry, YYYY-MM-DD")] = None,
    db_path: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    variant: Annotated[
        str, typer.Option(help="parameter set: default or a calibration (docs/method-notes.md)")
    ] = "default",
    skew_file: Annotated[
        Path | None, typer.Option("--skew-file", help="CBOE SKEW_History.csv, for SKEW variants")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="also write a PNG of the cumulative series")
    ] = None,
) -> None:
    """Check the model surface against Cboe's CNDR index, month by month (SPEC §12)."""
    from flows.validate import validate_command

    code = validate_command(index, file, start, end, _db(db_path), fmt, variant, skew_file, chart)
    if code:
        raise typer.Exit(code)


@app.command()
def backtest(
    portfolio: Annotated[
        list[str] | None, typer.Option("--portfolio", help="portfolio id (repeatable; default all)")
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="first session (default: the first held)", metavar="DATE")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="last session (default: the last held)", metavar="DATE")
    ] = None,
    variant: Annotated[
        list[str] | None, typer.Option("--variant", help="hedge policy alvh|vxth|none (repeatable)")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="portfolio TOML", metavar="FILE")
    ] = None,
    backtest_id: Annotated[
        str | None, typer.Option("--id", help="backtest id (a rerun replaces it)")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="fan out on a local Dask cluster of this many processes", min=1),
    ] = None,
    db_path: DbOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Backtest the sizing policy: the daily book loop over history (SPEC §11), with a tearsheet."""
    problems: list[str] = []
    for flag, v in (("--start", start), ("--end", end)):
        if v is not None:
            _collect(problems, lambda flag=flag, v=v: parse_day(flag, v, allow_today=False))
    bad = [v for v in variant or [] if v not in ("alvh", "vxth", "none")]
    if bad:
        problems.append(f"--variant {bad[0]}: one of alvh, vxth, none")
    db_file = _db(db_path)
    if not db_file.is_file():
        problems.append(f"--db {db_file}: no warehouse there (run `condorcap backfill` first)")
    if problems:
        _fail(problems, 2, label="refused")
    say("starting Prefect…")  # first: _quiet_prefect imports Prefect's server module (~3 s)
    _quiet_prefect(verbose)
    from flows.backtest import backtest_flow
    from flows.daily import DEFAULT_CONFIG
    from tasks.backtest.tearsheet import tearsheet_markdown

    if not verbose:
        _hush_engine_failures()
    try:
        res = backtest_flow(
            str(db_file), str(config or DEFAULT_CONFIG), portfolio or None, start, end,
            variant or None, backtest_id, workers, progress=workers is None,
        )  # fmt: skip
    except Exception as exc:
        if verbose:
            raise
        _fail([f"backtest failed: {exc}".replace("\n", "; ")], 1)
    console.print(tearsheet_markdown(res.summary, res.windows), markup=False)
    console.print(
        f"backtest {res.backtest_id}: {res.sessions} sessions {res.start.date()} → "
        f"{res.end.date()}; market {res.seconds_market:.1f} s, book loop {res.seconds_loop:.1f} s "
        f"({res.sessions * len(res.summary) / max(res.seconds_loop, 1e-9):,.1f} sessions/s)",
        markup=False,
    )


if __name__ == "__main__":
    app()
