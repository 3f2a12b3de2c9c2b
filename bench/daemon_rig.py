"""The real parts around `hrvd run` for bench_daemon.py.

* the fake BlueZ and straps of ``tests/fixtures/fake_bluez.py`` and the mosquitto of
  ``tests/fixtures/mosquitto.py``, imported from ``tests/`` (not copied), behind typed
  protocols (``tests/`` is outside mypy's files);
* a private ``dbus-daemon`` with ``tests/fixtures/dbus-session.conf``, started the way
  ``tests/ble/conftest.py`` starts it: the daemon under test gets its address as
  ``DBUS_SYSTEM_BUS_ADDRESS`` and never sees the host's system bus;
* the subscriber process (``daemon_subscriber.py``), the daemon process, and readers of
  ``/proc/<pid>/stat`` and ``/proc/<pid>/status``.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Self, cast

from daemon_stats import Received, Sent, read_messages, rr_key

if TYPE_CHECKING:
    import contextlib
    from collections.abc import Callable, Sequence

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
SUBSCRIBER = Path(__file__).with_name("daemon_subscriber.py")
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
PR_SET_PDEATHSIG = 1
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


# --- the test fixtures, typed -------------------------------------------------------------


class FakeStrap(Protocol):
    """The part of ``fixtures.fake_bluez.FakeStrap`` used here."""

    address: str
    notifications: int
    sent_rr_raw: list[int]
    connects: int


class FakeBluez(Protocol):
    """The part of ``fixtures.fake_bluez.FakeBluez`` used here."""

    _measure: Callable[[FakeStrap, float], None]

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def add_strap(self, strap: FakeStrap) -> None: ...


class Broker(Protocol):
    """The part of ``fixtures.mosquitto.Broker`` used here."""

    port: int

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Fixtures:
    """Constructors from tests/fixtures."""

    new_bluez: Callable[[str], FakeBluez]
    new_strap: Callable[[str, float, Callable[[], float]], FakeStrap]
    steady_rr: Callable[[float, int], Callable[[], float]]
    new_broker: Callable[[Path], Broker]


def load_fixtures() -> Fixtures:
    """Import tests/fixtures (tests/ is not an installed package)."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    fake = importlib.import_module("fixtures.fake_bluez")
    mosquitto = importlib.import_module("fixtures.mosquitto")

    def new_bluez(bus_address: str) -> FakeBluez:
        return cast("FakeBluez", fake.FakeBluez(bus_address))

    def new_strap(address: str, interval_s: float, rr_ms: Callable[[], float]) -> FakeStrap:
        strap = fake.FakeStrap(address=address, notify_interval_s=interval_s, rr_ms=rr_ms)
        return cast("FakeStrap", strap)

    def steady_rr(mean_ms: float, seed: int) -> Callable[[], float]:
        return cast("Callable[[], float]", fake.steady_rr(mean_ms, seed=seed))

    def new_broker(workdir: Path) -> Broker:
        return cast("Broker", mosquitto.Broker(workdir))

    return Fixtures(new_bluez, new_strap, steady_rr, new_broker)


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

    bluez._measure = measured  # noqa: SLF001 - see above
    return sends


# --- processes ----------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In a child before exec: the kernel ends it if the benchmark dies first."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Bus(Protocol):
    """``fixtures.dbus.Bus``: a private dbus-daemon's address and pid."""

    @property
    def address(self) -> str: ...

    @property
    def pid(self) -> int: ...


def private_bus() -> contextlib.AbstractContextManager[Bus]:
    """``fixtures.dbus.private_dbus()``: a dbus-daemon of our own, never the host system bus."""
    load_fixtures()  # puts tests/ on sys.path
    dbus = importlib.import_module("fixtures.dbus")
    return cast("contextlib.AbstractContextManager[Bus]", dbus.private_dbus())


class Subscriber:
    """``daemon_subscriber.py`` in its own process; ``messages()`` once it has stopped."""

    def __init__(self, port: int, path: Path, topics: Sequence[str]) -> None:
        self.port = port
        self.path = path
        self.topics = tuple(topics)
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Self:
        """Start it and wait until it has subscribed."""
        with self.path.with_suffix(".stderr").open("wb") as err:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, str(SUBSCRIBER), str(self.port), str(self.path), *self.topics,
                stdout=asyncio.subprocess.PIPE, stderr=err, preexec_fn=_die_with_parent,
            )  # fmt: skip
        assert self._proc.stdout is not None  # noqa: S101 - asked for just above
        line = await asyncio.wait_for(self._proc.stdout.readline(), START_TIMEOUT_S)
        if line.strip() != b"ready":
            raise RuntimeError(f"subscriber did not start: {line!r}")
        return self

    async def __aexit__(self, *_exc: object) -> None:
        """Stop it; its file is complete afterwards."""
        await stop_process(self._proc)

    def messages(self) -> list[Received]:
        """What it recorded, in receive order."""
        return read_messages(self.path)


async def stop_process(proc: asyncio.subprocess.Process | None) -> int | None:
    """SIGTERM, wait, SIGKILL if need be; the exit code (None if there was no process)."""
    if proc is None:
        return None
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    return proc.returncode


class DaemonProcess:
    """``python -m hrvd.cli run --config FILE`` against the private bus; stderr to a file."""

    def __init__(self, config: Path, bus_address: str, log: Path) -> None:
        self.config = config
        self.bus_address = bus_address
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.stop_s: float | None = None
        """SIGTERM to exit, s."""
        self.exit_code: int | None = None

    @property
    def pid(self) -> int:
        """The daemon's pid."""
        if self.proc is None:
            raise RuntimeError("the daemon is not running")
        return self.proc.pid

    async def __aenter__(self) -> Self:
        """Start the daemon (it does not wait for the strap or the broker)."""
        env = {k: v for k, v in os.environ.items() if k not in {"NOTIFY_SOCKET", "WATCHDOG_USEC"}}
        if not self.bus_address.startswith("unix:path="):
            raise RuntimeError(f"not a private bus: {self.bus_address!r}")
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address
        with self.log.open("wb") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hrvd.cli", "run", "--config", str(self.config),
                env=env, stdout=asyncio.subprocess.DEVNULL, stderr=err,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        return self

    async def stop(self) -> int | None:
        """SIGTERM and wait; note how long it took and the exit code."""
        started = time.monotonic()
        self.exit_code = await stop_process(self.proc)
        self.stop_s = time.monotonic() - started
        return self.exit_code

    async def __aexit__(self, *_exc: object) -> None:
        """Stop it if it still runs."""
        if self.proc is not None and self.proc.returncode is None:
            await self.stop()


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


# --- the daemon's config ------------------------------------------------------------------


def write_config(  # noqa: PLR0913 - one config file, every part named
    path: Path,
    *,
    port: int,
    straps: Sequence[tuple[str, str]],
    store: Path,
    ride: dict[str, float] | None = None,
    hr_max: int = 190,
    hr_rest: int = 50,
) -> None:
    """A config for `hrvd run`: the broker, ride straps (name, address), athlete, store."""
    lines = ["[mqtt]", 'host = "127.0.0.1"', f"port = {port}"]
    for name, address in straps:
        lines += ["[[strap]]", f'name = "{name}"', f'address = "{address}"', 'role = "ride"']
    lines += ["[athlete]", f"hr_max = {hr_max}", f"hr_rest = {hr_rest}"]
    if ride:
        lines += ["[ride]", *(f"{key} = {value}" for key, value in ride.items())]
    lines += ["[store]", f'path = "{store}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
