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
from blockbuster import BlockBuster, blockbuster_ctx
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


# scripts/test runs the suite in pytest-xdist workers, handed two tests at a time
# (--maxschedchunk 2). The tests that wait longest in real time go first, each paired with
# a short one, so that each starts at once on a worker of its own: the soak's short form
# (about four minutes), the one-minute morning measurements, the Pi install. The suite then
# ends about when the soak does. A renamed test only loses its early start.
LONGEST_FIRST = (
    "tests/daemon/test_soak.py::",
    "::test_hrvd_morning_without_a_daemon_",
    "::test_a_morning_measurement_on_command_",
    "::test_two_athletes_in_one_daemon_",
    "::test_a_resting_morning_strap_starts_",
    "::test_readme_pi_block_installs_",
)


def _rank(item: pytest.Item) -> int:
    return next(
        (i for i, key in enumerate(LONGEST_FIRST) if key in item.nodeid), len(LONGEST_FIRST)
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the longest tests first, each followed by a short one (the rest keep their order)."""
    items.sort(key=_rank)  # stable
    n = sum(_rank(item) < len(LONGEST_FIRST) for item in items)
    longest, short = items[:n], items[n:]
    paired = [item for pair in zip(longest, short, strict=False) for item in pair]
    items[:] = paired + longest[len(short) :] + short[n:]


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


@pytest.fixture(autouse=True)
def blockbuster() -> Iterator[BlockBuster]:
    """Fail a test whose hrvd code blocks a running event loop (STYLE.md rule 13).

    Every test, sync ones too: a command run through ``main()`` runs its own loop. Only a
    blocking call with hrvd's code on the stack counts; a test's own set-up (temp files,
    mosquitto, dbus-daemon) is the test's business, not the daemon's.
    """
    with blockbuster_ctx("hrvd") as bb:
        for function in bb.functions.values():
            # A crash logged on a TTY: rich reads the traceback's source files, on a bug's path.
            function.can_block_in("rich/traceback.py", "_render_stack")
        yield bb
