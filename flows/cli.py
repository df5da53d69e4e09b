"""The ``condorcap`` command line: run, backfill, sql (and the operations commands)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

import flows  # noqa: F401 - sets Prefect start-up defaults before prefect is imported
from warehouse import db

app = typer.Typer(
    help="condorcap: daily CAPM/WACC-aware sizing of SPX iron-condor ladders with an ALVH hedge.",
    no_args_is_help=True,
    add_completion=False,
)
# a pipe or CI log gets a wide fixed width rather than rich's 80 columns
console = Console(width=None if sys.stdout.isatty() else 140)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="warehouse file [default: $CONDORCAP_DB or data/condorcap.duckdb]"),
]


class Source(StrEnum):
    snapshot = "snapshot"
    live = "live"


class Fmt(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _db(path: Path | None) -> Path:
    return path or db.default_db_path()


def frame_table(df: pd.DataFrame, title: str | None = None) -> Table:
    """A rich table of a DataFrame (floats to 4 significant decimals)."""
    t = Table(title=title, show_lines=False, header_style="bold")
    for c in df.columns:
        t.add_column(str(c), overflow="fold")
    for row in df.itertuples(index=False):
        t.add_row(*[_fmt(v) for v in row])
    return t


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 1e5 else f"{v:,.0f}"
    if isinstance(v, pd.Timestamp):
        return str(v.date())
    return str(v)


@app.command()
def run(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="session date YYYY-MM-DD [default: latest complete]"),
    ] = None,
    source: Annotated[Source, typer.Option(help="where data comes from")] = Source.snapshot,
    snapshot_dir: Annotated[
        Path | None,
        typer.Option("--snapshot-dir", help="a snapshot folder (provider files + manifest.toml)"),
    ] = None,
    db_path: DbOption = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="portfolio TOML [default: examples/portfolios.toml]"),
    ] = None,
) -> None:
    """Run the daily flow once and print the day's signal states and sizing."""
    from flows.daily import daily_flow

    try:
        result = daily_flow(
            as_of=as_of,
            source=source.value,
            snapshot_dir=str(snapshot_dir) if snapshot_dir else None,
            db_path=str(_db(db_path)),
            config_path=str(config) if config else None,
        )
    except Exception as exc:  # the flow already logged the traceback; say it plainly
        console.print(f"[bold red]run failed:[/] {exc}")
        raise typer.Exit(1) from exc
    if result.status == "skipped":
        console.print(result.message)
        return
    console.print(
        f"[bold]condorcap daily run[/] {result.run_id}  as_of [bold]{result.as_of.date()}[/]  "
        f"({result.seconds:.1f} s)  warehouse: {_db(db_path)}"
    )
    console.print(
        "loaded: "
        + ", ".join(f"{k} +{v}" for k, v in result.loaded.items())
        + f"; quarantined this run: {len(result.quarantined)} row(s)"
    )
    if len(result.quarantined):
        q = result.quarantined.groupby(["series_id", "check_name"]).size().reset_index(name="rows")
        console.print(frame_table(q, "quarantined rows (see the quarantine table)"))
    sig = result.signals[["signal", "value", "state", "input_date"]]
    console.print(frame_table(sig, f"signal states {result.as_of.date()}"))


@app.command()
def backfill(
    start: Annotated[
        str | None, typer.Option(help="first session [default: snapshot start]")
    ] = None,
    end: Annotated[str | None, typer.Option(help="last session [default: latest complete]")] = None,
    snapshot_dir: Annotated[Path | None, typer.Option("--snapshot-dir")] = None,
    db_path: DbOption = None,
) -> None:
    """Run the method over every session of a range, vectorised, with a progress bar."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from flows.backfill import backfill_flow

    stages = ["ingest", "signals", "history and betas", "write"]
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        job = bar.add_task("backfill", total=len(stages))

        def progress(stage: str) -> None:
            bar.update(job, completed=stages.index(stage), description=f"backfill: {stage}")

        try:
            res = backfill_flow(
                start=start,
                end=end,
                snapshot_dir=str(snapshot_dir) if snapshot_dir else None,
                db_path=str(_db(db_path)),
                progress=progress,
            )
        except Exception as exc:
            console.print(f"[bold red]backfill failed:[/] {exc}")
            raise typer.Exit(1) from exc
        bar.update(job, completed=len(stages), description="backfill: done")
    console.print(
        f"backfilled {res.sessions} sessions {res.start.date()} → {res.end.date()}: "
        f"{res.rows_written} rows in {res.seconds:.1f} s ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in res.timings.items())
        + ")"
    )


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="one SQL statement, run read-only")],
    fmt: Annotated[Fmt, typer.Option("--format", help="output format")] = Fmt.table,
    db_path: DbOption = None,
) -> None:
    """Query the warehouse read-only (safe while a run writes)."""
    try:
        df = db.query(_db(db_path), query)
    except Exception as exc:
        console.print(f"[bold red]query failed:[/] {exc}")
        raise typer.Exit(1) from exc
    if fmt is Fmt.csv:
        df.to_csv(sys.stdout, index=False)
    elif fmt is Fmt.json:
        sys.stdout.write(
            json.dumps(json.loads(df.to_json(orient="records", date_format="iso")), indent=1)
        )
        sys.stdout.write("\n")
    else:
        console.print(frame_table(df))


@app.command()
def serve(
    source: Annotated[
        Source, typer.Option(help="data source of the scheduled daily runs")
    ] = Source.live,
    db_path: DbOption = None,
    config: Annotated[Path | None, typer.Option("--config", help="portfolio TOML")] = None,
) -> None:
    """Serve the `daily` (cron 16:30 America/New_York, Mon-Fri) and `backfill` deployments.

    Needs a Prefect server: set PREFECT_API_URL (see README "Run it on a schedule").
    Runs until interrupted; scheduled runs on NYSE holidays finish as "not a session".
    """
    import os

    from flows.deployments import DAILY_CRON, TIMEZONE, serve_all

    if not os.environ.get("PREFECT_API_URL"):
        console.print(
            "[yellow]PREFECT_API_URL is not set: deployments need a running Prefect server "
            "(prefect server start --host 127.0.0.1 --port 4200, then "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api)[/]"
        )
        raise typer.Exit(2)
    console.print(
        f"serving deployments daily ({DAILY_CRON}, {TIMEZONE}, source={source.value}) and backfill"
    )
    serve_all(
        source=source.value,
        db_path=str(db_path.resolve()) if db_path else None,
        config_path=str(config.resolve()) if config else None,
    )


if __name__ == "__main__":
    app()
