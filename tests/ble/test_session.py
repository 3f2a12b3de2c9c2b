"""Strap sessions with real bleak against the fake BlueZ on a private bus."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import TYPE_CHECKING

from structlog.testing import capture_logs

from hrvd.ble.events import BatteryLevel, LinkState, Notification
from support.session_rig import STALL_S, WAIT_S, Recorder, fake_strap, running, strap_session

if TYPE_CHECKING:
    from harness.fake_bluez import FakeBluez


async def test_streams_every_rr_value_exactly_as_the_strap_sent_it(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:01")
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    async with running(strap_session(strap, rec)):
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
    async with running(strap_session(strap, rec)):
        await rec.until(lambda: any(isinstance(e, BatteryLevel) for e in rec.events))
    assert [e.percent for e in rec.events if isinstance(e, BatteryLevel)] == [64]


async def test_battery_comes_from_gatt_when_the_strap_exposes_it(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:03", battery=41, gatt_battery=True)
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    async with running(strap_session(strap, rec)):
        await rec.until(lambda: any(isinstance(e, BatteryLevel) for e in rec.events))
    assert [e.percent for e in rec.events if isinstance(e, BatteryLevel)] == [41]


async def test_reconnects_after_the_strap_drops_and_marks_the_gap(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:04")
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    async with running(strap_session(strap, rec)):
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
    async with running(strap_session(strap, rec)):
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
        async with running(strap_session(strap, rec)):
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
    async with running(strap_session(strap, rec)):
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
    async with running(strap_session(strap, rec)):
        await rec.until(lambda: LinkState.STREAMING in rec.states(), within_s=30)
    assert strap.connects == 1


async def test_malformed_payloads_are_counted_and_logged_not_fatal(fake_bluez: FakeBluez):
    strap = fake_strap("AA:BB:CC:DD:EE:08")
    await fake_bluez.add_strap(strap)
    rec = Recorder()
    session = strap_session(strap, rec)
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
    async with running(strap_session(strap, rec, scan_timeout_s=2.0)):
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
    async with running(strap_session(strap, rec)):
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
        async with running(strap_session(strap, rec, scan_timeout_s=0.5)):
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
        async with running(strap_session(strap, rec, scan_timeout_s=0.5)):
            await rec.until(
                lambda: sum(1 for e in logs if e["event"] == "reconnecting") >= 2, within_s=20
            )
            assert LinkState.STREAMING not in rec.states()
            await fake_bluez.set_powered(True)
            await rec.until(lambda: LinkState.STREAMING in rec.states(), within_s=30)
