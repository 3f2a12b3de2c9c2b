"""Read RR intervals from a file or stdin.

Accepted: plain text with one value a line (ms; seconds when every value is below 10),
or CSV / TSV / semicolon-separated text whose header names the RR column. Blank lines,
``#`` comments and a UTF-8 byte-order mark are ignored. Any positive number is data (the
artifact detector judges it); anything else is an :class:`~hrvd.errors.InputFileError`
naming the line.
"""

from __future__ import annotations

import csv
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hrvd.errors import InputFileError

if TYPE_CHECKING:
    from numpy.typing import NDArray

SECONDS_LIMIT = 10.0
"""When every value is below this, the file is taken to be in seconds: no heart beats
once in 10 ms, and none pauses for 10 s."""
RR_COLUMN_NAMES = ("rr", "rr_ms", "rri", "rri_ms", "rr_interval", "rr_intervals", "ibi", "ibi_ms",
                   "nn", "nni", "nn_ms", "interval", "rr_s", "rri_s", "ibi_s")  # fmt: skip
"""Header names recognised as the RR column, compared case-insensitively."""
GAP_COLUMN = "gap"
"""An optional column: 1 where beats before this interval are missing."""
_DELIMITERS = ",;\t"


@dataclass(frozen=True, slots=True)
class RrSeries:
    """RR intervals read from one source.

    Attributes:
        rr_ms: the intervals, ms.
        source: the name the user gave (``-`` for stdin).
        converted_from_seconds: the values were in seconds and were multiplied by 1000.
        gaps: per interval, whether beats before it are missing (a ``gap`` column of 0/1,
            as ``hrvd export ride`` writes it); None when the file does not say.
    """

    rr_ms: NDArray[np.float64]
    source: str
    converted_from_seconds: bool
    gaps: NDArray[np.bool_] | None = None


def read_rr(source: str) -> RrSeries:
    """Read RR intervals from a path, or from stdin when ``source`` is ``-``.

    Raises:
        InputFileError: the file cannot be read, holds no values, or holds a bad one.
    """
    try:
        if source == "-":
            text = sys.stdin.buffer.read().decode("utf-8-sig")
        else:
            text = Path(source).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(source, None, "no such file") from None
    except IsADirectoryError:
        raise InputFileError(source, None, "is a directory, not an RR file") from None
    except UnicodeDecodeError:
        raise InputFileError(source, None, "not a text file (expected UTF-8 text)") from None
    except OSError as exc:
        raise InputFileError(source, None, exc.strerror or str(exc)) from None
    return parse_rr(text, source)


def parse_rr(text: str, source: str) -> RrSeries:
    """Parse the text of an RR file; see the module docstring for the formats."""
    lines = [
        (number, line.strip())
        for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise InputFileError(source, None, "holds no RR values")
    gaps = None
    if _is_table(lines[0][1]):
        values, gaps = _parse_table(lines, source)
    else:
        values = _parse_plain(lines, source)
    if not values:
        raise InputFileError(source, None, "holds no RR values")
    rr = np.asarray(values, dtype=np.float64)
    seconds = bool(np.all(rr < SECONDS_LIMIT))
    return RrSeries(
        rr * 1000.0 if seconds else rr,
        source,
        converted_from_seconds=seconds,
        gaps=None if gaps is None else np.asarray(gaps, dtype=np.bool_),
    )


def _is_table(first: str) -> bool:
    return any(d in first for d in _DELIMITERS) or not _looks_numeric(first)


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _value(text: str, source: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputFileError(source, line, f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise InputFileError(source, line, f"{text!r} is not a positive RR interval")
    return value


def _parse_plain(lines: list[tuple[int, str]], source: str) -> list[float]:
    return [_value(text, source, number) for number, text in lines]


def _parse_table(
    lines: list[tuple[int, str]], source: str
) -> tuple[list[float], list[bool] | None]:
    header_line, header = lines[0]
    delimiter = next((d for d in _DELIMITERS if d in header), ",")
    names = [name.strip().strip('"').strip().lower() for name in header.split(delimiter)]
    column = next((names.index(n) for n in RR_COLUMN_NAMES if n in names), None)
    if column is None:
        if len(names) == 1:
            raise InputFileError(source, header_line, f"{header!r} is not a number")
        expected = ", ".join(RR_COLUMN_NAMES[:6])
        raise InputFileError(
            source, header_line, f"no RR column in the header (expected one of {expected}, ...)"
        )
    gap_column = names.index(GAP_COLUMN) if GAP_COLUMN in names else None
    rows = csv.reader((text for _, text in lines[1:]), delimiter=delimiter)
    values, gaps = [], []
    for (number, _), row in zip(lines[1:], rows, strict=True):
        if column >= len(row):
            raise InputFileError(source, number, f"no value in column {names[column]!r}")
        values.append(_value(row[column].strip(), source, number))
        if gap_column is not None:
            flag = row[gap_column].strip() if gap_column < len(row) else ""
            if flag not in {"0", "1", ""}:
                raise InputFileError(source, number, f"gap {flag!r} is not 0 or 1")
            gaps.append(flag == "1")
    return values, (gaps if gap_column is not None else None)
