"""Morning readiness: status, score and recommendation from a valid morning. Pure.

Issue 7, points 3 and 4; the formulas and their sources are in ``docs/readiness.md``.
With μ and SD the baseline mean and SD of lnRMSSD (:mod:`hrvd.coach.baseline`):

* sign **A**: the 7-day mean of lnRMSSD (today included) is below μ - 0.5 SD;
* sign **B**: today's lnRMSSD is below μ - 1 SD;
* sign **C**: today's resting heart rate is above its own baseline mean + 1 SD.

Status: ``red`` when A and (B or C), ``amber`` when any sign shows otherwise, ``green``
when none does, ``baseline`` (no score) while the baseline holds fewer than 7 mornings.

Score, 0-100, with z = (lnRMSSD - μ)/SD, z7 = (7-day mean - μ)/SD and zHR = (resting HR -
its mean)/its SD::

    s = (z + z7) / 2 + 0.5 - 0.5 * max(0, zHR)
    score = round(100 * Φ(s))

Φ is the standard normal CDF. The score is 50 when today and the week sit on the lower
edge of the normal range; it rises strictly with today's lnRMSSD (which enters both z
and z7), and an elevated resting heart rate lowers it.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from hrvd.coach.baseline import (
    BASELINE_DAYS,
    MIN_BASELINE_MORNINGS,
    NORMAL_RANGE_SD,
    ROLLING_DAYS,
    Baseline,
    Morning,
    Posture,
    Quality,
    baseline_for,
    rolling_mornings,
)
from hrvd.coach.weekly import NO_WEEK, Weekly, weekly, weekly_fields

if TYPE_CHECKING:
    from collections.abc import Iterable

LOW_TODAY_SD = 1.0
"""Sign B: today's lnRMSSD below μ minus this many SDs (issue 7)."""
HIGH_RESTING_HR_SD = 1.0
"""Sign C: resting heart rate above its mean plus this many SDs (issue 7)."""
SCORE_SHIFT_SD = NORMAL_RANGE_SD
"""The score's s is shifted by the half-width of the normal range, so that 50 marks its
lower edge, where the smallest worthwhile change begins. This project's choice."""
SCORE_RESTING_HR_WEIGHT = 0.5
"""How much one SD of elevated resting heart rate lowers the score's s, in lnRMSSD SDs:
half, because resting HR is the secondary signal (it moves later and less than lnRMSSD,
Plews et al. 2013). This project's choice."""
LANGUAGES = ("en", "nl")
"""Languages of the recommendation texts (``[athlete] language``)."""


class Status(StrEnum):
    """Readiness status, as published on ``hrvd/readiness``."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    BASELINE = "baseline"


class Recommendation(StrEnum):
    """What to do today: a stable code for the dashboard."""

    WALK = "walk"
    RECOVERY_RIDE = "recovery_ride"
    TRAIN = "train"


_TEXTS: dict[str, dict[Recommendation, str]] = {
    "en": {
        Recommendation.WALK: "Low HRV: your body is still under stress. Rest actively with a "
        "calm walk, ideally among trees. No training today.",
        Recommendation.RECOVERY_RIDE: "Recovery ride only: 30-60 minutes, absurdly easy. Let "
        "the first twenty minutes decide: if they feel hard, keep it shorter and easier.",
        Recommendation.TRAIN: "Train as planned. Local stiffness? A massage gun is fine.",
    },
    "nl": {
        Recommendation.WALK: "Lage HRV: je lichaam staat nog onder stress. Rust actief met een "
        "rustige wandeling, het liefst tussen de bomen. Vandaag geen training.",
        Recommendation.RECOVERY_RIDE: "Alleen een herstelrit: 30-60 minuten, belachelijk rustig. "
        "Laat de eerste twintig minuten beslissen: voelen ze zwaar, maak het korter en rustiger.",
        Recommendation.TRAIN: "Train zoals gepland. Lokale stijfheid? Een massagepistool mag.",
    },
}
_BASELINE_TEXTS = {
    "en": "Building your baseline: {n} of {need} mornings. Train by feel, and keep it easy "
    "when in doubt.",
    "nl": "Je basislijn wordt opgebouwd: {n} van {need} ochtenden. Train op gevoel, en hou het "
    "rustig bij twijfel.",
}


@dataclass(frozen=True, slots=True)
class Signs:
    """The three warning signs of issue 7.

    Attributes:
        week_low: A, the 7-day mean of lnRMSSD is below the normal range.
        today_low: B, today's lnRMSSD is below μ - 1 SD.
        resting_hr_high: C, today's resting HR is above its mean + 1 SD (False when
            today's or the baseline's resting HR is unknown).
    """

    week_low: bool
    today_low: bool
    resting_hr_high: bool


@dataclass(frozen=True, slots=True)
class ReadinessResult:
    """The readiness of one morning.

    Attributes:
        day: the morning's local date.
        posture: its posture (the baseline holds only this posture).
        status: see :class:`Status`.
        score: 0-100, or None while the status is ``baseline``.
        ln_rmssd: today's lnRMSSD.
        resting_hr_bpm: today's resting heart rate, bpm, or None.
        ln_rmssd_7d: mean lnRMSSD of the valid mornings of the last 7 days, today included.
        mornings_7d: how many mornings that mean holds (1-7; missing days are not filled).
        baseline: the baseline, or None when the previous 60 days hold no morning.
        signs: the warning signs, or None while the status is ``baseline``.
        recommendation: what to do, or None while the status is ``baseline``.
        quality: the measurement's quality, or None for an imported day.
        weekly: the 7-day CV and trend (:mod:`hrvd.coach.weekly`).
    """

    day: date
    posture: Posture
    status: Status
    score: int | None
    ln_rmssd: float
    resting_hr_bpm: float | None
    ln_rmssd_7d: float
    mornings_7d: int
    baseline: Baseline | None
    signs: Signs | None
    recommendation: Recommendation | None
    quality: Quality | None
    weekly: Weekly = NO_WEEK

    @property
    def rmssd_ms(self) -> float:
        """Today's RMSSD, ms."""
        return math.exp(self.ln_rmssd)


