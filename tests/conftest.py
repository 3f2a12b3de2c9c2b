"""Shared fixtures: reference values of the vendored recordings, and a real mosquitto."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
import structlog
from hypothesis import HealthCheck, settings

from harness.mosquitto import Broker
from recordings import DATA

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# Property tests judge behaviour, never speed: on a loaded two-core CI machine hypothesis's
# deadline and its "input generation is slow" health check failed tests that were right.
# Speed belongs in bench/.
settings.register_profile("hrvd", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("hrvd")


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
