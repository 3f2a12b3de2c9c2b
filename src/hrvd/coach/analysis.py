"""Who analyses a measurement's beats at its end: this process, or a worker. Pure.

The morning measurement and the orthostatic test decide their states themselves; at the
end they hand the recorded beats to an :class:`Analyst` for the numbers (artifact
correction and the time-domain metrics, which need numpy). :data:`IN_PROCESS` analyses in
the calling process, as a command that ends soon after may. The daemon hands them a
:class:`~hrvd.daemon.analysis_worker.WorkerAnalyst` instead, which runs the same functions
in a child process started with the measurement: the long-running daemon never loads numpy
(12.7 MB of its RSS; issue 15, BENCHMARKS.md "Footprint on the Pi").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hrvd.coach.morning_quality import Metrics, Window, analyse
from hrvd.coach.orthostatic import Standing, analyse_standing


@dataclass(frozen=True, slots=True)
class StandingBeats:
    """The arguments of :func:`~hrvd.coach.orthostatic.analyse_standing`, as one value."""

    t_s: tuple[float, ...]
    rr_ms: tuple[float, ...]
    gap_before: tuple[bool, ...]
    stand_s: float
    supine_hr_bpm: float
    standing_s: float
    settle_s: float


class Analyst(Protocol):
    """Analyses the beats of a measurement that has ended."""

    def morning(self, window: Window) -> Metrics:
        """:func:`~hrvd.coach.morning_quality.analyse` of the window."""
        ...

    def standing(self, beats: StandingBeats) -> Standing:
        """:func:`~hrvd.coach.orthostatic.analyse_standing` of the standing beats."""
        ...


class InProcess:
    """Analyses in the calling process."""

    def morning(self, window: Window) -> Metrics:
        """See :class:`Analyst`."""
        return analyse(window)

    def standing(self, beats: StandingBeats) -> Standing:
        """See :class:`Analyst`."""
        return analyse_standing(
            beats.t_s,
            beats.rr_ms,
            beats.gap_before,
            beats.stand_s,
            supine_hr_bpm=beats.supine_hr_bpm,
            standing_s=beats.standing_s,
            settle_s=beats.settle_s,
        )


IN_PROCESS = InProcess()
"""The analyst of whatever is not told otherwise."""
