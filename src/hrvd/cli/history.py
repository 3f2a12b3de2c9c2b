"""`hrvd history`: the mornings, each judged against its own previous 60 days."""

from __future__ import annotations

import asyncio
import sys
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, TextIO

from hrvd.cli.args import add_athlete, add_command
from hrvd.cli.output import tabular_format, write_json, write_rows
from hrvd.cli.spark import band_marks, sparkline
from hrvd.coach.baseline import BASELINE_DAYS, EARLIEST_DAY, LATEST_DAYS_AHEAD
from hrvd.coach.history_import import parse_history
from hrvd.coach.orthostatic_baseline import ORTHO_COLUMNS, ortho_columns
from hrvd.coach.readiness import assess_all, recommendation_text
from hrvd.coach.weekly import WEEKLY_FIELDS, weekly_fields
from hrvd.errors import EXIT_OK, InputFileError, UsageError
from hrvd.rrfile import decode_text, read_bytes
from hrvd.store import open_store

if TYPE_CHECKING:
    import argparse

    from hrvd.cli.args import Parser, Subparsers
    from hrvd.coach.baseline import Morning
    from hrvd.coach.readiness import ReadinessResult
    from hrvd.config import Config

COLUMNS = (
    "date",
    "ln_rmssd",
    "ln_rmssd_7d",
    "normal_low",
    "normal_high",
    "resting_hr_bpm",
    "score",
    "status",
    "recommendation",
    *WEEKLY_FIELDS,
    *ORTHO_COLUMNS,
)


def _row(r: ReadinessResult) -> dict[str, object]:
    b = r.baseline
    return {
        "date": r.day.isoformat(),
        "ln_rmssd": round(r.ln_rmssd, 3),
        "ln_rmssd_7d": round(r.ln_rmssd_7d, 3),
        "normal_low": None if b is None or b.normal_low is None else round(b.normal_low, 3),
        "normal_high": None if b is None or b.normal_high is None else round(b.normal_high, 3),
        "resting_hr_bpm": None if r.resting_hr_bpm is None else round(r.resting_hr_bpm, 1),
        "score": r.score,
        "status": r.status.value,
        "recommendation": None if r.recommendation is None else r.recommendation.value,
        **weekly_fields(r.weekly),
    }


MAX_HISTORY_BYTES = 16 * 1024 * 1024
"""The largest file `hrvd history import` reads. Every day since 1980 in three postures
is about 51,000 rows of under 100 bytes (5 MiB); a larger file is not a morning history."""
MAX_HISTORY_LINES = 100_000
"""The most lines `hrvd history import` reads, for the same reason (51,000 days x postures)."""


def _tomorrow() -> date:
    return datetime.now().astimezone().date() + timedelta(days=LATEST_DAYS_AHEAD)


def _plausible(mornings: list[Morning], err: TextIO) -> list[Morning]:
    """The mornings dated from EARLIEST_DAY to tomorrow; a note names any other."""
    latest = _tomorrow()
    kept = [m for m in mornings if EARLIEST_DAY <= m.day <= latest]
    if len(kept) < len(mornings):
        odd = next(m.day for m in mornings if m not in kept)
        err.write(
            f"hrvd: note: left out {len(mornings) - len(kept)} stored morning(s) dated "
            f"outside {EARLIEST_DAY} to tomorrow (such as {odd})\n"
        )
    return kept


def _shown_and_their_windows(mornings: list[Morning], days: int) -> list[Morning]:
    """The last ``days`` mornings and the BASELINE_DAYS before them: all their scores need.

    Years of mornings are then judged in the time of a few months'.
    """
    ordered = sorted(mornings, key=lambda m: (m.day, m.posture))
    if not 0 < days < len(ordered):
        return ordered
    first = ordered[-days].day - timedelta(days=BASELINE_DAYS)
    return [m for m in ordered if m.day >= first]


def show_history(
    config: Config, *, days: int, fmt: str, out: TextIO, err: TextIO | None = None
) -> None:
    """The last ``days`` mornings as a table, JSON (a list of objects) or CSV."""
    mornings, tests = [], []
    if config.store.path.exists():  # else nothing was measured or imported yet
        store = open_store(config.store.path, readonly=True)
        try:
            mornings = store.mornings(config.athlete.name)
            tests = store.orthostatic_tests(config.athlete.name)
        finally:
            store.close()
    results = assess_all(_shown_and_their_windows(_plausible(mornings, err or sys.stderr), days))[
        -days:
    ]
    ortho = ortho_columns(tests)
    rows = [
        _row(r) | ortho.get((r.day, r.posture.value), dict.fromkeys(ORTHO_COLUMNS)) for r in results
    ]
    if fmt == "json":
        write_json(out, rows)
    elif fmt == "csv":
        write_rows(out, fmt, COLUMNS, [[row.get(k) for k in COLUMNS] for row in rows])
    elif not rows:
        out.write(
            "no morning measurement yet (take one with 'hrvd morning', or import a "
            "history with 'hrvd history import FILE.csv')\n"
        )
    else:
        write_rows(out, fmt, TABLE_HEADER, [_table_row(row) for row in rows])
        _spark(results, out)
        if results[-1].recommendation is not None:
            advice = recommendation_text(results[-1], config.athlete.language)
            out.write(f"\nlatest: {advice}\n")


