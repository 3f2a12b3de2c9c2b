"""Delimited text as every reader of hrvd sees it: one header normaliser, one row splitter.

Pure: text in, rows out. Used by the RR reader (`hrvd analyze`, `hrvd replay`) and by the
history import, so that a header another app wrote means the same to both. Rows are split
with the stdlib :mod:`csv` module, one line at a time, so that an unclosed quote cannot
swallow the lines after it and a bad line is named.
"""

from __future__ import annotations

import csv
import re

from hrvd.errors import InputFileError

DELIMITERS = ",;\t"
"""Separators recognised, in order of preference when a header holds none."""
SNIFF_LINES = 10
"""The header and the rows after it that the delimiter is guessed from."""
SNIFF_CHARS = 2048
"""At most this much of them: the sniffer's regular expressions take time quadratic in
the sample where quotes abound, so a hostile file cannot make it slow."""
MAX_LINE_CHARS = 4096
"""Longest line accepted, characters. An RR or history row is a few dozen characters;
a longer line is not one of them (a binary file, a minified export), and refusing it early
keeps memory bounded and the csv module's field limit (131 072) out of reach."""


def normalise_header(name: str) -> str:
    """A header name as compared: lowercase, each run of characters other than a-z0-9 as one ``_``.

    ``RR-interval [ms]`` becomes ``rr_interval_ms``, ``RMSSD (ms)`` becomes ``rmssd_ms``.
    """
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def content_lines(text: str, source: str) -> list[tuple[int, str]]:
    """The lines that hold something, numbered from 1: no blank lines, no ``#`` comments.

    Raises:
        InputFileError: a line is longer than :data:`MAX_LINE_CHARS`.
    """
    lines = []
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(line) > MAX_LINE_CHARS:
            msg = f"line of {len(line)} characters (at most {MAX_LINE_CHARS}): not a text table"
            raise InputFileError(source, number, msg)
        lines.append((number, line))
    return lines


def split_header(lines: list[tuple[int, str]]) -> tuple[str, list[tuple[int, str]]]:
    """The delimiter and the lines from the header on.

    An Excel ``sep=;`` first line names the delimiter and is dropped; otherwise
    :class:`csv.Sniffer` finds it in the header and the first rows (the one of
    :data:`DELIMITERS` they all hold as often, so a decimal comma in a row is not taken
    for one); when it finds none, it is the one the header holds most often (``,`` when
    it holds none).
    """
    first = lines[0][1].strip() if lines else ""
    if first.lower().startswith("sep=") and len(first) > len("sep="):
        return first[4], lines[1:]
    sample = first
    for _, line in lines[1:SNIFF_LINES]:
        if len(sample) + len(line) > SNIFF_CHARS:
            break
        sample += "\n" + line
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter, lines
    except csv.Error:  # one column, or rows that disagree: the header decides
        return max(DELIMITERS, key=first.count) if first else ",", lines


def split_row(line: str, delimiter: str, source: str, number: int) -> list[str]:
    """One line's fields, stripped, with csv quoting rules.

    Raises:
        InputFileError: the line is not valid CSV (an unclosed quote, a stray quote).
    """
    try:
        row = next(csv.reader([line], delimiter=delimiter, strict=True), [])
    except csv.Error as exc:
        raise InputFileError(source, number, f"not valid CSV ({exc})") from None
    return [field.strip() for field in row]
