"""A ride's trace: what the live pipeline shows, second by second, kept for a plot.

The RR series goes through the same :class:`~hrvd.daemon.pipeline.StrapPipeline` as a replay (the
same notifications, the same coach), into a sink that keeps the values instead of
publishing them, so a plot shows exactly the alerts, phases and alpha1 guard the daemon
showed. No matplotlib here: the trace is data, tested without drawing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from hrvd.ble.events import LinkChange, LinkState
from hrvd.cli.replay import notifications, wall_clock
from hrvd.coach.recovery import WARMUP_CEILING_DROP_BPM
from hrvd.coach.rides import RideManager
from hrvd.daemon.pipeline import StrapPipeline

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from hrvd.coach.recovery import RideSettings
    from hrvd.hrv.zones import Zones
    from hrvd.publish.messages import Payload

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class RideTrace:
    """A ride, s from its first beat.

    Attributes:
        t_s, hr_bpm, alpha1: the live values, one a notification (alpha1 None while unknown).
        too_hard: (from, to) spans of the "too hard for recovery" alert.
        guard_off: (from, to) spans while the alpha1 guard stood down (artifacts).
        phases: (at, phase) where each phase began.
        ceiling_bpm, warmup_ceiling_bpm: the recovery ceiling and the warm-up's.
        warmup_end_s: when the warm-up's lower ceiling ends.
    """

    ceiling_bpm: float
    warmup_ceiling_bpm: float
    warmup_end_s: float
    t_s: list[float] = field(default_factory=list)
    hr_bpm: list[float | None] = field(default_factory=list)
    alpha1: list[float | None] = field(default_factory=list)
    too_hard: list[tuple[float, float]] = field(default_factory=list)
    guard_off: list[tuple[float, float]] = field(default_factory=list)
    phases: list[tuple[float, str]] = field(default_factory=list)


class _Keeper:
    """A sink that keeps the trace."""

    def __init__(self, trace: RideTrace) -> None:
        self.trace = trace
        self._alert_on: float | None = None
        self._guard_off: float | None = None
        self._last_s = 0.0

    def _s(self, payload: Payload) -> float:
        ts = payload.get("ts")
        if isinstance(ts, str):
            self._last_s = (datetime.fromisoformat(ts) - _EPOCH).total_seconds()
        return self._last_s

    def state(self, topic: str, payload: Payload) -> None:
        """A live value."""
        del topic
        hr, a1 = payload.get("hr_bpm"), payload.get("dfa_alpha1")
        self.trace.t_s.append(self._s(payload))
        self.trace.hr_bpm.append(float(hr) if isinstance(hr, int | float) else None)
        self.trace.alpha1.append(float(a1) if isinstance(a1, int | float) else None)

    def retained(self, topic: str, payload: str) -> None:
        """Link and availability: not plotted."""

    def durable(self, topic: str, payload: Payload) -> None:
        """Alerts, phases and the guard."""
        kind = topic.rsplit("/", 1)[-1]
        now = self._last_s
        if kind == "alert":
            now = self._s(payload)
            if payload.get("too_hard") and self._alert_on is None:
                self._alert_on = now
            elif not payload.get("too_hard") and self._alert_on is not None:
                self.trace.too_hard.append((self._alert_on, now))
                self._alert_on = None
        elif kind == "ride":
            phase = payload.get("phase")
            if isinstance(phase, str) and (
                not self.trace.phases or self.trace.phases[-1][1] != phase
            ):
                self.trace.phases.append((now, phase))
            guard = payload.get("alpha1_guard")
            if guard == "off" and self._guard_off is None:
                self._guard_off = now
            elif guard != "off" and self._guard_off is not None:
                self.trace.guard_off.append((self._guard_off, now))
                self._guard_off = None

    def close(self, end_s: float) -> None:
        if self._alert_on is not None:
            self.trace.too_hard.append((self._alert_on, end_s))
        if self._guard_off is not None:
            self.trace.guard_off.append((self._guard_off, end_s))


def ride_trace(
    rr_ms: NDArray[np.float64],
    settings: RideSettings,
    zones: Zones,
    gaps: NDArray[np.bool_] | None = None,
) -> RideTrace:
    """Play ``rr_ms`` (ms) through the live pipeline as one ride and keep what it showed."""
    trace = RideTrace(
        settings.ceiling_bpm,
        settings.ceiling_bpm - WARMUP_CEILING_DROP_BPM,
        settings.warmup_min * 60,
    )
    keeper = _Keeper(trace)
    rides = RideManager(settings, hr_rest=None, auto_start=False)
    pipeline = StrapPipeline(
        strap_name="plot",
        base_topic="hrvd",
        zones=zones,
        rides=rides,
        sink=keeper,
        to_wall=wall_clock(_EPOCH),
    )
    pipeline.on_event(LinkChange("plot", LinkState.STREAMING, 0.0))
    pipeline.command("start", 0.0)
    last = 0.0
    for n in notifications("plot", rr_ms, gaps):
        last = n.at_s
        pipeline.on_event(n)
    pipeline.command("stop", last)
    keeper.close(last)
    return trace
