"""`hrvd doctor` against the fake BlueZ on a private bus: D-Bus, the adapter, the straps."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from bleak import BleakClient, BleakScanner

from harness.daemon import StrapEntry
from harness.daemon import write_config as harness_config
from harness.dbus import SESSION_CONFIG, private_dbus
from harness.fake_bluez import FakeBluez, FakeStrap, reset_bleak_state
from hrvd.setup import verdicts as v
from hrvd.setup.doctor import diagnose

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from harness.mosquitto import Broker

SYNCHRONISED = v.ClockReading(datetime(2026, 3, 1, 6, 30, tzinfo=UTC), synchronised=True)
H10 = "AA:BB:CC:DD:EE:61"


@pytest.fixture(autouse=True)
def _bluetoothctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``bluetoothctl`` of BlueZ 5.66 first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "bluetoothctl"
    script.write_text("#!/bin/sh\necho 'bluetoothctl: 5.66'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.delenv("HRVD_MQTT_PASSWORD", raising=False)


def write_config(tmp_path: Path, broker_port: int, *straps: tuple[str, str | None]) -> str:
    config = harness_config(
        tmp_path / "hrvd.toml",
        port=broker_port,
        store=tmp_path / "store" / "hrvd.sqlite3",
        straps=[StrapEntry(name, address) for name, address in straps],
    )
    return str(config)


def by_name(checks: list[v.Check]) -> dict[str, v.Check]:
    return {c.name: c for c in checks}


async def test_every_check_passes_and_the_scan_ends_once_the_strap_is_seen(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path
):
    await fake_bluez.add_strap(FakeStrap(address=H10, rssi=-58))
    config = write_config(tmp_path, broker.port, ("h10", H10))
    started = time.monotonic()
    checks = await diagnose(config, scan_timeout_s=8.0, clock=lambda: SYNCHRONISED)
    assert time.monotonic() - started < 5.0
    assert [(c.name, c.status) for c in checks] == [
        (name, v.Status.PASS)
        for name in ("config", "bluez", "dbus", "adapter", "strap h10", "broker", "store", "clock")
    ]
    assert f"h10 ({H10}) is in range" in checks[4].verdict
    assert v.exit_code(checks) == 0


async def test_an_adapter_that_is_off_fails_and_the_straps_are_not_checked(
    fake_bluez: FakeBluez, tmp_path: Path
):
    await fake_bluez.add_strap(FakeStrap(address=H10))
    await fake_bluez.set_powered(False)
    checks = by_name(await diagnose(write_config(tmp_path, 1, ("h10", H10)), scan_timeout_s=0.5))
    assert checks["adapter"].status is v.Status.FAIL
    assert checks["adapter"].verdict == "the Bluetooth adapter hci0 is off"
    assert "bluetoothctl power on" in (checks["adapter"].fix or "")
    assert checks["strap h10"].status is v.Status.SKIP


async def test_a_strap_not_in_range_fails_and_says_to_wet_it_and_unlink_it(
    fake_bluez: FakeBluez, tmp_path: Path
):
    away = FakeStrap(address=H10)
    await fake_bluez.add_strap(away)
    away.vanish()  # asleep, or held by a phone: it does not advertise
    config = write_config(tmp_path, 1, ("h10", H10))
    checks = by_name(await diagnose(config, scan_timeout_s=0.5))
    strap = checks["strap h10"]
    assert strap.status is v.Status.FAIL
    assert "was not seen in 0.5 s" in strap.verdict
    assert "wet the electrodes" in (strap.fix or "")
    assert "unlink it" in (strap.fix or "")


async def test_a_strap_connected_to_this_computer_passes_as_held_and_is_not_scanned_for(
    fake_bluez: FakeBluez, tmp_path: Path
):
    strap = FakeStrap(address=H10)
    await fake_bluez.add_strap(strap)
    device = await BleakScanner.find_device_by_address(H10, timeout=2.0)
    assert device is not None
    config = write_config(tmp_path, 1, ("h10", H10))
    async with BleakClient(device, timeout=2.0):
        started = time.monotonic()
        checks = by_name(await diagnose(config, scan_timeout_s=5.0))
        assert time.monotonic() - started < 2.0  # no 5 s scan for a strap that is held
    assert checks["strap h10"].status is v.Status.PASS
    assert "connected to this computer already" in checks["strap h10"].verdict


async def test_a_strap_without_an_address_is_found_by_its_advertised_name(
    fake_bluez: FakeBluez, tmp_path: Path
):
    await fake_bluez.add_strap(FakeStrap(address=H10, name="TICKR 7A"))
    await fake_bluez.add_strap(FakeStrap(address="AA:BB:CC:DD:EE:62", name="Polar H10 1"))
    config = write_config(tmp_path, 1, ("TICKR 7A", None), ("missing", None))
    checks = by_name(await diagnose(config, scan_timeout_s=1.0))
    assert checks["strap TICKR 7A"].status is v.Status.PASS
    assert checks["strap missing"].status is v.Status.FAIL


@pytest.mark.usefixtures("private_system_bus")
async def test_a_bus_without_bluez_says_bluetoothd_is_not_running(tmp_path: Path):
    checks = by_name(await diagnose(write_config(tmp_path, 1, ("h10", H10))))
    assert checks["dbus"] == v.failed(
        "dbus", "BlueZ (bluetoothd) is not running", "sudo systemctl enable --now bluetooth"
    )
    assert checks["adapter"].status is v.Status.SKIP
    assert checks["strap h10"].status is v.Status.SKIP


@pytest.fixture
def denying_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private bus whose policy denies every message to ``org.bluez``, as a system bus
    does for a user without the hrvd policy or the bluetooth group."""
    policy = SESSION_CONFIG.read_text().replace(
        "</policy>", '  <deny send_destination="org.bluez"/>\n  </policy>'
    )
    with tempfile.TemporaryDirectory(prefix="hrvd-policy-") as tmp:
        config = Path(tmp) / "deny.conf"
        config.write_text(policy)
        with private_dbus(config) as bus:
            monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address)
            yield bus.address


