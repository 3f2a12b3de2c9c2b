"""What the daemon reads of a strap's pipeline: a status value and a beat subscription."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from hrvd.ble.events import BatteryLevel, LinkChange, LinkState, Notification
from hrvd.ble.timeline import TimedBeat
from hrvd.cli.replay import notifications, wall_clock
from hrvd.coach.recovery import RideSettings
from hrvd.coach.rides import RideManager
from hrvd.daemon.pipeline import PipelineStatus, StrapPipeline
from hrvd.hrv.zones import ZoneModel, zones_for

START = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


class _Quiet:
    """A sink that takes every message and keeps none."""

    def state(self, *_args: object) -> None:
        """Dropped."""

    def retained(self, *_args: object) -> None:
        """Dropped."""

    def durable(self, *_args: object) -> None:
        """Dropped."""


def _pipeline() -> StrapPipeline:
    rides = RideManager(RideSettings(120.0), 50, auto_start=False)
    return StrapPipeline(
        strap_name="H10",
        base_topic="hrvd",
        zones=zones_for(ZoneModel.HRMAX, hr_max=190),
        rides=rides,
        sink=_Quiet(),
        to_wall=wall_clock(START),
    )


def test_the_status_says_link_heart_rate_battery_and_ride() -> None:
    pipeline = _pipeline()
    assert pipeline.status() == PipelineStatus("H10", None, None, None, riding=False)
    pipeline.on_event(LinkChange("H10", LinkState.STREAMING, 0.0))
    pipeline.on_event(BatteryLevel("H10", 0.0, 80))
    sent = list(notifications("H10", np.full(60, 800.0)))
    for n in sent:
        pipeline.on_event(n)
    pipeline.command("start", sent[-1].at_s)
    assert pipeline.status() == PipelineStatus("H10", LinkState.STREAMING, 75.0, 80, riding=True)
    pipeline.on_event(Notification("H10", sent[-1].at_s + 1, 0, contact=False, beats=()))
    assert pipeline.status().hr_bpm is None  # no skin contact: no heart rate


def test_a_beat_subscriber_hears_beats_until_it_unsubscribes() -> None:
    pipeline = _pipeline()
    heard: list[tuple[int, float]] = []
    unsubscribe = pipeline.subscribe_beats(lambda beats, at_s: heard.append((len(beats), at_s)))
    beat = TimedBeat(819, 800.0, 0.8, 1.0, gap_before=True)
    pipeline.on_event(Notification("H10", 1.0, 75, contact=True, beats=(beat,)))
    unsubscribe()
    unsubscribe()  # a second call does nothing
    pipeline.on_event(Notification("H10", 2.0, 75, contact=True, beats=(beat,)))
    assert heard == [(1, 1.0)]
