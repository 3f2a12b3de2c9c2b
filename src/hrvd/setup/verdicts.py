"""The words of `hrvd doctor`: what a check saw in, a verdict and a fix out (no I/O).

Every verdict is one plain sentence; every failure has one fix a user can type or do.
:mod:`hrvd.setup.doctor` does the looking and hands its readings to the functions here.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from hrvd.daemon.clock import MIN_YEAR, ClockReading
from hrvd.errors import EXIT_FAILURE, EXIT_OK

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from hrvd.config import Config, MqttConfig, StrapConfig
    from hrvd.errors import ConfigError

MIN_BLUEZ = (5, 55)
"""The oldest BlueZ that bleak supports."""
MIN_FREE_BYTES = 100 * 1024 * 1024
"""Less free disk than this and SQLite soon fails a write: a morning would be lost."""
SERVICE_FIX = "sudo systemctl restart bluetooth"


class Status(StrEnum):
    """A check's outcome; ``skip``: it could not run because an earlier check failed."""

    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: ``fix`` is None unless the check failed."""

    name: str
    status: Status
    verdict: str
    fix: str | None = None


def passed(name: str, verdict: str) -> Check:
    """A check that passed."""
    return Check(name, Status.PASS, verdict)


def failed(name: str, verdict: str, fix: str) -> Check:
    """A check that failed, with what to do about it."""
    return Check(name, Status.FAIL, verdict, fix)


def skipped(name: str, because: str) -> Check:
    """A check that could not run: ``because`` names the failed check it depends on."""
    return Check(name, Status.SKIP, f"not checked: {because}")


# --- config -----------------------------------------------------------------------------


def config_ok(config: Config) -> Check:
    """The config loaded."""
    n = len(config.straps)
    straps = f"{n} strap{'s' if n != 1 else ''}"
    return passed(
        "config",
        f"{config.source} is valid: {straps}, broker {config.mqtt.host}:{config.mqtt.port}",
    )


def config_failed(error: ConfigError, *, found: bool) -> Check:
    """No config was found (``found`` false), or the one found is invalid."""
    if not found:
        return failed("config", str(error), "write one with 'hrvd init', or name it with --config")
    what = "that key" if error.key else "the file"
    return failed(
        "config",
        str(error),
        f"correct {what} (config/hrvd.example.toml documents every key), then run "
        "'hrvd config check'",
    )


# --- Bluetooth --------------------------------------------------------------------------


def bluez_verdict(output: str | None) -> Check:
    """What ``bluetoothctl --version`` printed (None: the tool is missing)."""
    if output is None:
        return failed(
            "bluez",
            "bluetoothctl is not installed, so BlueZ is probably missing",
            "sudo apt install bluez",
        )
    match = re.search(r"(\d+)\.(\d+)", output)
    if match is None:
        return failed(
            "bluez",
            f"bluetoothctl --version printed {output.strip()!r}, not a version",
            "sudo apt install --reinstall bluez",
        )
    version = (int(match[1]), int(match[2]))
    text = f"{version[0]}.{version[1]}"
    if version < MIN_BLUEZ:
        return failed(
            "bluez",
            f"BlueZ {text} is older than 5.55, the oldest bleak works with",
            "upgrade the system (Raspberry Pi OS Bookworm has BlueZ 5.66)",
        )
    return passed("bluez", f"BlueZ {text}")


ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
NOT_RUNNING = {
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
}


def dbus_verdict(user: str, error: str | None = None, text: str = "") -> Check:
    """The answer to GetManagedObjects on ``org.bluez``: None, or the D-Bus error's name."""
    if error is None:
        return passed("dbus", f"user {user} may ask BlueZ over D-Bus")
    if error == ACCESS_DENIED:
        return failed(
            "dbus",
            f"the system's D-Bus policy does not let user {user} talk to BlueZ",
            "for the service, 'sudo hrvd install-service' installs its policy; for "
            f"yourself, 'sudo usermod -aG bluetooth {user}' and log in again",
        )
    if error in NOT_RUNNING:
        return failed(
            "dbus", "BlueZ (bluetoothd) is not running", "sudo systemctl enable --now bluetooth"
        )
    return failed("dbus", f"BlueZ answered with an error: {error}: {text}", SERVICE_FIX)


