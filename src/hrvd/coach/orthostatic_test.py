"""The guided orthostatic test: lie, then stand. A state machine fed with beats. Pure.

The lying part is the ordinary morning measurement (:class:`~hrvd.coach.morning.
MorningMeasurement`, lying: settle, then 2 minutes measured), so it gives the day's
readiness as any morning does. When it is valid the athlete is told to stand; the
detector (:class:`~hrvd.coach.orthostatic.StandDetector`) waits for the heart-rate jump,
and 2 minutes are measured from it. Phases, published as ``phase`` on ``hrvd/morning``::

    lying ──▶ stand_up ──▶ standing ──▶ done
      │           └─ no jump within 60 s: done, "did not stand"
      └─ the lying part is invalid: invalid (no prompt to stand)

The test's ``state`` stays that of the morning measurement (``stabilising``,
``measuring``, then ``done`` or ``invalid``, from the lying part), so a dashboard that only
knows the morning measurement keeps working. A break of 10 s or more while standing ends
the standing part as invalid; the lying result still counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from hrvd.coach.analysis import IN_PROCESS, StandingBeats
from hrvd.coach.baseline import Posture
from hrvd.coach.morning import MorningMeasurement
from hrvd.coach.morning_values import (
    MAX_ARTIFACT_RATE,
    MAX_GAP_S,
    InvalidReason,
    MorningProgress,
    MorningSettings,
    MorningState,
    RawBeat,
)
from hrvd.coach.orthostatic import (
    MIN_STANDING_S,
    STAND_DETECT_S,
    STAND_RISE_BPM,
    STANDING_S,
    STANDING_SETTLE_S,
    OrthoOutcome,
    OrthoRecord,
    StandDetector,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import date

    from hrvd.coach.analysis import Analyst
    from hrvd.coach.morning_values import MorningResult, TimedRr


class OrthoPhase(StrEnum):
    """Where the test is."""

    LYING = "lying"
    STAND_UP = "stand_up"
    STANDING = "standing"
    DONE = "done"


PROMPTS = {
    "en": {
        OrthoPhase.LYING: "Lie still and breathe normally. You will be asked to stand.",
        OrthoPhase.STAND_UP: "Stand up now, calmly, and stay standing still.",
        OrthoPhase.STANDING: "Keep standing still.",
    },
    "nl": {
        OrthoPhase.LYING: "Lig stil en adem normaal. Straks word je gevraagd op te staan.",
        OrthoPhase.STAND_UP: "Sta nu rustig op en blijf stil staan.",
        OrthoPhase.STANDING: "Blijf stil staan.",
    },
}
"""What to say in each phase (a terminal prints it; a speaker can say it)."""


@dataclass(frozen=True, slots=True)
class OrthoSettings:
    """The standing part's numbers (defaults and sources: :mod:`hrvd.coach.orthostatic`).

    Raises:
        ValueError: a value out of its range.
    """

    detect_s: float = STAND_DETECT_S
    standing_s: float = STANDING_S
    settle_s: float = STANDING_SETTLE_S
    rise_bpm: float = STAND_RISE_BPM
    max_gap_s: float = MAX_GAP_S
    max_artifact_rate: float = MAX_ARTIFACT_RATE

    def __post_init__(self) -> None:
        """Check the values."""
        if not self.detect_s > 0 or not self.rise_bpm > 0 or not self.max_gap_s > 0:
            msg = "detect_s, rise_bpm and max_gap_s must be positive"
            raise ValueError(msg)
        if not (self.settle_s >= 0 and self.settle_s + 30.0 <= self.standing_s):
            msg = f"standing_s must leave at least 30 s after settle_s ({MIN_STANDING_S:g} s)"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class OrthoProgress:
    """What ``hrvd/morning`` shows during the test (the morning's, plus its phase).

    Attributes:
        morning: the morning measurement's progress (its state is the test's state).
        phase: where the test is.
        remaining_s: whole seconds until the end, as far as known.
        prompt: what to tell the athlete now, in the configured language.
        outcome: how the standing part ended, once it has.
    """

    morning: MorningProgress
    phase: OrthoPhase
    remaining_s: int
    prompt: str | None = None
    outcome: OrthoOutcome | None = None

    @property
    def state(self) -> MorningState:
        """The test's state: that of the lying part until the whole test ends."""
        return self.morning.state

    def payload(self) -> dict[str, object]:
        """The ``hrvd/morning`` JSON object, with ``test``, ``phase``, ``prompt``, ``outcome``."""
        return self.morning.payload() | {
            "remaining_s": self.remaining_s,
            "test": "orthostatic",
            "phase": self.phase.value,
            "prompt": self.prompt,
            "outcome": None if self.outcome is None else self.outcome.value,
        }


