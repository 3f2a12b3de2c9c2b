"""Beat times from RR intervals, anchored loosely to the receive clock. Pure.

A notification carries the RR intervals that ended since the previous one, but no
timestamps, and may arrive a few seconds late (polar-ble-sdk #227). Beat times are
therefore the running sum of RR, anchored to the receive time when the series starts
and re-anchored when the sum drifts too far from it; a re-anchor is a gap, and so is a
reconnect, so that no HRV window bridges beats that were never seen.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_DRIFT_S = 3.0
"""Re-anchor, and mark a gap, when the RR sum and the receive clock part by more than
this, s. The sum lags the clock when beats were lost, and runs ahead of it when a strap
sends more RR than time passed. 3 s is more than the usual jitter of notification
delivery and less than what would distort a 60 s window. This project's choice."""


@dataclass(frozen=True, slots=True)
class TimedBeat:
    """One RR interval with when it ended.

    Attributes:
        rr_raw: the interval in 1/1024 s, as received.
        rr_ms: the interval, ms.
        t_s: reconstructed end of the interval, s, on the receive clock.
        received_s: when the notification carrying it arrived, s.
        gap_before: beats before this one are missing (start, reconnect, lost beats).
    """

    rr_raw: int
    rr_ms: float
    t_s: float
    received_s: float
    gap_before: bool


class BeatTimeline:
    """Turns (receive time, RR values) into timed beats; call :meth:`gap` on a reconnect."""

    def __init__(self, max_drift_s: float = MAX_DRIFT_S) -> None:
        self._max_drift_s = max_drift_s
        self._t_s: float | None = None
        self._gap = True

    def gap(self) -> None:
        """The series broke: the next beat starts a new segment."""
        self._t_s = None
        self._gap = True

    def add(self, received_s: float, rr_raw: tuple[int, ...]) -> list[TimedBeat]:
        """Time the RR intervals of one notification received at ``received_s``."""
        if not rr_raw:
            return []
        rr_ms = [r * 1000.0 / 1024.0 for r in rr_raw]
        total_s = sum(rr_ms) / 1000.0
        if self._t_s is not None and abs(self._t_s + total_s - received_s) > self._max_drift_s:
            self.gap()
        if self._t_s is None:
            # The last interval of the notification ended about when it arrived.
            self._t_s = received_s - total_s
        beats = []
        for raw, ms in zip(rr_raw, rr_ms, strict=True):
            self._t_s += ms / 1000.0
            beats.append(TimedBeat(raw, ms, self._t_s, received_s, gap_before=self._gap))
            self._gap = False
        return beats
