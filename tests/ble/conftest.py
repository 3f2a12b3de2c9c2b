"""Fixtures for BLE tests: a private D-Bus standing in for the system bus, and a fake BlueZ.

Real bleak talks to :class:`harness.fake_bluez.FakeBluez` over a ``dbus-daemon`` that each
test starts for itself (a few ms), so no test can reach the host's system bus or its
Bluetooth adapter.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import pytest

from harness.dbus import private_dbus
from harness.fake_bluez import FakeBluez, reset_bleak_state

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

NO_BUS = "unix:path=/nonexistent/hrvd-tests-use-the-private_system_bus-fixture"


@pytest.fixture(autouse=True)
def _no_host_system_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point bleak at a dead address unless the test asks for ``private_system_bus``."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", NO_BUS)


@pytest.fixture
def private_system_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A ``dbus-daemon`` of our own, set as ``DBUS_SYSTEM_BUS_ADDRESS``; yields its address."""
    with private_dbus() as bus:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address)
        try:
            yield bus.address
        finally:
            # After the test's event loop is closed (the async fixtures have ended), so that
            # a socket the test leaked is garbage now and is reported in this test.
            gc.collect()


@pytest.fixture
async def fake_bluez(private_system_bus: str) -> AsyncIterator[FakeBluez]:
    """A started :class:`FakeBluez` with no strap yet; bleak's state is dropped afterwards."""
    await reset_bleak_state()
    async with FakeBluez(private_system_bus) as bluez:
        try:
            yield bluez
        finally:
            await reset_bleak_state()
