"""The guided morning measurement: a state machine fed with beats and the time. Pure.

The athlete lies (or sits, or stands) still with the strap on. The first
:data:`STABILISE_S` are discarded while the heart settles; the next :data:`MEASURE_S`
are measured (Bourdillon et al. 2017: 1 min of stabilisation and 2 min of recording give
an RMSSD as good as a longer one). States::

    stabilising ──▶ measuring ──▶ done
          │             │
          └─────────────┴──────▶ invalid   (a gap, movement, or stopped)

and at the end of the window the **quality gate** (issue 7) decides between ``done`` and
``invalid``: after artifact correction (:func:`~hrvd.hrv.artifacts.correct_batch`) at most
5 % of the beats may be artifacts, and the received beats must cover at least 90 % of the
measurement time. A short break (under 10 s, a reconnect) is tolerated: no successive
difference is taken across it and its time is not covered; a longer one ends the
measurement at once, as does a heart rate above HRrest + 25 bpm (movement).

Times are seconds on one clock of the caller's choosing (the receive clock of
:class:`~hrvd.ble.timeline.TimedBeat`); the day of a result is the local date at the start,
which the caller passes in (:func:`local_day`). Nothing here reads a clock.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import numpy as np

from hrvd.coach.baseline import Morning, Posture, Quality
from hrvd.hrv.artifacts import correct_batch
from hrvd.hrv.metrics import MS_PER_MINUTE, time_domain
from hrvd.hrv.quality import MAX_ECTOPIC_BURDEN, irregular

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from numpy.typing import NDArray

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
AUTO_START_MARGIN_BPM = 15.0
"""An automatic start needs a heart rate within HRrest + this, bpm (issue 7)."""
MORNING_WINDOW = (time(5, 0), time(10, 0))
"""Local times between which a connecting strap may start a measurement (issue 7)."""
MOVEMENT_WINDOW_BEATS = 10
"""Movement is judged on the median RR of the last 10 beats: one misdetected short beat
moves a median not at all, while standing up raises every beat. This project's choice."""
MOVEMENT_MIN_BEATS = 5
"""Beats the movement check needs before it judges. This project's choice."""


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


_ADVICE: dict[str, dict[InvalidReason, str]] = {
    "en": {
        InvalidReason.GAP: "The strap lost contact for too long. Moisten the electrodes, "
        "check the fit, and repeat.",
        InvalidReason.MOVEMENT: "Your heart rate rose as if you moved. Lie still and repeat.",
        InvalidReason.COVERAGE: "Too many beats were missed. Moisten the electrodes, check "
        "the fit, and repeat.",
        InvalidReason.ARTIFACTS: "Too many irregular beats. Moisten the electrodes, keep still, "
        "breathe calmly, and repeat.",
        InvalidReason.ECTOPIC_BURDEN: "Many beats came early or late (ectopic beats or a "
        "strap misreading them): HRV cannot be read from them. Moisten the electrodes and "
        "repeat; if it happens every morning, ask a doctor.",
        InvalidReason.TOO_FEW_BEATS: "Too few beats arrived. Check the strap and repeat.",
        InvalidReason.ABORTED: "The measurement was stopped. Repeat when you are ready.",
    },
    "nl": {
        InvalidReason.GAP: "De borstband verloor te lang contact. Maak de elektroden vochtig, "
        "controleer de pasvorm en herhaal.",
        InvalidReason.MOVEMENT: "Je hartslag steeg alsof je bewoog. Lig stil en herhaal.",
        InvalidReason.COVERAGE: "Te veel slagen gemist. Maak de elektroden vochtig, "
        "controleer de pasvorm en herhaal.",
        InvalidReason.ARTIFACTS: "Te veel onregelmatige slagen. Maak de elektroden vochtig, "
        "lig stil, adem rustig en herhaal.",
        InvalidReason.ECTOPIC_BURDEN: "Veel slagen kwamen te vroeg of te laat (extra "
        "slagen of een borstband die ze verkeerd leest): daaruit valt geen HRV te lezen. "
        "Maak de elektroden vochtig en herhaal; gebeurt het elke ochtend, vraag een arts.",
        InvalidReason.TOO_FEW_BEATS: "Te weinig slagen ontvangen. Controleer de borstband "
        "en herhaal.",
        InvalidReason.ABORTED: "De meting werd gestopt. Herhaal wanneer je klaar bent.",
    },
}


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


