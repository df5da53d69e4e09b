"""``condorcap validate-model``: the model surface checked against Cboe's CNDR index (SPEC §12).

Reads the warehouse's point-in-time observations (SPX, the VIX family, the 3-month bill),
replicates CNDR's monthly condors with the model (``tasks.validation``), compares them with
the index file month by month, prints the figures per year and over the range, and writes
them to ``model_checks`` (a run of its own, published atomically like every other run).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from schemas.config import Params
from tasks.ingest import SourceParseError, parse_cboe_index
from tasks.market.frame import MARKET_SERIES, market_frame
from tasks.validation import (
    CndrFormatError,
    TrackingFigures,
    cndr_months,
    cumulative,
    figures_by_year,
    parse_cndr,
    roll_sessions,
    tracking_figures,
)
from tasks.validation.calibration import CALIBRATIONS, calibrated_params
from tasks.validation.fit import leverage
from tasks.validation.replication import uses_skew_index
from warehouse import db, store
from warehouse.model_checks import write_model_checks

INDICES = ("cndr",)
FORMATS = ("table", "json")
# exit codes: 1 = the inputs cannot be checked (file, warehouse, range), 2 = a usage error
EXIT_DATA, EXIT_USAGE = 1, 2


class ValidationError(RuntimeError):
    """The check cannot run; the message is one line that says why and what to do."""


@dataclass
class ValidationResult:
    """What one check found (the CLI prints it; tests read it)."""

    check: str
    variant: str
    months: pd.DataFrame  # one row per month: model and index side by side
    overall: TrackingFigures
    by_year: pd.DataFrame
    run_id: str
    rows_written: int


def _read_index(path: Path) -> tuple[pd.Series, str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read the index file {path}: {exc.strerror}") from exc
    try:
        return parse_cndr(raw, str(path)), hashlib.sha256(raw).hexdigest()
    except CndrFormatError as exc:
        raise ValidationError(f"malformed CNDR file: {exc}") from exc


def _skew_closes(obs: pd.DataFrame, skew_file: Path | None) -> pd.Series:
    """CBOE SKEW closes: the warehouse's ``skew`` series when it has one, else ``skew_file``.

    A close is knowable at its own session's close (like the VIX), so the frame takes the
    SKEW of each roll session itself.
    """
    stored = obs[obs["series_id"] == "skew"]
    if not stored.empty:
        latest = stored.sort_values(["date", "available_at"]).drop_duplicates("date", keep="last")
        return latest.set_index("date")["value"]
    if skew_file is None:
        raise ValidationError(
            "this variant reads the CBOE SKEW index: the warehouse has no `skew` series, "
            "so pass --skew-file SKEW_History.csv"
        )
    try:
        rows = parse_cboe_index(Path(skew_file).read_bytes(), "skew", str(skew_file))
    except OSError as exc:
        raise ValidationError(f"cannot read the SKEW file {skew_file}: {exc.strerror}") from exc
    except SourceParseError as exc:
        raise ValidationError(f"malformed SKEW file: {exc}") from exc
    rows = rows.dropna(subset=["date", "value"]).drop_duplicates("date", keep="last")
    return rows.set_index("date")["value"]


def _range(
    cndr: pd.Series, obs: pd.DataFrame, start: str | None, end: str | None
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The requested range, defaulting to where both the index and the SPX closes exist."""
    spx = obs.loc[obs["series_id"] == "spx", "date"]
    if spx.empty:
        raise ValidationError("the warehouse holds no SPX closes: run `condorcap run` first")
    lo = max(cndr.index.min(), spx.min())
    hi = min(cndr.index.max(), spx.max())
    try:
        s = pd.Timestamp(start) if start else lo
        e = pd.Timestamp(end) if end else hi
    except ValueError as exc:
        raise ValidationError(f"--start/--end must be dates YYYY-MM-DD: {exc}") from exc
    if s > e:
        raise ValidationError(f"--start {s.date()} is after --end {e.date()}")
    return s.normalize(), e.normalize()


def validate_model(
    index: str,
    file: str | Path,
    db_path: str | Path,
    start: str | None = None,
    end: str | None = None,
    variant: str = "default",
    params: Params | None = None,
    skew_file: str | Path | None = None,
) -> ValidationResult:
    """Replicate ``index`` with the model over ``[start, end]`` and store the figures.

    Parameters
    ----------
    index : ``'cndr'`` (the only index so far).
    file : the index history (Cboe ``CNDR_History.csv`` format).
    db_path : the warehouse; it must already hold the market series (``condorcap run``).
    start, end : range of month *expiries* (default: where file and warehouse overlap).
    variant : a named calibration (``tasks.validation.calibration.CALIBRATIONS``) applied
        over ``params`` (default ``Params()``); its name goes to ``model_checks.variant``.
    skew_file : CBOE ``SKEW_History.csv``, read when the variant uses the SKEW index and the
        warehouse holds no ``skew`` series.

    Raises
    ------
    ValidationError
        Unknown index, unreadable or malformed file, no warehouse, no month to compare.
    """
    if index not in INDICES:
        raise ValidationError(f"unknown index {index!r}: choose from {', '.join(INDICES)}")
    if variant not in CALIBRATIONS:
        raise ValidationError(f"unknown variant {variant!r}: choose from {', '.join(CALIBRATIONS)}")
    params = calibrated_params(variant, params)
    file = Path(file)
    db_file = Path(db_path)
    if not db_file.exists():
        raise ValidationError(f"no warehouse at {db_file}: run `condorcap run` first")
    cndr, sha = _read_index(file)
    with store.RunWorkspace(db_file, flow="validate-model") as ws:
        con = ws.connect()
        try:
            obs = db.read_observations(con, series_ids=[*MARKET_SERIES, "skew"])
        finally:
            con.close()
        lo, hi = _range(cndr, obs, start, end)
        # point in time: each entry session's row holds only what was knowable at its close
        obs = obs[obs["available_at"] <= hi]
        rolls = roll_sessions(lo, hi)
        frame = market_frame(obs, sessions=rolls)
        if uses_skew_index(params.validation):
            frame["skew"] = _skew_closes(obs, Path(skew_file) if skew_file else None).reindex(
                frame.index
            )
        months = cndr_months(frame, cndr, lo, hi, params.pricing, params.validation)
        months = months[months["index_excess"].notna()].reset_index(drop=True)
        if len(months) < 2:
            raise ValidationError(
                f"fewer than 2 months expiring {lo.date()} … {hi.date()} have both a model "
                "price and an index return: check the range, the file and the warehouse"
            )
        overall = tracking_figures(months["model_excess"], months["index_excess"])
        by_year = figures_by_year(months)
        rows = _check_rows(index, variant, months, overall, by_year, params, file, sha, ws.run_id)
        ws.as_of = months["expiry"].max()
        con = ws.connect()
        try:
            with db.transaction(con):
                written = write_model_checks(con, rows)
        finally:
            con.close()
        ws.complete(written)
    return ValidationResult(index, variant, months, overall, by_year, ws.run_id, written)


