"""The orthostatic test's numbers: the stand, the standing heart, its normal. Pure.

After the ordinary supine measurement (:mod:`hrvd.coach.morning`) the athlete is told to
stand. Standing moves blood to the legs; the heart rate jumps, peaks about 15 s later
(Polar's orthostatic test white paper and support notes: "the peak heart rate is found
approximately 15 seconds after standing up") and settles at a level above the supine one.
A fatigued autonomic system shows a higher standing heart rate, a larger rise and a
smaller standing RMSSD, which a supine RMSSD alone can miss. The method and its sources:
``docs/readiness.md``.

Times are seconds on the caller's clock; nothing here reads one.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from hrvd.coach.baseline import BASELINE_DAYS, MIN_SD_HR_BPM, MIN_SD_LN_RMSSD
from hrvd.hrv.artifacts import correct_batch
from hrvd.hrv.metrics import MS_PER_MINUTE, time_domain

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

STAND_RISE_BPM = 10.0
"""The stand is seen when the heart rate rises this far above the supine mean, bpm. The
ordinary sustained rise on standing is 10-15 bpm and the initial peak larger (Polar's
example: 52 → 81 bpm; fellrnr's orthostatic heart rate page: 10-15 bpm), while breathing
and shifting in bed move a 5-beat median by a few bpm only. This project's choice."""
STAND_DETECT_S = 60.0
"""Time after the prompt within which the stand must show, s; else "did not stand".
This project's choice: standing up takes a few seconds, a minute leaves ample margin."""
STANDING_S = 120.0
"""Time measured after the stand, s: 2 minutes (issue 21; Polar's test is 4 minutes, about
half lying and half standing; fellrnr: "remain still for 2 minutes")."""
STANDING_SETTLE_S = 60.0
"""The first part of standing, s, holds the peak and is left out of the standing heart
rate and RMSSD (Polar: "with continued standing heart rate starts to oscillate at a certain
level"; Bourdillon et al. 2017: 1 min before an RMSSD window). The rest (60 s) is measured:
lnRMSSD of 60 s agrees with 5 min (Esco & Flatt 2014)."""
MIN_STANDING_S = 90.0
"""Shortest standing time, s: the settling minute and at least 30 s measured."""
SMOOTH_BEATS = 5
"""Beats of the running median the detector and the peak use: about one breath, so
respiratory swings and a single misdetected beat do not move it. This project's choice."""
MIN_BASELINE_TESTS = 6
"""Earlier tests (that stood) before the test is compared with its normal: Polar's manual
(M450, "Before the test"): "six baseline tests should be conducted over a period of two
weeks"."""
HIGH_SD = 1.0
"""A value beyond its mean by this many SDs is a sign, as sign C of the readiness
(:data:`hrvd.coach.readiness.HIGH_RESTING_HR_SD`)."""


class OrthoOutcome(StrEnum):
    """How the standing part ended."""

    STOOD = "stood"
    DID_NOT_STAND = "did_not_stand"
    INVALID = "invalid"  # a gap, too many artifacts, or stopped while standing


@dataclass(frozen=True, slots=True)
class Standing:
    """What the beats after the prompt show.

    Attributes:
        stand_s: when the stand was seen, s on the beats' clock.
        peak_hr_bpm: highest 5-beat median heart rate in the settling part, bpm.
        peak_after_s: when it came, s after ``onset_s``.
        hr_bpm: mean heart rate of the measured standing part, bpm, or None.
        rmssd_ms: RMSSD of its corrected beats, ms, or None.
        artifact_rate: share of its beats flagged as artifacts, 0-1.
        beats: its beats.
        onset_s: when the rise began (:func:`_onset`), s on the beats' clock.
    """

    stand_s: float
    peak_hr_bpm: float
    peak_after_s: float
    hr_bpm: float | None
    rmssd_ms: float | None
    artifact_rate: float
    beats: int
    onset_s: float


@dataclass(frozen=True, slots=True)
class OrthoRecord:
    """One orthostatic test as kept and compared (values None where not measured).

    Attributes:
        day: the local date of the test.
        outcome: how the standing part ended.
        supine_hr_bpm: mean heart rate lying, bpm.
        supine_rmssd_ms: RMSSD lying, ms.
        standing_hr_bpm: mean heart rate of the measured standing part, bpm.
        standing_rmssd_ms: its RMSSD, ms.
        peak_hr_bpm: the peak after standing, bpm.
        peak_after_s: when it came after the stand, s.
        reason: why the standing part is invalid, or None.
    """

    day: date
    outcome: OrthoOutcome
    supine_hr_bpm: float | None
    supine_rmssd_ms: float | None
    standing_hr_bpm: float | None = None
    standing_rmssd_ms: float | None = None
    peak_hr_bpm: float | None = None
    peak_after_s: float | None = None
    reason: str | None = None

    @property
    def hr_rise_bpm(self) -> float | None:
        """Standing minus supine heart rate, bpm (Polar's "orthostatic heart rate")."""
        if self.standing_hr_bpm is None or self.supine_hr_bpm is None:
            return None
        return self.standing_hr_bpm - self.supine_hr_bpm

    @property
    def hr_recovery_bpm(self) -> float | None:
        """How far the heart rate came back from its peak: peak minus standing, bpm."""
        if self.peak_hr_bpm is None or self.standing_hr_bpm is None:
            return None
        return self.peak_hr_bpm - self.standing_hr_bpm

    @property
    def standing_ln_rmssd(self) -> float | None:
        """Natural log of the standing RMSSD in ms."""
        return None if not self.standing_rmssd_ms else math.log(self.standing_rmssd_ms)


class StandDetector:
    """Watches the beats after the prompt for the heart-rate jump of standing; O(1) a beat.

    Args:
        supine_hr_bpm: mean heart rate lying, bpm.
        rise_bpm: the rise that marks the stand, bpm.
    """

    def __init__(self, supine_hr_bpm: float, rise_bpm: float = STAND_RISE_BPM) -> None:
        self.threshold_bpm = supine_hr_bpm + rise_bpm
        self._recent: deque[float] = deque(maxlen=SMOOTH_BEATS)

    def add(self, rr_ms: float) -> bool:
        """One more beat; True when the smoothed heart rate passed the threshold."""
        self._recent.append(rr_ms)
        if len(self._recent) < SMOOTH_BEATS:
            return False
        return MS_PER_MINUTE / statistics.median(self._recent) > self.threshold_bpm


def detect_stand(
    t_s: Sequence[float],
    rr_ms: Sequence[float],
    supine_hr_bpm: float,
    rise_bpm: float = STAND_RISE_BPM,
) -> float | None:
    """When the athlete stood, or None (did not stand).

    The stand is the end of the first beat whose 5-beat median heart rate exceeds
    ``supine_hr_bpm + rise_bpm``.

    Args:
        t_s: end times of the beats after the prompt, s.
        rr_ms: their RR intervals, ms.
        supine_hr_bpm: mean heart rate lying, bpm.
        rise_bpm: the rise that marks the stand, bpm.
    """
    detector = StandDetector(supine_hr_bpm, rise_bpm)
    for t, rr in zip(t_s, rr_ms, strict=True):
        if detector.add(rr):
            return t
    return None


def _smoothed_hr(
    rr: np.ndarray[tuple[int], np.dtype[np.float64]],
) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    """Heart rate of the running 5-beat median ending at each beat (fewer at the start)."""
    out = np.empty(len(rr))
    for i in range(len(rr)):
        out[i] = MS_PER_MINUTE / float(np.median(rr[max(0, i + 1 - SMOOTH_BEATS) : i + 1]))
    return out


ONSET_SHARE = 0.25
"""The rise began at the start of the last beat, before the stand was seen, whose 5-beat
median heart rate was within this share of :data:`STAND_RISE_BPM` of the supine mean:
the detector sees the stand only once the rise is well under way, a few seconds after the
body rose, and the peak is timed from the rise's start, as Polar times it from standing
up. This project's choice."""


def _onset(
    t: np.ndarray[tuple[int], np.dtype[np.float64]],
    rr: np.ndarray[tuple[int], np.dtype[np.float64]],
    hr: np.ndarray[tuple[int], np.dtype[np.float64]],
    stand_s: float,
    supine_hr_bpm: float,
) -> float:
    """When the rise that the detector saw at ``stand_s`` began, s (see :data:`ONSET_SHARE`)."""
    calm = np.flatnonzero((t < stand_s) & (hr <= supine_hr_bpm + ONSET_SHARE * STAND_RISE_BPM))
    if not len(calm):
        return float(t[0] - rr[0] / 1000.0) if len(t) else stand_s
    # The median of 5 beats lags the rise by about 2 beats: step back to where they began.
    i = int(calm[-1])
    return float(t[i] - rr[max(0, i - SMOOTH_BEATS // 2) : i + 1].sum() / 1000.0)


def analyse_standing(  # noqa: PLR0913 - the beats, the stand and the two times
    t_s: Sequence[float],
    rr_ms: Sequence[float],
    gap_before: Sequence[bool],
    stand_s: float,
    *,
    supine_hr_bpm: float,
    standing_s: float = STANDING_S,
    settle_s: float = STANDING_SETTLE_S,
) -> Standing:
    """The peak and the standing heart rate and RMSSD of the beats after the prompt.

    All beats are artifact-corrected together (as the supine measurement does); the
    peak is the highest 5-beat median heart rate up to ``stand_s + settle_s``; the
    standing heart rate and RMSSD come from the corrected beats of
    ``(stand_s + settle_s, stand_s + standing_s]``, never across a gap.

    Args:
        t_s: end times of the beats after the prompt, s.
        rr_ms: their RR intervals, ms.
        gap_before: beats before each one are missing.
        stand_s: when the stand was seen (:func:`detect_stand`), s.
        supine_hr_bpm: mean heart rate lying, bpm.
        standing_s: time measured after the stand, s.
        settle_s: the first part of it, left out of the standing values, s.
    """
    t = np.asarray(t_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    gaps = np.asarray(gap_before, dtype=bool)
    settled_s, end_s = stand_s + settle_s, stand_s + standing_s
    early = t <= settled_s
    hr = _smoothed_hr(rr)
    peak_i = int(np.argmax(np.where(early, hr, -np.inf))) if early.any() else 0
    onset_s = _onset(t, rr, hr, stand_s, supine_hr_bpm)
    inside = (t - rr / 1000.0 >= settled_s) & (t <= end_s)
    beats = int(np.count_nonzero(inside))
    if not len(rr):
        return Standing(stand_s, math.nan, 0.0, None, None, 0.0, 0, stand_s)
    correction = correct_batch(rr)
    flagged = int(np.count_nonzero(correction.classes[inside]))
    at_origin = np.cumsum(gaps)[correction.origin]
    corrected_gap = np.diff(at_origin, prepend=-1) > 0
    keep = inside[correction.origin]
    td = time_domain(correction.rr_ms[keep], corrected_gap[keep])
    return Standing(
        stand_s=stand_s,
        peak_hr_bpm=float(hr[peak_i]),
        peak_after_s=float(t[peak_i] - onset_s),
        onset_s=onset_s,
        hr_bpm=td.mean_hr_bpm,
        rmssd_ms=td.rmssd_ms if td.ln_rmssd is not None else None,
        artifact_rate=flagged / beats if beats else 0.0,
        beats=beats,
    )


@dataclass(frozen=True, slots=True)
class OrthoBaseline:
    """Mean and SD of the earlier tests that stood (previous 60 days).

    Attributes:
        n_tests: tests in the window.
        standing_hr_mean_bpm, standing_hr_sd_bpm: standing heart rate, bpm.
        hr_rise_mean_bpm, hr_rise_sd_bpm: rise on standing, bpm.
        standing_ln_rmssd_mean, standing_ln_rmssd_sd: lnRMSSD standing.
    """

    n_tests: int
    standing_hr_mean_bpm: float
    standing_hr_sd_bpm: float
    hr_rise_mean_bpm: float
    hr_rise_sd_bpm: float
    standing_ln_rmssd_mean: float
    standing_ln_rmssd_sd: float


class OrthoStatus(StrEnum):
    """The test against its own normal."""

    BASELINE = "baseline"  # fewer than six earlier tests
    NORMAL = "normal"
    ELEVATED = "elevated"  # a sign shows: the autonomic system is under load


@dataclass(frozen=True, slots=True)
class OrthoAssessment:
    """One test that stood, judged against the earlier ones.

    Attributes:
        status: see :class:`OrthoStatus`.
        baseline: the earlier tests' normal, or None while fewer than six.
        standing_hr_z, hr_rise_z, standing_ln_rmssd_z: today against it, in SDs.
        signs: the names of the signs that show (``standing_hr_high``, ``hr_rise_high``,
            ``standing_hrv_low``).
    """

    status: OrthoStatus
    baseline: OrthoBaseline | None
    standing_hr_z: float | None = None
    hr_rise_z: float | None = None
    standing_ln_rmssd_z: float | None = None
    signs: tuple[str, ...] = ()


def _stood(r: OrthoRecord) -> bool:
    return (
        r.outcome is OrthoOutcome.STOOD
        and r.standing_hr_bpm is not None
        and r.hr_rise_bpm is not None
        and r.standing_ln_rmssd is not None
    )


def ortho_baseline(
    history: Iterable[OrthoRecord], day: date, days: int = BASELINE_DAYS
) -> OrthoBaseline | None:
    """The normal of the tests that stood in the ``days`` calendar days before ``day``.

    None while they are fewer than :data:`MIN_BASELINE_TESTS`. SDs are sample SDs with
    the floors of the morning baseline (1 bpm, 0.05 lnRMSSD).
    """
    first = day - timedelta(days=days)
    window = [r for r in history if first <= r.day < day and _stood(r)]
    if len(window) < MIN_BASELINE_TESTS:
        return None
    hr = [r.standing_hr_bpm for r in window if r.standing_hr_bpm is not None]
    rise = [r.hr_rise_bpm for r in window if r.hr_rise_bpm is not None]
    ln = [r.standing_ln_rmssd for r in window if r.standing_ln_rmssd is not None]
    return OrthoBaseline(
        n_tests=len(window),
        standing_hr_mean_bpm=statistics.fmean(hr),
        standing_hr_sd_bpm=max(statistics.stdev(hr), MIN_SD_HR_BPM),
        hr_rise_mean_bpm=statistics.fmean(rise),
        hr_rise_sd_bpm=max(statistics.stdev(rise), MIN_SD_HR_BPM),
        standing_ln_rmssd_mean=statistics.fmean(ln),
        standing_ln_rmssd_sd=max(statistics.stdev(ln), MIN_SD_LN_RMSSD),
    )


def assess_ortho(today: OrthoRecord, history: Iterable[OrthoRecord]) -> OrthoAssessment | None:
    """Judge a test that stood against the earlier ones; None when it did not stand.

    Signs (each beyond 1 SD of its own normal): the standing heart rate is high, the rise
    on standing is high, the standing lnRMSSD is low.
    """
    if not _stood(today):
        return None
    base = ortho_baseline(history, today.day)
    if base is None:
        return OrthoAssessment(OrthoStatus.BASELINE, None)
    hr, rise, ln = today.standing_hr_bpm, today.hr_rise_bpm, today.standing_ln_rmssd
    if hr is None or rise is None or ln is None:  # pragma: no cover - _stood checked them
        return None
    z_hr = (hr - base.standing_hr_mean_bpm) / base.standing_hr_sd_bpm
    z_rise = (rise - base.hr_rise_mean_bpm) / base.hr_rise_sd_bpm
    z_ln = (ln - base.standing_ln_rmssd_mean) / base.standing_ln_rmssd_sd
    signs = tuple(
        name
        for name, shows in (
            ("standing_hr_high", z_hr > HIGH_SD),
            ("hr_rise_high", z_rise > HIGH_SD),
            ("standing_hrv_low", z_ln < -HIGH_SD),
        )
        if shows
    )
    status = OrthoStatus.ELEVATED if signs else OrthoStatus.NORMAL
    return OrthoAssessment(status, base, z_hr, z_rise, z_ln, signs)


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


def ortho_payload(record: OrthoRecord, assessment: OrthoAssessment | None) -> dict[str, object]:
    """The ``orthostatic`` object of the readiness message."""
    base = assessment.baseline if assessment else None
    return {
        "outcome": record.outcome.value,
        "reason": record.reason,
        "supine_hr_bpm": _r(record.supine_hr_bpm, 1),
        "supine_rmssd_ms": _r(record.supine_rmssd_ms, 1),
        "standing_hr_bpm": _r(record.standing_hr_bpm, 1),
        "standing_rmssd_ms": _r(record.standing_rmssd_ms, 1),
        "peak_hr_bpm": _r(record.peak_hr_bpm, 1),
        "peak_after_s": _r(record.peak_after_s, 1),
        "hr_rise_bpm": _r(record.hr_rise_bpm, 1),
        "hr_recovery_bpm": _r(record.hr_recovery_bpm, 1),
        "status": assessment.status.value if assessment else None,
        "signs": list(assessment.signs) if assessment else [],
        "baseline_tests": base.n_tests if base else None,
        "baseline_standing_hr_bpm": _r(base.standing_hr_mean_bpm if base else None, 1),
        "baseline_hr_rise_bpm": _r(base.hr_rise_mean_bpm if base else None, 1),
    }


def ortho_line(payload: dict[str, object]) -> str:
    """The ``orthostatic`` object of a readiness message as one line for a terminal."""
    if payload.get("outcome") != OrthoOutcome.STOOD:
        why = payload.get("reason")
        return f"orthostatic test: {payload.get('outcome')}" + (f" ({why})" if why else "")
    status = payload.get("status")
    signs = payload.get("signs")
    shown = ", ".join(str(s) for s in signs) if isinstance(signs, list) and signs else ""
    return (
        f"orthostatic test: lying {payload.get('supine_hr_bpm')} bpm / RMSSD "
        f"{payload.get('supine_rmssd_ms')} ms, standing {payload.get('standing_hr_bpm')} bpm / "
        f"RMSSD {payload.get('standing_rmssd_ms')} ms, rise {payload.get('hr_rise_bpm')} bpm, "
        f"peak {payload.get('peak_hr_bpm')} bpm after {payload.get('peak_after_s')} s; "
        f"{status}" + (f" ({shown})" if shown else "")
    )


ORTHO_COLUMNS = ("ortho_outcome", "standing_hr_bpm", "standing_rmssd_ms", "peak_hr_bpm",
                 "hr_rise_bpm", "hr_recovery_bpm", "ortho_status")  # fmt: skip
"""The orthostatic columns of ``hrvd history`` (empty on a day without a test)."""


def ortho_columns(tests: Iterable[OrthoRecord]) -> dict[tuple[date, str], dict[str, object]]:
    """The history's orthostatic columns of each day's lying morning.

    Each test is judged against the tests before it, as the day itself was.
    """
    ordered = sorted(tests, key=lambda r: r.day)
    out: dict[tuple[date, str], dict[str, object]] = {}
    for i, r in enumerate(ordered):
        p = ortho_payload(r, assess_ortho(r, ordered[:i]))
        values = [r.outcome.value, *(p[k] for k in ORTHO_COLUMNS[1:-1]), p["status"]]
        out[r.day, "lying"] = dict(zip(ORTHO_COLUMNS, values, strict=True))
    return out
