"""``hrvd install-service``'s files, checked by the real tools: systemd and dbus-daemon."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from harness.dbus import DbusStartError, private_dbus
from harness.fake_bluez import FakeBluez, FakeStrap, reset_bleak_state
from hrvd.ble.events import Notification, StrapEvent
from hrvd.ble.session import StrapSession, run_straps
from hrvd.config import StrapConfig
from hrvd.setup.install_service import (
    SYSUSERS_FILE,
    render_dbus_policy,
    render_sysusers,
    render_unit,
)

MAX_EXPOSURE = 2.0


def tool(name: str, package: str = "systemd") -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: apt-get install {package} (.ci/run does)")
    return found


# -- the real tools ---------------------------------------------------------------------------


def test_exposure_is_at_most_two_by_systemd_analyze_security(tmp_path: Path):
    unit = tmp_path / "hrvd.service"
    unit.write_text(render_unit())
    result = subprocess.run(
        [tool("systemd-analyze"), "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Overall exposure level for hrvd\.service: (\d+\.\d)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path):
    hrvd = tmp_path / "hrvd 2%" / "hrvd"  # ExecStart must exist; this one needs quoting
    hrvd.parent.mkdir()
    hrvd.write_text("#!/bin/sh\n")
    hrvd.chmod(0o755)
    unit = tmp_path / "hrvd.service"
    unit.write_text(render_unit(hrvd))
    result = subprocess.run(
        [tool("systemd-analyze"), "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    complaints = [line for line in result.stderr.splitlines() if "hrvd.service" in line]
    assert complaints == []
    assert result.returncode == 0, result.stderr


def test_systemd_sysusers_creates_the_user_and_group(tmp_path: Path):
    conf = tmp_path / SYSUSERS_FILE.relative_to("/")
    conf.parent.mkdir(parents=True)
    conf.write_text(render_sysusers())
    subprocess.run(
        [tool("systemd-sysusers"), f"--root={tmp_path}", str(conf)],
        capture_output=True,
        check=True,
    )
    user = next(
        line.split(":")
        for line in (tmp_path / "etc/passwd").read_text().splitlines()
        if line.startswith("hrvd:")
    )
    assert user[4:] == ["hrvd daemon", "/var/lib/hrvd", "/usr/sbin/nologin"]
    groups = (tmp_path / "etc/group").read_text().splitlines()
    assert any(line.startswith(f"hrvd:x:{user[3]}:") for line in groups)


# -- the D-Bus policy on a real dbus-daemon ------------------------------------------------------

STRICT_BUS = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- The defaults of a system bus (Debian's system.conf), a BlueZ policy that denies
     org.bluez to everyone but those it names, and the hrvd policy under test. -->
<busconfig>
  <auth>EXTERNAL</auth>
  <listen>unix:tmpdir=/tmp</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
    <!-- the fake bluetoothd runs as the same user as the client under test -->
    <allow own="org.bluez"/>
    <deny send_destination="org.bluez"/>
  </policy>
  {include}
</busconfig>
"""


@contextlib.contextmanager
def strict_bus(policy: str | None):
    """A dbus-daemon with system-bus defaults, plus ``policy`` when given; yields its address."""
    tool("dbus-daemon", "dbus-daemon")
    with tempfile.TemporaryDirectory(prefix="hrvd-bus-") as tmp:
        include = ""
        if policy is not None:
            (Path(tmp) / "hrvd.conf").write_text(policy)
            include = f"<include>{tmp}/hrvd.conf</include>"
        (Path(tmp) / "bus.conf").write_text(STRICT_BUS.format(include=include))
        try:
            with private_dbus(Path(tmp) / "bus.conf") as bus:
                yield bus.address
        except DbusStartError as exc:
            pytest.fail(str(exc))


def our_policy() -> str:
    """The policy as installed, for the user this test runs as instead of ``hrvd``."""
    return render_dbus_policy(pwd.getpwuid(os.getuid()).pw_name)


async def call_bluez(address: str, interface: str, member: str, path: str = "/") -> Message:
    bus = await MessageBus(bus_address=address).connect()
    try:
        message = Message(destination="org.bluez", path=path, interface=interface, member=member)
        reply = await bus.call(message)
    finally:
        bus.disconnect()
        await bus.wait_for_disconnect()
    assert reply is not None
    return reply


def access_denied(reply: Message) -> bool:
    return (
        reply.message_type == MessageType.ERROR
        and reply.error_name == "org.freedesktop.DBus.Error.AccessDenied"
    )


async def test_without_the_policy_a_strict_bus_denies_bluez():
    with strict_bus(None) as address:
        async with FakeBluez(address):
            reply = await call_bluez(
                address, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"
            )
    assert access_denied(reply)


async def test_the_policy_allows_bleaks_calls_and_no_others():
    with strict_bus(our_policy()) as address:
        async with FakeBluez(address):
            tree = await call_bluez(
                address, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"
            )
            agent = await call_bluez(
                address, "org.bluez.AgentManager1", "RegisterAgent", "/org/bluez"
            )
    assert tree.message_type == MessageType.METHOD_RETURN
    assert access_denied(agent)


async def test_bleak_streams_a_strap_through_the_policy(monkeypatch: pytest.MonkeyPatch):
    beats: list[object] = []
    enough = asyncio.Event()

    def on_event(event: StrapEvent) -> None:
        if isinstance(event, Notification):
            beats.extend(event.beats)
            if len(beats) >= 10:
                enough.set()

    with strict_bus(our_policy()) as address:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", address)
        await reset_bleak_state()
        try:
            async with FakeBluez(address) as bluez:
                strap = FakeStrap(address="AA:BB:CC:DD:EE:01", time_scale=20.0)
                await bluez.add_strap(strap)
                config = StrapConfig(name=strap.name, address=strap.address)
                session = StrapSession(config, on_event, scan_timeout_s=3.0, max_drift_s=math.inf)
                task = asyncio.create_task(run_straps([session]))
                try:
                    async with asyncio.timeout(15):
                        await enough.wait()
                finally:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        finally:
            await reset_bleak_state()
    assert len(beats) >= 10