def _check_rows(
    index: str,
    variant: str,
    months: pd.DataFrame,
    overall: TrackingFigures,
    by_year: pd.DataFrame,
    params: Params,
    file: Path,
    sha: str,
    run_id: str,
) -> pd.DataFrame:
    """The ``model_checks`` rows: one for the range, one per year."""
    years = pd.DatetimeIndex(months["expiry"]).year
    spans = months.groupby(years).agg(start=("entry", "min"), end=("expiry", "max"))
    year_rows = by_year.drop(columns="year").assign(
        start=spans["start"].to_numpy(), end=spans["end"].to_numpy(), scope="year"
    )
    range_row = pd.DataFrame(
        [{**asdict(overall), "start": months["entry"].min(), "end": months["expiry"].max()}]
    ).assign(scope="range")
    rows = pd.concat([range_row, year_rows], ignore_index=True)
    used = {"pricing": params.pricing.model_dump(), "validation": params.validation.model_dump()}
    return rows.assign(
        checked_at=datetime.now(UTC).replace(tzinfo=None),
        check=index,
        variant=variant,
        params=json.dumps(used, sort_keys=True),
        source_file=str(file),
        source_sha256=sha,
        run_id=run_id,
    )


def figures_json(fig: TrackingFigures) -> str:
    """The one-line JSON object of ``--format json`` (keys of SPEC §12, in that order)."""
    return json.dumps(fig.as_dict())


def _table(res: ValidationResult) -> str:
    cols = ["months", "corr", "sharpe_model", "sharpe_index", "mean_model", "mean_index"]
    years = res.by_year.set_index("year")[cols]
    total = pd.DataFrame([asdict(res.overall)], index=pd.Index(["all"], name="year"))[cols]
    out = pd.concat([years.astype({"months": int}), total])
    first, last = res.months["entry"].min().date(), res.months["expiry"].max().date()
    head = (
        f"validate-model {res.check}: {res.overall.months} months {first} → {last}, "
        f"model excess per unit of max loss vs index excess over bills (variant {res.variant})"
    )
    body = out.to_string(float_format=lambda v: f"{v:.4f}", na_rep="")
    return f"{head}\n{body}\nmodel_checks: {res.rows_written} rows (run {res.run_id})"


def write_chart(res: ValidationResult, path: Path) -> Path:
    """PNG of the two cumulative excess-return series (the model at CNDR's leverage)."""
    import matplotlib

    matplotlib.use("Agg")  # file output only
    import matplotlib.pyplot as plt

    k = leverage(res.months["model_excess"].to_numpy(), res.months["index_excess"].to_numpy())
    cum = cumulative(res.months, scale=k)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(cum.index, cum["index"], label="CNDR excess over bills", color="black")
    ax.plot(cum.index, cum["model"], label=f"model ({k:.3f} × P&L per max loss)", color="tab:blue")
    ax.set_yscale("log")
    ax.set_title(
        f"{res.check.upper()} vs model ({res.variant}): corr {res.overall.corr:.2f}, Sharpe "
        f"{res.overall.sharpe_model:.2f} vs {res.overall.sharpe_index:.2f}"
    )
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def validate_command(
    index: str,
    file: Path,
    start: str | None,
    end: str | None,
    db_path: Path,
    fmt: str,
    variant: str = "default",
    skew_file: Path | None = None,
    chart: Path | None = None,
) -> int:
    """The CLI's ``validate-model``: print the figures, return the exit code (0, 1 or 2)."""
    if fmt not in FORMATS:
        print(f"validate-model: --format must be one of {', '.join(FORMATS)}", file=sys.stderr)
        return EXIT_USAGE
    if index not in INDICES:
        print(f"validate-model: unknown index {index!r} (choose from {', '.join(INDICES)})",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    try:
        res = validate_model(
            index, file, db_path, start=start, end=end, variant=variant, skew_file=skew_file
        )
    except (ValidationError, store.WarehouseBusy) as exc:
        print(f"validate-model failed: {exc}", file=sys.stderr)
        return EXIT_DATA
    if chart is not None:
        print(f"chart written: {write_chart(res, chart)}", file=sys.stderr)
    if fmt == "json":
        print(figures_json(res.overall))
    else:
        print(_table(res))
    return 0
