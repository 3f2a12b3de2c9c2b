"""`hrvd init` scanning a fake BlueZ, on a terminal (a pty) and without one; then `hrvd run`."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import signal
import sys
from typing import TYPE_CHECKING

import aiomqtt
import pytest

from harness.daemon import WAIT_S, NotifySocket, daemon, fast_strap
from harness.fake_bluez import FakeBluez, FakeStrap
from hrvd.cli import main
from hrvd.config import StrapConfig, load_config

if TYPE_CHECKING:
    from pathlib import Path

    from harness.mosquitto import Broker

SCAN = ["--timeout", "1"]
HEART = ["--hr-max", "185", "--hr-rest", "50", "--timezone", "UTC"]


async def hrvd_init(
    tmp_path: Path, *argv: str, stdin: int = -1, typed: bytes = b""
) -> tuple[int, str, str]:
    """Run `hrvd init` as a process; stdin a pty when typed, else /dev/null."""
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    master = None
    if typed:
        master, stdin = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hrvd.cli",
        "init",
        *argv,
        env=env,
        stdin=stdin if typed else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        if master is not None:
            os.close(stdin)
            os.write(master, typed)  # type-ahead: the terminal keeps the lines until read
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        if master is not None:
            os.close(master)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_on_a_terminal_the_user_picks_the_second_strap_of_the_scan(
    fake_bluez: FakeBluez, tmp_path: Path
):
    await fake_bluez.add_strap(FakeStrap("AA:BB:CC:DD:EE:51", name="Polar H10 51", rssi=-50))
    await fake_bluez.add_strap(FakeStrap("AA:BB:CC:DD:EE:52", name="HRM-Pro 52", rssi=-80))
    f = tmp_path / "hrvd.toml"
    # Asked: which strap (2), its name (Enter: as advertised), LTHR (skip), user name (none).
    code, out, err = await hrvd_init(
        tmp_path,
        "--output",
        str(f),
        *SCAN,
        *HEART,
        "--role",
        "ride",
        "--broker",
        "localhost",
        typed=b"2\n\n\n\n",
    )
    assert (code, err) == (0, "")
    assert "1) Polar H10 51" in out
    assert "2) HRM-Pro 52" in out
    assert (await asyncio.to_thread(load_config, f)).straps == (
        StrapConfig("HRM-Pro 52", "AA:BB:CC:DD:EE:52", "ride"),
    )


async def test_without_a_terminal_the_one_strap_found_is_taken(
    fake_bluez: FakeBluez, tmp_path: Path
):
    await fake_bluez.add_strap(FakeStrap("AA:BB:CC:DD:EE:53", name="Polar H10 53"))
    f = tmp_path / "hrvd.toml"
    code, out, err = await hrvd_init(tmp_path, "--output", str(f), *SCAN, *HEART)
    assert (code, err) == (0, "")
    assert "found Polar H10 53 AA:BB:CC:DD:EE:53" in out
    assert (await asyncio.to_thread(load_config, f)).straps == (
        StrapConfig("Polar H10 53", "AA:BB:CC:DD:EE:53"),
    )


async def test_without_a_terminal_two_straps_found_ask_for_strap_by_flag(
    fake_bluez: FakeBluez, tmp_path: Path
):
    await fake_bluez.add_strap(FakeStrap("AA:BB:CC:DD:EE:54"))
    await fake_bluez.add_strap(FakeStrap("AA:BB:CC:DD:EE:55"))
    f = tmp_path / "hrvd.toml"
    code, _, err = await hrvd_init(tmp_path, "--yes", "--output", str(f), *SCAN, *HEART)
    assert code == 2
    assert err.count("\n") == 1
    assert "2 straps found" in err
    assert "AA:BB:CC:DD:EE:54" in err
    assert "AA:BB:CC:DD:EE:55" in err
    assert "--strap ADDRESS" in err
    assert not f.exists()


@pytest.mark.usefixtures("fake_bluez")
async def test_a_scan_that_finds_nothing_says_what_to_do_in_one_line(tmp_path: Path):
    f = tmp_path / "hrvd.toml"
    code, _, err = await hrvd_init(tmp_path, "--yes", "--output", str(f), *SCAN, *HEART)
    assert code == 1
    assert err.count("\n") == 1
    assert "no heart-rate strap found: wet the strap's electrodes" in err
    assert "--strap ADDRESS" in err
    assert not f.exists()


async def test_with_the_adapter_off_it_says_so_and_suggests_strap_by_flag(
    fake_bluez: FakeBluez, tmp_path: Path
):
    await fake_bluez.set_powered(False)
    f = tmp_path / "hrvd.toml"
    code, _, err = await hrvd_init(tmp_path, "--yes", "--output", str(f), *SCAN, *HEART)
    assert code == 1
    assert err.count("\n") == 1
    assert "cannot scan" in err
    # The doctor's own verdict and fix, as every command now gives them.
    assert "adapter hci0 is off" in err
    assert "bluetoothctl power on" in err
    assert "--strap ADDRESS" in err


def test_without_bluez_on_the_bus_it_says_so_in_one_line(tmp_path: Path, capsys):
    # The autouse fixture points DBUS_SYSTEM_BUS_ADDRESS at nothing.
    f = tmp_path / "hrvd.toml"
    assert main(["init", "--yes", "--output", str(f), *SCAN, *HEART]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot ask BlueZ over the system D-Bus" in err
    assert "systemctl start dbus bluetooth" in err
    assert "--strap ADDRESS" in err
    assert not f.exists()


async def test_from_hrvd_init_to_a_running_daemon_without_editing_a_file(
    fake_bluez: FakeBluez,
    broker: Broker,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    strap = fast_strap("AA:BB:CC:DD:EE:56")
    await fake_bluez.add_strap(strap)
    f = tmp_path / "hrvd.toml"
    argv = [
        "init",
        "--yes",
        "--output",
        str(f),
        "--strap",
        strap.address,
        "--strap-name",
        "H10 Garage",
        *HEART,
        "--broker",
        f"127.0.0.1:{broker.port}",
    ]
    # The commands as from a shell: each runs its own loop, on a thread here.
    assert await asyncio.to_thread(main, argv) == 0
    assert await asyncio.to_thread(main, ["config", "check", "--config", str(f)]) == 0
    notify = NotifySocket(tmp_path / "notify")
    request.addfinalizer(notify.close)
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as sub,
        daemon(f, notify) as proc,
    ):
        await sub.subscribe("hrvd/h10_garage/state", qos=1)
        await notify.until("READY=1")
        async with asyncio.timeout(WAIT_S):
            message = await anext(aiter(sub.messages))
        assert json.loads(message.payload)["hr_bpm"] is not None  # type: ignore[arg-type]
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert (tmp_path / "data" / "hrvd" / "hrvd.sqlite3").exists()
