"""Soak test of `hrvd run`: hours of strap data with faults, then a check of what arrived.

Usage::

    .venv/bin/python bench/soak.py --minutes 60 --straps 16 [--seed 1] [--workdir DIR]
        [--json FILE]

Real parts only: a private ``dbus-daemon`` (never the host bus) with the fake BlueZ of
``tests/fixtures/fake_bluez.py`` serving K straps in real time, a mosquitto with persistence
on a free loopback port (``tests/fixtures/mosquitto.py``), the daemon as a subprocess
(``python -m hrvd.cli run --log-level debug``), and an MQTT subscriber with a persistent
session (fixed client id, clean session off, QoS 1), so that a broker restart loses nothing
queued for it.

"Accelerated" means parallel, not fast: the beat timeline cuts a series whose RR sum parts
from the receive clock by more than 3 s, so every strap beats in real time; K straps for M
minutes are K x M strap-minutes of data. K - 1 straps ride (RR swinging between about 91
and 128 bpm in blocks of a minute or two, so the "too hard" alert toggles), the last one is
a morning strap (about 60 bpm, calm) that measures readiness on command, again and again.

Faults, on a schedule drawn from ``--seed``: strap drops, stalls, malformed payloads, a
strap gone for longer than a ride tolerates, broker restarts, and ``kill -9`` of the daemon
followed by a restart. Rides start and stop by MQTT command (and some end by "strap gone").

Ground truth: every durable message the daemon put into its outbox is in its debug log
("durable queued", with the exact payload); the subscriber's record is compared with it.
Every RR value a fake strap sends carries a code, (5 x beat number) mod 16, in its low 4
bits, so that each stored beat is matched to exactly one sent beat (same value, sent
within 3.5 s of the stored time). The report's definitions are in ``RELIABILITY.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import ctypes
import importlib
import json
import math
import os
import pickle
import platform
import random
import re
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Self, cast

import aiomqtt
import numpy as np

from bench_core import cpu_model
from daemon_rig import TESTS, Broker, cpu_seconds, memory_kb, private_bus, stop_process

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

BASE = "hrvd"
SUBSCRIBER_ID = "hrvd-soak-subscriber"
NOTIFY_S = 0.5
"""Wall time between a fake strap's notifications, s (a real strap: about 1 s)."""
STALL_TIMEOUT_S = 3.0
"""[[strap]] stall_timeout_s of the soak's config, s."""
STALL_S = (5.0, 9.0)
"""How long a stalled strap stays silent, s (longer than the stall timeout)."""
GONE_S = 330.0
"""How long a "gone" strap stays away, s: longer than a ride tolerates (300 s)."""
BROKER_DOWN_S = (2.0, 15.0)
KILL_RESTART_S = 1.0
"""From ``kill -9`` to the new daemon's start, s."""
MEASURE_S = 60.0
"""[morning] measure_s, s (stabilise_s is 0)."""
CEILING_BPM = 110
EASY_RR_MS = 660.0
"""About 91 bpm: under the ceiling (110) less the warm-up drop (10) and hysteresis (3)."""
HARD_RR_MS = 470.0
"""About 128 bpm: over every ceiling."""
RAMP_MS_PER_BEAT = 15.0
MORNING_RR_MS = 1000.0
CODE_MOD = 16
CODE_STEP = 5
MATCH_WINDOW_S = 3.5
"""A stored beat matches a sent one with the same RR sent at most this far from its time."""
KILL_BATCH_S = 30.0
"""The beat recorder writes at least this often (hrvd.daemon.beats.FLUSH_S): what kill -9 loses."""
EARLY_S = 0.1
"""A beat stamped this much before it ended was timed from a sum missing lost beats, s."""
REDELIVERY_WINDOW_S = 60.0
"""A repeated message counts as a QoS 1 redelivery if it came this soon after a reconnect."""
FLAT_MB_PER_H = 2.0
"""Memory is "flat" when the least-squares slope over the second half of the last
daemon process's life is below this, MB/hour."""
MIN_TREND_MIN = 20.0
"""Shorter runs get no memory verdict: allocator noise outweighs a trend."""
RIDE_TOPICS = ("alert", "ride", "session")
MALFORMED = (b"", b"\x01\x48", b"\x16\x48\x00", b"\x08\x48", b"\x10")
"""Payloads that do not parse: empty, u16 heart rate cut, half an RR, energy field cut."""
PR_SET_PDEATHSIG = 1
RIDE_MESSAGE_SUFFIX = re.compile(r":(\d+|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d)$")
"""What follows the ride id in a ride message's id: a sequence number, or (before) a time."""


# --- the fixtures, typed ------------------------------------------------------------------


class FakeStrap(Protocol):
    """The part of ``fixtures.fake_bluez.FakeStrap`` used here."""

    address: str
    sent_rr_raw: list[int]
    connects: int
    notifications: int

    async def drop(self) -> None: ...

    def stall(self, seconds: float) -> None: ...

    def send_raw(self, payload: bytes) -> None: ...

    def vanish(self) -> None: ...

    def appear(self) -> None: ...


