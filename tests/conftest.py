"""Shared fixtures: reference values, a real mosquitto, a private D-Bus with a fake BlueZ,
and the host system bus kept out of reach.

Real bleak talks to :class:`harness.fake_bluez.FakeBluez` over a ``dbus-daemon`` that each
test starts for itself (a few ms), so no test can reach the host's system bus or its
Bluetooth adapter: every test has ``DBUS_SYSTEM_BUS_ADDRESS`` pointed at a dead address
unless it asks for ``private_system_bus``.
"""

from __future__ import annotations

import gc
import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
import structlog
from hypothesis import HealthCheck, settings

from harness.dbus import private_dbus
from harness.fake_bluez import FakeBluez, reset_bleak_state
from harness.mosquitto import Broker
from recordings import DATA

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

# Property tests judge behaviour, never speed: on a loaded two-core CI machine hypothesis's
# deadline and its "input generation is slow" health check failed tests that were right.
# Speed belongs in bench/.
settings.register_profile("hrvd", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("hrvd")


# The soak's short form waits about four minutes in real time, longer than any worker's
# share of the rest of the suite under scripts/test's pytest-xdist; the workers take tests
# in collection order, so it goes first and the rest fills the other workers around it.
START_FIRST = frozenset({"test_soak.py"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the longest tests first (a stable sort: the rest keep their order)."""
    items.sort(key=lambda item: item.path.name not in START_FIRST)


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    """Reference values by pyhrv, neurokit2 and plain numpy (see data/README.md)."""
    loaded: dict[str, Any] = json.loads((DATA / "reference.json").read_text())
    return loaded


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """An anonymous mosquitto on a free loopback port, for this test alone."""
    b = Broker(tmp_path / "mosquitto")
    b.start()
    yield b
    b.stop()


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


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Undo any command's logging set-up, which binds sys.stderr (capsys's stream here).

    Every test: a command run through ``main()`` (``hrvd plot``, ``hrvd run``) leaves
    structlog writing to a stream that capsys closes after the test, and the next test that
    logs in a task (the MQTT link's "connection lost") dies of the closed file.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)