class OrthostaticTest:
    """One test in progress; feed it with :meth:`add` and :meth:`tick` as a measurement.

    Args:
        started_at_s: when it started, s, on the beats' clock.
        day: the local date at the start.
        settings: the lying part's numbers (:class:`MorningSettings`).
        ortho: the standing part's numbers.
        repeat: started as a repeat.
        language: of the prompts, ``en`` or ``nl``.
        analyst: who analyses the lying and the standing beats (default: this process).
    """

    def __init__(  # noqa: PLR0913 - the test's identity and its numbers
        self,
        *,
        started_at_s: float,
        day: date,
        settings: MorningSettings | None = None,
        ortho: OrthoSettings | None = None,
        repeat: bool = False,
        language: str = "en",
        analyst: Analyst | None = None,
    ) -> None:
        self.analyst = analyst or IN_PROCESS
        self.lying = MorningMeasurement(
            started_at_s=started_at_s,
            day=day,
            posture=Posture.LYING,
            settings=settings,
            repeat=repeat,
            analyst=self.analyst,
        )
        self.ortho = ortho or OrthoSettings()
        self.started_at_s = started_at_s
        self.day = day
        self.posture = Posture.LYING
        self.repeat = repeat
        self._prompts = PROMPTS.get(language, PROMPTS["en"])
        s = self.lying.settings
        self._prompt_s = started_at_s + s.stabilise_s + s.measure_s
        self._phase = OrthoPhase.LYING
        self._detector: StandDetector | None = None
        self._stand_s: float | None = None
        self._beats: list[RawBeat] = []
        self._last_t_s = self._prompt_s
        self._record: OrthoRecord | None = None
        self._progress = self._wrap(self.lying.progress)

    @property
    def state(self) -> MorningState:
        """The test's state (see the module docstring)."""
        return self._progress.state

    @property
    def progress(self) -> OrthoProgress:
        """The latest progress."""
        return self._progress

    @property
    def result(self) -> MorningResult | None:
        """The lying part's result, once the whole test is over."""
        return self.lying.result if self._phase is OrthoPhase.DONE else None

    @property
    def record(self) -> OrthoRecord | None:
        """The test's values once the standing part ended (None when lying was invalid)."""
        return self._record

    @property
    def stand_s(self) -> float | None:
        """When the stand was seen, s on the beats' clock, or None."""
        return self._stand_s

    @property
    def standing_raw(self) -> tuple[RawBeat, ...]:
        """The beats after the prompt to stand (times: s after the start)."""
        return tuple(self._beats)

    def tick(self, now_s: float) -> OrthoProgress:
        """Advance the time without beats."""
        return self.add((), now_s)

    def add(self, beats: Iterable[TimedRr], now_s: float) -> OrthoProgress:
        """Take the beats received since the last call, and the current time."""
        if self._phase is OrthoPhase.DONE:
            return self._progress
        beats = tuple(beats)
        if self._phase is OrthoPhase.LYING:
            lying = self.lying.add(beats, now_s)
            if lying.state is MorningState.INVALID:
                self._phase = OrthoPhase.DONE
                self._progress = self._wrap(lying)
                return self._progress
            if lying.state is not MorningState.DONE:
                self._progress = self._wrap(lying)
                return self._progress
            self._phase = OrthoPhase.STAND_UP
            self._detector = StandDetector(self._supine_hr(), self.ortho.rise_bpm)
        for beat in beats:
            if beat.t_s > self._prompt_s and self._take(beat):
                return self._progress
        self._advance(now_s)
        return self._progress

    def abort(self) -> OrthoProgress:
        """Stop before the end: invalid while lying, else the standing part is invalid."""
        if self._phase is OrthoPhase.LYING:
            self._phase = OrthoPhase.DONE
            self._progress = self._wrap(self.lying.abort())
        elif self._phase is not OrthoPhase.DONE:
            self._end(OrthoOutcome.INVALID, InvalidReason.ABORTED)
        return self._progress

    def _take(self, beat: TimedRr) -> bool:
        """One beat after the prompt; True when it ended the test."""
        begin_s = beat.t_s - beat.rr_ms / 1000.0
        if begin_s - self._last_t_s >= self.ortho.max_gap_s:
            self._end(OrthoOutcome.INVALID, InvalidReason.GAP)
            return True
        self._last_t_s = max(self._last_t_s, beat.t_s)
        self._beats.append(RawBeat(beat.t_s - self.started_at_s, beat.rr_ms, beat.gap_before))
        if self._phase is OrthoPhase.STAND_UP and self._detector and self._detector.add(beat.rr_ms):
            self._phase, self._stand_s = OrthoPhase.STANDING, beat.t_s
        return False

    def _advance(self, now_s: float) -> None:
        if now_s - self._last_t_s >= self.ortho.max_gap_s:
            self._end(OrthoOutcome.INVALID, InvalidReason.GAP)
        elif self._stand_s is None and now_s >= self._prompt_s + self.ortho.detect_s:
            self._end(OrthoOutcome.DID_NOT_STAND, None)
        elif self._stand_s is not None and now_s >= self._stand_s + self.ortho.standing_s:
            self._finish(self._stand_s)
        else:
            # Waiting for the stand, the standing time is all still to come.
            since = self._stand_s if self._stand_s is not None else now_s
            remaining = since + self.ortho.standing_s - now_s
            self._progress = OrthoProgress(
                MorningProgress(MorningState.MEASURING, 0),
                self._phase,
                math.ceil(max(0.0, remaining)),
                self._prompts.get(self._phase),
            )

    def _finish(self, stand_s: float) -> None:
        o = self.ortho
        start = self.started_at_s
        standing = self.analyst.standing(
            StandingBeats(
                t_s=tuple(start + b.t_s for b in self._beats),
                rr_ms=tuple(b.rr_ms for b in self._beats),
                gap_before=tuple(b.gap_before for b in self._beats),
                stand_s=stand_s,
                supine_hr_bpm=self._supine_hr(),
                standing_s=o.standing_s,
                settle_s=o.settle_s,
            )
        )
        if standing.rmssd_ms is None:
            self._end(OrthoOutcome.INVALID, InvalidReason.TOO_FEW_BEATS)
            return
        if standing.artifact_rate > o.max_artifact_rate:
            self._end(OrthoOutcome.INVALID, InvalidReason.ARTIFACTS)
            return
        supine = self.lying.result
        self._record = OrthoRecord(
            day=self.day,
            outcome=OrthoOutcome.STOOD,
            supine_hr_bpm=None if supine is None else supine.resting_hr_bpm,
            supine_rmssd_ms=None if supine is None else supine.rmssd_ms,
            standing_hr_bpm=standing.hr_bpm,
            standing_rmssd_ms=standing.rmssd_ms,
            peak_hr_bpm=standing.peak_hr_bpm,
            peak_after_s=standing.peak_after_s,
        )
        self._done(OrthoOutcome.STOOD)

    def _supine_hr(self) -> float:
        supine = self.lying.result
        return (
            math.inf if supine is None or supine.resting_hr_bpm is None else supine.resting_hr_bpm
        )

    def _end(self, outcome: OrthoOutcome, reason: InvalidReason | None) -> None:
        supine = self.lying.result
        self._record = OrthoRecord(
            day=self.day,
            outcome=outcome,
            supine_hr_bpm=None if supine is None else supine.resting_hr_bpm,
            supine_rmssd_ms=None if supine is None else supine.rmssd_ms,
            reason=None if reason is None else reason.value,
        )
        self._done(outcome)

    def _done(self, outcome: OrthoOutcome) -> None:
        self._phase = OrthoPhase.DONE
        self._progress = OrthoProgress(self.lying.progress, OrthoPhase.DONE, 0, None, outcome)

    def _wrap(self, lying: MorningProgress) -> OrthoProgress:
        """The lying part's progress as the test's: its countdown runs to the end of standing."""
        ended = lying.state in {MorningState.DONE, MorningState.INVALID}
        remaining = 0 if ended else lying.remaining_s + round(self.ortho.standing_s)
        phase = OrthoPhase.DONE if ended else OrthoPhase.LYING
        return OrthoProgress(lying, phase, remaining, self._prompts.get(phase))


def run_test(
    beats: Sequence[TimedRr],
    *,
    started_at_s: float,
    day: date,
    settings: MorningSettings | None = None,
    ortho: OrthoSettings | None = None,
) -> OrthostaticTest:
    """Run a whole recording through a test (a replay, or a test), to its end."""
    test = OrthostaticTest(started_at_s=started_at_s, day=day, settings=settings, ortho=ortho)
    for beat in beats:
        test.add((beat,), beat.t_s)
    end_s = beats[-1].t_s if beats else started_at_s
    while test.result is None and test.state is not MorningState.INVALID:
        end_s += 1.0
        test.tick(end_s)
    return test