@dataclass(frozen=True, slots=True)
class _Window:
    """Every beat so far, which of them lie inside the measurement window, and coverage."""

    rr_ms: NDArray[np.float64]
    gap_before: NDArray[np.bool_]
    inside: NDArray[np.bool_]
    coverage: float
    longest_gap_s: float


class MorningMeasurement:
    """One measurement in progress. Feed it with :meth:`add` and :meth:`tick`.

    Args:
        started_at_s: when it started, s, on the beats' clock.
        day: the local date at the start (the caller's clock and time zone).
        posture: how the athlete lies, sits or stands.
        settings: the protocol's numbers.
        repeat: it was started as a repeat, so it may replace the day's valid result.
    """

    def __init__(
        self,
        *,
        started_at_s: float,
        day: date,
        posture: Posture,
        settings: MorningSettings | None = None,
        repeat: bool = False,
    ) -> None:
        self.settings = settings or MorningSettings()
        self.started_at_s = started_at_s
        self.day = day
        self.posture = posture
        self.repeat = repeat
        self._window_start_s = started_at_s + self.settings.stabilise_s
        self._window_end_s = self._window_start_s + self.settings.measure_s
        self._raw: list[RawBeat] = []
        self._settle_rr: list[float] = []
        self._recent_rr: deque[float] = deque(maxlen=MOVEMENT_WINDOW_BEATS)
        self._covered_until_s = self._window_start_s
        self._reference_bpm = self.settings.hr_rest_bpm
        self._progress = MorningProgress(MorningState.STABILISING, self._remaining(started_at_s))
        self._result: MorningResult | None = None

    @property
    def state(self) -> MorningState:
        """The current state."""
        return self._progress.state

    @property
    def progress(self) -> MorningProgress:
        """The latest progress, as returned by the last call."""
        return self._progress

    @property
    def result(self) -> MorningResult | None:
        """The result once the state is ``done`` or ``invalid``, else None."""
        return self._result

    @property
    def reference_bpm(self) -> float | None:
        """The heart rate the movement check is relative to, bpm, once known."""
        return self._reference_bpm

    def tick(self, now_s: float) -> MorningProgress:
        """Advance the time without beats (a strap that went quiet)."""
        return self.add((), now_s)

    def add(self, beats: Iterable[TimedRr], now_s: float) -> MorningProgress:
        """Take the beats received since the last call, and the current time.

        Args:
            beats: timed beats, in order; those ending before the start are ignored.
            now_s: the current time, s, on the beats' clock.

        Returns:
            The progress after them.
        """
        if self._result is not None:
            return self._progress
        for beat in beats:
            if self._take(beat):
                return self._progress
        if now_s >= self._window_end_s:
            self._finish()
            return self._progress
        if now_s > self._window_start_s:
            silent_s = now_s - self._covered_until_s
            if silent_s >= self.settings.max_gap_s:
                detail = _gap_detail(silent_s, self.settings.max_gap_s)
                self._end(InvalidReason.GAP, detail)
                return self._progress
            state = MorningState.MEASURING
        else:
            state = MorningState.STABILISING
        self._progress = MorningProgress(state, self._remaining(now_s))
        return self._progress

    def abort(self) -> MorningProgress:
        """Stop before the end (the user or a shutdown): the result is invalid."""
        if self._result is None:
            self._end(InvalidReason.ABORTED, "stopped before the end")
        return self._progress

    def _remaining(self, now_s: float) -> int:
        return math.ceil(max(0.0, self._window_end_s - now_s))

    def _take(self, beat: TimedRr) -> bool:
        """Take one beat; True when it ended the measurement."""
        offset_s = beat.t_s - self.started_at_s
        if offset_s <= 0 or beat.t_s > self._window_end_s:
            return False
        self._raw.append(RawBeat(offset_s, beat.rr_ms, beat.gap_before))
        begin_s = beat.t_s - beat.rr_ms / 1000.0
        if beat.t_s <= self._window_start_s:
            self._settle_rr.append(beat.rr_ms)
            return False
        gap_s = begin_s - self._covered_until_s
        if gap_s >= self.settings.max_gap_s:
            self._end(InvalidReason.GAP, _gap_detail(gap_s, self.settings.max_gap_s))
            return True
        self._covered_until_s = max(self._covered_until_s, beat.t_s)
        return begin_s >= self._window_start_s and self._moved(beat.rr_ms)

    def _moved(self, rr_ms: float) -> bool:
        """Judge movement with one more beat; True when it ended the measurement."""
        if self._reference_bpm is None and len(self._settle_rr) >= MOVEMENT_WINDOW_BEATS:
            self._reference_bpm = MS_PER_MINUTE / statistics.median(self._settle_rr)
        self._recent_rr.append(rr_ms)
        if self._reference_bpm is None or len(self._recent_rr) < MOVEMENT_MIN_BEATS:
            return False
        hr_bpm = MS_PER_MINUTE / statistics.median(self._recent_rr)
        if hr_bpm <= self._reference_bpm + self.settings.movement_margin_bpm:
            return False
        self._end(InvalidReason.MOVEMENT, self._movement_detail(hr_bpm))
        return True

    def _movement_detail(self, hr_bpm: float) -> str:
        return (
            f"heart rate {hr_bpm:.0f} bpm is above {self._reference_bpm:.0f} + "
            f"{self.settings.movement_margin_bpm:.0f} bpm: movement"
        )

    def _window(self, end_s: float) -> _Window:
        """Every beat so far, those inside the window up to ``end_s``, and their coverage."""
        start_s = self._window_start_s
        n = len(self._raw)
        inside = np.zeros(n, dtype=bool)
        spans: list[tuple[float, float]] = []
        for i, beat in enumerate(self._raw):
            t_s = self.started_at_s + beat.t_s
            begin_s = t_s - beat.rr_ms / 1000.0
            if t_s > start_s and begin_s < end_s:
                spans.append((max(begin_s, start_s), min(t_s, end_s)))
            inside[i] = begin_s >= start_s and t_s <= end_s
        covered_s, longest_gap_s, until_s = 0.0, 0.0, start_s
        for begin_s, t_s in sorted(spans):
            longest_gap_s = max(longest_gap_s, begin_s - until_s)
            covered_s += max(0.0, t_s - max(begin_s, until_s))
            until_s = max(until_s, t_s)
        longest_gap_s = max(longest_gap_s, end_s - until_s)
        return _Window(
            rr_ms=np.array([b.rr_ms for b in self._raw], dtype=np.float64),
            gap_before=np.array([b.gap_before for b in self._raw], dtype=bool),
            inside=inside,
            coverage=covered_s / self.settings.measure_s,
            longest_gap_s=longest_gap_s,
        )

    def _finish(self) -> None:
        s = self.settings
        window = self._window(self._window_end_s)
        metrics = _analyse(window)
        reason: InvalidReason | None = None
        detail: str | None = None
        hr = metrics.resting_hr_bpm
        ref = self._reference_bpm
        if window.longest_gap_s >= s.max_gap_s:
            reason, detail = InvalidReason.GAP, _gap_detail(window.longest_gap_s, s.max_gap_s)
        elif metrics.ln_rmssd is None or hr is None:
            reason, detail = InvalidReason.TOO_FEW_BEATS, f"{metrics.beats} beats"
        elif ref is not None and hr > ref + s.movement_margin_bpm:
            reason, detail = InvalidReason.MOVEMENT, self._movement_detail(hr)
        elif window.coverage < s.min_coverage:
            reason = InvalidReason.COVERAGE
            detail = (
                f"beats cover {window.coverage:.1%} of the measurement, "
                f"less than {s.min_coverage:.0%}"
            )
        elif metrics.artifact_rate > s.max_artifact_rate:
            reason = InvalidReason.ARTIFACTS
            detail = f"artifact rate {metrics.artifact_rate:.1%} is above {s.max_artifact_rate:.0%}"
        elif metrics.ectopic_burden > MAX_ECTOPIC_BURDEN:
            # The adaptive thresholds widen in a run of ectopic beats and flag few of them:
            # the quality verdict's fixed count catches what the artifact rate misses.
            reason = InvalidReason.ECTOPIC_BURDEN
            detail = (
                f"{metrics.ectopic_burden:.1%} irregular beats (ectopic or misdetected), "
                f"above {MAX_ECTOPIC_BURDEN:.0%}"
            )
        self._store(window, metrics, reason, detail)

    def _end(self, reason: InvalidReason, detail: str) -> None:
        """End early, invalid; the numbers are those of the beats so far."""
        window = self._window(max(self._covered_until_s, self._window_start_s))
        self._store(window, _analyse(window), reason, detail)

    def _store(
        self,
        window: _Window,
        metrics: _Metrics,
        reason: InvalidReason | None,
        detail: str | None,
    ) -> None:
        valid = reason is None
        self._result = MorningResult(
            day=self.day,
            posture=self.posture,
            repeat=self.repeat,
            valid=valid,
            reason=reason,
            detail=detail,
            ln_rmssd=metrics.ln_rmssd,
            rmssd_ms=metrics.rmssd_ms,
            resting_hr_bpm=metrics.resting_hr_bpm,
            artifact_rate=metrics.artifact_rate,
            beats=metrics.beats,
            coverage=window.coverage,
            stabilise_s=self.settings.stabilise_s,
            measure_s=self.settings.measure_s,
            raw=tuple(self._raw),
        )
        state = MorningState.DONE if valid else MorningState.INVALID
        self._progress = MorningProgress(state, 0, reason, detail)


