"""`hrvd morning` without a daemon ends with the doctor's advice when Bluetooth cannot work.

No BlueZ, no adapter, or a strap that never appears: one line with the verdict and the fix
that `hrvd doctor` gives, a non-zero exit, and no endless reconnecting.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
from typing import TYPE_CHECKING

import pytest

from harness.fake_bluez import FakeBluez, reset_bleak_state
from harness.mosquitto import free_port
from hrvd.ble.scan import scan_or_explain
from hrvd.cli.morning import morning_command, standalone_morning
from hrvd.config import load_config
from hrvd.errors import HrvdError

if TYPE_CHECKING:
    from pathlib import Path

WITHIN_S = 20.0


def _config(tmp_path: Path) -> Path:
    f = tmp_path / "hrvd.toml"
    f.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n'  # no broker there: no daemon
        '[[strap]]\nname = "H10"\naddress = "AA:BB:CC:DD:EE:70"\nrole = "morning"\n'
        f'[athlete]\nhr_rest = 55\n[store]\npath = "{tmp_path / "store.sqlite3"}"\n'
    )
    return f


async def test_no_bluez_ends_the_morning_with_one_line_and_exit_1(
    private_system_bus: str, tmp_path: Path
) -> None:
    # The whole command, as the user runs it: a bus on which nothing owns org.bluez.
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=private_system_bus)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hrvd.cli",
        "morning",
        "--config",
        str(_config(tmp_path)),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), WITHIN_S)
    assert proc.returncode == 1
    assert err.decode() == (
        "hrvd: error: cannot connect to H10: BlueZ (bluetoothd) is not running "
        "(fix: sudo systemctl enable --now bluetooth)\n"
    )


async def test_no_adapter_ends_the_morning_with_the_doctors_fix(
    private_system_bus: str, tmp_path: Path
) -> None:
    await reset_bleak_state()
    async with FakeBluez(private_system_bus, adapter=False):
        config = await asyncio.to_thread(load_config, _config(tmp_path))
        with pytest.raises(HrvdError, match="BlueZ sees no Bluetooth adapter") as caught:
            await asyncio.wait_for(
                morning_command(config, repeat=False, strap=None, out=io.StringIO()), WITHIN_S
            )
    await reset_bleak_state()
    assert "(fix: enable the Pi's Bluetooth" in str(caught.value)


@pytest.mark.usefixtures("fake_bluez")
async def test_a_strap_that_never_appears_ends_the_morning_at_the_connect_timeout(
    tmp_path: Path,
) -> None:
    config = await asyncio.to_thread(load_config, _config(tmp_path))
    out = io.StringIO()
    with pytest.raises(HrvdError) as caught:
        await asyncio.wait_for(
            standalone_morning(config, repeat=False, strap=None, out=out, connect_timeout_s=2.0),
            WITHIN_S,
        )
    assert str(caught.value) == (
        "cannot connect to H10: H10 (AA:BB:CC:DD:EE:70) was not seen in 2 s: asleep, out of "
        "range, or held by a watch, phone or app (fix: wet the electrodes and put the strap "
        "on, and unlink it from watches, phones and training apps ('hrvd scan' lists the "
        "straps it can see))"
    )


@pytest.mark.usefixtures("private_system_bus")
def test_hrvd_scan_gives_the_same_advice_when_bluez_is_not_running() -> None:
    with pytest.raises(HrvdError) as caught:
        scan_or_explain(1.0)
    assert str(caught.value) == (
        "cannot scan: BlueZ (bluetoothd) is not running "
        "(fix: sudo systemctl enable --now bluetooth)"
    )
