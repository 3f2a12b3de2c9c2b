"""The soak's run: carry out a plan against ``hrvd run`` and record what happened.

The fake BlueZ, the broker, the daemon process and the subscriber are the test harness's
(``tests/harness``); :class:`Soak` drives them by the plan's clock and returns a
:class:`Raw` record for ``soak_analysis.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiomqtt

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from daemon_rig import cpu_seconds, memory_kb
from harness.daemon import DaemonProcess
from harness.fake_bluez import FakeStrap
from harness.subscriber import Delivery, Subscriber
from soak_plan import (
    BASE,
    MEASURE_S,
    NOTIFY_S,
    RIDE_TOPICS,
    Fault,
    Heart,
    Plan,
    RideSlot,
    SentLog,
    strap_address,
    strap_name,
    strap_slug,
    write_soak_config,
)

if TYPE_CHECKING:
    from pathlib import Path

    from harness.fake_bluez import FakeBluez
    from harness.mosquitto import Broker

SUBSCRIBER_ID = "hrvd-soak-subscriber"
KILL_RESTART_S = 1.0
"""From ``kill -9`` to the new daemon's start, s."""
RIDE_MESSAGE_SUFFIX = re.compile(r":(\d+|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d)$")
"""What follows the ride id in a ride message's id: a sequence number, or (before) a time."""
SUBSCRIBED_TOPICS = (
    *(f"{BASE}/+/{kind}" for kind in RIDE_TOPICS),
    f"{BASE}/readiness",
    f"{BASE}/thresholds",
    f"{BASE}/morning",
    f"{BASE}/status",
)


async def publish(port: int, topic: str, payload: str) -> bool:
    """Publish one command (QoS 1); False when the broker is away."""
    try:
        async with aiomqtt.Client("127.0.0.1", port, timeout=3.0) as client:
            await client.publish(topic, payload.encode(), qos=1, timeout=3.0)
    except (aiomqtt.MqttError, TimeoutError):
        return False
    return True


INTERRUPTED = "ended (interrupted)"
"""The event of a ride message that ends, at start, a ride a kill -9 cut short."""


def ride_id_of(message_id: str, event: str) -> str:
    """The ride id in a ride message's id ``{ride_id}:{n}:{event}`` (or ``:{ts}:``)."""
    return RIDE_MESSAGE_SUFFIX.sub("", message_id.removesuffix(f":{event}"))


# --- the run ------------------------------------------------------------------------------


@dataclass
class Sample:
    """The daemon's memory and CPU time at ``t_s`` (s after start), generation ``gen``."""

    t_s: float
    gen: int
    rss_kb: int
    cpu_s: float


@dataclass
class Raw:
    """What a run recorded, before analysis."""

    plan: Plan
    workdir: Path
    t0_mono: float
    wall_offset_s: float
    end_s: float = 0.0
    logs: list[Path] = field(default_factory=list)
    gen_ends: list[tuple[float, str]] = field(default_factory=list)
    """How each daemon ended: (s after start, "kill" or "sigterm:<code>")."""
    faults_done: list[tuple[float, str, int | None]] = field(default_factory=list)
    broker_starts: list[float] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    hearts: list[Heart] = field(default_factory=list)
    sent_logs: list[SentLog] = field(default_factory=list)
    heart_t0: list[float] = field(default_factory=list)
    connects: list[int] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    subscriber_connects: list[float] = field(default_factory=list)
    commands: Counter[str] = field(default_factory=Counter)
    control: list[str] = field(default_factory=list)
    """Control hiccups: commands that never took effect, and why."""
    load_avg: list[tuple[float, float, float]] = field(default_factory=list)


