"""The fake BlueZ, proved with real bleak (BleakScanner, BleakClient) on a private bus."""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.bluezdbus import manager as bleak_bluez_manager
from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError, BleakError
from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus

from harness.fake_bluez import FakeBluez, FakeStrap, rr_ms_to_raw

if TYPE_CHECKING:
    from collections.abc import Callable

    from bleak.backends.device import BLEDevice

HRS = "0000180d-0000-1000-8000-00805f9b34fb"
HRM = "00002a37-0000-1000-8000-00805f9b34fb"
BSL = "00002a38-0000-1000-8000-00805f9b34fb"
BAS = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
RR_FLAG = 0x10
CONTACT_BITS = 0x06


def decode(payload: bytes) -> tuple[int, int, list[int]]:
    """Flags, heart rate (bpm) and RR values (1/1024 s) of a 0x2A37 notification."""
    flags = payload[0]
    if flags & 0x01:
        hr, offset = int.from_bytes(payload[1:3], "little"), 3
    else:
        hr, offset = payload[1], 2
    if flags & 0x08:
        offset += 2
    rr = [int.from_bytes(payload[i : i + 2], "little") for i in range(offset, len(payload), 2)]
    return flags, hr, rr if flags & RR_FLAG else []


class Received:
    """A notification callback that keeps every payload with its arrival time."""

    def __init__(self) -> None:
        self.payloads: list[tuple[float, bytes]] = []
        self._changed = asyncio.Event()

    def __call__(self, _char: object, data: bytearray) -> None:
        self.payloads.append((asyncio.get_running_loop().time(), bytes(data)))
        self._changed.set()

    @property
    def rr_raw(self) -> list[int]:
        return [rr for _t, payload in self.payloads for rr in decode(payload)[2]]

    async def until(self, predicate: Callable[[], bool], within_s: float = 2.0) -> None:
        async with asyncio.timeout(within_s):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


async def found(address: str) -> BLEDevice:
    device = await BleakScanner.find_device_by_address(address, timeout=2.0)
    assert device is not None, f"{address} not found"
    return device


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


