"""Alert latency in this process: StrapPipeline + MqttPublisher + SQLite outbox + mosquitto.

Through the daemon, an alert needs a ride's 3-minute start phase and then its sustain time
of heart rate above (or below) the ceiling, in real time: a few alerts a minute. Here the
same pipeline, publisher, sink and outbox as the daemon's are fed notifications of a
1-second cadence whose times (beat time) run about 100 times faster than the wall clock,
so hundreds of alerts take a minute or two. What is timed is the same as through the
daemon minus the BLE and D-Bus hop: from the call that hands the pipeline the
notification completing the sustain time, to the alert message at a subscriber in
another process (the outbox write and the broker's round trip included).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import structlog

from daemon_rig import SubscriberProcess
from daemon_stats import Latency, square_heart
from hrvd.ble.events import LinkChange, LinkState
from hrvd.cli.replay import notifications, wall_clock
from hrvd.coach.recovery import RideSettings
from hrvd.coach.rides import RideManager
from hrvd.config import MqttConfig
from hrvd.daemon.pipeline import StrapPipeline
from hrvd.hrv.zones import ZoneModel, zones_for
from hrvd.publish.mqtt import MqttPublisher
from hrvd.publish.outbox import Outbox
from hrvd.publish.sink import MqttSink, TeeSink

if TYPE_CHECKING:
    from pathlib import Path

    from daemon_rig import Fixtures
    from hrvd.publish.messages import Payload

STRAP = "Bench"
PERIOD_S = 24.0
"""Beat time of one high-low cycle of the heart: two alerts (on, off)."""
START_PHASE_S = 180.0
SETTINGS = RideSettings(
    ceiling_bpm=130.0, sustain_s=5.0, hysteresis_bpm=3.0, warmup_min=5.0, target_min=30.0
)
"""Heart rate alternates between 100 and 140 bpm around this ceiling (120 in the warm-up)."""
CONNECT_TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 20.0


@dataclass(slots=True)
class InProcessAlerts:
    """Alert latency through the in-process pipeline."""

    alerts_sent: int
    alert: Latency
    unmatched: int
    notifications: int
    pace_s: float
    wall_s: float
    reasons: dict[str, int] = field(default_factory=dict)


class _AlertClock:
    """A sink that notes, for each alert id, when its notification was handed over."""

    def __init__(self) -> None:
        self.handed_at = 0.0
        self.sent: dict[str, float] = {}
        self.reasons: dict[str, int] = {}

    def state(self, topic: str, payload: Payload) -> None:
        """Live values are not timed here."""

    def retained(self, topic: str, payload: str) -> None:
        """Nor retained values."""

    def durable(self, topic: str, payload: Payload) -> None:
        """An alert: note its notification's hand-over time."""
        if topic.endswith("/alert"):
            self.sent[str(payload["id"])] = self.handed_at
            reason = str(payload["reason"])
            self.reasons[reason] = self.reasons.get(reason, 0) + 1


def _heart_rr(alerts: int) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    """RR (ms) for the start phase and enough high-low cycles for ``alerts`` alerts."""
    beat_time_s = START_PHASE_S + (alerts / 2 + 3) * PERIOD_S
    heart = square_heart(
        600.0, 430.0, period_s=PERIOD_S, step_ms=20.0, rsa_ms=10.0, noise_ms=4.0, seed=3
    )
    rr: list[float] = []
    total_ms = 0.0
    while total_ms < beat_time_s * 1000.0:
        rr.append(heart())
        total_ms += rr[-1]
    return np.asarray(rr, dtype=np.float64)


async def run_inprocess_alerts(
    fx: Fixtures, alerts: int, pace_s: float, workdir: Path
) -> InProcessAlerts:
    """Feed the pipeline until ``alerts`` alerts went out; match them at the subscriber."""
    workdir.mkdir(parents=True)  # noqa: ASYNC240 - set-up, before anything runs on the loop
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    broker = fx.new_broker(workdir / "mosquitto")
    broker.start()
    clock = _AlertClock()
    fed = 0
    try:
        sub = SubscriberProcess(broker.port, workdir / "alerts.jsonl", ["hrvd/+/alert"])
        outbox = Outbox(workdir / "outbox.sqlite3")
        try:
            async with sub, MqttPublisher(MqttConfig("127.0.0.1", broker.port), outbox) as pub:
                await asyncio.wait_for(pub.connected.wait(), CONNECT_TIMEOUT_S)
                async with MqttSink(pub) as mqtt:
                    pipeline = StrapPipeline(
                        strap_name=STRAP,
                        base_topic="hrvd",
                        zones=zones_for(ZoneModel.HRMAX, hr_max=190),
                        rides=RideManager(SETTINGS, None, auto_start=False),
                        sink=TeeSink(mqtt, clock),
                        to_wall=wall_clock(datetime.now(UTC)),
                    )
                    pipeline.on_event(LinkChange(STRAP, LinkState.STREAMING, 0.0))
                    pipeline.command("start", 0.0)
                    started = time.monotonic()
                    for n in notifications(STRAP, _heart_rr(alerts)):
                        clock.handed_at = time.monotonic()
                        pipeline.on_event(n)
                        fed += 1
                        if len(clock.sent) >= alerts:
                            break
                        await asyncio.sleep(pace_s)
                    wall_s = time.monotonic() - started
                    async with asyncio.timeout(DRAIN_TIMEOUT_S):
                        while await outbox.count():  # noqa: ASYNC110 - as sink.py: no "emptied" event
                            await asyncio.sleep(0.05)
                    await asyncio.sleep(0.5)
        finally:
            outbox.close()
    finally:
        broker.stop()
    latencies: list[float] = []
    for message in sub.messages():
        handed = clock.sent.get(str(message.json().get("id")))
        if handed is not None:
            latencies.append(message.t_s - handed)
    return InProcessAlerts(
        alerts_sent=len(clock.sent),
        alert=Latency.of(latencies),
        unmatched=len(clock.sent) - len(latencies),
        notifications=fed,
        pace_s=pace_s,
        wall_s=wall_s,
        reasons=clock.reasons,
    )