class Soak:
    """Runs one plan against the daemon (see the module docstring)."""

    def __init__(self, plan: Plan, bus_address: str, broker: Broker, workdir: Path) -> None:
        self.plan = plan
        self.bus_address = bus_address
        self.broker = broker
        self.workdir = workdir
        self.sub = Subscriber(
            broker.port, SUBSCRIBED_TOPICS, client_id=SUBSCRIBER_ID, reconnect=True, keepalive=10
        )
        self.daemon: DaemonProcess | None = None
        self.gen = -1
        self.config = workdir / "hrvd.toml"
        self.store = workdir / "store.sqlite3"
        now = time.monotonic()
        self.raw = Raw(plan, workdir, now, time.time() - now)
        self.straps: list[FakeStrap] = []

    def now(self) -> float:
        """Seconds since the daemon first came online (the plan's clock)."""
        return time.monotonic() - self.raw.t0_mono

    async def until(self, at_s: float) -> None:
        """Sleep until ``at_s`` on the plan's clock."""
        await asyncio.sleep(max(0.0, at_s - self.now()))

    async def _start_daemon(self) -> None:
        self.gen += 1
        log = self.workdir / f"daemon-{self.gen}.log"
        self.raw.logs.append(log)
        self.daemon = DaemonProcess(self.config, self.bus_address, log, log_level="debug")
        await self.daemon.start()

    async def run(self, bluez: FakeBluez) -> Raw:
        """Run the plan; return what was recorded."""
        raw, plan = self.raw, self.plan
        raw.load_avg.append(os.getloadavg())
        for i in range(plan.straps):
            morning = i == plan.straps - 1
            heart = Heart(
                plan.seed * 1000 + i,
                block_s=None if morning else plan.block_s,
                first_block_s=plan.first_block_s,
            )
            strap = FakeStrap(address=strap_address(i), notify_interval_s=NOTIFY_S, rr_ms=heart)
            sent = SentLog(heart)
            strap.sent_rr_raw = sent
            raw.heart_t0.append(time.monotonic())
            await bluez.add_strap(strap)
            self.straps.append(strap)
            raw.hearts.append(heart)
            raw.sent_logs.append(sent)
        write_soak_config(self.config, plan, self.broker.port, self.store)
        sub_task = asyncio.create_task(self.sub.run(), name="subscriber")
        try:
            await self._start_daemon()
            await self._online(60.0)
            raw.t0_mono = time.monotonic()
            raw.broker_starts.append(0.0)
            sampler = asyncio.create_task(self._sample(), name="sampler")
            tasks = [asyncio.create_task(self._ride(slot)) for slot in plan.rides]
            tasks += [asyncio.create_task(self._morning(at)) for at in plan.mornings]
            tasks.append(asyncio.create_task(self._faults(), name="faults"))
            await self.until(plan.duration_s)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._stop_daemon()
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
            # What the daemon flushed at SIGTERM reaches the subscriber within moments.
            quiet = len(self.sub.deliveries)
            for _ in range(20):
                await asyncio.sleep(0.5)
                if len(self.sub.deliveries) == quiet:
                    break
                quiet = len(self.sub.deliveries)
        finally:
            sub_task.cancel()
            await asyncio.gather(sub_task, return_exceptions=True)
            if self.daemon is not None:
                await self.daemon.kill()
        raw.end_s = self.now()
        raw.deliveries = self.sub.deliveries
        raw.subscriber_connects = [t - raw.t0_mono for t in self.sub.connects]
        raw.connects = [s.connects for s in self.straps]
        raw.load_avg.append(os.getloadavg())
        return raw

    async def _online(self, within_s: float) -> None:
        """Wait for the daemon's ``online``; raise with its log if it died or never said it."""
        deadline = time.monotonic() + within_s
        while not self.online():
            if self.daemon is None or not self.daemon.running or time.monotonic() > deadline:
                tail = self.raw.logs[-1].read_text(encoding="utf-8", errors="replace")[-2000:]
                raise RuntimeError(f"the daemon did not come online:\n{tail}")
            await self.sub.wait_for(self.online, 0.5)

    def online(self) -> bool:
        """Whether the daemon's last word on its status topic was ``online``."""
        return self.sub.last(f"{BASE}/status") == b"online"

    async def _stop_daemon(self) -> None:
        code = await self.daemon.stop() if self.daemon is not None else None
        self.raw.gen_ends.append((self.now(), f"sigterm:{code}"))

    async def _sample(self) -> None:
        while True:
            daemon = self.daemon
            if daemon is not None and daemon.running:
                with contextlib.suppress(OSError, KeyError, ValueError, IndexError):
                    rss = memory_kb(daemon.pid)["VmRSS"]
                    self.raw.samples.append(
                        Sample(self.now(), self.gen, rss, cpu_seconds(daemon.pid))
                    )
            await asyncio.sleep(self.plan.sample_s)

    # -- faults --

    async def _faults(self) -> None:
        for fault in self.plan.faults:
            await self.until(fault.at_s)
            await self._inject(fault)
            self.raw.faults_done.append((self.now(), fault.kind, fault.strap))

    async def _inject(self, fault: Fault) -> None:
        strap = self.straps[fault.strap] if fault.strap is not None else None
        if fault.kind == "drop" and strap is not None:
            await strap.drop()
        elif fault.kind == "stall" and strap is not None:
            strap.stall(fault.seconds)
        elif fault.kind == "malformed" and strap is not None:
            strap.send_raw(fault.payload)
        elif fault.kind == "gone" and strap is not None:
            strap.vanish()
        elif fault.kind == "appear" and strap is not None:
            strap.appear()
        elif fault.kind == "broker":
            await asyncio.to_thread(self.broker.stop)
            await asyncio.sleep(fault.seconds)
            await asyncio.to_thread(self.broker.start)
            self.raw.broker_starts.append(self.now())
        elif fault.kind == "kill" and self.daemon is not None:
            await self.daemon.kill()
            self.raw.gen_ends.append((self.now(), "kill"))
            await asyncio.sleep(KILL_RESTART_S)
            await self._start_daemon()
            self.raw.broker_starts.append(self.now())  # the new daemon connects anew

    # -- rides and mornings, by command --

    async def _command(self, topic: str, payload: str) -> float:
        """Publish a command until the broker takes it; the time it was taken."""
        while not await publish(self.broker.port, topic, payload):  # noqa: ASYNC110 - a retry
            await asyncio.sleep(1.0)
        self.raw.commands[topic.rsplit("/", 1)[-1]] += 1
        return time.monotonic()

    async def _ride(self, slot: RideSlot) -> None:
        await self.until(slot.start_s)
        slug, topic = strap_slug(slot.strap), f"{BASE}/{strap_slug(slot.strap)}/ride"
        ride_id: str | None = None
        first_sent: float | None = None
        while ride_id is None:
            if slot.stop_s is not None and self.now() > slot.stop_s:
                self.raw.control.append(f"ride {slug} at {slot.start_s:.0f} s never started")
                return
            sent = await self._command(
                f"{BASE}/cmd/ride", json.dumps({"strap": slug, "action": "start"})
            )
            # The answer to the first command may come after the 10 s wait (the subscriber
            # reconnecting after a broker restart); a repeated start is ignored by a ride
            # that runs, so the answer is looked for since the first command.
            first_sent = sent if first_sent is None else first_sent

            def started(since: float = first_sent) -> bool:
                return any(
                    str(p.get("event", "")).startswith("started")
                    for p in self.sub.since(since, topic)
                )

            if await self.sub.wait_for(started, 10.0):
                first = next(
                    p
                    for p in self.sub.since(first_sent, topic)
                    if str(p.get("event", "")).startswith("started")
                )
                ride_id = ride_id_of(str(first["id"]), str(first["event"]))
        gen = self.gen
        if slot.stop_s is None:
            return
        await self.until(slot.stop_s)

        def ended() -> bool:
            return any(
                p.get("active") is False and str(p.get("id", "")).startswith(ride_id)
                for p in self.sub.since(0.0, topic)
            )

        while not ended() and self.gen == gen:
            await self._command(f"{BASE}/cmd/ride", json.dumps({"strap": slug, "action": "stop"}))
            await self.sub.wait_for(lambda: ended() or self.gen != gen, 10.0)

    async def _morning(self, at_s: float) -> None:
        await self.until(at_s)
        topic = f"{BASE}/morning"
        name = strap_name(self.plan.straps - 1)
        for _ in range(5):
            sent = await self._command(
                f"{BASE}/cmd/morning", json.dumps({"strap": name, "repeat": True})
            )
            gen = self.gen

            def begun(sent: float = sent) -> bool:
                return bool(self.sub.since(sent, topic))

            def over(sent: float = sent, gen: int = gen) -> bool:
                ends = [
                    p for p in self.sub.since(sent, topic) if p.get("state") in {"done", "invalid"}
                ]
                return self.gen != gen or bool(ends)

            if await self.sub.wait_for(begun, 10.0):
                await self.sub.wait_for(over, MEASURE_S + 60.0)
                return
        self.raw.control.append(f"morning at {at_s:.0f} s never started")
