"""Fixtures for the daemon tests: systemd's notify socket."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from harness.daemon import NotifySocket

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    """systemd's notify socket for the daemon under test."""
    sock = NotifySocket(tmp_path / "notify")
    yield sock
    sock.close()
