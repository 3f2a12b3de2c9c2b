"""Seed the baseline from another app's export: CSV text in, valid mornings out. Pure.

The caller reads the file (``hrvd history import FILE.csv``); this module only parses its
text. Accepted: comma-, semicolon- or tab-separated text with a header row naming

* a date column: ``date``, ``day``, ``datum``, ``timestamp``, ``Date Time Start``, ...;
* RMSSD in ms (``rmssd``, ``rmssd_ms``, ``RMSSD (ms)``, ``rMSSD``, ...) or its natural
  log (``ln_rmssd``, ``lnrmssd``, ``ln(RMSSD)``, ...); RMSSD wins when a row has both;
* optionally the resting heart rate (``resting_hr``, ``rhr``, ``hr``, ``HR (bpm)``, ...)
  and the posture (``posture``, ``position``: lying, sitting, standing);
* and, from ``hrvd export history``, each measurement's quality (``artifact_rate``,
  ``beats``, ``coverage``), so that moving hrvd to another Pi keeps it.

Header names are compared as :func:`hrvd.tables.normalise_header` makes them, as the RR
reader does: lowercase, every run of characters other than letters and digits as ``_``
(so ``RMSSD (ms)`` is ``rmssd_ms``). Dates: ISO
(``2025-03-30``, a time after it is ignored), ``2025/03/30``, ``30-03-2025``,
``30.03.2025``, and ``30/03/2025`` or ``03/30/2025`` (the order is taken from a day above
12 somewhere in the file). With ``;`` or tab as separator a decimal comma is accepted.

A row with an empty RMSSD is a day without a measurement and is skipped; a second row of
the same date and posture is skipped too (the first counts, as for measured mornings). Anything else
that does not parse is an :class:`~hrvd.errors.InputFileError` naming the line.
Imported mornings are :class:`~hrvd.coach.baseline.Morning` values like measured ones.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from hrvd.coach.baseline import EARLIEST_DAY, Morning, Posture, Quality
from hrvd.errors import InputFileError
from hrvd.tables import content_lines, normalise_header, split_header, split_row

if TYPE_CHECKING:
    from collections.abc import Iterable

DATE_COLUMNS = (
    "date",
    "day",
    "datum",
    "dag",
    "date_time",
    "datetime",
    "timestamp",
    "date_time_start",
    "start_date",
    "measurement_date",
    "time_stamp",
)
"""Header names recognised as the date, after normalising (see the module docstring)."""
RMSSD_COLUMNS = ("rmssd", "rmssd_ms", "r_mssd", "rmssd_msec", "hrv_rmssd", "rmssd_ms_")
"""Header names recognised as RMSSD in ms."""
LN_RMSSD_COLUMNS = ("ln_rmssd", "lnrmssd", "ln_rmssd_ms", "ln_r_mssd", "log_rmssd")
"""Header names recognised as the natural log of RMSSD in ms."""
RESTING_HR_COLUMNS = (
    "resting_hr",
    "resting_hr_bpm",
    "rhr",
    "rhr_bpm",
    "rest_hr",
    "resting_heart_rate",
    "hr",
    "hr_bpm",
    "heart_rate",
    "heart_rate_bpm",
    "heartrate",
    "rustpols",
    "hartslag",
)
"""Header names recognised as the resting heart rate in bpm, in order of preference."""
POSTURE_COLUMNS = ("posture", "position", "houding")
"""Header names recognised as the posture."""
QUALITY_COLUMNS = ("artifact_rate", "beats", "coverage")
"""Columns of ``hrvd export history`` with a measurement's quality (all three, or none)."""
RMSSD_RANGE_MS = (1.0, 1000.0)
"""RMSSD values accepted, ms: wider than any human morning, narrower than a unit mix-up."""
LN_RMSSD_RANGE = (math.log(RMSSD_RANGE_MS[0]), math.log(RMSSD_RANGE_MS[1]))
"""lnRMSSD values accepted (0-6.9); scaled scores such as lnRMSSD x 20 lie above."""
RESTING_HR_RANGE_BPM = (25.0, 250.0)
"""Resting heart rates accepted, bpm (the range the config accepts for HRrest)."""
_POSTURES = {
    "lying": Posture.LYING,
    "lying_down": Posture.LYING,
    "supine": Posture.LYING,
    "liggend": Posture.LYING,
    "sitting": Posture.SITTING,
    "seated": Posture.SITTING,
    "zittend": Posture.SITTING,
    "standing": Posture.STANDING,
    "upright": Posture.STANDING,
    "staand": Posture.STANDING,
}
_ISO = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_YEAR_LAST = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")
_MONTHS = 12


