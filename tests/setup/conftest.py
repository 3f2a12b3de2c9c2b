"""Fixtures for the setup tests: the user's directories kept under tmp_path."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def private_homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's directories under tmp_path, and no config named by the environment."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("HRVD_CONFIG", raising=False)
    monkeypatch.delenv("HRVD_MQTT_PASSWORD", raising=False)