def normal_cdf(x: float) -> float:
    """Φ, the standard normal cumulative distribution function."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def signs_for(
    ln_rmssd: float, ln_rmssd_7d: float, resting_hr_bpm: float | None, baseline: Baseline
) -> Signs:
    """The warning signs A, B and C against an established baseline.

    Args:
        ln_rmssd: today's lnRMSSD.
        ln_rmssd_7d: the 7-day mean of lnRMSSD, today included.
        resting_hr_bpm: today's resting heart rate, bpm, or None.
        baseline: the baseline (at least two mornings).

    Raises:
        ValueError: the baseline holds fewer than two mornings.
    """
    low, mu, sigma = baseline.normal_low, baseline.ln_rmssd_mean, baseline.ln_rmssd_sd
    if low is None or sigma is None:
        msg = "signs need a baseline of at least two mornings"
        raise ValueError(msg)
    z_hr = resting_hr_z(resting_hr_bpm, baseline)
    return Signs(
        week_low=ln_rmssd_7d < low,
        today_low=ln_rmssd < mu - LOW_TODAY_SD * sigma,
        resting_hr_high=z_hr is not None and z_hr > HIGH_RESTING_HR_SD,
    )


def resting_hr_z(resting_hr_bpm: float | None, baseline: Baseline) -> float | None:
    """(resting HR - its baseline mean) / its baseline SD, or None when it cannot be judged.

    It cannot be judged when today's resting HR is unknown or fewer than
    :data:`~hrvd.coach.baseline.MIN_BASELINE_MORNINGS` baseline mornings carry one.
    """
    hr_mean, hr_sd = baseline.resting_hr_mean_bpm, baseline.resting_hr_sd_bpm
    if (
        resting_hr_bpm is None
        or hr_mean is None
        or hr_sd is None
        or baseline.n_resting_hr < MIN_BASELINE_MORNINGS
    ):
        return None
    return (resting_hr_bpm - hr_mean) / hr_sd


def status_for(signs: Signs) -> Status:
    """Red when A and (B or C), amber when any sign shows otherwise, green when none does."""
    if signs.week_low and (signs.today_low or signs.resting_hr_high):
        return Status.RED
    if signs.week_low or signs.today_low or signs.resting_hr_high:
        return Status.AMBER
    return Status.GREEN


def score_for(
    ln_rmssd: float, ln_rmssd_7d: float, resting_hr_bpm: float | None, baseline: Baseline
) -> int:
    """The 0-100 score (see the module docstring), monotonic in ``ln_rmssd``.

    ``ln_rmssd_7d`` must include ``ln_rmssd`` (as :func:`assess` computes it); a resting
    heart rate counts only when sign C could be judged, and only lowers the score.

    Raises:
        ValueError: the baseline holds fewer than two mornings.
    """
    mu, sigma = baseline.ln_rmssd_mean, baseline.ln_rmssd_sd
    if sigma is None:
        msg = "a score needs a baseline of at least two mornings"
        raise ValueError(msg)
    z = (ln_rmssd - mu) / sigma
    z7 = (ln_rmssd_7d - mu) / sigma
    s = (z + z7) / 2 + SCORE_SHIFT_SD
    z_hr = resting_hr_z(resting_hr_bpm, baseline)
    if z_hr is not None:
        s -= SCORE_RESTING_HR_WEIGHT * max(0.0, z_hr)
    return round(100 * normal_cdf(s))


def recommendation_for(status: Status) -> Recommendation | None:
    """Red → walk, amber → recovery ride, green → train; None while building the baseline."""
    return {
        Status.RED: Recommendation.WALK,
        Status.AMBER: Recommendation.RECOVERY_RIDE,
        Status.GREEN: Recommendation.TRAIN,
    }.get(status)


def recommendation_text(result: ReadinessResult, language: str = "en") -> str:
    """The recommendation in words, in ``language`` (``en`` or ``nl``).

    Raises:
        ValueError: an unknown language (the config accepts only ``en`` and ``nl``).
    """
    if language not in LANGUAGES:
        msg = f"{language!r} is not one of {', '.join(LANGUAGES)}"
        raise ValueError(msg)
    if result.recommendation is None:
        n = result.baseline.n_mornings if result.baseline else 0
        return _BASELINE_TEXTS[language].format(n=n, need=MIN_BASELINE_MORNINGS)
    return _TEXTS[language][result.recommendation]


def assess(today: Morning, history: Iterable[Morning]) -> ReadinessResult:
    """Judge one valid morning against the valid mornings before it.

    Args:
        today: the morning being judged.
        history: valid mornings, one a day per posture
            (:func:`~hrvd.coach.morning_day.select_mornings` picks it), measured and
            imported alike; other postures, later days and any morning on ``today.day``
            itself are ignored.

    Raises:
        ValueError: two different mornings of one posture share a day in ``history``.
    """
    earlier = [m for m in history if m.day < today.day]
    baseline = baseline_for(earlier, today.day, today.posture, BASELINE_DAYS)
    week = rolling_mornings([*earlier, today], today.day, today.posture, ROLLING_DAYS)
    ln_7d = math.fsum(m.ln_rmssd for m in week) / len(week)
    status: Status = Status.BASELINE
    score: int | None = None
    signs: Signs | None = None
    if baseline is not None and baseline.established:
        signs = signs_for(today.ln_rmssd, ln_7d, today.resting_hr_bpm, baseline)
        status = status_for(signs)
        score = score_for(today.ln_rmssd, ln_7d, today.resting_hr_bpm, baseline)
    return ReadinessResult(
        day=today.day,
        posture=today.posture,
        status=status,
        score=score,
        ln_rmssd=today.ln_rmssd,
        resting_hr_bpm=today.resting_hr_bpm,
        ln_rmssd_7d=ln_7d,
        mornings_7d=len(week),
        baseline=baseline,
        signs=signs,
        recommendation=recommendation_for(status),
        quality=today.quality,
        weekly=weekly([*earlier, today], today.day, today.posture),
    )


def assess_all(mornings: Iterable[Morning]) -> list[ReadinessResult]:
    """Judge every morning against its own previous 60 days, oldest first (for history).

    Imported and measured mornings are judged alike.
    """
    ordered = sorted(mornings, key=lambda m: (m.day, m.posture))
    days = [m.day for m in ordered]
    results = []
    for i, m in enumerate(ordered):
        # The window's start by bisection: years of history stay O(n log n), not O(n^2).
        first = m.day - timedelta(days=BASELINE_DAYS)
        results.append(assess(m, ordered[bisect_left(days, first, hi=i) : i]))
    return results


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def readiness_payload(result: ReadinessResult, language: str = "en") -> dict[str, object]:
    """The ``hrvd/readiness`` JSON object of issue 5, without ``orthostatic`` and ``id``.

    The daemon adds those as it makes the message (:mod:`hrvd.daemon.morning`).
    """
    b = result.baseline
    q = result.quality
    return {
        "date": result.day.isoformat(),
        "score": result.score,
        "status": result.status.value,
        "ln_rmssd": round(result.ln_rmssd, 3),
        "ln_rmssd_7d": round(result.ln_rmssd_7d, 3),
        "rmssd_ms": round(result.rmssd_ms, 1),
        "resting_hr_bpm": _rounded(result.resting_hr_bpm, 1),
        "baseline_ln_rmssd": _rounded(b.ln_rmssd_mean if b else None, 3),
        "normal_low": _rounded(b.normal_low if b else None, 3),
        "normal_high": _rounded(b.normal_high if b else None, 3),
        "recommendation": result.recommendation.value if result.recommendation else None,
        "recommendation_text": recommendation_text(result, language),
        "posture": result.posture.value,
        **weekly_fields(result.weekly),
        "quality": None
        if q is None
        else {
            "artifact_rate": round(q.artifact_rate, 4),
            "beats": q.beats,
            "coverage": round(q.coverage, 3),
        },
    }
