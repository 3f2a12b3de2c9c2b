"""Fixtures for BLE tests: a private D-Bus standing in for the system bus, and a fake BlueZ.

Real bleak talks to :class:`fixtures.fake_bluez.FakeBluez` over a ``dbus-daemon`` that each
test starts for itself (a few ms), so no test can reach the host's system bus or its
Bluetooth adapter.
"""

from __future__ import annotations

import ctypes
import gc
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fixtures.fake_bluez import FakeBluez, reset_bleak_state

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

DBUS_CONFIG = Path(__file__).parents[1] / "fixtures" / "dbus-session.conf"
NO_BUS = "unix:path=/nonexistent/hrvd-tests-use-the-private_system_bus-fixture"
PR_SET_PDEATHSIG = 1


def _die_with_pytest() -> None:
    """In the daemon before exec: the kernel ends it if pytest dies without its teardown."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@pytest.fixture(autouse=True)
def _no_host_system_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point bleak at a dead address unless the test asks for ``private_system_bus``."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", NO_BUS)


@pytest.fixture
def private_system_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A ``dbus-daemon`` of our own, set as ``DBUS_SYSTEM_BUS_ADDRESS``; yields its address."""
    daemon = shutil.which("dbus-daemon") or "/usr/bin/dbus-daemon"
    if not Path(daemon).exists():
        pytest.fail("dbus-daemon is missing: apt-get install dbus-daemon (.ci/run does)")
    # A short directory of our own: tmp_path can exceed the 107 bytes a socket path may have.
    with tempfile.TemporaryDirectory(prefix="hrvd-dbus-") as tmp:
        socket = Path(tmp) / "system_bus_socket"
        proc = subprocess.Popen(
            [
                daemon,
                f"--config-file={DBUS_CONFIG}",
                f"--address=unix:path={socket}",
                "--nofork",
                "--nopidfile",
                "--print-address=1",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            preexec_fn=_die_with_pytest,  # noqa: PLW1509 - pytest runs no threads that fork
        )
        try:
            assert proc.stdout is not None
            address = proc.stdout.readline().strip()  # printed once it accepts connections
            if not address:
                pytest.fail(f"dbus-daemon exited with {proc.wait()} before listening")
            monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", address)
            yield address
        finally:
            # After the test's event loop is closed (the async fixtures have ended), so that
            # a socket the test leaked is garbage now and is reported in this test.
            gc.collect()
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


@pytest.fixture
async def fake_bluez(private_system_bus: str) -> AsyncIterator[FakeBluez]:
    """A started :class:`FakeBluez` with no strap yet; bleak's state is dropped afterwards."""
    await reset_bleak_state()
    async with FakeBluez(private_system_bus) as bluez:
        try:
            yield bluez
        finally:
            await reset_bleak_state()
