"""Find nearby straps: devices that advertise the Heart Rate service (0x180D)."""

from __future__ import annotations

from dataclasses import dataclass

from bleak import BleakScanner

from hrvd.ble.protocol import HEART_RATE_SERVICE_UUID


@dataclass(frozen=True, slots=True)
class FoundStrap:
    """One strap seen while scanning."""

    name: str | None
    address: str
    rssi: int


async def scan(timeout_s: float) -> list[FoundStrap]:
    """Scan for ``timeout_s`` seconds; return the heart-rate straps seen, strongest first.

    Raises:
        bleak.exc.BleakError: no usable adapter (absent, powered off, no permission).
    """
    seen = await BleakScanner.discover(
        timeout=timeout_s, return_adv=True, service_uuids=[HEART_RATE_SERVICE_UUID]
    )
    found = [
        FoundStrap(name=adv.local_name or device.name, address=device.address, rssi=adv.rssi)
        for device, adv in seen.values()
        if HEART_RATE_SERVICE_UUID in (u.lower() for u in adv.service_uuids)
    ]
    return sorted(found, key=lambda s: s.rssi, reverse=True)
