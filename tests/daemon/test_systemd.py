"""sd_notify and the watchdog against a real datagram socket standing in for systemd."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from hrvd.daemon.systemd import Notifier, notify_address, watchdog_interval_s


class FakeSystemd:
    """A bound SOCK_DGRAM socket; a thread stamps each datagram on arrival (monotonic s).

    A thread, not a task: the tests block the event loop and must still see when (and
    that no) pings arrive.
    """

    def __init__(self, address: str | bytes) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.05)
        self.received: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.received.append((time.monotonic(), data.decode()))

    def messages(self) -> list[str]:
        return [m for _, m in self.received]

    def pings(self) -> list[float]:
        return [t for t, m in self.received if m == "WATCHDOG=1"]

    def wait_for(self, count: int, within_s: float = 2.0) -> list[str]:
        deadline = time.monotonic() + within_s
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.messages()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def socket_dir():
    # A short directory of our own: tmp_path can exceed the 107 bytes a socket path may have.
    with tempfile.TemporaryDirectory(prefix="hrvd-notify-") as tmp:
        yield Path(tmp)


@pytest.fixture
def systemd(socket_dir: Path, monkeypatch: pytest.MonkeyPatch):
    path = socket_dir / "notify"
    fake = FakeSystemd(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield fake
    fake.close()


def test_ready_status_stopping_and_watchdog_arrive_as_one_datagram_each(systemd: FakeSystemd):
    with Notifier() as notifier:
        assert notifier.enabled
        assert notifier.ready()
        assert notifier.status("strap h10=streaming hr=62 mqtt=up")
        assert notifier.watchdog()
        assert notifier.stopping()
    assert systemd.wait_for(4) == [
        "READY=1",
        "STATUS=strap h10=streaming hr=62 mqtt=up",
        "WATCHDOG=1",
        "STOPPING=1",
    ]


def test_ready_may_carry_a_status_and_a_status_is_one_line(systemd: FakeSystemd):
    with Notifier() as notifier:
        notifier.ready("waiting for the broker")
        notifier.status("link lost\nreconnecting")
    assert systemd.wait_for(2) == [
        "READY=1\nSTATUS=waiting for the broker",
        "STATUS=link lost reconnecting",
    ]


def test_an_abstract_socket_is_reached_through_its_at_sign(monkeypatch: pytest.MonkeyPatch):
    name = f"hrvd-test-{uuid.uuid4().hex}"
    fake = FakeSystemd(b"\0" + name.encode())
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", f"@{name}")
        with Notifier() as notifier:
            assert notifier.ready()
        assert fake.wait_for(1) == ["READY=1"]
    finally:
        fake.close()


def test_without_notify_socket_every_call_is_a_silent_no_op(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")
    with Notifier() as notifier:
        assert not notifier.enabled
        assert notifier.watchdog_interval_s is None
        assert not notifier.ready()
        assert not notifier.status("x")
        assert not notifier.watchdog()
        assert not notifier.stopping()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/run/systemd/notify", b"/run/systemd/notify"),
        ("@/org/freedesktop/systemd1/notify/1", b"\0/org/freedesktop/systemd1/notify/1"),
        ("", None),
        ("@", None),
        ("vsock:2:1234", None),
        ("relative/path", None),
    ],
)
def test_notify_address_follows_sd_notify(value: str, expected: bytes | None):
    assert notify_address({"NOTIFY_SOCKET": value}) == expected


def test_a_vanished_socket_loses_the_message_and_logs_once(socket_dir: Path):
    env = {"NOTIFY_SOCKET": str(socket_dir / "gone")}
    with capture_logs() as logs, Notifier(env) as notifier:
        assert not notifier.ready()
        assert not notifier.watchdog()
    assert [e["event"] for e in logs] == ["sd_notify_failed"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": str(os.getpid())}, 0.5),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),
        ({}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
        ({"WATCHDOG_USEC": "thirty"}, None),
    ],
)
def test_watchdog_interval_is_for_this_process_only(env: dict[str, str], expected: float | None):
    assert watchdog_interval_s(env) == expected


def test_watchdog_interval_reads_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WATCHDOG_USEC", "2500000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog_interval_s() == 2.5


INTERVAL_S = 0.2
"""The watchdog interval of these tests: pings every 0.1 s."""


async def test_the_loop_pings_at_half_the_interval(systemd: FakeSystemd, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", str(int(INTERVAL_S * 1e6)))
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    with Notifier() as notifier:
        assert notifier.watchdog_interval_s == INTERVAL_S
        task = asyncio.create_task(notifier.watchdog_loop())
        await asyncio.sleep(0.75)
        task.cancel()
    pings = systemd.pings()
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert 6 <= len(pings) <= 9
    assert max(gaps) < INTERVAL_S, gaps
    assert 0.09 < sorted(gaps)[len(gaps) // 2] < 0.13, gaps


async def test_a_blocked_event_loop_stops_the_pings(systemd: FakeSystemd, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", str(int(INTERVAL_S * 1e6)))
    with Notifier() as notifier:
        task = asyncio.create_task(notifier.watchdog_loop())
        await asyncio.sleep(0.35)
        blocked_from = time.monotonic()
        time.sleep(0.6)  # noqa: ASYNC251 - a hung loop, what the watchdog is there to catch
        blocked_until = time.monotonic()
        await asyncio.sleep(0.35)
        task.cancel()
    pings = systemd.pings()
    during = [t for t in pings if blocked_from + 0.02 < t < blocked_until]
    assert during == []
    assert any(t < blocked_from for t in pings)
    assert any(t > blocked_until for t in pings)  # and they come back once the loop runs
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert max(gaps) > INTERVAL_S  # systemd would have killed the daemon here


async def test_an_unhealthy_daemon_sends_no_pings(systemd: FakeSystemd, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", str(int(INTERVAL_S * 1e6)))
    healthy = True
    with Notifier() as notifier:
        task = asyncio.create_task(notifier.watchdog_loop(lambda: healthy))
        await asyncio.sleep(0.25)
        sent = len(systemd.wait_for(1))
        healthy = False
        await asyncio.sleep(0.1)  # at most the ping already in flight
        settled = len(systemd.messages())
        await asyncio.sleep(0.4)
        task.cancel()
    assert sent >= 2
    assert len(systemd.messages()) == settled


@pytest.mark.parametrize("env", [{}, {"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"}])
async def test_the_loop_ends_at_once_without_a_watchdog_for_us(
    systemd: FakeSystemd, monkeypatch, env: dict[str, str]
):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with Notifier() as notifier:
        async with asyncio.timeout(1):
            await notifier.watchdog_loop()
    assert systemd.messages() == []
