"""When a recovery ride starts and ends. Pure: time and heart rate come in as arguments.

A ride starts on a command (``hrvd ride start``, MQTT) or, with ``auto_start``, when a ride
strap streams a heart rate of at least HRrest + 20 bpm for 2 minutes. It ends on a
command, when the strap has been gone 5 minutes, when heart rate has stayed below
HRrest + 10 bpm for 10 minutes (the rider got off), or after 3 hours. These numbers are
the issue's; they are this project's choice, set well apart so that a stop at a red
light or a strap that reconnects never ends a ride.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hrvd.coach.alpha1 import Timer
from hrvd.coach.recovery import CoachEvent, RecoveryRide, RideSettings, RideSummary

if TYPE_CHECKING:
    from collections.abc import Callable

AUTO_START_ABOVE_REST_BPM = 20.0
AUTO_START_S = 120.0
OFF_BIKE_ABOVE_REST_BPM = 10.0
OFF_BIKE_S = 600.0
GONE_END_S = 300.0
MAX_RIDE_S = 3 * 3600.0


@dataclass(frozen=True, slots=True)
class RideStarted:
    """A ride began at ``at_s`` (``how``: "command" or "auto")."""

    at_s: float
    how: str


@dataclass(frozen=True, slots=True)
class RideEnded:
    """A ride ended at ``at_s``; ``summary.end_reason`` says why."""

    at_s: float
    summary: RideSummary


RideEvent = RideStarted | RideEnded | CoachEvent


class RideManager:
    """Starts and ends rides of one strap and feeds the current one.

    Args:
        settings: ceiling and timing of a ride.
        hr_rest: the athlete's resting heart rate, bpm (None: no auto start or off-bike end).
        auto_start: start a ride by itself when the rider is clearly pedalling.
    """

    def __init__(self, settings: RideSettings, hr_rest: float | None, *, auto_start: bool) -> None:
        self.settings = settings
        self.hr_rest = hr_rest
        self.auto_start = auto_start
        self.ride: RecoveryRide | None = None
        self._pedalling = Timer()
        self._off_bike = Timer()
        self._gone_since: float | None = None
        self.settings_for: Callable[[float], RideSettings] | None = None
        """Gives a ride's settings at its start (a ceiling that follows the athlete)."""

    def start(self, now_s: float, how: str = "command") -> list[RideEvent]:
        """Start a ride now (a no-op while one runs)."""
        if self.ride is not None:
            return []
        if self.settings_for is not None:
            self.settings = self.settings_for(now_s)
        self.ride = RecoveryRide(self.settings, now_s)
        self._off_bike = Timer()
        self._gone_since = None
        return [RideStarted(now_s, how)]

    def stop(self, now_s: float, reason: str = "command") -> list[RideEvent]:
        """End the current ride (a no-op when none runs)."""
        if self.ride is None:
            return []
        events, summary = self.ride.end(now_s, reason)
        self.ride = None
        self._pedalling = Timer()
        return [*events, RideEnded(now_s, summary)]

    def gone(self, now_s: float) -> None:
        """The strap stopped streaming (disconnect, stall, no contact)."""
        if self._gone_since is None:
            self._gone_since = now_s

    def tick(self, now_s: float) -> list[RideEvent]:
        """Check the time-based ends while no heart rate arrives."""
        if self.ride is None:
            return []
        if self._gone_since is not None and now_s - self._gone_since >= GONE_END_S:
            return self.stop(now_s, "strap_gone")
        if now_s - self.ride.started_s >= MAX_RIDE_S:
            return self.stop(now_s, "max_duration")
        return []

    def update(
        self,
        now_s: float,
        hr_bpm: float | None,
        *,
        rmssd_ms: float | None = None,
        dfa_alpha1: float | None = None,
        dfa_artifact_rate: float | None = None,
    ) -> list[RideEvent]:
        """Take the live values of ``now_s``; return the ride's events."""
        if hr_bpm is not None:
            self._gone_since = None
        events: list[RideEvent] = []
        if self.ride is None:
            if self._should_auto_start(now_s, hr_bpm):
                events += self.start(now_s, "auto")
            else:
                return events
        assert self.ride is not None  # noqa: S101 - started just above
        events += self.ride.update(
            now_s,
            hr_bpm,
            rmssd_ms=rmssd_ms,
            dfa_alpha1=dfa_alpha1,
            dfa_artifact_rate=dfa_artifact_rate,
        )
        if self.hr_rest is not None and hr_bpm is not None:
            off = self._off_bike.update(hr_bpm < self.hr_rest + OFF_BIKE_ABOVE_REST_BPM, now_s)
            if off >= OFF_BIKE_S:
                return [*events, *self.stop(now_s, "off_bike")]
        return [*events, *self.tick(now_s)]

    def _should_auto_start(self, now_s: float, hr_bpm: float | None) -> bool:
        if not self.auto_start or self.hr_rest is None or hr_bpm is None:
            self._pedalling.update(holds=False, now=now_s)
            return False
        held = self._pedalling.update(hr_bpm >= self.hr_rest + AUTO_START_ABOVE_REST_BPM, now_s)
        return held >= AUTO_START_S