def dbus_unreachable(reason: str) -> Check:
    """The system bus cannot be reached, or BlueZ did not answer on it."""
    return failed(
        "dbus",
        f"cannot ask BlueZ over the system D-Bus: {reason}",
        "start D-Bus and BlueZ (sudo systemctl start dbus bluetooth); in a container, "
        "mount /run/dbus/system_bus_socket",
    )


def adapter_verdict(adapters: Mapping[str, bool]) -> Check:
    """The adapters BlueZ knows, by object path, and whether each is powered."""
    if not adapters:
        return failed(
            "adapter",
            "BlueZ sees no Bluetooth adapter",
            "enable the Pi's Bluetooth (no dtoverlay=disable-bt in config.txt) "
            "or plug in a USB Bluetooth adapter",
        )
    path = min(adapters)  # bleak's default: hci0 when there is one
    name = path.rsplit("/", 1)[-1]
    if not adapters[path]:
        return failed(
            "adapter",
            f"the Bluetooth adapter {name} is off",
            "rfkill unblock bluetooth, then bluetoothctl power on",
        )
    return passed("adapter", f"the Bluetooth adapter {name} is on")


def is_strap(strap: StrapConfig, address: str, names: Iterable[str | None]) -> bool:
    """Whether a device is ``strap``: by address when configured, else by name (as hrvd run)."""
    if strap.address:
        return address.upper() == strap.address.upper()
    return strap.name in set(names)


def no_straps() -> Check:
    """The config names no strap."""
    return failed(
        "straps",
        "the config names no strap, so hrvd has nothing to read",
        "add a [[strap]] with the name and address 'hrvd scan' shows",
    )


def strap_verdict(
    strap: StrapConfig, *, connected: bool, rssi: int | None, scanned_s: float
) -> Check:
    """A configured strap: connected here already, or seen advertising at ``rssi`` dBm."""
    name = f"strap {strap.name}"
    who = f"{strap.name} ({strap.address})" if strap.address else strap.name
    if connected:
        return passed(
            name,
            f"{who} is connected to this computer already (a running hrvd, or another "
            "program here, holds it)",
        )
    if rssi is not None:
        return passed(name, f"{who} is in range ({rssi} dBm)")
    return failed(
        name,
        f"{who} was not seen in {scanned_s:g} s: asleep, out of range, or held by a watch, "
        "phone or app",
        "wet the electrodes and put the strap on, and unlink it from watches, phones and "
        "training apps ('hrvd scan' lists the straps it can see)",
    )


# --- the broker -------------------------------------------------------------------------

BROKER_FAILURES = {
    "auth": (
        "refused the user name or password",
        (
            "check [mqtt] username and the password file (or $HRVD_MQTT_PASSWORD) against the "
            "broker's (mosquitto_passwd sets them on mosquitto)"
        ),
    ),
    "refused": (
        "refused the connection: nothing listens on that port",
        "start the broker (sudo systemctl start mosquitto) or correct [mqtt] host and port",
    ),
    "timeout": (
        "did not answer in time",
        (
            "check [mqtt] host and port, the network and any firewall between (a TLS port, "
            "usually 8883, also needs tls_ca_file)"
        ),
    ),
    "tls": (
        "failed the TLS handshake",
        (
            "check that [mqtt] tls_ca_file signed the broker's certificate and that the port "
            "speaks TLS (mosquitto: usually 8883)"
        ),
    ),
    "name": ("is a host name that does not resolve", "correct [mqtt] host"),
    "other": ("cannot be reached", "check [mqtt] host and port, and the broker's log"),
}
"""Why a connection failed: the verdict's tail and the fix."""


def broker_ok(cfg: MqttConfig) -> Check:
    """Connected with the configured credentials and TLS."""
    who = f"as {cfg.username}" if cfg.username else "anonymously"
    tls = "with TLS" if cfg.tls_ca_file else "without TLS"
    return passed("broker", f"connected to {cfg.host}:{cfg.port} {who}, {tls}")


def broker_failed(cfg: MqttConfig, kind: str, detail: str) -> Check:
    """Not connected: ``kind`` is a key of :data:`BROKER_FAILURES`; ``detail`` the error."""
    what, fix = BROKER_FAILURES[kind]
    return failed("broker", f"the broker {cfg.host}:{cfg.port} {what} ({detail})", fix)


