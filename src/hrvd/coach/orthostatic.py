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
from enum import StrEnum
from typing import TYPE_CHECKING

from hrvd.hrv.metrics import MS_PER_MINUTE, time_domain

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date

    import numpy as np

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
    import numpy as np  # noqa: PLC0415 - see analyse_standing

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
    import numpy as np  # noqa: PLC0415 - see analyse_standing

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
    # numpy and the batch corrector load here, when a test ends: a daemon waiting for the
    # morning does not hold them (BENCHMARKS.md, "Footprint on the Pi").
    import numpy as np  # noqa: PLC0415

    from hrvd.hrv.artifacts import correct_batch  # noqa: PLC0415

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
