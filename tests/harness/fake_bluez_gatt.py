"""The fake BlueZ's GATT side: a connected strap's services, characteristics and notifications.

A connected :class:`harness.fake_bluez_strap.FakeStrap` exports service 0x180D with 0x2A37
(notify, with its client characteristic configuration descriptor) and 0x2A38 (read: chest),
and 0x180F/0x2A19 for a strap with ``gatt_battery=True``. :class:`GattServer` answers
``org.bluez.GattCharacteristic1`` and ``GattDescriptor1`` calls and sends a strap's beats as
``PropertiesChanged`` of the 0x2A37 ``Value``, once per ``notify_interval_s``.
"""

# The server and the straps it serves share each other's private state.
# ruff: noqa: SLF001

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dbus_fast import Message, Variant

from harness.fake_bluez_objects import (
    BATTERY_LEVEL,
    BATTERY_SERVICE,
    BODY_SENSOR_CHEST,
    BODY_SENSOR_LOCATION,
    CLIENT_CHARACTERISTIC_CONFIG,
    FALSE,
    GATT_CHAR1,
    GATT_DESC1,
    GATT_SERVICE1,
    HEART_RATE_MEASUREMENT,
    HEART_RATE_SERVICE,
    OK,
    TRUE,
    BluezError,
    ObjectServer,
    Reply,
)
from harness.fake_bluez_strap import rr_ms_to_raw
from hrvd.ble.protocol import encode_measurement

if TYPE_CHECKING:
    from harness.fake_bluez_strap import FakeStrap


@dataclass(frozen=True, slots=True)
class Char:
    """One GATT characteristic as BlueZ exports it (its handles name the D-Bus paths)."""

    service_handle: int
    handle: int
    uuid: str
    flags: tuple[str, ...]


HRM = Char(0x000E, 0x000F, HEART_RATE_MEASUREMENT, ("notify",))
BSL = Char(0x000E, 0x0012, BODY_SENSOR_LOCATION, ("read",))
BAT = Char(0x0019, 0x001A, BATTERY_LEVEL, ("read",))
CCCD_HANDLE = 0x0011
MTU = 232


def service_path(strap: FakeStrap, handle: int) -> str:
    return f"{strap.path}/service{handle:04x}"


def char_path(strap: FakeStrap, char: Char) -> str:
    return f"{service_path(strap, char.service_handle)}/char{char.handle:04x}"


def gatt_objects(strap: FakeStrap) -> dict[str, dict[str, dict[str, Variant]]]:
    """The GATT objects BlueZ exports for ``strap`` once connected: path -> interfaces."""
    objects: dict[str, dict[str, dict[str, Variant]]] = {}
    chars = [HRM, BSL, BAT] if strap.gatt_battery else [HRM, BSL]
    services = {c.service_handle: c for c in chars}
    for handle, first in services.items():
        uuid = BATTERY_SERVICE if first.uuid == BATTERY_LEVEL else HEART_RATE_SERVICE
        objects[service_path(strap, handle)] = {
            GATT_SERVICE1: {
                "UUID": Variant("s", uuid),
                "Primary": TRUE,
                "Device": Variant("o", strap.path),
                "Includes": Variant("ao", []),
            }
        }
    for char in chars:
        props = {
            "UUID": Variant("s", char.uuid),
            "Service": Variant("o", service_path(strap, char.service_handle)),
            "Value": Variant("ay", b""),
            "Flags": Variant("as", list(char.flags)),
            "MTU": Variant("q", MTU),
        }
        if "notify" in char.flags:
            props["Notifying"] = FALSE
        objects[char_path(strap, char)] = {GATT_CHAR1: props}
    objects[f"{char_path(strap, HRM)}/desc{CCCD_HANDLE:04x}"] = {
        GATT_DESC1: {
            "UUID": Variant("s", CLIENT_CHARACTERISTIC_CONFIG),
            "Characteristic": Variant("o", char_path(strap, HRM)),
            "Value": Variant("ay", b""),
            "Flags": Variant("as", ["read", "write"]),
        }
    }
    return objects


