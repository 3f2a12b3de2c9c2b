"""Read RR intervals from a file or stdin.

Accepted:

* plain text with one value a line (ms; seconds when every value is below 10), as Elite
  HRV exports it, or as Kubios reads and writes it (``#`` header lines, then one column);
* CSV / TSV / semicolon-separated text whose header names the RR column, e.g. a Polar
  Sensor Logger export (``Phone timestamp;RR-interval [ms]``), an HRV Logger RR export
  (``date,rr,since start``) or ``hrvd export ride`` (``rr_ms`` and a ``gap`` column); a
  unit in the header (``[ms]``, ``(s)``) is obeyed;
* a FIT file with HRV messages (Garmin, Wahoo), with the optional ``fit`` extra.

Blank lines, ``#`` comments and a UTF-8 byte-order mark are ignored. Every value must be
an interval an R-wave detector can report, spurious and missed beats included
(:data:`RR_RANGE_MS`); anything else is an :class:`~hrvd.errors.InputFileError` naming the
file and the line. Input is bounded (:data:`MAX_INPUT_BYTES`, :data:`MAX_BEATS`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from hrvd.errors import InputFileError
from hrvd.tables import content_lines, normalise_header, split_header, split_row

if TYPE_CHECKING:
    from numpy.typing import NDArray

SECONDS_LIMIT = 10.0
"""When every value is below this, the file is taken to be in seconds: no heart beats
once in 10 ms, and none pauses for 10 s."""
SHORTEST_DETECTED_RR_MS = 100.0
"""About one QRS complex wide (normal up to 110 ms in adults; Surawicz et al. 2009, J Am
Coll Cardiol 53:976). R-wave detectors hold off longer than that after a detection (200 ms
in Pan & Tompkins 1985, IEEE Trans Biomed Eng 32:230), so no detector reports a shorter
interval, not even a spurious extra beat: a shorter value is corrupt or in other units."""
LONGEST_SINUS_RR_MS = 60_000.0 / 30.0
"""2000 ms: 30 bpm, the slowest sinus rhythm still taken as normal in trained athletes
(Sharma et al. 2017, International recommendations for ECG interpretation in athletes,
Eur Heart J 39:1466)."""
RR_RANGE_MS = (SHORTEST_DETECTED_RR_MS, 2 * LONGEST_SINUS_RR_MS)
"""RR values accepted, ms: 100-4000. Every artifact the corrector repairs must reach it:
a spurious extra beat splits an interval anywhere past the detector's hold-off, and a
missed beat doubles the longest sinus interval. Anything outside is no heartbeat (a
timestamp, a unit mix-up, a corrupt value) and stops the file with its line named."""
MAX_BEATS = 2_000_000
"""Most RR intervals read from one input: 14 days (the longest ambulatory ECG patch
recordings) at a mean of 100 bpm is 2.0 million. Keeps memory bounded (BENCHMARKS.md)."""
MAX_INPUT_BYTES = 64 * 1024 * 1024
"""Largest input read, bytes: MAX_BEATS lines of a Polar Sensor Logger export (28 bytes
each) fit; a stream without end (``/dev/zero``) stops here."""
_FIRST_CHUNK = 65_536
_PARSE_CHUNK_CHARS = 1 << 20
RR_COLUMN_NAMES = (
    "rr",
    "rr_ms",
    "rri",
    "rri_ms",
    "rr_interval",
    "rr_interval_ms",
    "rr_intervals",
    "rr_intervals_ms",
    "ibi",
    "ibi_ms",
    "nn",
    "nni",
    "nn_ms",
    "nni_ms",
    "interval",
    "interval_ms",
    "rr_s",
    "rri_s",
    "ibi_s",
    "rr_interval_s",
    "nn_s",
    "nni_s",
)
"""Header names recognised as the RR column, once normalised
(:func:`hrvd.tables.normalise_header`: ``RR-interval [ms]`` is ``rr_interval_ms``). A name
ending in ``_s`` is in seconds, in ``_ms`` in milliseconds."""
GAP_COLUMN = "gap"
"""An optional column: 1 where beats before this interval are missing."""
_TIMESTAMP_LIKE_MS = (1e6, 1e19)
"""Values in this range (17 minutes up to an epoch time in ns) look like timestamps."""


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
        InputFileError: the file cannot be read, is too large, holds no values, or holds
            a bad one.
    """
    data = read_bytes(source)
    if len(data) >= 12 and data[8:12] == b".FIT":
        from hrvd.fitfile import read_fit_rr  # noqa: PLC0415 - only FIT needs the FIT SDK

        rr = read_fit_rr(data, source)
        check_range(rr, source, None, beats=True)
        return RrSeries(rr, source, converted_from_seconds=False)
    text = decode_text(data, source)
    del data  # half the memory while parsing a large file
    return parse_rr(text, source)


