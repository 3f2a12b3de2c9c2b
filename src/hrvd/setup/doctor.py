"""`hrvd doctor`: check everything hrvd needs, each with a verdict and a fix.

The checks look at the world (``bluetoothctl``, BlueZ over the system D-Bus, a scan, the
broker, the disk, the kernel's clock) and hand what they saw to
:mod:`hrvd.setup.verdicts`, which words it. Nothing here writes a file or changes a
setting: a store that does not exist yet is not created.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pwd
import shutil
import sqlite3
import ssl
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import aiomqtt
from bleak import BleakScanner
from bleak.exc import BleakError
from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusFastError

from hrvd.config import find_config, load_config
from hrvd.daemon.clock import ClockReading, read_clock
from hrvd.errors import ConfigError
from hrvd.publish.mqtt_auth import (
    CREDENTIALS_PREFIX,
    password_file_warning,
    resolve_password,
    tls_context,
)
from hrvd.setup import verdicts as v
from hrvd.setup.install_service import CREDENTIAL_FILE

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

    from hrvd.config import Config, MqttConfig, StrapConfig

SCAN_TIMEOUT_S = 8.0
"""How long to look for straps that are not connected yet, s."""
DBUS_TIMEOUT_S = 5.0
"""BlueZ answers GetManagedObjects in milliseconds; silence this long means it hangs, s."""
BROKER_TIMEOUT_S = 5.0
"""How long the broker has to answer CONNECT, s."""
STORE_BUSY_S = 2.0
"""How long to wait for a running daemon's write to finish before taking the write lock, s."""
SYSTEM_BUS = "unix:path=/run/dbus/system_bus_socket"
"""Where the system bus is when $DBUS_SYSTEM_BUS_ADDRESS does not say."""
CONFIG_INVALID = "the config is not valid (see config)"


def run_doctor(args: argparse.Namespace, out: TextIO) -> int:
    """Run every check, print the report; 0 only when every check passed."""
    checks = asyncio.run(diagnose(args.config, scan_timeout_s=args.timeout))
    out.write(v.render_json(checks) + "\n" if args.format == "json" else v.render_table(checks))
    return v.exit_code(checks)


async def diagnose(
    config_file: str | None,
    *,
    scan_timeout_s: float = SCAN_TIMEOUT_S,
    clock: Callable[[], ClockReading] | None = None,
) -> list[v.Check]:
    """Every check, in report order: config, Bluetooth and straps, broker, store, clock.

    Args:
        config_file: ``--config``, or None to look where every command looks.
        scan_timeout_s: how long to look for straps, s.
        clock: reads the kernel's clock (default :func:`read_clock`).
    """
    # Files and SQLite (which may wait STORE_BUSY_S for a daemon's write) on threads.
    config_check, config = await asyncio.to_thread(_load, config_file)
    straps = None if config is None else config.straps
    bluetooth, broker = await asyncio.gather(
        check_bluetooth(straps, scan_timeout_s), check_broker(config)
    )
    if config is None:
        store = v.skipped("store", CONFIG_INVALID)
    else:
        store = await asyncio.to_thread(check_store, config.store.path)
    return [config_check, *bluetooth, broker, store, v.clock_verdict((clock or read_clock)())]


def _load(config_file: str | None) -> tuple[v.Check, Config | None]:
    try:
        path = find_config(config_file)
    except ConfigError as exc:
        return v.config_failed(exc, found=False), None
    try:
        config = load_config(path)
    except ConfigError as exc:
        return v.config_failed(exc, found=path.is_file()), None
    return v.config_ok(config), config


# --- Bluetooth --------------------------------------------------------------------------


async def check_bluetooth(
    straps: Sequence[StrapConfig] | None, scan_timeout_s: float
) -> list[v.Check]:
    """BlueZ's version, D-Bus access, the adapter, then each strap (None: no valid config)."""
    checks = [v.bluez_verdict(await bluetoothctl_version())]
    access, objects = await bluez_objects()
    checks.append(access)
    no_bluez = "BlueZ cannot be asked (see dbus)"
    if objects is None:
        adapter = v.skipped("adapter", no_bluez)
    else:
        adapter = v.adapter_verdict(_adapters(objects))
    checks.append(adapter)
    if straps is None:
        checks.append(v.skipped("straps", CONFIG_INVALID))
    elif not straps:
        checks.append(v.no_straps())
    elif objects is None or adapter.status is not v.Status.PASS:
        why = no_bluez if objects is None else "no adapter is on (see adapter)"
        checks += [v.skipped(f"strap {s.name}", why) for s in straps]
    else:
        checks += await check_straps(straps, objects, scan_timeout_s)
    return checks