class FakeBluez(Protocol):
    """The part of ``fixtures.fake_bluez.FakeBluez`` used here."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def add_strap(self, strap: FakeStrap) -> None: ...


def _fixture(module: str, name: str) -> Callable[..., object]:
    """A class of tests/fixtures (tests/ is outside mypy's files and not a package)."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    return cast("Callable[..., object]", getattr(importlib.import_module(module), name))


def new_strap(address: str, rr_ms: Callable[[], float]) -> FakeStrap:
    """A ``FakeStrap`` notifying every :data:`NOTIFY_S`."""
    cls = _fixture("fixtures.fake_bluez", "FakeStrap")
    return cast("FakeStrap", cls(address=address, notify_interval_s=NOTIFY_S, rr_ms=rr_ms))


def new_bluez(bus_address: str) -> FakeBluez:
    """A ``FakeBluez`` on the private bus."""
    return cast("FakeBluez", _fixture("fixtures.fake_bluez", "FakeBluez")(bus_address))


def new_broker(workdir: Path) -> Broker:
    """A ``Broker`` (mosquitto, persistence on) in ``workdir``."""
    return cast("Broker", _fixture("fixtures.mosquitto", "Broker")(workdir))


# --- the hearts ---------------------------------------------------------------------------


class Heart:
    """RR intervals (ms, one per call) of one fake strap; remembers every beat it made.

    A ride heart alternates easy and hard blocks (lengths drawn from ``block_s``, strap
    time), moving at most :data:`RAMP_MS_PER_BEAT` a beat, with an AR(1) wander; a morning
    heart stays near 60 bpm with a breathing wave. Each value is a whole number of 1/1024 s
    whose low 4 bits are ``(5 x beat number) mod 16``, so that each beat is recognisable.

    Attributes:
        raw: every beat made, 1/1024 s; the last one is still beating.
        ends_s: when each beat ends, s after the heart's first beat began (strap time).
    """

    def __init__(
        self, seed: int, *, block_s: tuple[float, float] | None, first_block_s: float | None = None
    ) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - a reproducible heart, not cryptography
        self._block_s = block_s
        self._hard = False
        self._block_ends_s = self._next_block(0.0) if first_block_s is None else first_block_s
        self._level_ms = EASY_RR_MS if block_s is not None else MORNING_RR_MS
        self._wander_ms = 0.0
        self.raw: list[int] = []
        self.ends_s: list[float] = []

    def _next_block(self, now_s: float) -> float:
        if self._block_s is None:
            return math.inf
        return now_s + self._rng.uniform(*self._block_s)

    def __call__(self) -> float:
        """The next RR interval, ms."""
        n = len(self.raw)
        now_s = self.ends_s[-1] if self.ends_s else 0.0
        if self._block_s is None:
            self._wander_ms = 0.8 * self._wander_ms + self._rng.gauss(0.0, 3.0)
            rr_ms = MORNING_RR_MS + 25.0 * math.sin(2 * math.pi * n / 4.5) + self._wander_ms
        else:
            if now_s >= self._block_ends_s:
                self._hard = not self._hard
                self._block_ends_s = self._next_block(now_s)
            target = HARD_RR_MS if self._hard else EASY_RR_MS
            step = max(-RAMP_MS_PER_BEAT, min(RAMP_MS_PER_BEAT, target - self._level_ms))
            self._level_ms += step
            self._wander_ms = 0.9 * self._wander_ms + self._rng.gauss(0.0, 6.0)
            rr_ms = self._level_ms + self._wander_ms
        raw = round(rr_ms * 1.024)
        raw += (CODE_STEP * n - raw) % CODE_MOD  # low 4 bits: the beat's code
        self.raw.append(raw)
        self.ends_s.append(now_s + raw / 1024)
        return raw * 1000 / 1024


class SentLog(list[int]):
    """``FakeStrap.sent_rr_raw`` that also notes which of the heart's beats were sent.

    The fake extends this list with the RR values of each notification as it sends it;
    those are the heart's latest ended beats (all but the one still beating).
    """

    def __init__(self, heart: Heart) -> None:
        super().__init__()
        self.heart = heart
        self.indices: list[int] = []
        self.mismatches = 0

    def extend(self, values: Iterable[int]) -> None:
        """Take one notification's RR values (1/1024 s)."""
        sent = list(values)
        if "heart" not in self.__dict__:  # unpickling: the items come before the state
            super().extend(sent)
            return
        first = len(self.heart.raw) - 1 - len(sent)
        if self.heart.raw[first : first + len(sent)] != sent:
            self.mismatches += 1
        self.indices.extend(range(first, first + len(sent)))
        super().extend(sent)


# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RideSlot:
    """Start a ride on strap ``strap`` at ``start_s``; stop it by command at ``stop_s``
    (None: it runs until a fault or the end of the run ends it)."""

    strap: int
    start_s: float
    stop_s: float | None


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected fault at ``at_s`` (s after the daemon first came online)."""

    at_s: float
    kind: str  # drop, stall, malformed, gone, appear, broker, kill
    strap: int | None = None
    seconds: float = 0.0
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class Plan:
    """What one soak run does."""

    duration_s: float
    straps: int
    seed: int
    block_s: tuple[float, float]
    rides: tuple[RideSlot, ...]
    mornings: tuple[float, ...]
    faults: tuple[Fault, ...]
    sample_s: float
    sustain_s: float
    first_block_s: float | None = None
    """Length of each ride heart's first (easy) block, s; None: drawn like the others."""


def long_plan(
    minutes: float, straps: int, seed: int, kills: tuple[float, ...] = (0.2, 0.45)
) -> Plan:
    """A run of ``minutes`` with ``straps`` straps (the last one the morning strap).

    Rides of 6-14 minutes with 20-90 s between them; a morning measurement every 2-3
    minutes; a drop every ~40 s, a stall every ~60 s, a malformed payload every ~15 s
    (each on a random strap); two straps gone for 5.5 minutes; a broker restart every
    ~8 minutes; ``kill -9`` at the shares of the run in ``kills`` (by default 20 % and
    45 %, so the second half, used for the memory trend, is one process; earlier kills give
    the memory trend a longer-lived process).
    """
    if straps < 2:
        raise ValueError("a soak needs at least one ride strap and the morning strap")
    rng = random.Random(seed)  # noqa: S311 - a reproducible schedule, not cryptography
    duration = minutes * 60.0
    riders = straps - 1
    rides: list[RideSlot] = []
    for i in range(riders):
        t = rng.uniform(2.0, 30.0)
        while t < duration - 120.0:
            stop = min(t + rng.uniform(360.0, 840.0), duration - 30.0)
            rides.append(RideSlot(i, t, stop))
            t = stop + rng.uniform(20.0, 90.0)
    mornings: list[float] = []
    t = 20.0
    while t + MEASURE_S + 60.0 < duration:
        mornings.append(t)
        t += MEASURE_S + rng.uniform(60.0, 120.0)
    faults: list[Fault] = []

    def poisson(mean_s: float, make: Callable[[float], Fault]) -> None:
        """Faults at the times of a Poisson process of mean interval ``mean_s``."""
        at = rng.expovariate(1 / mean_s)
        while at < duration - 30.0:
            faults.append(make(at))
            at += rng.expovariate(1 / mean_s)

    poisson(40.0, lambda at: Fault(at, "drop", rng.randrange(straps)))
    poisson(
        60.0,
        lambda at: Fault(at, "stall", rng.randrange(straps), seconds=rng.uniform(*STALL_S)),
    )
    poisson(
        15.0,
        lambda at: Fault(at, "malformed", rng.randrange(straps), payload=rng.choice(MALFORMED)),
    )
    for share in (0.3, 0.7):
        if duration >= 20 * 60:
            at, who = share * duration, rng.randrange(riders)
            faults += [Fault(at, "gone", who), Fault(at + GONE_S, "appear", who)]
    for k in range(max(1, round(minutes / 8))):
        at = (k + 0.5) * duration / max(1, round(minutes / 8)) + rng.uniform(-60.0, 60.0)
        faults.append(Fault(max(at, 30.0), "broker", seconds=rng.uniform(*BROKER_DOWN_S)))
    faults += [Fault(share * duration, "kill") for share in kills]
    faults.sort(key=lambda f: f.at_s)
    return Plan(
        duration,
        straps,
        seed,
        (45.0, 120.0),
        tuple(rides),
        tuple(mornings),
        tuple(faults),
        sample_s=15.0,
        sustain_s=10.0,
    )


def short_plan(seed: int = 1) -> Plan:
    """The CI run: about 3.9 minutes, 3 ride straps and the morning strap, every fault once.

    The ride coach gives no alert in a ride's first 180 s, so the ride hearts are easy for
    176 s, hard for 20 s (the alert turns on at about 188 s), easy again for 20 s (it turns
    off at about 210 s); the daemon is killed at 214 s (two rides in progress) and
    restarted; one ride is then stopped by command and one ended by the final SIGTERM.
    """
    rides = (
        RideSlot(0, 3.0, 120.0),
        RideSlot(0, 125.0, None),  # in progress at kill -9
        RideSlot(1, 3.0, 205.0),  # stopped while the alert is on
        RideSlot(2, 3.0, None),  # alert on and off, then in progress at kill -9
        RideSlot(0, 219.0, 226.0),
        RideSlot(2, 219.0, None),  # ended by SIGTERM
    )
    faults = (
        Fault(15.0, "malformed", 2, payload=MALFORMED[2]),
        Fault(16.0, "malformed", 2, payload=MALFORMED[1]),
        Fault(20.0, "drop", 0),
        Fault(35.0, "stall", 1, seconds=6.0),
        Fault(45.0, "malformed", 3, payload=MALFORMED[0]),
        Fault(60.0, "broker", seconds=4.0),
        Fault(95.0, "drop", 2),
        Fault(150.0, "stall", 0, seconds=5.0),
        Fault(214.0, "kill"),
    )
    return Plan(
        232.0,
        4,
        seed,
        (20.0, 20.0),
        rides,
        (5.0, 75.0, 140.0),
        faults,
        sample_s=5.0,
        sustain_s=5.0,
        first_block_s=176.0,
    )


# --- the straps and the daemon ------------------------------------------------------------


def strap_name(i: int) -> str:
    """The configured name of strap ``i``."""
    return f"Soak {i + 1:02d}"


def strap_slug(i: int) -> str:
    """Its slug, as in topics."""
    return f"soak_{i + 1:02d}"


def strap_address(i: int) -> str:
    """Its Bluetooth address."""
    return f"5A:0A:00:00:00:{i + 1:02X}"


def write_config(path: Path, plan: Plan, port: int, store: Path) -> None:
    """The daemon's config: K straps (the last one the morning strap), fast alerts."""
    lines = ["[mqtt]", 'host = "127.0.0.1"', f"port = {port}", f'base_topic = "{BASE}"']
    for i in range(plan.straps):
        role = "morning" if i == plan.straps - 1 else "ride"
        lines += [
            "[[strap]]",
            f'name = "{strap_name(i)}"',
            f'address = "{strap_address(i)}"',
            f'role = "{role}"',
            f"stall_timeout_s = {STALL_TIMEOUT_S}",
        ]
    lines += [
        "[athlete]",
        "hr_max = 190",
        "hr_rest = 50",
        "[ride]",
        f"ceiling_bpm = {CEILING_BPM}",
        f"sustain_s = {plan.sustain_s}",
        "hysteresis_bpm = 3.0",
        "warmup_min = 5.0",
        "target_min = 30.0",
        "[morning]",
        "stabilise_s = 0",
        f"measure_s = {MEASURE_S}",
        "[store]",
        f'path = "{store}"',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _die_with_parent() -> None:
    """In the daemon before exec: the kernel ends it if the soak dies first."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


async def start_daemon(config: Path, bus_address: str, log: Path) -> asyncio.subprocess.Process:
    """``python -m hrvd.cli run`` at debug level on the private bus; stderr to ``log``."""
    if not bus_address.startswith("unix:path="):
        raise RuntimeError(f"not a private bus: {bus_address!r}")
    env = {k: v for k, v in os.environ.items() if k not in {"NOTIFY_SOCKET", "WATCHDOG_USEC"}}
    env["DBUS_SYSTEM_BUS_ADDRESS"] = bus_address
    with log.open("wb") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hrvd.cli",
            "run",
            "--config",
            str(config),
            "--log-level",
            "debug",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
            preexec_fn=_die_with_parent,
        )


# --- the subscriber -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message the subscriber got: receive time (monotonic s), topic, payload."""

    t_s: float
    topic: str
    payload: str
    retain: bool


class Subscriber:
    """A persistent-session QoS 1 subscriber that reconnects by itself."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.deliveries: list[Delivery] = []
        self.connects: list[float] = []
        self.changed = asyncio.Event()
        self.online = False
        self._by_topic: dict[str, list[tuple[float, dict[str, object]]]] = {}

    async def run(self) -> None:
        """Receive until cancelled; reconnect whenever the broker goes."""
        topics = [f"{BASE}/+/{kind}" for kind in RIDE_TOPICS]
        topics += [f"{BASE}/readiness", f"{BASE}/thresholds", f"{BASE}/morning", f"{BASE}/status"]
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    self.port,
                    identifier=SUBSCRIBER_ID,
                    clean_session=False,
                    keepalive=10,
                ) as client:
                    # Subscribing again re-sends retained messages (flagged retain, not
                    # counted); what was queued for the session comes unflagged.
                    for topic in topics:
                        await client.subscribe(topic, qos=1)
                    self.connects.append(time.monotonic())
                    async for m in client.messages:
                        text = m.payload.decode()
                        d = Delivery(time.monotonic(), str(m.topic), text, bool(m.retain))
                        self.deliveries.append(d)
                        if not d.retain:
                            with contextlib.suppress(json.JSONDecodeError):
                                parsed = json.loads(text)
                                if isinstance(parsed, dict):
                                    self._by_topic.setdefault(d.topic, []).append((d.t_s, parsed))
                        if d.topic == f"{BASE}/status":
                            self.online = text == "online"
                        self.changed.set()
            except aiomqtt.MqttError:
                await asyncio.sleep(0.3)

    async def wait_for(self, found: Callable[[], bool], timeout_s: float) -> bool:
        """Wait until ``found()`` holds (checked at every message), at most ``timeout_s``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while not found():
                    self.changed.clear()
                    await self.changed.wait()
        return found()

    def since(self, t_s: float, topic: str) -> list[dict[str, object]]:
        """JSON payloads on ``topic`` received after ``t_s``."""
        return [p for t, p in self._by_topic.get(topic, []) if t > t_s]


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
        self.sub = Subscriber(broker.port)
        self.proc: asyncio.subprocess.Process | None = None
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
        self.proc = await start_daemon(self.config, self.bus_address, log)

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
            strap = new_strap(strap_address(i), heart)
            sent = SentLog(heart)
            strap.sent_rr_raw = sent
            raw.heart_t0.append(time.monotonic())
            await bluez.add_strap(strap)
            self.straps.append(strap)
            raw.hearts.append(heart)
            raw.sent_logs.append(sent)
        write_config(self.config, plan, self.broker.port, self.store)
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
            if self.proc is not None and self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
        raw.end_s = self.now()
        raw.deliveries = self.sub.deliveries
        raw.subscriber_connects = [t - raw.t0_mono for t in self.sub.connects]
        raw.connects = [s.connects for s in self.straps]
        raw.load_avg.append(os.getloadavg())
        return raw

    async def _online(self, within_s: float) -> None:
        """Wait for the daemon's ``online``; raise with its log if it died or never said it."""
        deadline = time.monotonic() + within_s
        while not self.sub.online:
            if self.proc is None or self.proc.returncode is not None or time.monotonic() > deadline:
                tail = self.raw.logs[-1].read_text(encoding="utf-8", errors="replace")[-2000:]
                raise RuntimeError(f"the daemon did not come online:\n{tail}")
            await self.sub.wait_for(lambda: self.sub.online, 0.5)

    async def _stop_daemon(self) -> None:
        code = await stop_process(self.proc)
        self.raw.gen_ends.append((self.now(), f"sigterm:{code}"))

    async def _sample(self) -> None:
        while True:
            proc = self.proc
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(OSError, KeyError, ValueError, IndexError):
                    rss = memory_kb(proc.pid)["VmRSS"]
                    self.raw.samples.append(
                        Sample(self.now(), self.gen, rss, cpu_seconds(proc.pid))
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
        elif fault.kind == "kill" and self.proc is not None:
            self.proc.kill()
            await self.proc.wait()
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


# --- analysis -----------------------------------------------------------------------------


@dataclass
class TopicCount:
    """Durable messages of one kind: queued by the daemon, delivered, and how."""

    queued: int = 0
    delivered: int = 0
    missing: int = 0
    duplicates: int = 0
    unexplained_duplicates: int = 0
    out_of_order: int = 0
    unexpected: int = 0


@dataclass
class BeatCount:
    """Beats of one strap: sent, stored, matched, lost (and where), stored twice."""

    strap: str
    sent: int = 0
    stored: int = 0
    matched: int = 0
    stored_twice: int = 0
    unmatched_stored: int = 0
    out_of_order: int = 0
    lost_at_kill: int = 0
    lost_at_end: int = 0
    lost_other: int = 0
    send_log_mismatches: int = 0
    time_error_p50_ms: float = 0.0
    time_error_max_ms: float = 0.0
    stamped_early: int = 0
    """Beats stored more than :data:`EARLY_S` before they ended: the RR sum lags the
    clock because beats went missing without a gap being marked."""


@dataclass
class Result:
    """A soak run's figures (see RELIABILITY.md for the definitions)."""

    plan: dict[str, object]
    duration_s: float
    topics: dict[str, TopicCount]
    morning_end: dict[str, int]
    beats: list[BeatCount]
    faults: dict[str, int]
    rides: dict[str, int]
    alerts: dict[str, int]
    readiness: dict[str, int]
    store: dict[str, object]
    memory: dict[str, object]
    daemon: dict[str, object]
    findings: list[str]
    violations: list[str]
    machine: dict[str, object]


def _log_events(path: Path) -> tuple[list[dict[str, object]], Counter[str]]:
    """The JSON events of one daemon log, and its other lines (digits as #), counted."""
    events: list[dict[str, object]] = []
    other: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            other[re.sub(r"\d+", "#", line)[:120]] += 1
            continue
        if isinstance(event, dict):
            events.append(event)
    return events, other


def _downtimes(logs: list[list[dict[str, object]]]) -> dict[str, object]:
    """From a strap's link leaving "streaming" to its next "streaming", s (within a process)."""
    gaps = []
    for events in logs:
        down: dict[str, datetime] = {}
        for e in events:
            if e.get("event") != "link":
                continue
            strap, at = str(e.get("strap")), datetime.fromisoformat(str(e["timestamp"]))
            if e.get("state") == "streaming":
                if strap in down:
                    gaps.append((at - down.pop(strap)).total_seconds())
            elif e.get("state") in {"disconnected", "stalled", "no_contact"}:
                down.setdefault(strap, at)
    if not gaps:
        return {"outages": 0}
    return {
        "outages": len(gaps),
        "p50_s": round(float(np.percentile(gaps, 50)), 2),
        "p95_s": round(float(np.percentile(gaps, 95)), 2),
        "max_s": round(max(gaps), 1),
    }


def _kind(topic: str) -> str:
    return topic.rsplit("/", 1)[-1]


def _messages(
    raw: Raw, logs: list[list[dict[str, object]]]
) -> tuple[dict[str, TopicCount], dict[str, int], list[str]]:
    """Compare the queued durable messages with the deliveries."""
    queued = [
        (str(e["topic"]), str(e["payload"]))
        for events in logs
        for e in events
        if e.get("event") == "durable queued"
    ]
    delivered = [
        d
        for d in raw.deliveries
        if not d.retain and _kind(d.topic) != "status" and not d.topic.startswith(f"{BASE}/cmd/")
    ]
    topics: dict[str, TopicCount] = {
        k: TopicCount() for k in (*RIDE_TOPICS, "readiness", "thresholds")
    }
    morning_end = {"queued": 0, "delivered": 0}
    for topic, _payload in queued:
        if _kind(topic) == "morning":
            morning_end["queued"] += 1
        else:
            topics[_kind(topic)].queued += 1
    for d in delivered:
        if _kind(d.topic) != "morning":
            topics[_kind(d.topic)].delivered += 1
        elif json.loads(d.payload).get("state") in {"done", "invalid"}:
            morning_end["delivered"] += 1
    with_id = [key for key in queued if _kind(key[0]) != "morning"]
    findings = _compare(raw, with_id, [d for d in delivered if _kind(d.topic) != "morning"], topics)
    return topics, morning_end, findings + _shared_ids(with_id)


def _compare(
    raw: Raw,
    queued: list[tuple[str, str]],
    delivered: list[Delivery],
    topics: dict[str, TopicCount],
) -> list[str]:
    """Missing, repeated, out-of-order and unexpected deliveries, into ``topics``."""
    reconnects = sorted([*raw.broker_starts, *raw.subscriber_connects])
    findings = []
    index: dict[tuple[str, str], int] = {}
    for i, key in enumerate(queued):
        if key in index:
            findings.append(f"the same durable message was queued twice: {key}")
        index.setdefault(key, i)
    seen: set[tuple[str, str]] = set()
    last: dict[str, int] = {}
    for d in delivered:
        key, count = (d.topic, d.payload), topics[_kind(d.topic)]
        if key not in index:
            count.unexpected += 1
        elif key in seen:
            count.duplicates += 1
            after = d.t_s - raw.t0_mono
            if not any(0 <= after - r <= REDELIVERY_WINDOW_S for r in reconnects):
                count.unexplained_duplicates += 1
        else:
            seen.add(key)
            if index[key] < last.get(d.topic, -1):
                count.out_of_order += 1
            last[d.topic] = max(last.get(d.topic, -1), index[key])
    for key in index:
        if key not in seen:
            topics[_kind(key[0])].missing += 1
    return findings


def _shared_ids(queued: list[tuple[str, str]]) -> list[str]:
    """Different messages of one kind that carry the same ``id``."""
    ids: dict[str, Counter[str]] = {}
    for topic, payload in queued:
        ids.setdefault(_kind(topic), Counter())[str(json.loads(payload).get("id"))] += 1
    findings = []
    for kind, counter in ids.items():
        repeated = sum(n - 1 for n in counter.values() if n > 1)
        if repeated:
            findings.append(
                f"{kind}: {repeated} messages share an id with an earlier, different message:"
                " a consumer deduplicating by id drops them"
            )
    return findings


def _rides(queued: list[tuple[int, str, dict[str, object]]], raw: Raw) -> dict[str, int]:
    """Rides by how they ended; those cut by kill -9 have no summary."""
    started: dict[str, int] = {}
    ended: Counter[str] = Counter()
    sessions: set[str] = set()
    for gen, topic, p in queued:
        if _kind(topic) == "ride" and str(p.get("event", "")).startswith("started"):
            started[ride_id_of(str(p["id"]), str(p["event"]))] = gen
        elif _kind(topic) == "session":
            sessions.add(str(p["id"]))
            ended[str(p.get("end_reason"))] += 1
    killed = [g for g, (_, how) in enumerate(raw.gen_ends) if how == "kill"]
    cut = [r for r, g in started.items() if r not in sessions]
    # What the retained topics said when a daemon was killed, and at the end of the run.
    last: dict[tuple[int, str], dict[str, object]] = {}
    final: dict[str, dict[str, object]] = {}
    for gen, topic, p in queued:
        if gen in killed and _kind(topic) in {"ride", "alert"}:
            last[gen, topic] = p
        if _kind(topic) in {"ride", "alert"}:
            final[topic] = p
    out = {
        "started": len(started),
        "with_summary": len(sessions),
        "cut_by_kill_9": sum(1 for r in cut if started[r] in killed),
        "cut_otherwise": sum(1 for r in cut if started[r] not in killed),
        "retained_ride_active_after_kill": sum(
            1 for (_, t), p in last.items() if _kind(t) == "ride" and p.get("active") is True
        ),
        "retained_alert_on_after_kill": sum(
            1 for (_, t), p in last.items() if _kind(t) == "alert" and p.get("too_hard") is True
        ),
        # The next daemon ends those (hrvd.daemon.pipeline.interrupted_messages).
        "ended_interrupted": sum(
            1 for _, t, p in queued if _kind(t) == "ride" and p.get("event") == INTERRUPTED
        ),
        "alert_off_interrupted": sum(
            1 for _, t, p in queued if _kind(t) == "alert" and p.get("reason") == "interrupted"
        ),
        "left_active_at_end": sum(
            1 for p in final.values() if p.get("active") is True or p.get("too_hard") is True
        ),
    }
    out.update({f"ended_{k}": v for k, v in sorted(ended.items())})
    return out


def _beats(raw: Raw) -> list[BeatCount]:  # noqa: C901 - one matching loop per strap
    """Match each stored beat to the sent beat it must be (see the module docstring)."""
    kills = [t for t, how in raw.gen_ends if how == "kill"]
    end = max((t for t, how in raw.gen_ends if how.startswith("sigterm")), default=raw.end_s)
    db = sqlite3.connect(f"file:{raw.workdir / 'store.sqlite3'}?mode=ro", uri=True)
    out = []
    try:
        for i, (heart, sent) in enumerate(zip(raw.hearts, raw.sent_logs, strict=True)):
            name = strap_name(i)
            rows = db.execute(
                "SELECT t_ms, rr_raw FROM beats WHERE strap = ? ORDER BY t_ms", (name,)
            ).fetchall()
            # Plan-clock time of the end of each sent beat.
            t0 = raw.heart_t0[i] - raw.t0_mono
            sent_t = [t0 + heart.ends_s[j] for j in sent.indices]
            to_plan = raw.wall_offset_s + raw.t0_mono
            c = BeatCount(
                name, sent=len(sent.indices), stored=len(rows), send_log_mismatches=sent.mismatches
            )
            hits: Counter[int] = Counter()
            errors: list[float] = []
            previous = -1
            for t_ms, rr_raw in rows:
                t = t_ms / 1000 - to_plan
                lo = bisect.bisect_left(sent_t, t - MATCH_WINDOW_S)
                hi = bisect.bisect_right(sent_t, t + MATCH_WINDOW_S)
                near = [k for k in range(lo, hi) if heart.raw[sent.indices[k]] == rr_raw]
                if not near:
                    c.unmatched_stored += 1
                    continue
                k = min(near, key=lambda k: abs(sent_t[k] - t))
                hits[k] += 1
                errors.append((t - sent_t[k]) * 1000)
                if t - sent_t[k] < -EARLY_S:
                    c.stamped_early += 1
                if k <= previous:
                    c.out_of_order += 1
                previous = max(previous, k)
            c.matched = len(hits)
            c.stored_twice = sum(1 for n in hits.values() if n > 1)
            for k, t in enumerate(sent_t):
                if k in hits:
                    continue
                if any(kill - KILL_BATCH_S - 5.0 <= t <= kill + 1.0 for kill in kills):
                    c.lost_at_kill += 1
                elif t >= end - 5.0:
                    c.lost_at_end += 1
                else:
                    c.lost_other += 1
            if errors:
                c.time_error_p50_ms = round(float(np.median(errors)), 1)
                c.time_error_max_ms = round(errors[int(np.argmax(np.abs(errors)))], 1)
            out.append(c)
    finally:
        db.close()
    return out


def _store(raw: Raw) -> dict[str, object]:
    db = sqlite3.connect(f"file:{raw.workdir / 'store.sqlite3'}?mode=ro", uri=True)
    try:
        (check,) = db.execute("PRAGMA integrity_check").fetchone()
        counts = {
            t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - fixed names
            for t in ("beats", "rides", "mornings", "measurements", "outbox")
        }
        size = (raw.workdir / "store.sqlite3").stat().st_size
    finally:
        db.close()
    return {"integrity_check": check, **counts, "file_mb": round(size / 1e6, 1)}


def _memory(raw: Raw) -> dict[str, object]:
    if not raw.samples:
        return {"verdict": "no samples"}
    last = raw.samples[-1].gen
    # The trend is taken over the second half of the last process's life: its first half
    # holds the warm-up (imports, HRV windows and rides filling up).
    life = [s.t_s for s in raw.samples if s.gen == last]
    half = (life[0] + life[-1]) / 2
    tail = [s for s in raw.samples if s.gen == last and s.t_s >= half]
    mb = [s.rss_kb / 1024 for s in raw.samples]
    out: dict[str, object] = {
        "samples": len(raw.samples),
        "start_mb": round(mb[0], 1),
        "end_mb": round(mb[-1], 1),
        "max_mb": round(max(mb), 1),
        "last_process_start_mb": round(
            next(s.rss_kb for s in raw.samples if s.gen == last) / 1024, 1
        ),
    }
    if len(tail) >= 4:
        hours = np.array([s.t_s / 3600 for s in tail])
        slope = float(np.polyfit(hours, np.array([s.rss_kb / 1024 for s in tail]), 1)[0])
        out["second_half_slope_mb_per_h"] = round(slope, 2)
        out["second_half_samples"] = len(tail)
        if raw.end_s < MIN_TREND_MIN * 60:
            out["verdict"] = f"run under {MIN_TREND_MIN:.0f} min: no verdict"
        else:
            out["verdict"] = "flat" if slope < FLAT_MB_PER_H else "GROWING"
    else:
        out["verdict"] = "too few samples"
    cpu = [s for s in raw.samples if s.gen == last]
    if len(cpu) >= 2 and cpu[-1].t_s > cpu[0].t_s:
        share = (cpu[-1].cpu_s - cpu[0].cpu_s) / (cpu[-1].t_s - cpu[0].t_s)
        out["daemon_cpu_pct"] = round(100 * share, 1)
    return out


def analyse(raw: Raw) -> Result:  # noqa: C901, PLR0912, PLR0915 - one pass over every figure
    """Every figure of the report, and the invariants that failed."""
    logs, non_json = [], Counter[str]()
    for path in raw.logs:
        events, other = _log_events(path)
        logs.append(events)
        non_json += other
    topics, morning_end, findings = _messages(raw, logs)
    queued = [
        (g, str(e["topic"]), cast("dict[str, object]", json.loads(str(e["payload"]))))
        for g, events in enumerate(logs)
        for e in events
        if e.get("event") == "durable queued"
    ]
    rides = _rides(queued, raw)
    beats = _beats(raw)
    store = _store(raw)
    memory = _memory(raw)
    # Alerts the coach raised (logged at once) against those that reached the outbox.
    alerts = {
        "raised": 0,
        "queued": 0,
        "on": 0,
        "off": 0,
        "raised_not_queued_at_kill": 0,
        "raised_not_queued_otherwise": 0,
    }
    reasons: Counter[str] = Counter()
    for g, events in enumerate(logs):
        raised = [e for e in events if e.get("event") == "alert"]
        q = [
            e
            for e in events
            if e.get("event") == "durable queued"
            and _kind(str(e["topic"])) == "alert"
            # an alert turned off at start, after a kill -9, was never raised by the coach
            and json.loads(str(e["payload"])).get("reason") != "interrupted"
        ]
        alerts["raised"] += len(raised)
        alerts["queued"] += len(q)
        for e in raised:
            alerts["on" if e.get("too_hard") else "off"] += 1
            reasons[str(e.get("reason"))] += 1
        short = len(raised) - len(q)
        killed = g < len(raw.gen_ends) and raw.gen_ends[g][1] == "kill"
        alerts["raised_not_queued_at_kill" if killed else "raised_not_queued_otherwise"] += short
    alerts.update({f"reason_{k}": v for k, v in sorted(reasons.items())})
    readiness = {
        "queued": topics["readiness"].queued,
        "delivered": topics["readiness"].delivered,
        "mornings_stored": cast("int", store["mornings"]),
        "measurements_stored": cast("int", store["measurements"]),
        "morning_ends_queued": morning_end["queued"],
        "morning_ends_delivered": morning_end["delivered"],
    }
    faults = Counter(kind for _, kind, _ in raw.faults_done)
    malformed_seen = sum(
        1 for events in logs for e in events if e.get("event") == "malformed payload"
    )
    link: Counter[str] = Counter(
        str(e.get("state")) for events in logs for e in events if e.get("event") == "link"
    )
    errors = [e for events in logs for e in events if e.get("level") in {"error", "critical"}]
    crashed = sum(
        1 for events in logs for e in events if e.get("event") == "session crashed; restarting"
    )
    daemon = {
        "processes": len(raw.logs),
        "ends": [how for _, how in raw.gen_ends],
        "stalls_seen": link["stalled"],
        "disconnects_seen": link["disconnected"],
        "malformed_logged_first_of_100": malformed_seen,
        "error_events": len(errors),
        "sessions_crashed": crashed,
        "non_json_stderr_lines": non_json.total(),
        "strap_outage": _downtimes(logs),
        "strap_connects": sum(raw.connects),
        "subscriber_connects": len(raw.subscriber_connects),
        "commands": dict(raw.commands),
        "control_hiccups": raw.control,
    }
    findings += [f"daemon error event: {json.dumps(e)[:300]}" for e in errors[:5]]
    violations = []
    for kind, c in topics.items():
        if c.missing:
            violations.append(f"{kind}: {c.missing} queued messages never delivered")
        if c.out_of_order:
            violations.append(f"{kind}: {c.out_of_order} delivered out of order")
        if c.unexplained_duplicates:
            violations.append(
                f"{kind}: {c.unexplained_duplicates} duplicates not after a reconnect"
            )
        if c.unexpected:
            violations.append(f"{kind}: {c.unexpected} delivered but never queued")
    if morning_end["delivered"] < morning_end["queued"]:
        violations.append("morning: fewer measurement ends delivered than queued")
    if store["integrity_check"] != "ok":
        violations.append(f"integrity_check: {store['integrity_check']}")
    if store["outbox"]:
        violations.append(f"{store['outbox']} messages left in the outbox")
    if store["rides"] != rides["with_summary"]:
        violations.append(
            f"{store['rides']} rides stored, {rides['with_summary']} summaries queued"
        )
    if rides["cut_otherwise"]:
        violations.append(f"{rides['cut_otherwise']} rides never ended, not cut by kill -9")
    if rides["ended_interrupted"] != rides["retained_ride_active_after_kill"]:
        violations.append(
            f"{rides['retained_ride_active_after_kill']} rides left active by kill -9, "
            f"{rides['ended_interrupted']} ended as interrupted after the restart"
        )
    if rides["alert_off_interrupted"] != rides["retained_alert_on_after_kill"]:
        violations.append(
            f"{rides['retained_alert_on_after_kill']} alerts left on by kill -9, "
            f"{rides['alert_off_interrupted']} turned off after the restart"
        )
    if rides["left_active_at_end"]:
        violations.append(f"{rides['left_active_at_end']} ride or alert topics left active")
    if alerts["raised_not_queued_otherwise"]:
        violations.append(f"{alerts['raised_not_queued_otherwise']} alerts raised, not queued")
    beat_rules = ("stored_twice", "unmatched_stored", "out_of_order", "lost_other",
                  "send_log_mismatches")  # fmt: skip
    violations += [
        f"{b.strap}: {getattr(b, name)} beats {name.replace('_', ' ')}"
        for b in beats
        for name in beat_rules
        if getattr(b, name)
    ]
    if crashed:
        violations.append(f"{crashed} strap sessions crashed")
    if memory.get("verdict") == "GROWING":
        violations.append(f"memory grows: {memory['second_half_slope_mb_per_h']} MB/h")
    if alerts["raised_not_queued_at_kill"]:
        findings.append(
            f"{alerts['raised_not_queued_at_kill']} alerts raised just before a "
            "kill -9 never reached the outbox"
        )
    findings += [f"control: {hiccup}" for hiccup in raw.control]
    findings += [
        f"{n} lines on the daemon's stderr are not JSON events, e.g. {line!r}"
        for line, n in non_json.most_common(3)
    ]
    early = sum(b.stamped_early for b in beats)
    if early:
        findings.append(
            f"{early} beats were stored more than {EARLY_S} s before they ended: their RR "
            "sum lags the clock (beats went missing without a gap being marked)"
        )
    plan = asdict(raw.plan)
    plan = {k: v for k, v in plan.items() if k not in {"rides", "mornings", "faults"}}
    plan.update(ride_slots=len(raw.plan.rides), morning_slots=len(raw.plan.mornings))
    return Result(
        plan=plan,
        duration_s=round(raw.end_s, 1),
        topics=topics,
        morning_end=morning_end,
        beats=beats,
        faults=dict(faults),
        rides=rides,
        alerts=alerts,
        readiness=readiness,
        store=store,
        memory=memory,
        daemon=daemon,
        findings=findings,
        violations=violations,
        machine=machine(raw.load_avg),
    )


def machine(load_avg: Sequence[tuple[float, float, float]]) -> dict[str, object]:
    """CPU model and cores, Python, OS, load averages at start and end."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "load_avg_start_end": [list(a) for a in load_avg],
    }


# --- the report ---------------------------------------------------------------------------


def report(r: Result) -> str:
    """The figures as Markdown."""
    out = [
        f"## Soak: {r.plan['straps']} straps, {r.duration_s / 60:.1f} min (seed {r.plan['seed']})",
        "",
    ]
    sent = sum(b.sent for b in r.beats)
    hours = r.duration_s * int(cast("int", r.plan["straps"])) / 3600
    out += [
        (
            f"Data: {hours:.1f} strap-hours, {sent} beats sent "
            f"({sent / 94_000:.2f} x a day of one athlete at 65 bpm)."
        ),
        "",
    ]
    out += [
        (
            "| durable message | queued | delivered | missing | duplicates (unexplained) | "
            "out of order | unexpected |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, c in r.topics.items():
        out.append(
            f"| {kind} | {c.queued} | {c.delivered} | {c.missing} | {c.duplicates} "
            f"({c.unexplained_duplicates}) | {c.out_of_order} | {c.unexpected} |"
        )
    out.append(
        f"| morning end (no id) | {r.morning_end['queued']} | "
        f"{r.morning_end['delivered']} | - | - | - | - |"
    )
    out += [
        "",
        (
            "| beats | sent | stored | matched | lost at kill -9 | lost at end | lost "
            "otherwise | stored twice | unmatched | out of order | time error p50 / max ms | "
            "stamped early |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total = BeatCount("all")
    for b in r.beats:
        out.append(
            f"| {b.strap} | {b.sent} | {b.stored} | {b.matched} | {b.lost_at_kill} | "
            f"{b.lost_at_end} | {b.lost_other} | {b.stored_twice} | "
            f"{b.unmatched_stored} | {b.out_of_order} | {b.time_error_p50_ms} / "
            f"{b.time_error_max_ms} | {b.stamped_early} |"
        )
        for name in (
            "sent",
            "stored",
            "matched",
            "lost_at_kill",
            "lost_at_end",
            "lost_other",
            "stored_twice",
            "unmatched_stored",
            "out_of_order",
            "stamped_early",
        ):
            setattr(total, name, getattr(total, name) + getattr(b, name))
    out.append(
        f"| **all** | {total.sent} | {total.stored} | {total.matched} | "
        f"{total.lost_at_kill} | {total.lost_at_end} | {total.lost_other} | "
        f"{total.stored_twice} | {total.unmatched_stored} | {total.out_of_order} | | "
        f"{total.stamped_early} |"
    )

    def line(title: str, d: dict[str, object] | dict[str, int]) -> str:
        return f"- **{title}**: " + ", ".join(f"{k} {v}" for k, v in d.items())

    out += [
        "",
        line("faults injected", r.faults),
        line("rides", r.rides),
        line("alerts", r.alerts),
        line("readiness", r.readiness),
        line("store", r.store),
        line("memory (VmRSS)", r.memory),
        line("daemon", r.daemon),
        line("machine", r.machine),
        "",
    ]
    out += ["**Findings**:", *([f"- {f}" for f in r.findings] or ["- none"]), ""]
    out += [
        "**Invariants**: " + ("all hold" if not r.violations else "FAILED"),
        *[f"- {v}" for v in r.violations],
        "",
    ]
    return "\n".join(out)


# --- entry points -------------------------------------------------------------------------


async def run_soak(
    plan: Plan, *, bus_address: str, bluez: FakeBluez, broker: Broker, workdir: Path
) -> Result:
    """Run ``plan`` with a started fake BlueZ and broker; analyse what happened."""
    raw = await Soak(plan, bus_address, broker, workdir).run(bluez)
    # Kept so that analyse() can be run again later (unpickle with bench/soak.py's classes).
    (workdir / "raw.pickle").write_bytes(pickle.dumps(raw))
    (workdir / "deliveries.jsonl").write_text(
        "".join(json.dumps(asdict(d)) + "\n" for d in raw.deliveries), encoding="utf-8"
    )
    return analyse(raw)


async def main_async(plan: Plan, workdir: Path) -> Result:
    """The standalone run: a private bus, a broker and the fake BlueZ of our own."""
    task = asyncio.current_task()
    if task is not None:  # SIGTERM (kill PID): clean up the broker and the bus, then stop
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    broker = new_broker(workdir / "mosquitto")
    broker.start()
    try:
        with private_bus() as bus:
            async with new_bluez(bus.address) as bluez:
                return await run_soak(
                    plan, bus_address=bus.address, bluez=bluez, broker=broker, workdir=workdir
                )
    finally:
        broker.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run, print the report; exit 1 if an invariant failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--straps", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kill-at", type=float, nargs="+", default=[0.2, 0.45],
                        metavar="SHARE", help="kill -9 at these shares of the run")  # fmt: skip
    parser.add_argument("--short", action="store_true", help="the CI plan (about 4 minutes)")
    parser.add_argument("--workdir", type=Path, help="keep logs and the store here")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    plan = (
        short_plan(args.seed)
        if args.short
        else long_plan(args.minutes, args.straps, args.seed, tuple(args.kill_at))
    )
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(main_async(plan, workdir))
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=1, default=str) + "\n")
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
