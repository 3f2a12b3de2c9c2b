"""``hrvd install-service``: golden renders, the writer, and the files checked by the real tools.

Golden files live in tests/golden/. After an intended change, regenerate them (and the
copies under systemd/) with ``HRVD_UPDATE_GOLDEN=1 .venv/bin/pytest tests/setup/test_install.py``
and review the diff.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path, PurePosixPath

import pytest
from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from harness.dbus import DbusStartError, private_dbus
from harness.fake_bluez import FakeBluez, FakeStrap, reset_bleak_state
from hrvd.ble.events import Notification, StrapEvent
from hrvd.ble.session import StrapSession, run_straps
from hrvd.config import StrapConfig
from hrvd.errors import UsageError
from hrvd.setup.install_service import (
    DBUS_POLICY_FILE,
    SYSUSERS_FILE,
    UNIT_FILE,
    install_service,
    installed_hrvd,
    next_steps,
    render_dbus_policy,
    render_sysusers,
    render_unit,
    run_install_service,
)

REPO = Path(__file__).parents[2]
GOLDEN = Path(__file__).parents[1] / "golden"
UPDATE = os.environ.get("HRVD_UPDATE_GOLDEN") == "1"
MAX_EXPOSURE = 2.0
CUSTOM_HRVD = PurePosixPath("/srv/hrvd 2%/venv/bin/hrvd")
"""A path the unit must quote: a space, and a % that systemd would take for a specifier."""
CUSTOM_CONFIG = PurePosixPath("/etc/hrvd/pi$1.toml")


def check_golden(name: str, text: str, *copies: Path) -> None:
    golden = GOLDEN / name
    if UPDATE:
        for path in (golden, *copies):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    assert golden.read_text(encoding="utf-8") == text, (
        f"{name} changed: review, then HRVD_UPDATE_GOLDEN=1 to accept"
    )
    for copy in copies:
        assert copy.read_text(encoding="utf-8") == text, f"{copy} is not the render of {name}"


def tool(name: str, package: str = "systemd") -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: apt-get install {package} (.ci/run does)")
    return found


# -- renders ---------------------------------------------------------------------------------


def test_the_unit_matches_its_golden_file_and_the_repository_copy():
    check_golden("hrvd.service", render_unit(), REPO / "systemd" / "hrvd.service")


def test_the_sysusers_file_matches_its_golden_file_and_the_repository_copy():
    check_golden("hrvd.sysusers.conf", render_sysusers(), REPO / "systemd" / "hrvd.sysusers.conf")


def test_the_dbus_policy_matches_its_golden_file_and_the_repository_copy():
    check_golden("hrvd-dbus.conf", render_dbus_policy(), REPO / "systemd" / "hrvd-dbus.conf")


def test_dry_run_prints_every_file_with_the_paths_of_this_install(tmp_path: Path):
    out = io.StringIO()
    code = run_install_service(
        out, dry_run=True, root=tmp_path, hrvd_path=CUSTOM_HRVD, config_path=CUSTOM_CONFIG
    )
    assert code == 0
    check_golden("install-service-dry-run.txt", out.getvalue())
    assert list(tmp_path.iterdir()) == []


def test_the_unit_runs_the_installed_hrvd_with_its_config():
    unit = render_unit(PurePosixPath("/opt/x/bin/hrvd"), PurePosixPath("/etc/x.toml"))
    assert "\nExecStart=/opt/x/bin/hrvd run --config /etc/x.toml\n" in unit


def test_unit_quotes_a_path_with_spaces_and_escapes_specifiers_and_variables():
    unit = render_unit(CUSTOM_HRVD, CUSTOM_CONFIG)
    assert '\nExecStart="/srv/hrvd 2%%/venv/bin/hrvd" run --config "/etc/hrvd/pi$$1.toml"\n' in unit


@pytest.mark.parametrize(
    "hrvd_path",
    ["/home/pi/hrvd/.venv/bin/hrvd", "/root/.local/bin/hrvd", "/run/user/1000/hrvd"],
)
def test_a_command_the_sandbox_hides_is_refused(hrvd_path: str):
    with pytest.raises(UsageError, match="ProtectHome=yes"):
        render_unit(PurePosixPath(hrvd_path))


def test_relative_paths_and_control_characters_are_refused():
    with pytest.raises(UsageError, match="absolute"):
        render_unit(PurePosixPath("venv/bin/hrvd"))
    with pytest.raises(UsageError, match="control characters"):
        render_unit(PurePosixPath("/opt/hrvd\n/bin/hrvd"))


def test_the_installed_hrvd_is_the_command_beside_this_python(monkeypatch, tmp_path: Path):
    assert installed_hrvd() == Path(sys.executable).absolute().with_name("hrvd")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(UsageError, match="no hrvd command"):
        installed_hrvd()


# -- the writer ------------------------------------------------------------------------------


def installed(root: Path) -> dict[PurePosixPath, str]:
    return {
        path: (root / path.relative_to("/")).read_text(encoding="utf-8")
        for path in (UNIT_FILE, SYSUSERS_FILE, DBUS_POLICY_FILE)
        if (root / path.relative_to("/")).exists()
    }


def test_install_writes_the_three_files_under_root(tmp_path: Path):
    written = install_service(dry_run=False, root=tmp_path, hrvd_path=CUSTOM_HRVD)
    assert installed(tmp_path) == {
        UNIT_FILE: render_unit(CUSTOM_HRVD),
        SYSUSERS_FILE: render_sysusers(),
        DBUS_POLICY_FILE: render_dbus_policy(),
    }
    assert [path for path, _ in written] == [
        tmp_path / "etc/systemd/system/hrvd.service",
        tmp_path / "etc/sysusers.d/hrvd.conf",
        tmp_path / "etc/dbus-1/system.d/hrvd.conf",
    ]
    for path, _ in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in (tmp_path / "etc/systemd/system").iterdir()) == ["hrvd.service"]


def test_installing_the_same_files_again_is_fine(tmp_path: Path):
    install_service(dry_run=False, root=tmp_path, hrvd_path=CUSTOM_HRVD)
    install_service(dry_run=False, root=tmp_path, hrvd_path=CUSTOM_HRVD)
    assert installed(tmp_path)[UNIT_FILE] == render_unit(CUSTOM_HRVD)


def test_a_different_file_is_not_replaced_and_nothing_is_written(tmp_path: Path):
    policy = tmp_path / DBUS_POLICY_FILE.relative_to("/")
    policy.parent.mkdir(parents=True)
    policy.write_text("<busconfig/>\n")
    with pytest.raises(UsageError, match=r"hrvd\.conf already exists.*--force") as caught:
        install_service(dry_run=False, root=tmp_path, hrvd_path=CUSTOM_HRVD)
    assert str(policy) in str(caught.value)
    assert installed(tmp_path) == {DBUS_POLICY_FILE: "<busconfig/>\n"}


def test_force_replaces_a_different_file(tmp_path: Path):
    install_service(dry_run=False, root=tmp_path, hrvd_path=CUSTOM_HRVD)
    install_service(
        dry_run=False, root=tmp_path, hrvd_path=PurePosixPath("/opt/hrvd/venv/bin/hrvd"), force=True
    )
    assert installed(tmp_path)[UNIT_FILE] == render_unit()


def test_dry_run_writes_nothing_even_over_a_different_file(tmp_path: Path):
    unit = tmp_path / UNIT_FILE.relative_to("/")
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\n")
    files = install_service(dry_run=True, root=tmp_path, hrvd_path=CUSTOM_HRVD)
    assert files[0][1] == render_unit(CUSTOM_HRVD)
    assert installed(tmp_path) == {UNIT_FILE: "[Service]\n"}


def test_a_file_that_cannot_be_written_is_a_usage_error(tmp_path: Path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/systemd").write_text("not a directory")
    with pytest.raises(UsageError, match="cannot write"):
        install_service(dry_run=False, root=tmp_path, hrvd_path=CUSTOM_HRVD)


def test_install_prints_what_it_wrote_and_the_next_steps(tmp_path: Path):
    out = io.StringIO()
    assert run_install_service(out, root=tmp_path, hrvd_path=CUSTOM_HRVD) == 0
    lines = out.getvalue().splitlines()
    assert lines[:4] == [
        "wrote /etc/systemd/system/hrvd.service",
        "wrote /etc/sysusers.d/hrvd.conf",
        "wrote /etc/dbus-1/system.d/hrvd.conf",
        "next steps:",
    ]
    steps = "\n".join(lines[4:])
    assert "/etc/hrvd/hrvd.toml" in steps
    assert "install -m 600 /dev/null /etc/hrvd/mqtt-password" in steps
    order = ["systemd-sysusers", "daemon-reload", "enable --now hrvd", "journalctl -u hrvd"]
    assert [steps.index(word) for word in order] == sorted(steps.index(word) for word in order)


def test_next_steps_skip_the_config_and_credential_once_they_exist(tmp_path: Path):
    (tmp_path / "etc/hrvd").mkdir(parents=True)
    (tmp_path / "etc/hrvd/hrvd.toml").write_text("")
    (tmp_path / "etc/hrvd/mqtt-password").write_text("")
    assert next_steps(tmp_path)[0] == "sudo systemd-sysusers /etc/sysusers.d/hrvd.conf"


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
