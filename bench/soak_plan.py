"""The soak's plan: what its fake hearts beat, and when it starts rides and injects faults.

Pure: a seeded schedule (:func:`long_plan`, :func:`short_plan`), the hearts whose every
RR value carries a code, and the daemon's config for a plan. ``soak_run.py`` carries it
out; ``soak.py`` has the whole story.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from harness.daemon import StrapEntry, write_config

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

BASE = "hrvd"
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
RIDE_TOPICS = ("alert", "ride", "session")
MALFORMED = (b"", b"\x01\x48", b"\x16\x48\x00", b"\x08\x48", b"\x10")
"""Payloads that do not parse: empty, u16 heart rate cut, half an RR, energy field cut."""


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
    """The CI run: about 4 minutes, 3 ride straps and the morning strap, every fault once.

    The ride coach gives no alert in a ride's first 180 s, so the ride hearts are easy for
    176 s, hard for 20 s (the alert turns on at about 188 s), easy again for 20 s (it turns
    off at about 212 s: the coach's heart rate is the mean of corrected beats, which leave
    the corrector six beats late); the daemon is killed at 218 s (two rides in progress) and
    restarted; one ride is then stopped by command and one ended by the final SIGTERM.
    """
    rides = (
        RideSlot(0, 3.0, 120.0),
        RideSlot(0, 125.0, None),  # in progress at kill -9
        RideSlot(1, 3.0, 205.0),  # stopped while the alert is on
        RideSlot(2, 3.0, None),  # alert on and off, then in progress at kill -9
        RideSlot(0, 223.0, 230.0),
        RideSlot(2, 223.0, None),  # ended by SIGTERM
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
        Fault(218.0, "kill"),
    )
    return Plan(
        236.0,
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


# --- the straps ---------------------------------------------------------------------------


def strap_name(i: int) -> str:
    """The configured name of strap ``i``."""
    return f"Soak {i + 1:02d}"


def strap_slug(i: int) -> str:
    """Its slug, as in topics."""
    return f"soak_{i + 1:02d}"


def strap_address(i: int) -> str:
    """Its Bluetooth address."""
    return f"5A:0A:00:00:00:{i + 1:02X}"


def write_soak_config(path: Path, plan: Plan, port: int, store: Path) -> None:
    """The daemon's config: K straps (the last one the morning strap), fast alerts."""
    straps = [
        StrapEntry(
            strap_name(i),
            strap_address(i),
            "morning" if i == plan.straps - 1 else "ride",
            STALL_TIMEOUT_S,
        )
        for i in range(plan.straps)
    ]
    tables: dict[str, dict[str, str | int | float | bool]] = {
        "athlete": {"hr_max": 190, "hr_rest": 50},
        "ride": {
            "ceiling_bpm": CEILING_BPM,
            "sustain_s": plan.sustain_s,
            "hysteresis_bpm": 3.0,
            "warmup_min": 5.0,
            "target_min": 30.0,
        },
        "morning": {"stabilise_s": 0, "measure_s": MEASURE_S},
    }
    write_config(path, port=port, store=store, straps=straps, base_topic=BASE, tables=tables)