@dataclass(frozen=True, slots=True)
class ImportedHistory:
    """What an export held.

    Attributes:
        mornings: one valid morning per day, oldest first.
        skipped_lines: 1-based lines left out: empty RMSSD, or a date seen before.
    """

    mornings: tuple[Morning, ...]
    skipped_lines: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Columns:
    date: int
    rmssd: int | None
    ln_rmssd: int | None
    resting_hr: int | None
    posture: int | None
    quality: tuple[int, int, int] | None


def parse_history(
    text: str, source: str, posture: Posture = Posture.LYING, latest: date | None = None
) -> ImportedHistory:
    """Parse the text of an export; see the module docstring for what is accepted.

    Args:
        text: the file's text.
        source: the file name as the user gave it, for errors.
        posture: the posture of days whose row names none.
        latest: the last day accepted (the caller's tomorrow); None: no upper bound.

    Raises:
        InputFileError: no header, no date or RMSSD column, a bad value (with its line),
            or no morning at all.
    """
    delimiter, lines = split_header(content_lines(text, source))
    if not lines:
        raise InputFileError(source, None, "holds no mornings")
    header_line, header = lines[0]
    numbered = [(n, split_row(line, delimiter, source, n)) for n, line in lines[1:]]
    columns = _columns(split_row(header, delimiter, source, header_line), source, header_line)
    reader = _RowReader(columns, posture, decimal_comma=delimiter != ",", source=source)
    dates = _dates(numbered, columns.date, source)
    for number, day in dates.items():
        if day < EARLIEST_DAY or (latest is not None and day > latest):
            last = "tomorrow" if latest is not None else "today"
            msg = f"{day} is not a day of a measurement: expected {EARLIEST_DAY} to {last}"
            raise InputFileError(source, number, msg)
    mornings: dict[tuple[date, Posture], Morning] = {}
    skipped: list[int] = []
    for number, row in numbered:
        morning = reader.morning(row, dates[number], number)
        if morning is None or (morning.day, morning.posture) in mornings:
            skipped.append(number)
        else:
            mornings[morning.day, morning.posture] = morning
    if not mornings:
        raise InputFileError(source, None, "holds no mornings")
    return ImportedHistory(
        mornings=tuple(mornings[k] for k in sorted(mornings)), skipped_lines=tuple(skipped)
    )


def merge_history(measured: Iterable[Morning], imported: Iterable[Morning]) -> list[Morning]:
    """Measured and imported mornings together, one a day per posture, oldest first.

    A measured morning wins over an imported one of the same day and posture.
    """
    merged = {(m.day, m.posture): m for m in imported}
    merged.update({(m.day, m.posture): m for m in measured})
    return [merged[k] for k in sorted(merged)]


def _find(names: list[str], wanted: tuple[str, ...]) -> int | None:
    return next((names.index(n) for n in wanted if n in names), None)


def _columns(header: list[str], source: str, line: int) -> _Columns:
    names = [normalise_header(n) for n in header]
    found_date = _find(names, DATE_COLUMNS)
    if found_date is None:
        expected = ", ".join(DATE_COLUMNS[:4])
        msg = f"no date column in the header (expected one of {expected}, ...)"
        raise InputFileError(source, line, msg)
    rmssd, ln_rmssd = _find(names, RMSSD_COLUMNS), _find(names, LN_RMSSD_COLUMNS)
    if rmssd is None and ln_rmssd is None:
        msg = "no RMSSD column in the header (expected rmssd, rmssd_ms, ln_rmssd, lnrmssd, ...)"
        raise InputFileError(source, line, msg)
    return _Columns(
        date=found_date,
        rmssd=rmssd,
        ln_rmssd=ln_rmssd,
        resting_hr=_find(names, RESTING_HR_COLUMNS),
        posture=_find(names, POSTURE_COLUMNS),
        quality=_quality_columns(names),
    )


def _quality_columns(names: list[str]) -> tuple[int, int, int] | None:
    """The quality columns of `hrvd export history`, so that a re-import keeps them."""
    found = [_find(names, (n,)) for n in QUALITY_COLUMNS]
    a, b, c = found
    return None if a is None or b is None or c is None else (a, b, c)


