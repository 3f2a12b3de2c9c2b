"""The fake BlueZ, proved with real bleak (BleakScanner, BleakClient) on a private bus."""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING

import pytest
from bleak import BleakClient, BleakScanner
from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus

from harness.fake_bluez import FakeBluez, FakeStrap, rr_ms_to_raw
from support.bleak_probe import HRM, Received, decode, found

if TYPE_CHECKING:
    from bleak.backends.device import BLEDevice


HRS = "0000180d-0000-1000-8000-00805f9b34fb"
BSL = "00002a38-0000-1000-8000-00805f9b34fb"
BAS = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
CONTACT_BITS = 0x06


async def battery1_percentage(device: BLEDevice) -> Message:
    """``org.bluez.Battery1.Percentage`` of the device, read as hrvd does (not via bleak)."""
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    try:
        return await bus.call(
            Message(
                destination="org.bluez",
                path=device.details["path"],
                interface="org.freedesktop.DBus.Properties",
                member="Get",
                signature="ss",
                body=["org.bluez.Battery1", "Percentage"],
            )
        )
    finally:
        bus.disconnect()
        await bus.wait_for_disconnect()


async def test_scan_finds_the_strap_with_name_rssi_and_heart_rate_service(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:01", rssi=-55)
    await fake_bluez.add_strap(strap)

    seen = await BleakScanner.discover(timeout=0.3, return_adv=True, service_uuids=[HRS])

    device, adv = seen["AA:BB:CC:DD:EE:01"]
    assert device.name == "Polar H10 1234"
    assert adv.local_name == "Polar H10 1234"
    assert -57 <= adv.rssi <= -53
    assert HRS in adv.service_uuids
    assert 0x006B in adv.manufacturer_data
    assert not fake_bluez.discovering


async def test_notifications_carry_the_rr_intervals_the_heart_produced(fake_bluez: FakeBluez):
    rr_ms = itertools.cycle([250, 262.5, 240]).__next__  # short beats: a quick test
    strap = FakeStrap(address="AA:BB:CC:DD:EE:02", rr_ms=rr_ms)
    await fake_bluez.add_strap(strap)
    received = Received()

    async with BleakClient(await found(strap.address), timeout=2.0) as client:
        await client.start_notify(HRM, received)
        await received.until(lambda: len(received.rr_raw) >= 6)
        await client.stop_notify(HRM)

    assert received.rr_raw == strap.sent_rr_raw[: len(received.rr_raw)]
    assert set(received.rr_raw) == {256, 269, 246}  # round(ms * 1024 / 1000)
    for _t, payload in received.payloads:
        flags, hr, rr = decode(payload)
        assert flags & CONTACT_BITS == 0b110  # contact supported and detected
        assert hr in {240, 229, 250}  # 60000 / the latest RR, ms
        if rr:
            assert hr == round(60000 / {256: 250, 269: 262.5, 246: 240}[rr[-1]])
        assert len(rr) <= 1  # 50 ms between notifications, 240 ms or more between beats
    assert len(received.payloads) > len(received.rr_raw)  # most notifications carry no beat
    assert strap.connects == 1


async def test_the_heart_keeps_time_with_the_wall_clock(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:15", rr_ms=lambda: 100.0)
    await fake_bluez.add_strap(strap)
    received = Received()

    async with BleakClient(await found(strap.address), timeout=2.0) as client:
        await client.start_notify(HRM, received)
        await received.until(lambda: len(received.rr_raw) >= 1)
        start = received.payloads[-1][0]
        await asyncio.sleep(1.0)
        rr_since = received.rr_raw[1:]
        elapsed = received.payloads[-1][0] - start

    assert abs(sum(rr_since) / 1024 - elapsed) < 0.2  # what hrvd's beat timeline relies on


async def test_time_scale_speeds_up_the_heart(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:16", time_scale=20.0)  # 1 s of beats per 50 ms
    await fake_bluez.add_strap(strap)
    received = Received()

    async with BleakClient(await found(strap.address), timeout=2.0) as client:
        await client.start_notify(HRM, received)
        await received.until(lambda: len(received.rr_raw) >= 10, within_s=1.0)

    assert all(700 <= rr * 1000 / 1024 <= 900 for rr in received.rr_raw)  # steady ~800 ms
    assert max(len(decode(p)[2]) for _t, p in received.payloads) <= 3


async def test_the_heart_beats_on_while_nobody_listens(fake_bluez: FakeBluez):
    beat = itertools.count()
    strap = FakeStrap(address="AA:BB:CC:DD:EE:03", rr_ms=lambda: 40.0 + next(beat))
    await fake_bluez.add_strap(strap)
    received = Received()

    async with BleakClient(await found(strap.address), timeout=2.0) as client:
        await asyncio.sleep(0.4)  # some eight beats end unheard
        assert strap.sent_rr_raw == []
        await client.start_notify(HRM, received)
        await received.until(lambda: len(received.rr_raw) >= 2)

    first = decode(received.payloads[0][1])[2]
    assert len(first) <= 2  # no backlog: only the beats of the last 50 ms
    assert received.rr_raw[0] >= rr_ms_to_raw(40.0 + 6)  # the heart had reached beat 6+


async def test_body_sensor_location_reads_chest(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:04")
    await fake_bluez.add_strap(strap)

    # By address string: bleak runs its own scan before it connects.
    async with BleakClient(strap.address, timeout=2.0) as client:
        assert client.name == "Polar H10 1234"
        assert await client.read_gatt_char(BSL) == bytearray(b"\x01")


async def test_battery_is_bluez_battery1_and_the_gatt_service_is_hidden(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:05", battery=64)
    await fake_bluez.add_strap(strap)
    device = await found(strap.address)

    async with BleakClient(device, timeout=2.0) as client:
        assert client.services.get_service(BAS) is None
        heart_rate = client.services.get_service(HRS)
        assert heart_rate is not None
        assert {c.uuid: c.properties for c in heart_rate.characteristics} == {
            HRM: ["notify"],
            BSL: ["read"],
        }
        assert (await battery1_percentage(device)).body[0].value == 64
        strap.set_battery(63)
        assert (await battery1_percentage(device)).body[0].value == 63

    reply = await battery1_percentage(device)  # BlueZ drops Battery1 with the link
    assert reply.message_type is MessageType.ERROR


async def test_gatt_battery_strap_is_read_through_bleak(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:06", battery=41, gatt_battery=True)
    await fake_bluez.add_strap(strap)
    device = await found(strap.address)

    async with BleakClient(device, timeout=2.0) as client:
        assert await client.read_gatt_char(BATTERY_LEVEL) == bytearray([41])
        reply = await battery1_percentage(device)
        assert reply.message_type is MessageType.ERROR
        assert reply.error_name == "org.freedesktop.DBus.Error.InvalidArgs"


async def test_two_straps_stream_side_by_side(fake_bluez: FakeBluez):
    fast = FakeStrap(address="AA:BB:CC:DD:EE:0C", name="Polar H10 FAST", rr_ms=lambda: 250.0)
    slow = FakeStrap(address="AA:BB:CC:DD:EE:0D", name="Polar H10 SLOW", rr_ms=lambda: 400.0)
    await fake_bluez.add_strap(fast)
    await fake_bluez.add_strap(slow)
    seen = await BleakScanner.discover(timeout=0.3)  # one scan for both (see the next test)
    received = {fast.address: Received(), slow.address: Received()}

    async def stream(strap: FakeStrap) -> None:
        got = received[strap.address]
        device = next(d for d in seen if d.address == strap.address)
        async with BleakClient(device, timeout=2.0) as client:
            await client.start_notify(HRM, got)
            await got.until(lambda: len(got.rr_raw) >= 3)

    async with asyncio.TaskGroup() as group:
        group.create_task(stream(fast))
        group.create_task(stream(slow))

    for strap, hr in ((fast, 240), (slow, 150)):
        got = received[strap.address]
        assert got.rr_raw == strap.sent_rr_raw[: len(got.rr_raw)]
        assert {decode(p)[1] for _t, p in got.payloads} == {hr}
        assert strap.connects == 1


async def test_raw_payload_is_delivered_byte_for_byte(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:11")
    await fake_bluez.add_strap(strap)
    received = Received()
    malformed = b"\x10\x48\x03"  # announces RR values, then half of one

    async with BleakClient(await found(strap.address), timeout=2.0) as client:
        await client.start_notify(HRM, received)
        await received.until(lambda: len(received.payloads) >= 1)
        strap.send_raw(malformed)
        await received.until(lambda: malformed in (p for _t, p in received.payloads))
        await received.until(lambda: received.payloads[-1][1] != malformed)

    payloads = [p for _t, p in received.payloads]
    assert payloads.count(malformed) == 1
    well_formed = [rr for p in payloads if p != malformed for rr in decode(p)[2]]
    assert well_formed == strap.sent_rr_raw[: len(well_formed)]


@pytest.mark.parametrize(("contact", "bits"), [(True, 0b110), (False, 0b100), (None, 0b000)])
async def test_contact_bits_follow_set_contact(
    fake_bluez: FakeBluez, contact: bool | None, bits: int
):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:12", contact=True)
    await fake_bluez.add_strap(strap)
    received = Received()

    async with BleakClient(await found(strap.address), timeout=2.0) as client:
        strap.set_contact(contact)
        await client.start_notify(HRM, received)
        await received.until(lambda: len(received.payloads) >= 2)

    assert {decode(p)[0] & CONTACT_BITS for _t, p in received.payloads} == {bits}
