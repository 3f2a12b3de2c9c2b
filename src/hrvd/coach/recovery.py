"""The recovery-ride coach: a pure state machine, fed with heart rate, HRV and the time.

A recovery ride is 30-60 minutes at a heart rate far below the endurance zone; it should
feel absurdly easy, and the first 15-20 minutes start extremely easy. The coach watches
one ride and emits events: phase changes, a check-in, "ride complete", and the "too hard
for recovery" alert turning on and off. Nothing here reads a clock or does I/O.

Defaults and where they come from:

* ceiling: ``[ride] ceiling_bpm``, else the top of zone 1 of the athlete's zones
  (:mod:`hrvd.hrv.zones`; with LTHR that is 68 % of LTHR, Coggan's active recovery).
* ``sustain_s`` = 30 and ``hysteresis_bpm`` = 3: this project's choice, after the
  alert-hysteresis proposal in the research notes: a short surge on a climb or a sprint to
  the fridge must not fire, and the alert must not flap around the ceiling.
* phases: ``start`` for the first 3 minutes, when heart rate overshoots while the legs
  start turning (no alert yet); ``warmup`` until ``warmup_min`` (15) with the ceiling
  lowered by 10 bpm ("start extremely easy"); then ``steady``; at ``target_min`` (45)
  the ride is ``complete`` (an event, not the end). 3 and 10 are this project's choice.
* the alpha1 rule (:mod:`hrvd.coach.alpha1`): alpha1 below 0.75 for 60 s, counted only
  while the rider is exercising (heart rate above a floor) and the alpha1 window is clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from hrvd.coach.alpha1 import Alpha1Rule, Alpha1Settings, GuardEvent, Timer

START_PHASE_S = 180.0
WARMUP_CEILING_DROP_BPM = 10.0
CHECK_IN_TEXT = "Soreness fading? Carry on. Worse, or sharp pain? Stop."


class Phase(StrEnum):
    """Where the ride is."""

    START = "start"
    WARMUP = "warmup"
    STEADY = "steady"
    COMPLETE = "complete"


@dataclass(frozen=True, slots=True)
class RideSettings:
    """The rule's numbers (bpm, s, min)."""

    ceiling_bpm: float
    sustain_s: float = 30.0
    hysteresis_bpm: float = 3.0
    warmup_min: float = 15.0
    target_min: float = 45.0
    alpha1: Alpha1Settings = field(default_factory=Alpha1Settings)


@dataclass(frozen=True, slots=True)
class PhaseEvent:
    """The ride entered ``phase`` (or, for ``check_in``, asks how the legs feel)."""

    at_s: float
    elapsed_s: float
    phase: Phase
    event: str  # "phase", "check_in" or "complete"
    text: str | None = None


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """The "too hard for recovery" alert changed.

    Attributes:
        too_hard: on or off.
        reason: which rule holds it on ("hr_ceiling", "dfa_alpha1", both joined by "+"),
            or why it turned off ("back_in_zone", "ride_end").
        since_s: when the alert turned on (for an "off" event: when it had turned on).
        hr_bpm, ceiling_bpm, dfa_alpha1: the values when it changed.
    """

    at_s: float
    too_hard: bool
    reason: str
    since_s: float | None
    hr_bpm: float | None
    ceiling_bpm: float
    dfa_alpha1: float | None


CoachEvent = PhaseEvent | AlertEvent | GuardEvent


@dataclass(frozen=True, slots=True)
class RideSummary:
    """What the ride was, for the store and the retained session message."""

    started_s: float
    ended_s: float
    end_reason: str
    duration_s: float
    in_zone_pct: float | None
    too_hard_s: float
    mean_hr_bpm: float | None
    max_hr_bpm: float | None
    mean_rmssd_ms: float | None
    mean_dfa_alpha1: float | None
    artifact_rate: float | None
    alerts: int
    ceiling_bpm: float


@dataclass(slots=True)
class _Mean:
    """A running mean: a ride's summary needs no list of every value (O(1) memory)."""

    total: float = 0.0
    n: int = 0

    def add(self, value: float | None) -> None:
        if value is not None:
            self.total += value
            self.n += 1

    @property
    def value(self) -> float | None:
        return self.total / self.n if self.n else None


@dataclass
class _Totals:
    last_s: float | None = None
    in_zone_s: float = 0.0
    measured_s: float = 0.0
    too_hard_s: float = 0.0
    hr: _Mean = field(default_factory=_Mean)
    hr_max: float | None = None
    rmssd: _Mean = field(default_factory=_Mean)
    alpha1: _Mean = field(default_factory=_Mean)
    artifacts: _Mean = field(default_factory=_Mean)