def decode_text(data: bytes, source: str) -> str:
    """The UTF-8 text of ``data`` (a byte-order mark dropped).

    Raises:
        InputFileError: ``data`` is not UTF-8 text.
    """
    if b"\0" in data[:_FIRST_CHUNK]:
        raise InputFileError(source, None, "not a text file (it holds NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(source, None, "not a text file (expected UTF-8 text)") from None


def read_bytes(
    source: str, limit: int | None = None, what: str = "an RR recording hrvd reads"
) -> bytes:
    """The bytes of a file, or of stdin for ``-``, at most ``limit`` (:data:`MAX_INPUT_BYTES`).

    Raises:
        InputFileError: the file cannot be read or is larger (``what`` says what it is not).
    """
    limit = MAX_INPUT_BYTES if limit is None else limit
    try:
        if source == "-":
            return _read_limited(sys.stdin.buffer, source, limit, what)
        with Path(source).open("rb") as f:
            return _read_limited(f, source, limit, what)
    except FileNotFoundError:
        raise InputFileError(source, None, "no such file") from None
    except IsADirectoryError:
        raise InputFileError(source, None, "is a directory, not an RR file") from None
    except OSError as exc:
        raise InputFileError(source, None, exc.strerror or str(exc)) from None


def _read_limited(f: BinaryIO, source: str, limit: int, what: str) -> bytes:
    first = f.read(_FIRST_CHUNK)
    if b"\0" in first and first[8:12] != b".FIT":
        return first  # not text: refused by the caller without reading the rest
    data = first + f.read(limit + 1 - len(first))
    if len(data) > limit:
        raise InputFileError(source, None, f"larger than {limit // 2**20} MiB: not {what}")
    return data


def parse_rr(text: str, source: str) -> RrSeries:
    """Parse the text of an RR file; see the module docstring for the formats."""
    if text.count("\n") > MAX_BEATS + 1000:  # + room for a header, comments, blank lines
        raise InputFileError(source, None, f"more than {MAX_BEATS} lines: split the recording")
    plain = _fast_plain(text)
    if plain is not None:
        return _series(plain, None, source, unit=None, gaps=None)
    lines = content_lines(text, source)
    if not lines:
        raise InputFileError(source, None, "holds no RR values")
    first = lines[0][1]
    if any(d in first for d in ",;\t") or not _looks_numeric(first):
        return _parse_table(lines, source)
    values = np.asarray([_value(line.strip(), source, n) for n, line in lines], dtype=np.float64)
    numbers = np.asarray([n for n, _ in lines], dtype=np.intp)
    return _series(values, numbers, source, unit=None, gaps=None)


def _fast_plain(text: str) -> NDArray[np.float64] | None:
    """One number a line and nothing else, converted by numpy a chunk at a time; else None.

    Any comment, header, blank line or bad value makes it None, and the general path,
    which names the line at fault, reads the file instead. Chunks keep the list of line
    strings (about 60 bytes a line) small, whatever the length of the file.
    """
    start = 1 if text.startswith("\ufeff") else 0
    stop = len(text)
    while stop > start and text[stop - 1].isspace():  # no copy of the whole text
        stop -= 1
    integers = "." not in text  # whole ms, as most apps write them: parsed twice as fast
    parts = []
    while start < stop:
        cut = text.find("\n", start + _PARSE_CHUNK_CHARS, stop)
        end = stop if cut < 0 else cut
        part = _parse_lines(text[start:end].split("\n"), integers=integers)
        if part is None:
            return None
        parts.append(part)
        start = end + 1
    return np.concatenate(parts) if parts else None


def _parse_lines(lines: list[str], *, integers: bool) -> NDArray[np.float64] | None:
    if integers:
        try:
            return np.asarray(lines, dtype=np.int64).astype(np.float64)
        except (ValueError, OverflowError):
            pass  # an exponent, a word, a huge number: try them as floats
    try:
        return np.asarray(lines, dtype=np.float64)
    except ValueError:
        return None


def _series(
    values: NDArray[np.float64],
    numbers: NDArray[np.intp] | None,
    source: str,
    *,
    unit: str | None,
    gaps: NDArray[np.bool_] | None,
) -> RrSeries:
    if len(values) == 0:
        raise InputFileError(source, None, "holds no RR values")
    if len(values) > MAX_BEATS:
        raise InputFileError(source, None, f"more than {MAX_BEATS} RR values: split it")
    seconds = unit == "s" or (unit is None and bool(np.all(values < SECONDS_LIMIT)))
    rr = values * 1000.0 if seconds else values
    check_range(rr, source, numbers)
    return RrSeries(rr, source, converted_from_seconds=seconds and unit is None, gaps=gaps)


def check_range(
    rr_ms: NDArray[np.float64],
    source: str,
    numbers: NDArray[np.intp] | None,
    *,
    beats: bool = False,
) -> None:
    """Refuse the first value outside :data:`RR_RANGE_MS` (NaN included), naming its line.

    ``numbers`` gives each value's line; None: value i is on line i + 1 (a plain file read
    in one go). With ``beats`` (a FIT file, which has no lines) the beat is named instead.
    """
    low, high = RR_RANGE_MS
    bad = np.flatnonzero(~((rr_ms >= low) & (rr_ms <= high)))
    if not len(bad):
        return
    i = int(bad[0])
    value = float(rr_ms[i])
    msg = f"{value:g} ms is not an RR interval ({low:g}-{high:g} ms)"
    if _TIMESTAMP_LIKE_MS[0] < value < _TIMESTAMP_LIKE_MS[1]:
        msg += ": a timestamp? name the RR column in a header line"
    if beats:
        raise InputFileError(source, None, f"beat {i + 1}: {msg}")
    raise InputFileError(source, i + 1 if numbers is None else int(numbers[i]), msg)


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _value(text: str, source: str, line: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputFileError(source, line, f"{text!r} is not a number") from None


def _parse_table(lines: list[tuple[int, str]], source: str) -> RrSeries:
    delimiter, lines = split_header(lines)
    header_line, header = lines[0]
    names = [normalise_header(n) for n in split_row(header, delimiter, source, header_line)]
    column = next((names.index(n) for n in RR_COLUMN_NAMES if n in names), None)
    if column is None:
        if len(names) == 1:
            raise InputFileError(source, header_line, f"{header.strip()!r} is not a number")
        expected = ", ".join(RR_COLUMN_NAMES[:6])
        raise InputFileError(
            source, header_line, f"no RR column in the header (expected one of {expected}, ...)"
        )
    name = names[column]
    unit = "s" if name.endswith("_s") else "ms" if name.endswith("_ms") else None
    gap_column = names.index(GAP_COLUMN) if GAP_COLUMN in names else None
    values, gaps, numbers = [], [], []
    decimal_comma = delimiter != ","
    for number, line in lines[1:]:
        row = split_row(line, delimiter, source, number)
        if column >= len(row):
            raise InputFileError(source, number, f"no value in column {name!r}")
        text = row[column].replace(",", ".") if decimal_comma else row[column]
        values.append(_value(text, source, number))
        numbers.append(number)
        if gap_column is not None:
            flag = row[gap_column] if gap_column < len(row) else ""
            if flag not in {"0", "1", ""}:
                raise InputFileError(source, number, f"gap {flag!r} is not 0 or 1")
            gaps.append(flag == "1")
    return _series(
        np.asarray(values, dtype=np.float64),
        np.asarray(numbers, dtype=np.intp),
        source,
        unit=unit,
        gaps=None if gap_column is None else np.asarray(gaps, dtype=np.bool_),
    )