TABLE_HEADER = (
    "DATE",
    "lnRMSSD",
    "7-DAY",
    "TREND",
    "CV%",
    "NORMAL",
    "RHR",
    "SCORE",
    "STATUS",
    "STAND",
    "RISE",
    "ORTHO",
)
"""The table's columns, the day's at a glance; CSV and JSON have every one of COLUMNS."""


def _table_row(row: dict[str, object]) -> tuple[object, ...]:
    low, high = row["normal_low"], row["normal_high"]
    normal = f"{low:.2f}-{high:.2f}" if isinstance(low, float) and isinstance(high, float) else None
    return (
        row["date"],
        _f(row["ln_rmssd"], 2),
        _f(row["ln_rmssd_7d"], 2),
        _signed(row["trend_7d"]),
        _f(row["cv_7d_pct"], 1),
        normal,
        _f(row["resting_hr_bpm"], 0),
        _f(row["score"], 0),
        row["status"],
        _f(row["standing_hr_bpm"], 0),
        _f(row["hr_rise_bpm"], 0),
        row["ortho_status"] or row["ortho_outcome"],
    )


def _spark(results: list[ReadinessResult], out: TextIO) -> None:
    """Draw lnRMSSD day by day as a sparkline, and where each day sits against its band."""
    ln = [r.ln_rmssd for r in results]
    lows = [None if r.baseline is None else r.baseline.normal_low for r in results]
    highs = [None if r.baseline is None else r.baseline.normal_high for r in results]
    out.write(f"\nlnRMSSD  {sparkline(ln)}  {min(ln):.2f} to {max(ln):.2f}\n")
    out.write(f"band     {band_marks(ln, lows, highs)}  v below, - within, ^ above\n")


def _f(value: object, digits: int) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "-"


def _signed(value: object) -> str:
    return f"{value:+.2f}" if isinstance(value, float) else "-"


def import_history(config: Config, source: str, out: TextIO) -> None:
    """Seed the baseline from another app's export; measured mornings are kept.

    Raises:
        InputFileError: the file cannot be read or a line is wrong (named).
    """
    data = read_bytes(source, MAX_HISTORY_BYTES, "a morning history hrvd reads")
    text = decode_text(data, source)
    if len(data) > MAX_HISTORY_BYTES or text.count("\n") >= MAX_HISTORY_LINES:
        msg = (
            f"is larger than a morning history can be ({MAX_HISTORY_BYTES // 2**20} MiB "
            f"or {MAX_HISTORY_LINES} lines: a row a day and posture since {EARLIEST_DAY})"
        )
        raise InputFileError(source, None, msg)
    imported = parse_history(text, source, latest=_tomorrow())
    store = open_store(config.store.path)
    try:
        adding = store.add_mornings(
            list(imported.mornings), source="imported", replace=False, athlete=config.athlete.name
        )
        written = asyncio.run(adding)
    finally:
        store.close()
    kept = len(imported.mornings) - written
    out.write(
        f"imported {written} morning(s) from {source}"
        + (f"; kept {kept} already stored" if kept else "")
        + "\n"
    )


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    history = add_command(
        sub,
        "history",
        "The mornings day by day, each judged against its own previous 60 days (show, "
        "the default), or a history from another app taken in (import FILE.csv).",
    )
    history.add_argument("action", nargs="?", choices=("show", "import"), default="show")
    history.add_argument("file", nargs="?", metavar="FILE.csv", help="with 'import'")
    history.add_argument("--config", metavar="FILE")
    add_athlete(history)
    history.add_argument("--days", type=int, default=30, help="days shown (default 30)")
    history.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        help="default: table on a terminal, csv into a pipe",
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    if args.action == "show" and args.file:
        raise UsageError(
            f"'hrvd history show' takes no file ({args.file!r}): 'hrvd history import'"
        )
    config = load_config(find_config(args.config)).for_command(args.athlete)
    if args.action == "import":
        if not args.file:
            raise UsageError("'hrvd history import' needs the CSV file to import")
        import_history(config, args.file, out)
    else:
        show_history(config, days=args.days, fmt=tabular_format(args.format, out), out=out)
    return EXIT_OK