async def bluetoothctl_version() -> str | None:
    """What ``bluetoothctl --version`` prints (as bleak asks), or None if it is missing."""
    try:
        proc = await asyncio.create_subprocess_exec(
            "bluetoothctl",
            "--version",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return None
    output, _ = await proc.communicate()
    return output.decode(errors="replace")


_Objects = dict[str, dict[str, dict[str, Any]]]
"""GetManagedObjects as plain values: path -> interface -> property -> value."""


async def bluez_objects() -> tuple[v.Check, _Objects | None]:
    """Ask BlueZ for its objects as bleak does: the D-Bus check, and what BlueZ answered."""
    user = _user()
    try:
        bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    except (OSError, DBusFastError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        address = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or SYSTEM_BUS
        return v.dbus_unreachable(f"{reason} ({address})"), None
    try:
        async with asyncio.timeout(DBUS_TIMEOUT_S):
            reply = await bus.call(
                Message(
                    destination="org.bluez",
                    path="/",
                    member="GetManagedObjects",
                    interface="org.freedesktop.DBus.ObjectManager",
                )
            )
    except TimeoutError:
        return v.dbus_unreachable(f"BlueZ did not answer in {DBUS_TIMEOUT_S:g} s"), None
    finally:
        bus.disconnect()
        with contextlib.suppress(Exception):
            # dbus-fast leaves this one unannotated.
            await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
    if reply.message_type is MessageType.ERROR:
        text = str(reply.body[0]) if reply.body else ""
        return v.dbus_verdict(user, reply.error_name, text), None
    objects: _Objects = {
        str(path): {
            str(iface): {str(k): p.value if isinstance(p, Variant) else p for k, p in props.items()}
            for iface, props in interfaces.items()
        }
        for path, interfaces in reply.body[0].items()
    }
    return v.dbus_verdict(user), objects


async def bluetooth_problem() -> v.Check | None:
    """The D-Bus or adapter check that fails, or None when a scan can start.

    What ``hrvd morning`` and ``hrvd scan`` ask before (or after) a failed connect, so that
    no BlueZ or no adapter ends them with the doctor's own verdict and fix.
    """
    access, objects = await bluez_objects()
    if objects is None:
        return access
    adapter = v.adapter_verdict(_adapters(objects))
    return adapter if adapter.status is v.Status.FAIL else None


def _user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def _adapters(objects: _Objects) -> dict[str, bool]:
    return {
        path: bool(ifaces["org.bluez.Adapter1"].get("Powered"))
        for path, ifaces in objects.items()
        if "org.bluez.Adapter1" in ifaces
    }


def _connected_here(strap: StrapConfig, objects: _Objects) -> bool:
    for ifaces in objects.values():
        device = ifaces.get("org.bluez.Device1")
        if device is None or not device.get("Connected"):
            continue
        names = (device.get("Name"), device.get("Alias"))
        if v.is_strap(strap, str(device.get("Address", "")), names):
            return True
    return False


async def check_straps(
    straps: Sequence[StrapConfig], objects: _Objects, scan_timeout_s: float
) -> list[v.Check]:
    """Each strap: connected here already, or seen advertising within ``scan_timeout_s``."""
    held = {s.name for s in straps if _connected_here(s, objects)}
    wanted = [s for s in straps if s.name not in held]
    try:
        seen = await scan_for(wanted, scan_timeout_s) if wanted else {}
    except BleakError as exc:
        return [
            v.failed(f"strap {s.name}", f"the scan failed: {exc}", v.SERVICE_FIX) for s in straps
        ]
    return [
        v.strap_verdict(
            s, connected=s.name in held, rssi=seen.get(s.name), scanned_s=scan_timeout_s
        )
        for s in straps
    ]


async def scan_for(straps: Sequence[StrapConfig], timeout_s: float) -> dict[str, int]:
    """Scan until every strap advertised, or ``timeout_s``; their RSSI (dBm) by name.

    Unlike ``hrvd scan``, no filter on the Heart Rate service: a strap is matched by
    address or name, as ``hrvd run`` finds it.

    Raises:
        bleak.exc.BleakError: the scan could not start.
    """
    seen: dict[str, int] = {}
    all_seen = asyncio.Event()

    def on_advert(device: BLEDevice, adv: AdvertisementData) -> None:
        for strap in straps:
            if v.is_strap(strap, device.address, (device.name, adv.local_name)):
                seen[strap.name] = adv.rssi
        if len(seen) == len(straps):
            all_seen.set()

    async with BleakScanner(detection_callback=on_advert):
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await all_seen.wait()
    return seen


# --- the broker -------------------------------------------------------------------------


async def check_broker(config: Config | None) -> v.Check:
    """Connect as the daemon would (credentials, TLS); disconnect at once.

    A password file every user can read is a warning in the verdict, whatever the outcome.
    """
    if config is None:
        return v.skipped("broker", CONFIG_INVALID)
    check = await _connect_broker(config)
    warning = await asyncio.to_thread(password_file_warning, _outside_systemd(config.mqtt))
    return (
        check if warning is None else replace(check, verdict=f"{check.verdict}; warning: {warning}")
    )


async def _connect_broker(config: Config) -> v.Check:
    cfg = config.mqtt
    try:
        # Files (the password, the CA and client certificates) read on threads.
        password = await asyncio.to_thread(resolve_password, _outside_systemd(cfg), config.source)
        tls = await asyncio.to_thread(tls_context, cfg)
    except ConfigError as exc:
        return v.broker_setup_failed(str(exc))
    except (OSError, ssl.SSLError) as exc:
        files = (cfg.tls_ca_file, cfg.tls_cert_file, cfg.tls_key_file)
        named = ", ".join(str(f) for f in files if f is not None)
        return v.broker_setup_failed(f"the TLS files {named}: {exc}")
    client = aiomqtt.Client(
        cfg.host,
        cfg.port,
        username=cfg.username,
        password=password,
        tls_context=tls,
        identifier=f"hrvd-doctor-{os.getpid()}",
        timeout=BROKER_TIMEOUT_S,
        logger=_QUIET,
    )
    try:
        async with client:
            pass
    except aiomqtt.MqttError as exc:
        return v.broker_failed(cfg, broker_failure(exc, tls=tls is not None), str(exc))
    return v.broker_ok(cfg)


def _outside_systemd(cfg: MqttConfig) -> MqttConfig:
    """Outside the service, read its credential from where systemd copies it."""
    name = str(cfg.password_file or "")
    if name.startswith(CREDENTIALS_PREFIX) and not os.environ.get("CREDENTIALS_DIRECTORY"):
        source = Path(CREDENTIAL_FILE.parent, name.removeprefix(CREDENTIALS_PREFIX))
        return replace(cfg, password_file=source)
    return cfg


_QUIET = logging.getLogger("hrvd.doctor.mqtt")
_QUIET.addHandler(logging.NullHandler())  # the verdict says it; no stray line on stderr
_AUTH_CODES = {4, 5, 0x86, 0x87}
"""CONNACK codes for a bad user name or password, and not authorised (MQTT 3.1.1 and 5)."""


def broker_failure(exc: aiomqtt.MqttError, *, tls: bool) -> str:
    """Which of :data:`hrvd.setup.verdicts.BROKER_FAILURES` a connection error is.

    aiomqtt keeps only the message of the socket's error, so the message decides.
    """
    if isinstance(exc, aiomqtt.MqttCodeError):
        return "auth" if getattr(exc.rc, "value", exc.rc) in _AUTH_CODES else "other"
    text = str(exc)
    if tls and "Connection reset" in text:
        return "tls"  # a broker without TLS drops the ClientHello
    for kind, markers in (
        ("refused", ("Connection refused",)),
        ("timeout", ("timed out",)),
        ("tls", ("SSL", "certificate")),
        ("name", ("Name or service not known", "Temporary failure in name resolution")),
    ):
        if any(m in text for m in markers):
            return kind
    return "other"


# --- the store and the clock ------------------------------------------------------------


def check_store(path: Path) -> v.Check:
    """Whether this user can write the store, without writing to it.

    A temporary file in its directory (or the nearest one that exists: hrvd creates the
    rest), then SQLite's write lock on the store when it exists, taken and given back.
    """
    try:
        directory = path.parent
        while not directory.exists():
            directory = directory.parent
        with tempfile.TemporaryFile(dir=directory) as probe:
            probe.write(b"hrvd doctor")
            probe.flush()
        exists = path.exists()
        if exists:
            _take_write_lock(path)
        free = shutil.disk_usage(directory).free
    except OSError as exc:
        return v.store_unwritable(path, exc.strerror or str(exc))
    except sqlite3.OperationalError as exc:
        return v.store_unwritable(path, str(exc))
    except sqlite3.DatabaseError as exc:
        return v.store_damaged(path, str(exc))
    return v.store_ok(path, exists=exists, free_bytes=free)


def _take_write_lock(path: Path) -> None:
    db = sqlite3.connect(path.absolute().as_uri() + "?mode=rw", uri=True, timeout=STORE_BUSY_S)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.rollback()
    finally:
        db.close()
