"""Strap sessions with real bleak against the fake BlueZ on a private bus."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import sys
import time

import pytest
from structlog.testing import capture_logs

from harness.fake_bluez import FakeBluez, FakeStrap
from hrvd.ble.events import BatteryLevel, LinkChange, LinkState, Notification, StrapEvent
from hrvd.ble.scan import scan
from hrvd.ble.session import StrapSession, run_straps, supervise
from hrvd.config import StrapConfig

STALL_S = 0.6
"""Stall timeout in wall seconds."""
WAIT_S = 15.0
SCALE = 20.0
"""The fake hearts beat this many strap seconds per wall second, so that a test sees
many beats in little time; their RR sum then runs ahead of the receive clock, so the
sessions under test do not cut the series for drift (the timeline's own tests do)."""


def fake_strap(address: str, **kwargs) -> FakeStrap:
    return FakeStrap(address=address, time_scale=SCALE, **kwargs)


class Recorder:
    """Collects a session's events and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[StrapEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: StrapEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def states(self, strap: str | None = None) -> list[LinkState]:
        return [
            e.state
            for e in self.events
            if isinstance(e, LinkChange) and (strap is None or e.strap == strap)
        ]

    def beats(self, strap: str | None = None) -> list:
        return [
            b
            for e in self.events
            if isinstance(e, Notification) and (strap is None or e.strap == strap)
            for b in e.beats
        ]

    async def until(self, predicate, within_s: float = WAIT_S) -> None:
        async with asyncio.timeout(within_s):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


def _session(strap: FakeStrap, rec: Recorder, **kwargs) -> StrapSession:
    return StrapSession(
        StrapConfig(name=strap.name, address=strap.address),
        rec,
        stall_timeout_s=kwargs.pop("stall_timeout_s", STALL_S),
        scan_timeout_s=kwargs.pop("scan_timeout_s", 3.0),
        max_drift_s=math.inf,
        **kwargs,
    )


@contextlib.asynccontextmanager
async def running(*sessions: StrapSession):
    task = asyncio.create_task(run_straps(list(sessions)))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_streams_every_rr_value_exactly_as_the_strap_sent_it(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:01")
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    async with running(_session(strap, rec)):
        await rec.until(lambda: len(rec.beats()) >= 40)
    received = [b.rr_raw for b in rec.beats()]
    sent = strap.sent_rr_raw
    assert received == sent[: len(received)]
    assert rec.states()[:2] == [LinkState.CONNECTING, LinkState.STREAMING]
    beats = rec.beats()
    assert beats[0].gap_before
    assert not any(b.gap_before for b in beats[1:])
    times = [b.t_s for b in beats]
    assert times == sorted(times)


async def test_battery_comes_from_bluez_battery1(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:02", battery=64)
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    async with running(_session(strap, rec)):
        await rec.until(lambda: any(isinstance(e, BatteryLevel) for e in rec.events))
    assert [e.percent for e in rec.events if isinstance(e, BatteryLevel)] == [64]


async def test_battery_comes_from_gatt_when_the_strap_exposes_it(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:03", battery=41, gatt_battery=True)
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    async with running(_session(strap, rec)):
        await rec.until(lambda: any(isinstance(e, BatteryLevel) for e in rec.events))
    assert [e.percent for e in rec.events if isinstance(e, BatteryLevel)] == [41]


async def test_reconnects_after_the_strap_drops_and_marks_the_gap(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:04")
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    async with running(_session(strap, rec)):
        await rec.until(lambda: len(rec.beats()) >= 10)
        before = len(rec.beats())
        dropped_at = time.monotonic()
        await strap.drop()
        await rec.until(lambda: LinkState.DISCONNECTED in rec.states())
        await rec.until(lambda: rec.states()[-1] is LinkState.STREAMING)
        back_after_s = time.monotonic() - dropped_at
        await rec.until(lambda: len(rec.beats()) >= before + 10)
    states = rec.states()
    assert states[:2] == [LinkState.CONNECTING, LinkState.STREAMING]
    assert states[2:5] == [LinkState.DISCONNECTED, LinkState.CONNECTING, LinkState.STREAMING]
    assert rec.beats()[before].gap_before
    assert strap.connects == 2
    sys.stderr.write(f"forced disconnect -> streaming again: {back_after_s:.2f} s\n")
    assert back_after_s < 5.0


async def test_a_stall_while_connected_is_detected_and_reconnected(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:05")
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    async with running(_session(strap, rec)):
        await rec.until(lambda: len(rec.beats()) >= 5)
        before = len(rec.beats())
        strap.stall(STALL_S * 4)
        await rec.until(lambda: LinkState.STALLED in rec.states())
        await rec.until(lambda: len(rec.beats()) > before + 5)
    states = rec.states()
    i = states.index(LinkState.STALLED)
    assert states[i + 1 : i + 3] == [LinkState.CONNECTING, LinkState.STREAMING]
    assert strap.connects >= 2
    assert rec.beats()[before].gap_before


async def test_refused_connects_back_off_then_succeed(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:06")
    strap.refuse_connects(6, "org.bluez.Error.Failed", "Software caused connection abort")
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    with capture_logs() as logs:
        async with running(_session(strap, rec)):
            await rec.until(lambda: LinkState.STREAMING in rec.states(), within_s=30)
    waits = [e["after_s"] for e in logs if e["event"] == "reconnecting"]
    assert len(waits) >= 2
    assert waits[1] > waits[0]
    assert any(e.get("reason", "") and "abort" in e["reason"] for e in logs if e["event"] == "link")


async def test_le_connection_abort_by_local_is_retried_until_it_connects(
    fake_bluez: FakeBluez,
):
    # bleak waits for the disconnect that follows this BlueZ error before it retries.
    strap = fake_strap("AA:BB:CC:DD:EE:0C")
    strap.refuse_connects(5, "org.bluez.Error.Failed", "le-connection-abort-by-local")
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    async with running(_session(strap, rec)):
        await rec.until(lambda: len(rec.beats()) >= 3, within_s=30)
    assert strap.refused == 5
    # The disconnect that BlueZ sends after the last refusal may land on the connection
    # that then succeeded; the session recovers from that too.
    assert strap.connects >= 1
    assert rec.states()[-1] is LinkState.STREAMING


async def test_a_stale_in_progress_connect_is_cleared(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:07")
    strap.refuse_connects(4, "org.bluez.Error.InProgress", "Operation already in progress")
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    async with running(_session(strap, rec)):
        await rec.until(lambda: LinkState.STREAMING in rec.states(), within_s=30)
    assert strap.connects == 1


async def test_malformed_payloads_are_counted_and_logged_not_fatal(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:08")
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    session = _session(strap, rec)
    with capture_logs() as logs:
        async with running(session):
            await rec.until(lambda: len(rec.beats()) >= 3)
            strap.send_raw(b"\x10\x4b\x3a")  # ends in half an RR value
            strap.send_raw(b"")
            await rec.until(lambda: session.malformed == 2)
            before = len(rec.beats())
            await rec.until(lambda: len(rec.beats()) > before + 3)
    assert next(e for e in logs if e["event"] == "malformed payload")["count"] == 1
    assert rec.states().count(LinkState.STREAMING) == 1
    # The beats a malformed payload carried are lost: the next beat starts a new segment.
    assert sum(b.gap_before for b in rec.beats()) == 2


async def test_a_link_left_by_a_killed_hrvd_is_closed_and_the_strap_found_at_once(
    fake_bluez: FakeBluez, private_system_bus: str
):
    strap = fake_strap("AA:BB:CC:DD:EE:0A")
    await fake_bluez.add_strap(strap)
    # Another process connects with bleak and dies without disconnecting: BlueZ keeps
    # the link, and a connected strap does not advertise.
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER.format(address=strap.address),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": private_system_bus},
    )
    assert holder.stdout is not None
    assert await asyncio.wait_for(holder.stdout.readline(), WAIT_S) == b"connected\n"
    holder.kill()
    await holder.wait()
    assert strap.is_connected
    rec = Recorder()
    async with running(_session(strap, rec, scan_timeout_s=2.0)):
        await rec.until(lambda: len(rec.beats()) >= 3, within_s=8.0)
    assert rec.states().count(LinkState.STREAMING) == 1


HOLDER = """
import asyncio
from bleak import BleakClient, BleakScanner

async def main():
    device = await BleakScanner.find_device_by_address("{address}", timeout=5)
    client = BleakClient(device)
    await client.connect()
    print("connected", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_no_contact_is_a_state_not_beats(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:09")
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    async with running(_session(strap, rec)):
        await rec.until(lambda: len(rec.beats()) >= 3)
        strap.set_contact(False)
        await rec.until(lambda: LinkState.NO_CONTACT in rec.states())
        during = len(rec.beats())
        await asyncio.sleep(0.3)
        assert len(rec.beats()) == during
        strap.set_contact(True)
        await rec.until(lambda: len(rec.beats()) > during)
    assert rec.states()[-1] is LinkState.STREAMING
    assert rec.beats()[during].gap_before
    quiet = [e for e in rec.events if isinstance(e, Notification) and e.contact is False]
    assert quiet
    assert all(not e.beats for e in quiet)


async def test_strap_out_of_range_is_retried_until_it_is_back(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:0A")
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    with capture_logs() as logs:
        async with running(_session(strap, rec, scan_timeout_s=0.5)):
            await rec.until(lambda: len(rec.beats()) >= 3)
            strap.vanish()
            await strap.drop()
            await rec.until(
                lambda: sum(1 for e in logs if e["event"] == "reconnecting") >= 3, within_s=20
            )
            strap.appear()
            await rec.until(lambda: rec.states()[-1] is LinkState.STREAMING, within_s=30)
    assert any("not found" in (e.get("reason") or "") for e in logs if e["event"] == "link")


async def test_adapter_powered_off_is_waited_out(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:0B")
    await fake_bluez.add_strap(strap)
    await fake_bluez.set_powered(False)
    rec = Recorder()
    with capture_logs() as logs:
        async with running(_session(strap, rec, scan_timeout_s=0.5)):
            await rec.until(
                lambda: sum(1 for e in logs if e["event"] == "reconnecting") >= 2, within_s=20
            )
            assert LinkState.STREAMING not in rec.states()
            await fake_bluez.set_powered(True)
            await rec.until(lambda: LinkState.STREAMING in rec.states(), within_s=30)


async def test_two_straps_stream_side_by_side_and_one_dropping_leaves_the_other(
    fake_bluez: FakeBluez,
):
    a = fake_strap("AA:BB:CC:DD:EE:10", name="Polar H10 A")
    b = fake_strap("AA:BB:CC:DD:EE:11", name="Polar H10 B")
    await fake_bluez.add_strap(a)
    await fake_bluez.add_strap(b)
    rec = Recorder()
    async with running(_session(a, rec), _session(b, rec)):
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
    async with running(*(_session(s, rec, stall_timeout_s=3.0) for s in straps)):
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

    buggy_session = _session(a, rec)
    buggy_session._emit = buggy  # noqa: SLF001 - inject the bug where a consumer would have it
    with capture_logs() as logs:
        async with running(buggy_session, _session(b, rec)):
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


async def test_scan_command_prints_json(fake_bluez: FakeBluez):
    await fake_bluez.add_strap(fake_strap("AA:BB:CC:DD:EE:31", name="TICKR 1"))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hrvd.cli",
        "scan",
        "--timeout",
        "1.5",
        "--format",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert json.loads(out)[0]["address"] == "AA:BB:CC:DD:EE:31"


@pytest.mark.usefixtures("fake_bluez")
async def test_scan_command_with_no_strap_says_what_to_check():
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hrvd.cli",
        "scan",
        "--timeout",
        "0.5",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0
    assert b"no heart-rate strap found" in err  # the advice; into a pipe, stdout is CSV
    assert out == b"NAME,ADDRESS,RSSI_DBM\n"
