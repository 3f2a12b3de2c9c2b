"""The rules of the day for morning measurements (issue 7). Pure.

Which day a measurement belongs to, when a connecting strap may start one by itself, and
which of a day's measurements counts.
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from hrvd.coach.morning_values import MorningResult

AUTO_START_MARGIN_BPM = 15.0
"""An automatic start needs a heart rate within HRrest + this, bpm (issue 7)."""
MORNING_WINDOW = (time(5, 0), time(10, 0))
"""Local times between which a connecting strap may start a measurement (issue 7)."""


def local_day(instant: datetime, tz: tzinfo) -> date:
    """The local date of an aware instant: the day a measurement started on.

    Raises:
        ValueError: ``instant`` is naive.
    """
    if instant.tzinfo is None or instant.utcoffset() is None:
        msg = "a measurement's start must be an aware datetime"
        raise ValueError(msg)
    return instant.astimezone(tz).date()


def may_auto_start(
    local_time: time,
    hr_bpm: float,
    hr_rest_bpm: float | None,
    *,
    ride_active: bool,
    window: tuple[time, time] = MORNING_WINDOW,
) -> bool:
    """Whether a connecting morning strap may start a measurement by itself.

    Inside the morning window (start included, end excluded), with a heart rate within
    HRrest + :data:`AUTO_START_MARGIN_BPM` and no ride active (issue 7). Without a
    configured HRrest it never starts by itself.
    """
    start, end = window
    return (
        not ride_active
        and hr_rest_bpm is not None
        and start <= local_time < end
        and hr_bpm <= hr_rest_bpm + AUTO_START_MARGIN_BPM
    )


def replaces(current: MorningResult | None, new: MorningResult) -> bool:
    """Whether ``new`` becomes the day's counted morning instead of ``current``.

    The first valid measurement of the day counts; a later valid one replaces it only
    when started as a repeat; an invalid one never replaces a valid one (issue 7).
    """
    if not new.valid:
        return False
    return current is None or not current.valid or new.repeat


def select_mornings(results: Iterable[MorningResult]) -> list[MorningResult]:
    """The counted morning of each day, oldest day first.

    Args:
        results: measurements in the order they started (any days, invalid ones too).

    Returns:
        One valid result per day that has one; days with only invalid results have none.
    """
    counted: dict[date, MorningResult] = {}
    for r in results:
        if replaces(counted.get(r.day), r):
            counted[r.day] = r
    return [counted[d] for d in sorted(counted)]
