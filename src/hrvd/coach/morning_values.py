"""The morning measurement's values: its numbers, states, settings, progress and result. Pure.

The numbers of the protocol (with their sources) and the frozen values that pass between
the measurement (:mod:`hrvd.coach.morning`), its quality gate
(:mod:`hrvd.coach.morning_quality`) and the daemon. Nothing here computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from hrvd.coach.baseline import Morning, Quality

if TYPE_CHECKING:
    from datetime import date

    from hrvd.coach.baseline import Posture

STABILISE_S = 60.0
"""Discarded settling time, s (Bourdillon et al. 2017: 1 min before an RMSSD window)."""
MEASURE_S = 120.0
"""Measured time, s (Munoz et al. 2015: RMSSD of 120 s agrees with 5 min, r = 0.986;
Bourdillon et al. 2017)."""
MIN_MEASURE_S = 60.0
"""Shortest allowed measurement, s (Esco & Flatt 2014: lnRMSSD of 60 s agrees with 5 min)."""
MAX_MEASURE_S = 300.0
"""Longest allowed measurement, s: the 5-minute short-term standard (Task Force 1996)."""
MAX_ARTIFACT_RATE = 0.05
"""Most artifacts a valid measurement may hold after correction, 0-1 (issue 7)."""
MIN_COVERAGE = 0.90
"""Least share of the measurement time the received beats must cover, 0-1 (issue 7)."""
MAX_GAP_S = 10.0
"""A break in the beats this long or longer invalidates the measurement, s (issue 7)."""
MOVEMENT_MARGIN_BPM = 25.0
"""Heart rate above HRrest + this means movement, bpm (issue 7)."""


class MorningState(StrEnum):
    """State of a measurement, as published on ``hrvd/morning``."""

    STABILISING = "stabilising"
    MEASURING = "measuring"
    DONE = "done"
    INVALID = "invalid"


class InvalidReason(StrEnum):
    """Why a measurement is invalid: a stable code."""

    GAP = "gap"
    MOVEMENT = "movement"
    COVERAGE = "coverage"
    ARTIFACTS = "artifacts"
    ECTOPIC_BURDEN = "ectopic_burden"
    TOO_FEW_BEATS = "too_few_beats"
    ABORTED = "aborted"


class TimedRr(Protocol):
    """A beat as the timeline gives it (:class:`~hrvd.ble.timeline.TimedBeat` is one)."""

    @property
    def t_s(self) -> float:
        """When the interval ended, s."""
        ...

    @property
    def rr_ms(self) -> float:
        """The RR interval, ms."""
        ...

    @property
    def gap_before(self) -> bool:
        """Beats before this one are missing (start, reconnect, lost beats)."""
        ...


@dataclass(frozen=True, slots=True)
class RawBeat:
    """One received beat, kept with the result.

    Attributes:
        t_s: end of the interval, s after the start of the measurement.
        rr_ms: the interval as received, ms.
        gap_before: beats before it are missing.
    """

    t_s: float
    rr_ms: float
    gap_before: bool


@dataclass(frozen=True, slots=True)
class MorningSettings:
    """The protocol's numbers (defaults and their sources: the module constants).

    Attributes:
        stabilise_s: discarded settling time, s (>= 0).
        measure_s: measured time, s (60-300).
        hr_rest_bpm: the athlete's resting heart rate, bpm, for the movement check; when
            None the median heart rate of the settling time stands in for it.
        max_artifact_rate: most artifacts after correction, 0-1.
        min_coverage: least covered share of the measurement time, 0-1.
        max_gap_s: a break this long invalidates, s.
        movement_margin_bpm: heart rate above the reference + this is movement, bpm.

    Raises:
        ValueError: a value out of its range.
    """

    stabilise_s: float = STABILISE_S
    measure_s: float = MEASURE_S
    hr_rest_bpm: float | None = None
    max_artifact_rate: float = MAX_ARTIFACT_RATE
    min_coverage: float = MIN_COVERAGE
    max_gap_s: float = MAX_GAP_S
    movement_margin_bpm: float = MOVEMENT_MARGIN_BPM

    def __post_init__(self) -> None:
        """Check every value against its range."""
        checks = (
            ("stabilise_s", self.stabilise_s >= 0, "at least 0 s"),
            (
                "measure_s",
                MIN_MEASURE_S <= self.measure_s <= MAX_MEASURE_S,
                f"within {MIN_MEASURE_S:g}-{MAX_MEASURE_S:g} s",
            ),
            ("hr_rest_bpm", self.hr_rest_bpm is None or self.hr_rest_bpm > 0, "positive"),
            ("max_artifact_rate", 0 <= self.max_artifact_rate <= 1, "within 0-1"),
            ("min_coverage", 0 <= self.min_coverage <= 1, "within 0-1"),
            ("max_gap_s", self.max_gap_s > 0, "positive"),
            ("movement_margin_bpm", self.movement_margin_bpm > 0, "positive"),
        )
        for name, ok, expected in checks:
            if not ok:
                msg = f"{name} = {getattr(self, name)!r} is not {expected}"
                raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class MorningProgress:
    """What ``hrvd/morning`` shows.

    Attributes:
        state: the measurement's state.
        remaining_s: whole seconds until the result (rounded up; 0 once it is known).
        reason: why it is invalid, or None.
        detail: the reason with its numbers, in English (for logs), or None.
    """

    state: MorningState
    remaining_s: int
    reason: InvalidReason | None = None
    detail: str | None = None

    def payload(self) -> dict[str, object]:
        """The ``hrvd/morning`` JSON object of issue 5."""
        return {
            "state": self.state.value,
            "remaining_s": self.remaining_s,
            "reason": self.reason.value if self.reason else None,
        }


@dataclass(frozen=True, slots=True)
class MorningResult:
    """The result of one measurement, valid or not.

    Attributes:
        day: the local date when it started (given by the caller).
        posture: how it was measured.
        repeat: it was started as a repeat (``hrvd morning --repeat``).
        valid: it passed the quality gate.
        reason: why it is invalid, or None.
        detail: the reason with its numbers, in English, or None.
        ln_rmssd: natural log of RMSSD in ms, or None.
        rmssd_ms: RMSSD of the corrected beats, ms, or None.
        resting_hr_bpm: mean heart rate of the measurement (60000 / mean RR), bpm, or None.
        artifact_rate: share of beats flagged as artifacts, 0-1.
        beats: RR intervals inside the measurement window.
        coverage: share of the measurement time covered by received beats, 0-1.
        stabilise_s: settling time, s.
        measure_s: measured time, s.
        raw: every beat received from the start to the end, as received.
    """

    day: date
    posture: Posture
    repeat: bool
    valid: bool
    reason: InvalidReason | None
    detail: str | None
    ln_rmssd: float | None
    rmssd_ms: float | None
    resting_hr_bpm: float | None
    artifact_rate: float
    beats: int
    coverage: float
    stabilise_s: float
    measure_s: float
    raw: tuple[RawBeat, ...]

    @property
    def quality(self) -> Quality:
        """The numbers of the quality gate."""
        return Quality(self.artifact_rate, self.beats, self.coverage)

    def morning(self) -> Morning | None:
        """The morning the baseline uses, or None when the result is invalid."""
        if not self.valid or self.ln_rmssd is None:
            return None
        return Morning(self.day, self.posture, self.ln_rmssd, self.resting_hr_bpm, self.quality)