def _cell(row: list[str], column: int | None) -> str:
    if column is None or column >= len(row):
        return ""
    return row[column].strip().strip('"').strip()


def _dates(numbered: list[tuple[int, list[str]]], column: int, source: str) -> dict[int, date]:
    """The date of every row; the order of ``a/b/yyyy`` dates is decided for the file."""
    # line -> (text, year, first number, second number, whether the first is the day)
    parts: dict[int, tuple[str, int, int, int, bool | None]] = {}
    day_first: bool | None = None
    evidence = 0
    for number, row in numbered:
        text = _cell(row, column)
        if not text:
            raise InputFileError(source, number, "no date")
        token = re.split(r"[T ]", text, maxsplit=1)[0]
        if m := _ISO.fullmatch(token):
            parts[number] = (text, int(m[1]), int(m[4]), int(m[3]), True)
        elif m := _YEAR_LAST.fullmatch(token):
            a, b = int(m[1]), int(m[3])
            slash = m[2] == "/"
            parts[number] = (text, int(m[4]), a, b, None if slash else True)
            if slash and (a > _MONTHS or b > _MONTHS):
                this_day_first = a > _MONTHS
                if day_first is not None and day_first != this_day_first:
                    msg = f"{text!r} has day and month the other way round than line {evidence}"
                    raise InputFileError(source, number, msg)
                day_first, evidence = this_day_first, number
        else:
            raise InputFileError(source, number, _bad_date(text))
    dates = {}
    for number, (text, year, a, b, first_is_day) in parts.items():
        order = day_first if first_is_day is None else first_is_day
        if order is None:
            msg = f"{text!r}: day and month cannot be told apart in this file; "
            msg += "use ISO dates (YYYY-MM-DD)"
            raise InputFileError(source, number, msg)
        day_, month = (a, b) if order else (b, a)
        try:
            dates[number] = date(year, month, day_)
        except ValueError:
            raise InputFileError(source, number, _bad_date(text)) from None
    return dates


def _bad_date(text: str) -> str:
    return f"{text!r} is not a date (expected YYYY-MM-DD, DD-MM-YYYY, DD.MM.YYYY or DD/MM/YYYY)"


@dataclass(frozen=True, slots=True)
class _RowReader:
    """Reads the values of one row; knows the columns and how numbers are written."""

    columns: _Columns
    posture: Posture
    decimal_comma: bool
    source: str

    def number(self, text: str, what: str, valid: tuple[float, float], line: int) -> float:
        raw = text.replace(",", ".") if self.decimal_comma else text
        try:
            value = float(raw)
        except ValueError:
            raise InputFileError(self.source, line, f"{what} {text!r} is not a number") from None
        low, high = valid
        if not (math.isfinite(value) and low <= value <= high):
            msg = f"{what} {text!r} is outside {low:g}-{high:g}"
            raise InputFileError(self.source, line, msg)
        return value

    def morning(self, row: list[str], day: date, line: int) -> Morning | None:
        """The row's morning, or None when its RMSSD is empty."""
        c = self.columns
        rmssd_text, ln_text = _cell(row, c.rmssd), _cell(row, c.ln_rmssd)
        if rmssd_text:
            ln_rmssd = math.log(self.number(rmssd_text, "RMSSD (ms)", RMSSD_RANGE_MS, line))
        elif ln_text:
            ln_rmssd = self.number(ln_text, "lnRMSSD", LN_RMSSD_RANGE, line)
        else:
            return None
        hr_text = _cell(row, c.resting_hr)
        hr = None
        if hr_text:
            hr = self.number(hr_text, "resting HR (bpm)", RESTING_HR_RANGE_BPM, line)
        posture = self.posture
        posture_text = _cell(row, c.posture)
        if posture_text:
            found = _POSTURES.get(normalise_header(posture_text))
            if found is None:
                msg = f"posture {posture_text!r} is not lying, sitting or standing"
                raise InputFileError(self.source, line, msg)
            posture = found
        quality = None
        texts = [_cell(row, i) for i in c.quality or ()]
        if texts and all(texts):
            rate, beats, coverage = texts
            quality = Quality(
                artifact_rate=self.number(rate, "artifact rate", (0.0, 1.0), line),
                beats=int(self.number(beats, "beats", (0.0, 1e6), line)),
                coverage=self.number(coverage, "coverage", (0.0, 1.0), line),
            )
        return Morning(
            day=day, posture=posture, ln_rmssd=ln_rmssd, resting_hr_bpm=hr, quality=quality
        )
