"""The private dbus-daemon every BLE test, doctor test and benchmark runs on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.dbus import SESSION_CONFIG, DbusStartError, private_dbus


def test_it_listens_on_a_socket_of_its_own_and_is_gone_afterwards():
    with private_dbus() as bus:
        socket = Path(bus.address.removeprefix("unix:path=").split(",")[0])
        assert socket.is_socket()
        os.kill(bus.pid, 0)  # running
    assert not socket.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(bus.pid, 0)


def test_a_config_it_refuses_is_one_error_with_dbus_daemons_words(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text(SESSION_CONFIG.read_text().replace("<busconfig>", "<busconfig><nonsense/>"))
    refused = pytest.raises(DbusStartError, match=r"did not start with .*bad\.conf: .*nonsense")
    with refused, private_dbus(bad):
        pass
