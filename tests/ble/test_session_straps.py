"""Strap sessions side by side with real bleak: many straps, a crashing one, and the scan."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs

from hrvd.ble.events import LinkState, Notification, StrapEvent
from hrvd.ble.scan import scan
from hrvd.ble.session import StrapSession, supervise
from hrvd.config import StrapConfig
from support.session_rig import Recorder, fake_strap, running, strap_session

if TYPE_CHECKING:
    from harness.fake_bluez import FakeBluez


async def test_two_straps_stream_side_by_side_and_one_dropping_leaves_the_other(
    fake_bluez: FakeBluez,
):
    a = fake_strap("AA:BB:CC:DD:EE:10", name="Polar H10 A")
    b = fake_strap("AA:BB:CC:DD:EE:11", name="Polar H10 B")
    await fake_bluez.add_strap(a)
    await fake_bluez.add_strap(b)
    rec = Recorder()
    async with running(strap_session(a, rec), strap_session(b, rec)):
        await rec.until(lambda: len(rec.beats(a.name)) >= 5 and len(rec.beats(b.name)) >= 5)
        await a.drop()
        await rec.until(lambda: LinkState.DISCONNECTED in rec.states(a.name))
        await rec.until(lambda: rec.states(a.name)[-1] is LinkState.STREAMING)
    assert LinkState.DISCONNECTED not in rec.states(b.name)
    assert [x.rr_raw for x in rec.beats(b.name)] == b.sent_rr_raw[: len(rec.beats(b.name))]


async def test_twenty_straps_on_one_simulated_adapter(fake_bluez: FakeBluez):
    straps = [
        fake_strap(f"AA:BB:CC:DD:EF:{i:02X}", name=f"Strap {i}", notify_interval_s=0.1)
        for i in range(20)
    ]
    for s in straps:
        await fake_bluez.add_strap(s)
    rec = Recorder()
    async with running(*(strap_session(s, rec, stall_timeout_s=3.0) for s in straps)):
        await rec.until(lambda: all(len(rec.beats(s.name)) >= 3 for s in straps), within_s=60)
    for s in straps:
        got = [x.rr_raw for x in rec.beats(s.name)]
        assert got == s.sent_rr_raw[: len(got)]


async def test_a_crashing_session_is_restarted_without_touching_its_sibling(
    fake_bluez: FakeBluez,
):
    a = fake_strap("AA:BB:CC:DD:EE:20", name="Buggy")
    b = fake_strap("AA:BB:CC:DD:EE:21", name="Steady")
    await fake_bluez.add_strap(a)
    await fake_bluez.add_strap(b)
    rec = Recorder()
    crashed = []

    def buggy(event: StrapEvent) -> None:
        if isinstance(event, Notification) and event.beats and not crashed:
            crashed.append(event)
            msg = "a bug in a consumer"
            raise RuntimeError(msg)
        rec(event)

    buggy_session = strap_session(a, rec)
    buggy_session._emit = buggy  # noqa: SLF001 - inject the bug where a consumer would have it
    with capture_logs() as logs:
        async with running(buggy_session, strap_session(b, rec)):
            await rec.until(lambda: len(rec.beats(b.name)) >= 5)
            await rec.until(lambda: len(rec.beats(a.name)) >= 5)
    assert crashed
    assert any(e["event"] == "session crashed; restarting" for e in logs)
    assert LinkState.DISCONNECTED not in rec.states(b.name)


async def test_supervise_restarts_a_session_whose_run_raises():
    runs = []
    third_run = asyncio.Event()

    class Boom(StrapSession):
        async def run(self) -> None:
            runs.append(1)
            if len(runs) < 3:
                msg = "bug"
                raise ValueError(msg)
            third_run.set()
            await asyncio.Event().wait()

    session = Boom(StrapConfig(name="x"), lambda _e: None)
    task = asyncio.create_task(supervise(session))
    async with asyncio.timeout(10):
        await third_run.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert len(runs) == 3


async def test_scan_lists_heart_rate_straps_with_name_address_and_rssi(fake_bluez: FakeBluez):
    await fake_bluez.add_strap(fake_strap("AA:BB:CC:DD:EE:30", name="Polar H10 X"))
    found = await scan(1.5)
    assert [(s.name, s.address) for s in found] == [("Polar H10 X", "AA:BB:CC:DD:EE:30")]
    assert -100 < found[0].rssi < 0


async def _hrvd_scan(*args: str) -> tuple[int | None, bytes, bytes]:
    """``hrvd scan ARGS`` in a child process (it finds the fake BlueZ by the environment)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hrvd.cli",
        "scan",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    out, err = await proc.communicate()
    return proc.returncode, out, err


async def test_scan_command_prints_json(fake_bluez: FakeBluez):
    await fake_bluez.add_strap(fake_strap("AA:BB:CC:DD:EE:31", name="TICKR 1"))
    code, out, err = await _hrvd_scan("--timeout", "1.5", "--format", "json")
    assert code == 0, err.decode()
    assert json.loads(out)[0]["address"] == "AA:BB:CC:DD:EE:31"


@pytest.mark.usefixtures("fake_bluez")
async def test_scan_command_with_no_strap_says_what_to_check():
    code, out, err = await _hrvd_scan("--timeout", "0.5")
    assert code == 0
    assert b"no heart-rate strap found" in err  # the advice; into a pipe, stdout is CSV
    assert out == b"NAME,ADDRESS,RSSI_DBM\n"
