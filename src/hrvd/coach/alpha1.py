"""When DFA alpha1 counts as evidence of intensity on a recovery ride. Pure: time comes in.

alpha1 = 0.75 marks the first ventilatory threshold *during incremental exercise* (Rogers,
Giles, Draper, Hoos, Gronwald 2021, Front. Physiol. 11:596567; Rogers & Gronwald 2022,
Front. Physiol. doi:10.3389/fphys.2022.879071). At rest it means something else: a strong
respiratory sinus arrhythmia, a breath every 4-5 beats, lies inside alpha1's 4-16 beat
boxes and pulls short-term alpha1 down (Perakakis et al. 2009, Biol. Psychol. 82:82-88), so
a fit athlete sitting still can read 0.2-0.3. The rule therefore asks three things before
a low alpha1 says "too hard":

* the rider is exercising: heart rate at or above ``min_hr_bpm`` (90 bpm by default; the
  config raises it to HRrest + 20 bpm for a high resting heart rate) for a whole alpha1
  window (:data:`EXERCISE_S`), so that no resting beat is left in the window. 90 bpm is
  FatMaxxer's ``upperRestingHRthreshold``: below it the app takes the rider to be warming
  up or cooling down and reports RMSSD, not alpha1;
* the window is clean: at most ``max_artifact_rate`` (3 %) corrected beats, above which
  correction biases alpha1 (Rogers & Gronwald 2022);
* alpha1 stays below ``limit`` for :data:`ALPHA1_SUSTAIN_S`; it clears at ``limit`` +
  :data:`ALPHA1_CLEAR_MARGIN` held as long, or when the rider stops exercising.

The guard (the window is clean enough to judge) is published as a state. It changes only
once the new state has held for :data:`GUARD_HOLD_S`: one burst of artifacts keeps the
2-minute window above the limit for at most one window (plus one recompute), so only a
stand-down that outlasts it means the strap keeps failing, which is worth an event. While
a shorter stand-down lasts the rule neither raises nor clears.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALPHA1_LIMIT = 0.75
"""alpha1 near the first ventilatory threshold (Rogers et al. 2021)."""
ALPHA1_CLEAR_MARGIN = 0.05
"""The rule clears at limit + 0.05 (0.80): a hysteresis of this project's choice."""
ALPHA1_SUSTAIN_S = 60.0
"""alpha1 must hold this long, s: its window is 2 minutes, so shorter would judge mostly
the same beats twice."""
ALPHA1_MIN_HR_BPM = 90.0
"""Below this heart rate alpha1 is no evidence of intensity (FatMaxxer, github
IanPeake/FatMaxxer: ``upperRestingHRthreshold``, MainActivity.java ``audioUpdate``)."""
ALPHA1_MAX_ARTIFACT_RATE = 0.03
"""Above 3 % corrected beats alpha1 is biased (Rogers & Gronwald 2022)."""
ALPHA1_WINDOW_S = 120.0
"""The live alpha1 window, s: ``hrvd.hrv.stream.DFA_WINDOW_S`` (a test ties the two; not
imported, so that loading the config pulls in no numpy)."""
ALPHA1_EVERY_S = 5.0
"""How often the live alpha1 is recomputed, s (``hrvd.hrv.stream.DFA_EVERY_S``)."""
EXERCISE_S = ALPHA1_WINDOW_S
"""Heart rate above the floor this long starts exercise (a window of exercise beats only);
below it as long ends it."""
GUARD_HOLD_S = ALPHA1_WINDOW_S + ALPHA1_EVERY_S
"""A guard change is published once it has held this long, s (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class Alpha1Settings:
    """The alpha1 rule's numbers: ``[ride] alpha1_*`` in the config."""

    limit: float = ALPHA1_LIMIT
    min_hr_bpm: float = ALPHA1_MIN_HR_BPM
    max_artifact_rate: float = ALPHA1_MAX_ARTIFACT_RATE

    @property
    def clear(self) -> float:
        """alpha1 at or above this, held, clears the rule."""
        return self.limit + ALPHA1_CLEAR_MARGIN


@dataclass(frozen=True, slots=True)
class GuardEvent:
    """The alpha1 guard stood down (artifacts above the limit, lasting) or came back."""

    at_s: float
    active: bool
    artifact_rate: float | None


@dataclass
class Timer:
    """Since when a condition has held without a break (None: it does not hold)."""

    since: float | None = None

    def update(self, holds: bool, now: float) -> float:
        """How long the condition has held, s."""
        if not holds:
            self.since = None
            return 0.0
        if self.since is None:
            self.since = now
        return now - self.since


@dataclass
class Alpha1Rule:
    """The alpha1 half of the "too hard" alert: call :meth:`update` with each sample.

    Attributes:
        on: alpha1 says the ride is too hard.
        guard_active: the published guard state (False: a lasting artifact stand-down).
        exercising: heart rate has been above the floor long enough for alpha1 to count.
    """

    settings: Alpha1Settings = field(default_factory=Alpha1Settings)
    on: bool = False
    guard_active: bool = True
    exercising: bool = False
    _above: Timer = field(default_factory=Timer)
    _below: Timer = field(default_factory=Timer)
    _low: Timer = field(default_factory=Timer)
    _high: Timer = field(default_factory=Timer)
    _changing: Timer = field(default_factory=Timer)

    def update(
        self, now_s: float, hr_bpm: float, alpha1: float | None, artifact_rate: float | None
    ) -> list[GuardEvent]:
        """Take one sample (s, bpm, alpha1, artifact rate 0-1); return guard changes."""
        s = self.settings
        self._exercise(now_s, hr_bpm)
        events: list[GuardEvent] = []
        clean = artifact_rate is not None and artifact_rate <= s.max_artifact_rate
        # The artifact rate is known only with an alpha1; without one nothing changes.
        held = self._changing.update(alpha1 is not None and clean != self.guard_active, now_s)
        if held >= GUARD_HOLD_S:
            self.guard_active = clean
            self._changing = Timer()
            events.append(GuardEvent(now_s, clean, artifact_rate))
            if not clean:
                self.on = False  # a lasting stand-down: no evidence left to hold it by
        if not self.exercising:
            self.on = False
        if alpha1 is None or not clean or not self.exercising:
            # This sample is no evidence either way: the rule neither raises nor clears.
            self._low.update(holds=False, now=now_s)
            self._high.update(holds=False, now=now_s)
            return events
        low = self._low.update(alpha1 < s.limit, now_s)
        high = self._high.update(alpha1 >= s.clear, now_s)
        if not self.on and low >= ALPHA1_SUSTAIN_S:
            self.on = True
        elif self.on and high >= ALPHA1_SUSTAIN_S:
            self.on = False
        return events

    def _exercise(self, now_s: float, hr_bpm: float) -> None:
        above = self._above.update(hr_bpm >= self.settings.min_hr_bpm, now_s)
        below = self._below.update(hr_bpm < self.settings.min_hr_bpm, now_s)
        if not self.exercising and above >= EXERCISE_S:
            self.exercising = True
        elif self.exercising and below >= EXERCISE_S:
            self.exercising = False