class GattServer(ObjectServer):
    """GATT for the straps in :attr:`straps`; the strap's clock that feeds 0x2A37.

    Args:
        bus_address: D-Bus address of the private bus (``unix:path=...``).
    """

    def __init__(self, bus_address: str) -> None:
        super().__init__(bus_address)
        self.straps: dict[str, FakeStrap] = {}
        self._handlers.update(
            {
                (GATT_CHAR1, "ReadValue"): self._read_char,
                (GATT_CHAR1, "WriteValue"): self._write_not_permitted,
                (GATT_CHAR1, "StartNotify"): self._start_notify,
                (GATT_CHAR1, "StopNotify"): self._stop_notify,
                (GATT_CHAR1, "AcquireNotify"): self._not_supported,
                (GATT_CHAR1, "AcquireWrite"): self._not_supported,
                (GATT_DESC1, "ReadValue"): self._read_desc,
                (GATT_DESC1, "WriteValue"): self._write_not_permitted,
            }
        )

    def _strap_at(self, path: str | None) -> FakeStrap:
        device_path = "/".join((path or "").split("/")[:5])
        for strap in self.straps.values():
            if strap.path == device_path:
                return strap
        raise BluezError("org.bluez.Error.DoesNotExist", "Does Not Exist")

    def _client_gone(self, name: str) -> None:
        super()._client_gone(name)
        for strap in self.straps.values():
            if name in strap._notify_clients:
                self._notify_session_ends(strap, name)

    # -- the strap's clock -----------------------------------------------------------------

    async def _measure_forever(self, strap: FakeStrap) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            deadline += strap.notify_interval_s
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            self._measure(strap, loop.time())

    def _measure(self, strap: FakeStrap, now: float) -> None:
        """One measurement period ended: notify its beats, or lose them if nobody listens."""
        assert strap._heart is not None
        rr_ms = strap._heart.ended(now)
        listening = strap.is_connected and strap.is_notifying
        if not listening or now < strap._stalled_until:
            return
        if strap._raw:
            payload = strap._raw.popleft()
        else:
            rr_raw = [rr_ms_to_raw(rr) for rr in rr_ms]
            hr = round(60000 / strap._heart.last_rr_ms)
            payload = encode_measurement(hr, rr_raw, contact=strap.contact, hr_uint16=hr > 0xFF)
            strap.sent_rr_raw.extend(rr_raw)
        strap.notifications += 1
        self.set_props(char_path(strap, HRM), GATT_CHAR1, {"Value": Variant("ay", payload)})

    # -- org.bluez.GattCharacteristic1 / GattDescriptor1 -----------------------------------

    async def _read_char(self, msg: Message) -> Reply:
        strap = self._strap_at(msg.path)
        if msg.path == char_path(strap, BSL):
            value = BODY_SENSOR_CHEST
        elif strap.gatt_battery and msg.path == char_path(strap, BAT):
            value = bytes([strap.battery])
        else:
            raise BluezError("org.bluez.Error.NotPermitted", "Read not permitted")
        self.set_props(msg.path or "", GATT_CHAR1, {"Value": Variant("ay", value)})
        return "ay", [value]

    async def _read_desc(self, msg: Message) -> Reply:
        strap = self._strap_at(msg.path)
        value = b"\x01\x00" if strap.is_notifying else b"\x00\x00"
        return "ay", [value]

    async def _write_not_permitted(self, _msg: Message) -> Reply:
        raise BluezError("org.bluez.Error.NotPermitted", "Write not permitted")

    async def _not_supported(self, _msg: Message) -> Reply:
        raise BluezError("org.bluez.Error.NotSupported", "Operation is not supported")

    async def _start_notify(self, msg: Message) -> Reply:
        strap = self._strap_at(msg.path)
        if msg.path != char_path(strap, HRM):
            raise BluezError("org.bluez.Error.NotSupported", "Operation is not supported")
        if not strap.is_connected:
            raise BluezError("org.bluez.Error.Failed", "Not connected")
        first = not strap.is_notifying
        strap._notify_clients.add(msg.sender or "")
        if first:
            self.set_props(msg.path, GATT_CHAR1, {"Notifying": TRUE})
        return OK

    async def _stop_notify(self, msg: Message) -> Reply:
        strap = self._strap_at(msg.path)
        sender = msg.sender or ""
        if msg.path != char_path(strap, HRM) or sender not in strap._notify_clients:
            raise BluezError("org.bluez.Error.Failed", "No notify session started")
        self._notify_session_ends(strap, sender)
        return OK

    def _notify_session_ends(self, strap: FakeStrap, sender: str) -> None:
        strap._notify_clients.discard(sender)
        if not strap.is_notifying:
            self.set_props(char_path(strap, HRM), GATT_CHAR1, {"Notifying": FALSE})
