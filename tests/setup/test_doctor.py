"""`hrvd doctor` without Bluetooth: the config, bluetoothctl, the broker, the store, the clock.

The checks that need BlueZ on a bus are in tests/setup/test_doctor_ble.py. Here the system
bus is a dead address, so nothing can reach the host's BlueZ.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.mosquitto import Broker, free_port, make_tls
from hrvd.cli import main
from hrvd.config import Config, MqttConfig, StrapConfig
from hrvd.setup import verdicts as v
from hrvd.setup.doctor import (
    bluetoothctl_version,
    check_bluetooth,
    check_broker,
    check_store,
    read_clock,
)
from hrvd.store import open_store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

NO_BUS = "unix:path=/nonexistent/hrvd-doctor-tests-reach-no-system-bus"
PASSWORD = "s3cret-Pa55"  # noqa: S105 - the test broker's password
SYNCHRONISED = v.ClockReading(datetime(2026, 3, 1, 6, 30, tzinfo=UTC), synchronised=True)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No host system bus, no config or password from the environment."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", NO_BUS)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("HRVD_CONFIG", "HRVD_MQTT_PASSWORD", "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def bluetoothctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str | None], None]:
    """Put a ``bluetoothctl`` that prints the given text on PATH (None: no bluetoothctl)."""

    def install(prints: str | None) -> None:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        if prints is not None:
            script = bin_dir / "bluetoothctl"
            script.write_text(f"#!/bin/sh\necho '{prints}'\n")
            script.chmod(0o755)
        monkeypatch.setenv("PATH", str(bin_dir))

    return install


@pytest.fixture
def auth_broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "mosquitto", users={"hrvd": PASSWORD})
    b.start()
    yield b
    b.stop()


def mqtt_config(broker_port: int, **mqtt: Any) -> Config:
    cfg = MqttConfig(host="127.0.0.1", port=broker_port, **mqtt)
    return Config(source=Path("hrvd.toml"), mqtt=cfg)


def names(checks: list[v.Check]) -> dict[str, v.Check]:
    return {c.name: c for c in checks}


# --- BlueZ's version -------------------------------------------------------------------


async def test_bluez_5_66_passes(bluetoothctl):
    bluetoothctl("bluetoothctl: 5.66")
    check = v.bluez_verdict(await bluetoothctl_version())
    assert (check.status, check.verdict) == (v.Status.PASS, "BlueZ 5.66")


async def test_bluez_older_than_5_55_fails_and_says_to_upgrade(bluetoothctl):
    bluetoothctl("bluetoothctl: 5.50")
    check = v.bluez_verdict(await bluetoothctl_version())
    assert check.status is v.Status.FAIL
    assert "5.50 is older than 5.55" in check.verdict
    assert "upgrade" in (check.fix or "")


async def test_no_bluetoothctl_fails_and_says_to_install_bluez(bluetoothctl):
    bluetoothctl(None)
    check = v.bluez_verdict(await bluetoothctl_version())
    assert check.status is v.Status.FAIL
    assert check.fix == "sudo apt install bluez"


# --- D-Bus (the BlueZ side is in tests/setup/test_doctor_ble.py) -------------------------


async def test_without_a_system_bus_dbus_fails_and_the_adapter_and_straps_are_not_checked(
    bluetoothctl,
):
    bluetoothctl("bluetoothctl: 5.66")
    checks = names(await check_bluetooth([StrapConfig("h10", "AA:BB:CC:DD:EE:FF")], 0.1))
    assert checks["dbus"].status is v.Status.FAIL
    assert "cannot ask BlueZ over the system D-Bus" in checks["dbus"].verdict
    assert checks["adapter"].status is v.Status.SKIP
    assert checks["strap h10"].status is v.Status.SKIP


def test_access_denied_says_to_install_the_policy_or_join_the_bluetooth_group():
    check = v.dbus_verdict("pi", "org.freedesktop.DBus.Error.AccessDenied", "rejected")
    assert check.status is v.Status.FAIL
    assert "does not let user pi talk to BlueZ" in check.verdict
    assert "sudo hrvd install-service" in (check.fix or "")
    assert "usermod -aG bluetooth pi" in (check.fix or "")


async def test_a_config_without_straps_fails_the_straps_check(bluetoothctl):
    bluetoothctl("bluetoothctl: 5.66")
    checks = names(await check_bluetooth((), 0.1))
    assert checks["straps"].status is v.Status.FAIL
    assert "hrvd scan" in (checks["straps"].fix or "")


# --- the broker -------------------------------------------------------------------------


async def test_the_broker_passes_when_it_accepts_the_connection(broker: Broker):
    check = await check_broker(mqtt_config(broker.port))
    assert check == v.passed(
        "broker", f"connected to 127.0.0.1:{broker.port} anonymously, without TLS"
    )


async def test_the_broker_passes_with_the_password_from_the_password_file(
    auth_broker: Broker, tmp_path: Path
):
    secret = tmp_path / "mqtt-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o644)  # readable by every user: passes, with a warning
    check = await check_broker(mqtt_config(auth_broker.port, username="hrvd", password_file=secret))
    assert check.status is v.Status.PASS
    assert "as hrvd" in check.verdict
    assert f"warning: the password file {secret} can be read by every user" in check.verdict
    assert PASSWORD not in check.verdict


async def test_a_wrong_password_fails_as_not_authorised_and_is_never_shown(
    auth_broker: Broker, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HRVD_MQTT_PASSWORD", "wrong-Pa55word")
    check = await check_broker(mqtt_config(auth_broker.port, username="hrvd"))
    assert check.status is v.Status.FAIL
    assert "refused the user name or password" in check.verdict
    assert "wrong-Pa55word" not in repr(check)


async def test_a_port_where_nothing_listens_fails_as_refused():
    check = await check_broker(mqtt_config(free_port()))
    assert check.status is v.Status.FAIL
    assert "nothing listens" in check.verdict
    assert "systemctl start mosquitto" in (check.fix or "")


async def test_an_unreadable_password_file_fails_before_connecting(tmp_path: Path):
    config = mqtt_config(free_port(), username="hrvd", password_file=tmp_path / "absent")
    check = await check_broker(config)
    assert check.status is v.Status.FAIL
    assert "absent: No such file" in check.verdict


@pytest.mark.skipif(
    Path("/etc/hrvd/mqtt-password").exists(), reason="this machine has a real service credential"
)
async def test_outside_the_service_the_credential_is_read_where_systemd_copies_it_from():
    password_file = Path("$CREDENTIALS_DIRECTORY/mqtt-password")
    check = await check_broker(mqtt_config(free_port(), password_file=password_file))
    assert "/etc/hrvd/mqtt-password: No such file" in check.verdict
    assert "sudo hrvd doctor" in (check.fix or "")


# paho leaves the socket of a failed TLS handshake to the garbage collector (see test_mqtt.py).
@pytest.mark.filterwarnings("ignore:unclosed <ssl.SSLSocket:ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_tls_passes_with_the_ca_that_signed_the_broker_and_fails_with_another(tmp_path: Path):
    tls = make_tls(tmp_path / "pki")
    broker = Broker(tmp_path / "mosquitto", tls=tls)
    broker.start()
    try:
        good = await check_broker(mqtt_config(broker.port, tls_ca_file=tls.ca))
        other = make_tls(tmp_path / "other").ca
        bad = await check_broker(mqtt_config(broker.port, tls_ca_file=other))
    finally:
        broker.stop()
    assert good.status is v.Status.PASS
    assert "with TLS" in good.verdict
    assert bad.status is v.Status.FAIL
    assert "failed the TLS handshake" in bad.verdict
    assert "CERTIFICATE_VERIFY_FAILED" in bad.verdict


@pytest.mark.filterwarnings("ignore:unclosed <ssl.SSLSocket:ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_tls_to_a_broker_without_tls_fails_as_a_tls_problem(broker: Broker, tmp_path: Path):
    ca = make_tls(tmp_path / "pki").ca
    check = await check_broker(mqtt_config(broker.port, tls_ca_file=ca))
    assert check.status is v.Status.FAIL
    assert "failed the TLS handshake" in check.verdict
    assert "speaks TLS" in (check.fix or "")


# --- the store --------------------------------------------------------------------------


def test_a_store_not_created_yet_passes_and_is_not_created(tmp_path: Path):
    path = tmp_path / "lib" / "hrvd" / "hrvd.sqlite3"
    check = check_store(path)
    assert check.status is v.Status.PASS
    assert "does not exist yet" in check.verdict
    assert list(tmp_path.iterdir()) == []


def test_an_existing_store_passes_and_is_left_as_it_was(tmp_path: Path):
    path = tmp_path / "hrvd.sqlite3"
    open_store(path).close()
    before = path.read_bytes()
    check = check_store(path)
    assert check.status is v.Status.PASS
    assert check.verdict.startswith(f"{path} is writable (")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hrvd.sqlite3"]


def test_a_store_under_a_regular_file_fails_and_says_which_directory_to_give(tmp_path: Path):
    (tmp_path / "lib").write_text("a file where a directory should be")
    path = tmp_path / "lib" / "hrvd.sqlite3"
    check = check_store(path)
    assert check.status is v.Status.FAIL
    assert "Not a directory" in check.verdict
    assert str(tmp_path / "lib") in (check.fix or "")


def test_a_store_that_is_not_a_database_fails_and_says_to_move_it_aside(tmp_path: Path):
    path = tmp_path / "hrvd.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    check = check_store(path)
    assert check.status is v.Status.FAIL
    assert "not a usable SQLite database" in check.verdict
    assert "move the file aside" in (check.fix or "")


def test_a_store_locked_by_a_writer_that_never_finishes_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("hrvd.setup.doctor.STORE_BUSY_S", 0.05)
    path = tmp_path / "hrvd.sqlite3"
    open_store(path).close()
    writer = sqlite3.connect(path)
    try:
        writer.execute("BEGIN IMMEDIATE")
        check = check_store(path)
    finally:
        writer.close()
    assert check.status is v.Status.FAIL
    assert "database is locked" in check.verdict


def test_a_nearly_full_disk_fails_the_store_check():
    check = v.store_ok(Path("/var/lib/hrvd/hrvd.sqlite3"), exists=True, free_bytes=50 * 2**20)
    assert check.status is v.Status.FAIL
    assert "only 50 MB free" in check.verdict


# --- the clock --------------------------------------------------------------------------


def test_a_synchronised_clock_passes():
    assert v.clock_verdict(SYNCHRONISED) == v.passed("clock", "synchronised (2026-03-01 06:30 UTC)")


def test_an_unsynchronised_clock_fails_because_a_morning_may_get_the_wrong_date():
    check = v.clock_verdict(v.ClockReading(SYNCHRONISED.now, synchronised=False))
    assert check.status is v.Status.FAIL
    assert "wrong date" in check.verdict
    assert "timedatectl set-ntp true" in (check.fix or "")


def test_a_clock_in_1970_fails_even_if_the_kernel_calls_it_synchronised():
    check = v.clock_verdict(v.ClockReading(datetime(1970, 1, 1, tzinfo=UTC), synchronised=True))
    assert check.status is v.Status.FAIL
    assert "1970-01-01" in check.verdict


def test_a_clock_the_kernel_cannot_be_asked_about_fails_with_what_to_look_at():
    check = v.clock_verdict(v.ClockReading(SYNCHRONISED.now, synchronised=None))
    assert check.status is v.Status.FAIL
    assert "timedatectl" in (check.fix or "")


def test_the_kernel_clock_reading_is_now_and_says_synchronised_or_not():
    reading = read_clock()
    assert abs(reading.now - datetime.now(UTC)) < timedelta(seconds=5)
    assert reading.synchronised in {True, False}  # whichever this machine's kernel says


# --- the command ------------------------------------------------------------------------


def test_an_invalid_config_fails_and_the_checks_that_need_no_config_still_run(
    tmp_path: Path, bluetoothctl, capsys: pytest.CaptureFixture[str]
):
    bluetoothctl("bluetoothctl: 5.66")
    config = tmp_path / "hrvd.toml"
    config.write_text("[mqtt]\nport = 0\n")
    assert main(["doctor", "--config", str(config), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert all(set(c) == {"name", "status", "verdict", "fix"} for c in report)
    status = {c["name"]: c["status"] for c in report}
    assert status == {
        "config": "fail",
        "bluez": "pass",
        "dbus": "fail",
        "adapter": "skip",
        "straps": "skip",
        "broker": "skip",
        "store": "skip",
        "clock": status["clock"],
    }
    assert "mqtt.port: 0 is not within 1-65535" in report[0]["verdict"]
    assert "hrvd config check" in report[0]["fix"]


def test_no_config_at_all_says_to_write_one_with_hrvd_init(
    bluetoothctl, capsys: pytest.CaptureFixture[str]
):
    bluetoothctl("bluetoothctl: 5.66")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "✗ config" in out
    assert "fix: write one with 'hrvd init'" in out


def test_the_table_marks_each_check_and_puts_the_fix_under_a_failure():
    checks = [
        v.passed("bluez", "BlueZ 5.66"),
        v.failed("clock", "not synchronised", "do it"),
        v.skipped("store", "the config is not valid"),
    ]
    assert v.render_table(checks).splitlines() == [
        "✓ bluez  BlueZ 5.66",
        "✗ clock  not synchronised",
        "         fix: do it",
        "- store  not checked: the config is not valid",
        "2 of 3 checks did not pass",
    ]


def test_the_exit_code_is_0_only_when_every_check_passed():
    ok = v.passed("bluez", "BlueZ 5.66")
    assert v.exit_code([ok, ok]) == 0
    assert v.exit_code([ok, v.skipped("store", "no config")]) == 1
    assert v.exit_code([ok, v.failed("clock", "no", "yes")]) == 1


@pytest.mark.parametrize("bad", [["--format", "xml"], ["--timeout", "0"]])
def test_a_bad_option_is_a_usage_error(bad: list[str], capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        main(["doctor", *bad])
    assert exited.value.code == 2
    assert "hrvd doctor: error:" in capsys.readouterr().err
