"""Fixtures for the MQTT tests: a real mosquitto per test, and an outbox file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from harness.mosquitto import Broker, make_tls
from hrvd.publish.outbox import Outbox

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def auth_broker(tmp_path: Path) -> Iterator[Broker]:
    """A mosquitto that wants user hrvd with password s3cret-Pa55."""
    b = Broker(tmp_path / "mosquitto", users={"hrvd": "s3cret-Pa55"})
    b.start()
    yield b
    b.stop()


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[Broker]:
    """A mosquitto speaking only TLS, with a CA made for this test."""
    b = Broker(tmp_path / "mosquitto", tls=make_tls(tmp_path / "pki"))
    b.start()
    yield b
    b.stop()


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    """A fresh outbox in a temporary SQLite file."""
    box = Outbox(tmp_path / "hrvd.sqlite3")
    yield box
    box.close()