def broker_setup_failed(reason: str) -> Check:
    """The password or TLS files cannot be read: no connection was tried."""
    return failed(
        "broker",
        f"cannot connect: {reason}",
        "make the file readable by this user (for the service's files, run "
        "'sudo hrvd doctor'), or correct the path in [mqtt]",
    )


# --- the store and the clock ------------------------------------------------------------


def store_ok(path: Path, *, exists: bool, free_bytes: int) -> Check:
    """The store (or the directory it will be created in) is writable."""
    if free_bytes < MIN_FREE_BYTES:
        return failed(
            "store",
            f"only {free_bytes // 2**20} MB free on the disk of {path}: a full disk makes "
            "SQLite fail and a morning is lost",
            "free some space (sudo apt clean; sudo journalctl --vacuum-size=100M)",
        )
    free = f"{free_bytes / 2**30:.1f} GB free"
    if exists:
        return passed("store", f"{path} is writable ({free})")
    return passed("store", f"{path} does not exist yet and can be created ({free})")


def store_unwritable(path: Path, reason: str) -> Check:
    """The store or its directory cannot be written by this user."""
    return failed(
        "store",
        f"cannot write the store {path}: {reason}",
        "run this as the user hrvd runs as (the service: sudo -u hrvd hrvd doctor) "
        f"and give that user {path.parent}, or set [store] path elsewhere",
    )


def store_damaged(path: Path, reason: str) -> Check:
    """The store file exists but SQLite cannot use it."""
    return failed(
        "store",
        f"the store {path} is not a usable SQLite database: {reason}",
        "move the file aside (hrvd starts a new one) or restore a backup",
    )


TIME_SYNC_FIX = "turn on time sync and check the network: sudo timedatectl set-ntp true"


def clock_verdict(reading: ClockReading) -> Check:
    """Whether the date of a morning measured now can be trusted."""
    now = reading.now
    if now.year < MIN_YEAR:
        return failed(
            "clock",
            f"the clock says {now:%Y-%m-%d}, so it was never set (a Pi has no battery-backed "
            "clock)",
            TIME_SYNC_FIX,
        )
    if reading.synchronised is None:
        return failed(
            "clock",
            "cannot ask the kernel whether the clock is synchronised",
            "check that 'timedatectl' says 'System clock synchronized: yes'",
        )
    if not reading.synchronised:
        return failed(
            "clock",
            "the clock is not synchronised with a time server: a morning measured now may "
            "get the wrong date",
            TIME_SYNC_FIX,
        )
    return passed("clock", f"synchronised ({now:%Y-%m-%d %H:%M} UTC)")


def one_line(check: Check) -> str:
    """A failed check as a command's one-line error: the verdict, then the fix."""
    return f"{check.verdict} (fix: {check.fix})" if check.fix else check.verdict


# --- the report -------------------------------------------------------------------------

_MARKS = {Status.PASS: "✓", Status.FAIL: "✗", Status.SKIP: "-"}


def render_table(checks: Sequence[Check]) -> str:
    """One line a check, ✓ or ✗ first; the fix indented under a failure; a summary."""
    width = max(len(c.name) for c in checks)
    lines: list[str] = []
    for c in checks:
        lines.append(f"{_MARKS[c.status]} {c.name:<{width}}  {c.verdict}")
        if c.fix:
            lines.append(f"  {'':<{width}}  fix: {c.fix}")
    bad = sum(c.status is not Status.PASS for c in checks)
    lines.append(
        f"all {len(checks)} checks passed"
        if not bad
        else f"{bad} of {len(checks)} checks did not pass"
    )
    return "\n".join(lines) + "\n"


def render_json(checks: Sequence[Check]) -> str:
    """A JSON list of objects: name, status (pass, fail, skip), verdict, fix (or null)."""
    return json.dumps([asdict(c) for c in checks], separators=(",", ":"), ensure_ascii=False)


def exit_code(checks: Sequence[Check]) -> int:
    """0 only when every check passed."""
    return EXIT_OK if all(c.status is Status.PASS for c in checks) else EXIT_FAILURE