@pytest.fixture
async def bluez_behind_a_deny_policy(denying_bus: str) -> AsyncIterator[FakeBluez]:
    async with FakeBluez(denying_bus) as bluez:
        try:
            yield bluez
        finally:
            await reset_bleak_state()


@pytest.mark.usefixtures("bluez_behind_a_deny_policy")
async def test_a_bus_policy_that_denies_bluez_fails_with_the_policy_fix(tmp_path: Path):
    checks = by_name(await diagnose(write_config(tmp_path, 1, ("h10", H10))))
    assert checks["dbus"].status is v.Status.FAIL
    assert "D-Bus policy does not let user" in checks["dbus"].verdict
    assert "sudo hrvd install-service" in (checks["dbus"].fix or "")
    assert checks["strap h10"].status is v.Status.SKIP


async def test_the_command_prints_json_and_exits_0_only_if_all_passed(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path
):
    await fake_bluez.add_strap(FakeStrap(address=H10))
    config = write_config(tmp_path, broker.port, ("h10", H10))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hrvd.cli",
        "doctor",
        "--config",
        config,
        "--format",
        "json",
        "--timeout",
        "3",
        stdout=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    out, _ = await proc.communicate()
    report = json.loads(out)
    status = {c["name"]: c["status"] for c in report}
    # The clock is this machine's: synchronised or not, the exit code must agree with it.
    assert status == {
        "config": "pass",
        "bluez": "pass",
        "dbus": "pass",
        "adapter": "pass",
        "strap h10": "pass",
        "broker": "pass",
        "store": "pass",
        "clock": status["clock"],
    }
    assert proc.returncode == (0 if status["clock"] == "pass" else 1)
