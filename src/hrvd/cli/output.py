"""What the commands print with: JSON, tables or CSV, and the one ride summary. Pure text.

A tabular command prints a rich table on a terminal (as wide as its rows, never wrapped
or cut), CSV with a header row into a pipe, JSON when asked; ``--format`` chooses.
"""

from __future__ import annotations

import csv
import json
import math
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from rich.segment import Segment

TABULAR = ("table", "csv", "json")
"""The formats of a tabular command."""


def json_safe(value: object) -> object:
    """``value`` with every NaN or infinite float as None: JSON has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_json(out: TextIO, value: object) -> None:
    """``value`` as one line of compact JSON (NaN as null)."""
    out.write(json.dumps(json_safe(value), separators=(",", ":"), allow_nan=False) + "\n")


def tabular_format(chosen: str | None, out: TextIO) -> str:
    """The format asked for, else ``table`` on a terminal and ``csv`` into a pipe or file."""
    if chosen is not None:
        return chosen
    isatty = getattr(out, "isatty", None)
    return "table" if isatty is not None and isatty() else "csv"


def write_rows(
    out: TextIO, fmt: str, header: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Rows under ``header`` as a table or CSV (a None cell is empty in CSV, ``-`` in a table).

    A table whose header is all empty strings shows none: a list of labels and values.
    """
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
        return
    from rich.console import Console  # noqa: PLC0415 - only a terminal draws tables
    from rich.measure import Measurement  # noqa: PLC0415
    from rich.segment import SegmentLines  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    table = Table(box=None, pad_edge=False, header_style="bold", show_header=any(header))
    for name in header:
        table.add_column(name, no_wrap=True, overflow="ignore")
    for row in rows:
        table.add_row(*("-" if cell is None else str(cell) for cell in row))
    # A cell is text as it is: a strap named "[garage]" or ":x:" is no markup or emoji.
    console = Console(file=out, highlight=False, markup=False, emoji=False)
    # Never wrapped or cut: as wide as the terminal, or as the widest row when wider. Both
    # sides of the size: rich holds a width alone at 80 columns on a dumb terminal.
    wide = console.options.update_width(1 << 16)
    widest = Measurement.get(console, wide, table).maximum
    console.size = (max(console.width, widest), console.height)
    lines = console.render_lines(table, pad=False)
    console.print(SegmentLines([_trimmed(line) for line in lines], new_lines=True), end="")


def _trimmed(line: list[Segment]) -> list[Segment]:
    """A table's line without the blanks that pad its last cell: none ends in spaces."""
    from rich.segment import Segment  # noqa: PLC0415

    kept = list(line)
    while kept and not kept[-1].control and not kept[-1].text.strip():
        kept.pop()
    if kept and not kept[-1].control:
        text, style, control = kept[-1]
        kept[-1] = Segment(text.rstrip(), style, control)
    return kept


def clock(seconds: object) -> str:
    """Seconds as ``m:ss`` (``-`` when not a number)."""
    if not isinstance(seconds, int | float) or not math.isfinite(seconds):
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def ride_summary(summary: Mapping[str, object]) -> list[str]:
    """A ride's summary (the ``session`` message) as the two lines every command prints."""
    first = (
        f"ride summary: {clock(summary.get('duration_s'))}, {summary.get('in_zone_pct')} % "
        f"in the recovery zone, {clock(summary.get('too_hard_s'))} too hard, "
        f"{summary.get('alerts')} alert(s), mean HR {summary.get('mean_hr_bpm')} bpm"
    )
    hrvt1 = summary.get("hrvt1_bpm")
    why = summary.get("hrvt1_reason")
    found = f"{hrvt1} bpm" if hrvt1 is not None else f"none from this ride ({why})"
    return [first, f"HRVT1 (alpha1 = 0.75): {found}"]
