"""Find nearby straps: devices that advertise the Heart Rate service (0x180D)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bleak import BleakScanner
from bleak.exc import BleakError

from hrvd.ble.protocol import HEART_RATE_SERVICE_UUID
from hrvd.errors import HrvdError


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


def scan_or_explain(timeout_s: float, hint: str = "") -> list[FoundStrap]:
    """:func:`scan` for a command: Bluetooth that cannot be used is one line with the fix.

    Args:
        timeout_s: how long to scan, s.
        hint: appended to the message (another way forward, such as ``--strap``).

    Raises:
        HrvdError: no usable adapter, or BlueZ cannot be reached over D-Bus.
    """
    try:
        return asyncio.run(scan(timeout_s))
    except BleakError as exc:
        msg = f"cannot scan: {exc} (is Bluetooth on? try 'bluetoothctl show')"
    except OSError as exc:
        # No system D-Bus, or no permission to use it: BlueZ cannot be asked at all.
        msg = f"cannot reach BlueZ over D-Bus: {exc.strerror or exc} (is bluetoothd running?)"
    # The doctor's verdict and fix, when its checks find the cause (as `hrvd morning` says).
    from hrvd.setup.doctor import bluetooth_problem  # noqa: PLC0415 - only on this failure
    from hrvd.setup.verdicts import one_line  # noqa: PLC0415

    problem = asyncio.run(bluetooth_problem())
    if problem is not None:
        msg = f"cannot scan: {one_line(problem)}"
    raise HrvdError(msg + hint)