@dataclass(frozen=True, slots=True)
class _Metrics:
    beats: int
    ln_rmssd: float | None
    rmssd_ms: float | None
    resting_hr_bpm: float | None
    artifact_rate: float
    ectopic_burden: float


def _analyse(window: _Window) -> _Metrics:
    """Correct every beat, then measure those inside the window, never across a gap.

    The detector sees the settling beats too: an artifact early in the window is judged
    with neighbours on both sides and thresholds from a full window of beats, as in a
    longer recording. The artifact rate is that of the beats inside.
    """
    correction = correct_batch(window.rr_ms)
    beats = int(np.count_nonzero(window.inside))
    flagged = int(np.count_nonzero(correction.classes[window.inside]))
    irregular_inside = int(np.count_nonzero(irregular(window.rr_ms)[window.inside]))
    # A corrected beat starts a segment when a gap lies between its input beat and the
    # input beat of the corrected beat before it (an extra beat merged over a gap keeps it).
    gaps_so_far = np.cumsum(window.gap_before)
    at_origin = gaps_so_far[correction.origin]
    gap_before = np.diff(at_origin, prepend=-1) > 0
    keep = window.inside[correction.origin]
    td = time_domain(correction.rr_ms[keep], gap_before[keep])
    return _Metrics(
        beats=beats,
        ln_rmssd=td.ln_rmssd,
        rmssd_ms=td.rmssd_ms if td.ln_rmssd is not None else None,
        resting_hr_bpm=td.mean_hr_bpm,
        artifact_rate=flagged / beats if beats else 0.0,
        ectopic_burden=irregular_inside / beats if beats else 0.0,
    )


