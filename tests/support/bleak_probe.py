"""What real bleak sees of the fake BlueZ: found straps and received 0x2A37 notifications.

Shared by tests/ble/test_fake_bluez.py and test_fake_bluez_faults.py.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bleak import BleakScanner

if TYPE_CHECKING:
    from collections.abc import Callable

    from bleak.backends.device import BLEDevice


HRM = "00002a37-0000-1000-8000-00805f9b34fb"
RR_FLAG = 0x10


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
