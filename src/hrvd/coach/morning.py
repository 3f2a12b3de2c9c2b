"""The guided morning measurement: a state machine fed with beats and the time. Pure.

The athlete lies (or sits, or stands) still with the strap on. The first
:data:`~hrvd.coach.morning_values.STABILISE_S` are discarded while the heart settles; the
next :data:`~hrvd.coach.morning_values.MEASURE_S` are measured (Bourdillon et al. 2017:
1 min of stabilisation and 2 min of recording give an RMSSD as good as a longer one).
States::

    stabilising ──▶ measuring ──▶ done
          │             │
          └─────────────┴──────▶ invalid   (a gap, movement, or stopped)

and at the end of the window the **quality gate** (issue 7,
:mod:`hrvd.coach.morning_quality`) decides between ``done`` and ``invalid``: after
artifact correction (:func:`~hrvd.hrv.artifacts.correct_batch`) at most 5 % of the beats
may be artifacts, and the received beats must cover at least 90 % of the measurement
time. A short break (under 10 s, a reconnect) is tolerated: no successive difference is
taken across it and its time is not covered; a longer one ends the measurement at once,
as does a heart rate above HRrest + 25 bpm (movement).

Times are seconds on one clock of the caller's choosing (the receive clock of
:class:`~hrvd.ble.timeline.TimedBeat`); the day of a result is the local date at the start,
which the caller passes in (:func:`~hrvd.coach.morning_day.local_day`). Nothing here reads
a clock. The numbers, settings and result are in :mod:`hrvd.coach.morning_values`, the
rules of the day (auto start, which measurement counts) in :mod:`hrvd.coach.morning_day`.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from typing import TYPE_CHECKING

from hrvd.coach.analysis import IN_PROCESS
from hrvd.coach.morning_quality import (
    Metrics,
    Window,
    gap_detail,
    movement_detail,
    verdict,
)
from hrvd.coach.morning_values import (
    InvalidReason,
    MorningProgress,
    MorningResult,
    MorningSettings,
    MorningState,
    RawBeat,
)
from hrvd.hrv.metrics import MS_PER_MINUTE

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import date

    from hrvd.coach.analysis import Analyst
    from hrvd.coach.baseline import Posture
    from hrvd.coach.morning_values import TimedRr

MOVEMENT_WINDOW_BEATS = 10
"""Movement is judged on the median RR of the last 10 beats: one misdetected short beat
moves a median not at all, while standing up raises every beat. This project's choice."""
MOVEMENT_MIN_BEATS = 5
"""Beats the movement check needs before it judges. This project's choice."""


class MorningMeasurement:
    """One measurement in progress. Feed it with :meth:`add` and :meth:`tick`.

    Args:
        started_at_s: when it started, s, on the beats' clock.
        day: the local date at the start (the caller's clock and time zone).
        posture: how the athlete lies, sits or stands.
        settings: the protocol's numbers.
        repeat: it was started as a repeat, so it may replace the day's valid result.
        analyst: who analyses the beats at the end (default: this process).
    """

    def __init__(  # noqa: PLR0913 - the measurement's identity, its numbers, its analyst
        self,
        *,
        started_at_s: float,
        day: date,
        posture: Posture,
        settings: MorningSettings | None = None,
        repeat: bool = False,
        analyst: Analyst | None = None,
    ) -> None:
        self.analyst = analyst or IN_PROCESS
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
                detail = gap_detail(silent_s, self.settings.max_gap_s)
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
            self._end(InvalidReason.GAP, gap_detail(gap_s, self.settings.max_gap_s))
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
        margin_bpm = self.settings.movement_margin_bpm
        self._end(InvalidReason.MOVEMENT, movement_detail(hr_bpm, self._reference_bpm, margin_bpm))
        return True

    def _window(self, end_s: float) -> Window:
        """Every beat so far, those inside the window up to ``end_s``, and their coverage."""
        start_s = self._window_start_s
        n = len(self._raw)
        inside = [False] * n
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
        return Window(
            rr_ms=tuple(b.rr_ms for b in self._raw),
            gap_before=tuple(b.gap_before for b in self._raw),
            inside=tuple(inside),
            coverage=covered_s / self.settings.measure_s,
            longest_gap_s=longest_gap_s,
        )

    def _finish(self) -> None:
        window = self._window(self._window_end_s)
        metrics = self.analyst.morning(window)
        reason, detail = verdict(window, metrics, self._reference_bpm, self.settings)
        self._store(window, metrics, reason, detail)

    def _end(self, reason: InvalidReason, detail: str) -> None:
        """End early, invalid; the numbers are those of the beats so far."""
        window = self._window(max(self._covered_until_s, self._window_start_s))
        self._store(window, self.analyst.morning(window), reason, detail)

    def _store(
        self,
        window: Window,
        metrics: Metrics,
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
