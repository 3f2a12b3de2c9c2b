"""The fake BlueZ's faults, proved with real bleak: drops, refusals, stalls, vanishing, power."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.bluezdbus import manager as bleak_bluez_manager
from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError, BleakError

from harness.fake_bluez import FakeBluez, FakeStrap
from support.bleak_probe import HRM, Received, found


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