def _gap_detail(gap_s: float, max_gap_s: float) -> str:
    return f"no beats for {gap_s:.1f} s (a break must stay under {max_gap_s:g} s)"


def measure(  # noqa: PLR0913 - the measurement's identity and its recording
    beats: Sequence[TimedRr],
    *,
    started_at_s: float,
    day: date,
    posture: Posture,
    settings: MorningSettings | None = None,
    repeat: bool = False,
) -> MorningResult:
    """Run a whole recording through a measurement (a replay, or a test).

    The time advances with the beats, and finally to the end of the window.
    """
    m = MorningMeasurement(
        started_at_s=started_at_s, day=day, posture=posture, settings=settings, repeat=repeat
    )
    for beat in beats:
        m.add((beat,), beat.t_s)
    m.tick(started_at_s + m.settings.stabilise_s + m.settings.measure_s)
    result = m.result
    if result is None:  # pragma: no cover - tick at the end always finishes
        msg = "the measurement did not finish"
        raise AssertionError(msg)
    return result


def invalid_advice(reason: InvalidReason, language: str = "en") -> str:
    """What to tell the athlete about an invalid measurement, in ``en`` or ``nl``.

    Raises:
        ValueError: an unknown language.
    """
    if language not in _ADVICE:
        msg = f"{language!r} is not one of {', '.join(_ADVICE)}"
        raise ValueError(msg)
    return _ADVICE[language][reason]


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
