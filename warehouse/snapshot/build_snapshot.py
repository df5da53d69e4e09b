"""Rebuild the bundled snapshot from the vendored provider files (a maintainer's tool).

Usage: ``python warehouse/snapshot/build_snapshot.py /path/to/shared/data``

Only whole data rows are dropped (observations before the cut-off); header lines, date
formats, line endings and number formatting are copied byte for byte. The FOMC calendar
is the one file that is built rather than copied (see PROVENANCE.md).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

DAILY_CUTOFF = "1990-01-01"
MACRO_CUTOFF = "1988-01-01"  # monthly/quarterly: 1990's trailing 12-month z-scores need 1988-89

# (source file, snapshot file, cut-off, date layout of the first field)
COPIES: list[tuple[str, str, str, str]] = [
    (
        "spx_daily_yahoo_close_1927_2026.csv",
        "spx_daily_yahoo_close_1990_2026.csv",
        DAILY_CUTOFF,
        "iso",
    ),
    ("cboe_VIX_History.csv", "cboe_VIX_History.csv", DAILY_CUTOFF, "us"),
    ("cboe_VIX3M_History.csv", "cboe_VIX3M_History.csv", DAILY_CUTOFF, "us"),
    ("cboe_VIX9D_History.csv", "cboe_VIX9D_History.csv", DAILY_CUTOFF, "us"),
    ("cboe_VIX6M_History.csv", "cboe_VIX6M_History.csv", DAILY_CUTOFF, "us"),
    ("cboe_VVIX_History.csv", "cboe_VVIX_History.csv", DAILY_CUTOFF, "us"),
    ("fred_DTB3.csv", "fred_DTB3.csv", DAILY_CUTOFF, "iso"),
    ("fred_DFF.csv", "fred_DFF.csv", DAILY_CUTOFF, "iso"),
    ("fred_DTWEXBGS.csv", "fred_DTWEXBGS.csv", DAILY_CUTOFF, "iso"),
    ("fred_CPIAUCSL.csv", "fred_CPIAUCSL.csv", MACRO_CUTOFF, "iso"),
    ("fred_PPIFIS.csv", "fred_PPIFIS.csv", MACRO_CUTOFF, "iso"),
    ("fred_PPIACO.csv", "fred_PPIACO.csv", MACRO_CUTOFF, "iso"),
    ("fredgraph_GDPC1_1990_2025.csv", "fredgraph_GDPC1_1990_2025.csv", MACRO_CUTOFF, "iso"),
    ("fred_GDPC1.csv", "fred_GDPC1.csv", MACRO_CUTOFF, "iso"),
    ("fred_RBUSBIS.csv", "fred_RBUSBIS.csv", MACRO_CUTOFF, "iso"),
]

CHAIN = "cboe_spx_options_chain_2025-01-06.csv"

FOMC_SOURCE = "fomc_decision_dates_2000_2026.csv"
FOMC_CORRECTIONS = {"2026-05-06": "2026-04-29"}  # per the 2021-2026 list and the Fed's calendar
FOMC_UNSCHEDULED = {
    "2001-01-03",
    "2001-04-18",
    "2001-09-17",
    "2007-08-17",
    "2008-01-22",
    "2008-10-08",
    "2020-03-03",
    "2020-03-15",
}

_US = re.compile(rb"^(\d{2})/(\d{2})/(\d{4})")
_ISO = re.compile(rb"^\"?(\d{4})-(\d{2})-(\d{2})")


def _iso_key(line: bytes, layout: str) -> str | None:
    m = (_US if layout == "us" else _ISO).match(line)
    if m is None:
        return None
    a, b, c = (g.decode() for g in m.groups())
    return f"{c}-{a}-{b}" if layout == "us" else f"{a}-{b}-{c}"


def trim(src: Path, dst: Path, cutoff: str, layout: str) -> tuple[int, int]:
    """Copy ``src`` to ``dst`` keeping the header and rows dated on/after ``cutoff``.

    Lines whose date cannot be read are kept (they are data the validator should see).
    """
    lines = src.read_bytes().splitlines(keepends=True)
    kept = [lines[0]]
    for line in lines[1:]:
        key = _iso_key(line, layout)
        if key is None or key >= cutoff:
            kept.append(line)
    dst.write_bytes(b"".join(kept))
    return len(lines) - 1, len(kept) - 1


def build_fomc(src: Path, dst: Path) -> int:
    dates = [ln.strip() for ln in src.read_text().splitlines()[1:] if ln.strip()]
    dates = sorted(FOMC_CORRECTIONS.get(d, d) for d in dates)
    rows = [f"{d},{'unscheduled' if d in FOMC_UNSCHEDULED else 'scheduled'}\n" for d in dates]
    dst.write_text("date,kind\n" + "".join(rows))
    return len(rows)


def main(data_dir: str) -> None:
    src_dir = Path(data_dir)
    for src, dst, cutoff, layout in COPIES:
        n_in, n_out = trim(src_dir / src, HERE / dst, cutoff, layout)
        print(f"{dst}: {n_out} of {n_in} rows")
    (HERE / "chains").mkdir(exist_ok=True)
    (HERE / "chains" / CHAIN).write_bytes((src_dir / CHAIN).read_bytes())
    print(
        f"fomc_calendar.csv: {build_fomc(src_dir / FOMC_SOURCE, HERE / 'fomc_calendar.csv')} rows"
    )


if __name__ == "__main__":
    main(sys.argv[1])