class RecoveryRide:
    """One ride: call :meth:`update` with each heart-rate sample, :meth:`end` at the end.

    Args:
        settings: ceiling and timing.
        started_s: when the ride started, s (any monotonic clock; the same as ``update``'s).
    """

    def __init__(self, settings: RideSettings, started_s: float) -> None:
        self.settings = settings
        self.started_s = started_s
        self.phase = Phase.START
        self.too_hard = False
        self.reasons: tuple[str, ...] = ()
        self.alert_since: float | None = None
        self.alerts = 0
        self._checked_in = False
        self._hr_above = Timer()
        self._hr_below = Timer()
        self.alpha1 = Alpha1Rule(settings.alpha1)
        self._hr_rule = False
        self._totals = _Totals()
        self._last_hr: float | None = None
        self._last_alpha1: float | None = None

    def ceiling_bpm(self, phase: Phase | None = None) -> float:
        """The ceiling now: lowered by 10 bpm during the warm-up."""
        lowered = (phase or self.phase) in {Phase.START, Phase.WARMUP}
        return self.settings.ceiling_bpm - (WARMUP_CEILING_DROP_BPM if lowered else 0.0)

    def elapsed_s(self, now_s: float) -> float:
        """Time since the start, s."""
        return now_s - self.started_s

    def update(
        self,
        now_s: float,
        hr_bpm: float | None,
        *,
        rmssd_ms: float | None = None,
        dfa_alpha1: float | None = None,
        dfa_artifact_rate: float | None = None,
    ) -> list[CoachEvent]:
        """Take the values of ``now_s``; return what changed.

        Args:
            now_s: the time of these values, s.
            hr_bpm: heart rate, bpm (None while there is none: no contact, gone).
            rmssd_ms: current RMSSD, ms.
            dfa_alpha1: current alpha1 (None before it has a window).
            dfa_artifact_rate: artifact rate of the alpha1 window, 0-1.
        """
        events: list[CoachEvent] = list(self._advance_phase(now_s))
        self._account(now_s, hr_bpm, rmssd_ms, dfa_alpha1, dfa_artifact_rate)
        self._last_hr = hr_bpm
        self._last_alpha1 = dfa_alpha1
        if self.phase is Phase.START or hr_bpm is None:
            return events
        ceiling = self.ceiling_bpm()
        above = self._hr_above.update(hr_bpm > ceiling, now_s)
        below = self._hr_below.update(hr_bpm < ceiling - self.settings.hysteresis_bpm, now_s)
        if not self._hr_rule and above >= self.settings.sustain_s:
            self._hr_rule = True
        elif self._hr_rule and below >= self.settings.sustain_s:
            self._hr_rule = False
        events += self.alpha1.update(now_s, hr_bpm, dfa_alpha1, dfa_artifact_rate)
        events += self._alert(now_s, hr_bpm)
        return events

    def _advance_phase(self, now_s: float) -> list[PhaseEvent]:
        t = self.elapsed_s(now_s)
        s = self.settings
        events = []
        for phase, begins_s in (
            (Phase.WARMUP, START_PHASE_S),
            (Phase.STEADY, s.warmup_min * 60),
            (Phase.COMPLETE, s.target_min * 60),
        ):
            if t >= begins_s and _order(self.phase) < _order(phase):
                self.phase = phase
                kind = "complete" if phase is Phase.COMPLETE else "phase"
                events.append(PhaseEvent(now_s, t, phase, kind))
                if phase is Phase.STEADY and not self._checked_in:
                    self._checked_in = True
                    events.append(PhaseEvent(now_s, t, phase, "check_in", CHECK_IN_TEXT))
        return events

    def _alert(self, now_s: float, hr_bpm: float) -> list[AlertEvent]:
        reasons = tuple(
            r for r, on in (("hr_ceiling", self._hr_rule), ("dfa_alpha1", self.alpha1.on)) if on
        )
        on = bool(reasons)
        if on == self.too_hard and (not on or reasons == self.reasons):
            return []
        turned_on = on and not self.too_hard
        if turned_on:
            self.alert_since = now_s
            self.alerts += 1
        since = self.alert_since
        self.too_hard, self.reasons = on, reasons
        reason = "+".join(reasons) if on else "back_in_zone"
        if not on:
            self.alert_since = None
        return [AlertEvent(now_s, on, reason, since, hr_bpm, self.ceiling_bpm(), self._last_alpha1)]

    def _account(
        self,
        now_s: float,
        hr: float | None,
        rmssd: float | None,
        alpha1: float | None,
        artifacts: float | None,
    ) -> None:
        t = self._totals
        if t.last_s is not None and hr is not None and self._last_hr is not None:
            dt = now_s - t.last_s
            t.measured_s += dt
            if self._last_hr <= self.ceiling_bpm():
                t.in_zone_s += dt
            if self.too_hard:
                t.too_hard_s += dt
        t.last_s = now_s
        t.hr.add(hr)
        if hr is not None:
            t.hr_max = hr if t.hr_max is None else max(t.hr_max, hr)
        t.rmssd.add(rmssd)
        t.alpha1.add(alpha1)
        t.artifacts.add(artifacts)

    def end(self, now_s: float, reason: str) -> tuple[list[CoachEvent], RideSummary]:
        """End the ride: the alert, if on, turns off; return it with the summary."""
        events: list[CoachEvent] = []
        if self.too_hard:
            events.append(
                AlertEvent(
                    at_s=now_s,
                    too_hard=False,
                    reason="ride_end",
                    since_s=self.alert_since,
                    hr_bpm=self._last_hr,
                    ceiling_bpm=self.ceiling_bpm(),
                    dfa_alpha1=self._last_alpha1,
                )
            )
            self.too_hard, self.reasons, self.alert_since = False, (), None
        t = self._totals
        return events, RideSummary(
            started_s=self.started_s,
            ended_s=now_s,
            end_reason=reason,
            duration_s=now_s - self.started_s,
            in_zone_pct=100 * t.in_zone_s / t.measured_s if t.measured_s else None,
            too_hard_s=t.too_hard_s,
            mean_hr_bpm=t.hr.value,
            max_hr_bpm=t.hr_max,
            mean_rmssd_ms=t.rmssd.value,
            mean_dfa_alpha1=t.alpha1.value,
            artifact_rate=t.artifacts.value,
            alerts=self.alerts,
            ceiling_bpm=self.settings.ceiling_bpm,
        )


def _order(phase: Phase) -> int:
    return list(Phase).index(phase)