async def test_drop_fires_disconnected_callback_within_a_second(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:07")
    await fake_bluez.add_strap(strap)
    device = await found(strap.address)
    dropped = asyncio.Event()
    loop = asyncio.get_running_loop()

    async with BleakClient(
        device, disconnected_callback=lambda _c: dropped.set(), timeout=2.0
    ) as client:
        started = loop.time()
        await strap.drop()
        await asyncio.wait_for(dropped.wait(), timeout=1.0)
        assert loop.time() - started < 1.0
        assert not client.is_connected

    async with BleakClient(device, timeout=2.0) as client:  # still advertising: reconnects
        assert client.is_connected
    assert strap.connects == 2


async def test_refused_connect_raises_the_bluez_error(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:08")
    await fake_bluez.add_strap(strap)
    device = await found(strap.address)
    strap.refuse_connects(1, message="Software caused connection abort")

    client = BleakClient(device, timeout=2.0)
    with pytest.raises(BleakDBusError) as refused:
        await client.connect()
    assert refused.value.dbus_error == "org.bluez.Error.Failed"
    assert refused.value.dbus_error_details == "Software caused connection abort"
    assert not client.is_connected
    assert (strap.refused, strap.connects) == (1, 0)

    await client.connect()
    try:
        assert client.is_connected
    finally:
        await client.disconnect()
    assert strap.connects == 1


async def test_abort_by_local_is_retried_inside_bleak_connect(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:09")
    await fake_bluez.add_strap(strap)
    device = await found(strap.address)
    strap.refuse_connects(1)  # org.bluez.Error.Failed: le-connection-abort-by-local
    disconnects = []

    async with BleakClient(device, disconnected_callback=disconnects.append, timeout=2.0) as client:
        assert client.is_connected
        # bleak reports the refused attempt's link going down before connect() returns.
        assert len(disconnects) == 1
    assert (strap.refused, strap.connects) == (1, 1)


async def test_endless_abort_by_local_ends_in_bleak_timeout(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:0A")
    await fake_bluez.add_strap(strap)
    device = await found(strap.address)
    strap.refuse_connects(1000)

    with pytest.raises(TimeoutError):
        await BleakClient(device, timeout=0.5).connect()
    assert strap.refused > 1
    assert strap.connects == 0


async def test_stall_pauses_notifications_while_the_link_stays_up(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:0B")
    await fake_bluez.add_strap(strap)
    received = Received()

    async with BleakClient(await found(strap.address), timeout=2.0) as client:
        await client.start_notify(HRM, received)
        await received.until(lambda: len(received.payloads) >= 3)
        strap.stall(0.4)
        before = len(received.payloads)
        await asyncio.sleep(0.3)
        assert len(received.payloads) <= before + 1  # at most one already on its way
        assert client.is_connected
        assert strap.is_connected
        await received.until(lambda: len(received.payloads) >= before + 3)

    times = [t for t, _payload in received.payloads]
    assert max(b - a for a, b in itertools.pairwise(times)) >= 0.35


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


async def test_a_second_scan_at_once_in_one_process_is_refused_as_by_bluez(fake_bluez: FakeBluez):
    # BlueZ allows one discovery per D-Bus client, and bleak scans through one connection per
    # event loop: two BleakScanners at once (or two BleakClient(address) connects) collide.
    await fake_bluez.add_strap(FakeStrap(address="AA:BB:CC:DD:EE:14"))

    async with BleakScanner():
        with pytest.raises(BleakDBusError) as refused:
            await BleakScanner.discover(timeout=0.1)
    assert refused.value.dbus_error == "org.bluez.Error.InProgress"
    assert not fake_bluez.discovering


async def test_vanished_strap_is_not_found_until_it_appears(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:0E")
    await fake_bluez.add_strap(strap)
    device = await found(strap.address)

    strap.vanish()
    assert await BleakScanner.find_device_by_address(strap.address, timeout=0.3) is None
    with pytest.raises(BleakDBusError) as missing:
        await BleakClient(device, timeout=2.0).connect()
    assert missing.value.dbus_error == "org.bluez.Error.NotFound"

    strap.appear()
    async with BleakClient(await found(strap.address), timeout=2.0) as client:
        assert client.is_connected


async def test_vanishing_drops_a_live_link(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:0F")
    await fake_bluez.add_strap(strap)
    dropped = asyncio.Event()

    async with BleakClient(
        await found(strap.address), disconnected_callback=lambda _c: dropped.set(), timeout=2.0
    ):
        strap.vanish()
        await asyncio.wait_for(dropped.wait(), timeout=1.0)


async def test_removed_strap_is_gone_from_bluez(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:10")
    await fake_bluez.add_strap(strap)
    device = await found(strap.address)

    await fake_bluez.remove_strap(strap.address)

    # bleak saw InterfacesRemoved, so it refuses the stale BLEDevice before asking BlueZ.
    with pytest.raises(BleakError, match="dev_AA_BB_CC_DD_EE_10' not found"):
        await BleakClient(device, timeout=2.0).connect()
    assert await BleakScanner.find_device_by_address(strap.address, timeout=0.3) is None


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


async def test_powered_off_adapter_is_reported_by_bleak(fake_bluez: FakeBluez):
    strap = FakeStrap(address="AA:BB:CC:DD:EE:13")
    await fake_bluez.add_strap(strap)
    await fake_bluez.set_powered(False)

    with pytest.raises(BleakBluetoothNotAvailableError):
        await BleakScanner.discover(timeout=0.1)

    await fake_bluez.set_powered(True)
    async with asyncio.timeout(2.0):
        while True:  # bleak learns of the change from a signal, shortly after
            try:
                assert await found(strap.address)
                break
            except BleakBluetoothNotAvailableError:
                await asyncio.sleep(0.01)


@pytest.mark.parametrize("run", [1, 2])
async def test_no_bleak_state_crosses_from_one_test_to_the_next(fake_bluez: FakeBluez, run: int):
    managers = bleak_bluez_manager._global_instances  # noqa: SLF001 - what this test checks
    loop = asyncio.get_running_loop()
    assert all(m._bus is None or not m._bus.connected for m in managers.values())  # noqa: SLF001
    strap = FakeStrap(address=f"AA:BB:CC:DD:EE:2{run}")
    await fake_bluez.add_strap(strap)

    await found(strap.address)

    assert loop in managers
    assert [p for p in managers[loop]._properties if "/dev_" in p] == [strap.path]  # noqa: SLF001
