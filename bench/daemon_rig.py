"""The parts of bench_daemon.py's rig that only benchmarks need, around ``tests/harness``.

* :class:`Fixtures`: the harness's constructors in one value, so that a variant (the
  TCP_NODELAY broker of ``daemon_nodelay.py``) can swap one;
* :func:`record_sends`: the send time of every notification the fake BlueZ makes;
* :class:`SubscriberProcess`: ``python -m harness.subscriber`` in a process of its own;
* readers of ``/proc/<pid>/stat`` and ``/proc/<pid>/status``.

The fake BlueZ, the private bus, mosquitto, the daemon process and its config are the
harness's (``harness.fake_bluez``, ``harness.dbus``, ``harness.mosquitto``,
``harness.daemon``), the same ones the tests run against.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Self

import harness_path
from daemon_stats import Received, Sent, read_messages, rr_key
from harness.fake_bluez import FakeBluez, FakeStrap, steady_rr
from harness.mosquitto import Broker
from harness.process import die_with_parent, stop_process

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 20.0
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


# --- the harness's constructors -----------------------------------------------------------


def _new_strap(address: str, interval_s: float, rr_ms: Callable[[], float]) -> FakeStrap:
    return FakeStrap(address=address, notify_interval_s=interval_s, rr_ms=rr_ms)


def _steady_rr(mean_ms: float, seed: int) -> Callable[[], float]:
    return steady_rr(mean_ms, seed=seed)


@dataclass(frozen=True, slots=True)
class Fixtures:
    """Constructors of the harness's fake BlueZ, straps, hearts and broker."""

    new_bluez: Callable[[str], FakeBluez] = FakeBluez
    new_strap: Callable[[str, float, Callable[[], float]], FakeStrap] = _new_strap
    steady_rr: Callable[[float, int], Callable[[], float]] = _steady_rr
    new_broker: Callable[[Path], Broker] = Broker


def load_fixtures() -> Fixtures:
    """The harness's constructors, as they are."""
    return Fixtures()


def record_sends(bluez: FakeBluez) -> dict[str, list[Sent]]:
    """Note the time and RR of every notification the fake sends, by strap address.

    The time is taken just before the fake builds the notification and writes its
    ``PropertiesChanged`` signal to the bus, so a latency from it includes the D-Bus hop.
    """
    sends: dict[str, list[Sent]] = {}
    measure = bluez._measure  # noqa: SLF001 - the fake's one place where a notification leaves

    def measured(strap: FakeStrap, now: float) -> None:
        t_s = time.monotonic()
        notifications, rr_before = strap.notifications, len(strap.sent_rr_raw)
        measure(strap, now)
        if strap.notifications > notifications:
            rr = rr_key(strap.sent_rr_raw[rr_before:])
            sends.setdefault(strap.address, []).append(Sent(t_s, rr))

    bluez._measure = measured  # type: ignore[method-assign]  # noqa: SLF001 - see above
    return sends


# --- the subscriber process ---------------------------------------------------------------


class SubscriberProcess:
    """``python -m harness.subscriber`` in its own process; ``messages()`` once stopped."""

    def __init__(self, port: int, path: Path, topics: Sequence[str]) -> None:
        self.port = port
        self.path = path
        self.topics = tuple(topics)
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Self:
        """Start it and wait until it has subscribed."""
        env = os.environ | {
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(harness_path.TESTS), os.environ.get("PYTHONPATH")) if p
            )
        }
        with self.path.with_suffix(".stderr").open("wb") as err:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "harness.subscriber",
                str(self.port),
                str(self.path),
                *self.topics,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                preexec_fn=die_with_parent,
            )
        assert self._proc.stdout is not None  # noqa: S101 - asked for just above
        line = await asyncio.wait_for(self._proc.stdout.readline(), START_TIMEOUT_S)
        if line.strip() != b"ready":
            raise RuntimeError(f"subscriber did not start: {line!r}")
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        """Stop it; its file is complete afterwards."""
        await stop_process(self._proc)

    def messages(self) -> list[Received]:
        """What it recorded, in receive order."""
        return read_messages(self.path)


# --- /proc --------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), s."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS_PER_S


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS), RssAnon and the like of a process, kB."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        key, _, value = line.partition(":")
        if key.startswith(("Vm", "Rss")) and value.strip().endswith("kB"):
            out[key] = int(value.split()[0])
    return out


def threads(pid: int) -> int:
    """Threads of a process now."""
    return sum(1 for _ in Path(f"/proc/{pid}/task").iterdir())
