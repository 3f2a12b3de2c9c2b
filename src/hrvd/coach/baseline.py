"""The personal baseline of morning HRV: what is normal for this athlete. Pure.

A :class:`Morning` is one valid morning, measured or imported. The baseline of a day is
built from the valid mornings of the **previous 60 calendar days** (today excluded) taken
in the same posture: the mean and sample standard deviation of lnRMSSD and of resting
heart rate (issue 7; HRV4Training's 60-day normal values). The normal range is
mean ± 0.5 SD, the smallest worthwhile change of Plews et al. (2012, 2013).

Windows are counted in calendar dates (:class:`datetime.date`), never in elapsed hours,
so a 23- or 25-hour night at a daylight-saving change moves nothing. Missing days are
never filled in: a window simply holds fewer mornings.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

EARLIEST_DAY = date(1980, 1, 1)
"""No morning, ride or recording is older: the first wireless heart-rate monitor (Polar,
1982) came later. Dates before it are typing or unit mistakes (year 1, a Unix 0)."""
LATEST_DAYS_AHEAD = 1
"""Days after today a date may lie (a time zone ahead of the machine's); later is a mistake."""
BASELINE_DAYS = 60
"""Calendar days before today that make the baseline (HRV4Training's normal values)."""
ROLLING_DAYS = 7
"""Calendar days, today included, of the rolling mean (Plews et al. 2012, 2013)."""
MIN_BASELINE_MORNINGS = 7
"""Valid mornings the baseline needs before a status is given (issue 7)."""
NORMAL_RANGE_SD = 0.5
"""Half-width of the normal range in baseline SDs: the smallest worthwhile change
(Plews et al. 2012, 2013)."""
MIN_SD_LN_RMSSD = 0.05
"""Floor of the lnRMSSD SD. Between-day SDs of athletes are about 0.1-0.3; a smaller
spread comes from rounded or copied values and would make every wobble a warning and
the score's z divide by nearly nothing. This project's choice."""
MIN_SD_HR_BPM = 1.0
"""Floor of the resting-HR SD, bpm: straps and exports round heart rate to 1 bpm.
This project's choice."""


class Posture(StrEnum):
    """How the athlete measured: mornings of different postures are never compared."""

    LYING = "lying"
    SITTING = "sitting"
    STANDING = "standing"


@dataclass(frozen=True, slots=True)
class Quality:
    """How good a measured morning was (absent for imported days).

    Attributes:
        artifact_rate: share of beats the artifact detector flagged, 0-1.
        beats: RR intervals received in the measurement window.
        coverage: share of the measurement time the received beats cover, 0-1.
    """

    artifact_rate: float
    beats: int
    coverage: float


@dataclass(frozen=True, slots=True)
class Morning:
    """One valid morning: what the baseline and the score need.

    Attributes:
        day: the local date when the measurement started.
        posture: how it was measured.
        ln_rmssd: natural log of RMSSD in ms.
        resting_hr_bpm: mean heart rate of the measurement, bpm, or None when unknown
            (an import without a heart-rate column).
        quality: the measurement's quality, or None for an imported day.
    """

    day: date
    posture: Posture
    ln_rmssd: float
    resting_hr_bpm: float | None = None
    quality: Quality | None = None

    @property
    def rmssd_ms(self) -> float:
        """RMSSD, ms."""
        return math.exp(self.ln_rmssd)


@dataclass(frozen=True, slots=True)
class Baseline:
    """Mean and SD of the valid mornings before a day (see the module docstring).

    Attributes:
        n_mornings: valid mornings in the window.
        ln_rmssd_mean: their mean lnRMSSD (μ).
        ln_rmssd_sd: their sample SD of lnRMSSD (n - 1), at least
            :data:`MIN_SD_LN_RMSSD`; None with fewer than two mornings.
        n_resting_hr: mornings in the window with a resting heart rate.
        resting_hr_mean_bpm: their mean resting heart rate, bpm, or None.
        resting_hr_sd_bpm: its sample SD, bpm, at least :data:`MIN_SD_HR_BPM`; None with
            fewer than two values.
    """

    n_mornings: int
    ln_rmssd_mean: float
    ln_rmssd_sd: float | None
    n_resting_hr: int
    resting_hr_mean_bpm: float | None
    resting_hr_sd_bpm: float | None

    @property
    def normal_low(self) -> float | None:
        """Lower edge of the normal range, μ - 0.5 SD (lnRMSSD)."""
        if self.ln_rmssd_sd is None:
            return None
        return self.ln_rmssd_mean - NORMAL_RANGE_SD * self.ln_rmssd_sd

    @property
    def normal_high(self) -> float | None:
        """Upper edge of the normal range, μ + 0.5 SD (lnRMSSD)."""
        if self.ln_rmssd_sd is None:
            return None
        return self.ln_rmssd_mean + NORMAL_RANGE_SD * self.ln_rmssd_sd

    @property
    def established(self) -> bool:
        """The baseline holds enough mornings for a status (:data:`MIN_BASELINE_MORNINGS`)."""
        return self.n_mornings >= MIN_BASELINE_MORNINGS


def _by_day(mornings: Iterable[Morning], posture: Posture) -> dict[date, Morning]:
    """The mornings of one posture by day; two on one day is the caller's bug."""
    days: dict[date, Morning] = {}
    for m in mornings:
        if m.posture is not posture:
            continue
        if m.day in days and days[m.day] != m:
            msg = f"two {posture} mornings on {m.day.isoformat()}: select one a day first"
            raise ValueError(msg)
        days[m.day] = m
    return days


def _sd(values: list[float], floor: float) -> float | None:
    return max(statistics.stdev(values), floor) if len(values) > 1 else None


def baseline_for(
    mornings: Iterable[Morning], day: date, posture: Posture, days: int = BASELINE_DAYS
) -> Baseline | None:
    """The baseline of ``day``: the valid mornings of the ``days`` calendar days before it.

    Args:
        mornings: valid mornings, one a day per posture, any dates (others are ignored).
        day: the day being judged; its own morning is not part of its baseline.
        posture: only mornings of this posture count.
        days: the window, calendar days.

    Returns:
        The baseline, or None when the window holds no morning at all.

    Raises:
        ValueError: two different mornings of this posture share a day.
    """
    first = day - timedelta(days=days)
    window = [m for d, m in _by_day(mornings, posture).items() if first <= d < day]
    if not window:
        return None
    ln = [m.ln_rmssd for m in window]
    hr = [m.resting_hr_bpm for m in window if m.resting_hr_bpm is not None]
    return Baseline(
        n_mornings=len(ln),
        ln_rmssd_mean=statistics.fmean(ln),
        ln_rmssd_sd=_sd(ln, MIN_SD_LN_RMSSD),
        n_resting_hr=len(hr),
        resting_hr_mean_bpm=statistics.fmean(hr) if hr else None,
        resting_hr_sd_bpm=_sd(hr, MIN_SD_HR_BPM),
    )


def rolling_mornings(
    mornings: Iterable[Morning], day: date, posture: Posture, days: int = ROLLING_DAYS
) -> list[Morning]:
    """The valid mornings of the ``days`` calendar days ending with ``day`` (included).

    Raises:
        ValueError: two different mornings of this posture share a day.
    """
    first = day - timedelta(days=days - 1)
    by_day = _by_day(mornings, posture)
    return [by_day[d] for d in sorted(by_day) if first <= d <= day]
