"""The fake BlueZ's devices: a strap's ``org.bluez.Device1`` object and its link.

:class:`DeviceServer` answers ``Connect``, ``Disconnect`` and ``Pair``, with the failures
a strap can be told to produce (out of range, refused connects, abort-by-local), and brings a
link up (``Connected``, the GATT objects, ``Battery1``, ``ServicesResolved``) and down again
in the order bluetoothd signals it.
"""

# The server and the straps it serves share each other's private state.
# ruff: noqa: SLF001

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

from dbus_fast import Variant

from harness.fake_bluez_gatt import GattServer, gatt_objects
from harness.fake_bluez_objects import (
    ABORT_BY_LOCAL,
    ADAPTER1,
    ADAPTER_PATH,
    BATTERY1,
    DEVICE1,
    FALSE,
    HEART_RATE_BELT_APPEARANCE,
    HEART_RATE_SERVICE,
    OK,
    POLAR_COMPANY_ID,
    TRUE,
    BluezError,
    Reply,
    dbus_bool,
)

if TYPE_CHECKING:
    from dbus_fast import Message

    from harness.fake_bluez_strap import FakeStrap

_LATE_DISCONNECT_S = 0.01
"""After an abort-by-local refusal, the link's ``Connected=false`` follows this late."""


class DeviceServer(GattServer):
    """``org.bluez.Device1`` for the straps in :attr:`straps`, and their links.

    Args:
        bus_address: D-Bus address of the private bus (``unix:path=...``).
        connect_delay_s: how long a ``Connect`` takes before it succeeds or fails.
    """

    def __init__(self, bus_address: str, connect_delay_s: float) -> None:
        super().__init__(bus_address)
        self.connect_delay_s = connect_delay_s
        self._rng = random.Random(0)
        self._handlers.update(
            {
                (DEVICE1, "Connect"): self._connect,
                (DEVICE1, "Disconnect"): self._disconnect,
                (DEVICE1, "Pair"): self._pair,
            }
        )

    @property
    def powered(self) -> bool:
        """Whether the adapter is powered."""
        return bool(self._tree[ADAPTER_PATH][ADAPTER1]["Powered"].value)

    def _device_props(self, strap: FakeStrap) -> dict[str, Variant]:
        return {
            "Address": Variant("s", strap.address),
            "AddressType": Variant("s", "public"),
            "Name": Variant("s", strap.name),
            "Alias": Variant("s", strap.name),
            "Appearance": Variant("q", HEART_RATE_BELT_APPEARANCE),
            "Adapter": Variant("o", ADAPTER_PATH),
            "Paired": FALSE,
            "Bonded": FALSE,
            "Trusted": FALSE,
            "Blocked": FALSE,
            "LegacyPairing": FALSE,
            "Connected": dbus_bool(strap.is_connected),
            "ServicesResolved": FALSE,
            "UUIDs": Variant("as", [HEART_RATE_SERVICE]),
            "RSSI": Variant("n", self._rssi(strap)),
            "ManufacturerData": Variant(
                "a{qv}", {POLAR_COMPANY_ID: Variant("ay", b"\x33\x1e\x33\x33")}
            ),
            "ServiceData": Variant("a{sv}", {}),
        }

    def _rssi(self, strap: FakeStrap) -> int:
        return strap.rssi + self._rng.randint(-2, 2)

    # -- link ------------------------------------------------------------------------------

    def _link_up(self, strap: FakeStrap) -> None:
        strap._connected = True
        strap.connects += 1
        self.set_props(strap.path, DEVICE1, {"Connected": TRUE})
        for path, interfaces in gatt_objects(strap).items():
            self._add_object(path, interfaces)
        if not strap.gatt_battery:
            battery = {"Percentage": Variant("y", strap.battery), "Source": Variant("s", "")}
            self._add_object(strap.path, {BATTERY1: battery})
        self.set_props(strap.path, DEVICE1, {"ServicesResolved": TRUE})

    def link_down(self, strap: FakeStrap) -> None:
        """End the strap's link (BlueZ's signals for a disconnection), if it has one."""
        if not strap.is_connected:
            return
        strap._connected = False
        strap._notify_clients.clear()
        strap._stalled_until = 0.0
        self.set_props(strap.path, DEVICE1, {"ServicesResolved": FALSE})
        self.set_props(strap.path, DEVICE1, {"Connected": FALSE})
        gatt = [p for p in self._tree if p.startswith(f"{strap.path}/")]
        for path in sorted(gatt, reverse=True):  # descriptors, then characteristics, services
            self._remove_object(path)
        self._remove_object(strap.path, [BATTERY1])

    # -- org.bluez.Device1 -----------------------------------------------------------------

    async def _connect(self, msg: Message) -> Reply:
        strap = self._strap_at(msg.path)
        if not self.powered:
            raise BluezError("org.bluez.Error.NotReady", "Resource Not Ready")
        if strap.is_connected:
            return OK
        await asyncio.sleep(self.connect_delay_s)
        if not strap._in_range:
            raise BluezError("org.bluez.Error.NotFound", "Device not found")
        if strap._refusals:
            error, message = strap._refusals.popleft()
            strap.refused += 1
            if message == ABORT_BY_LOCAL:
                self.set_props(strap.path, DEVICE1, {"Connected": TRUE})
                self.spawn(self._late_disconnect(strap))
            raise BluezError(error, message)
        self._link_up(strap)
        return OK

    async def _late_disconnect(self, strap: FakeStrap) -> None:
        await asyncio.sleep(_LATE_DISCONNECT_S)
        if not strap.is_connected:
            self.set_props(strap.path, DEVICE1, {"Connected": FALSE})

    async def _disconnect(self, msg: Message) -> Reply:
        self.link_down(self._strap_at(msg.path))
        return OK

    async def _pair(self, msg: Message) -> Reply:
        strap = self._strap_at(msg.path)
        self.set_props(strap.path, DEVICE1, {"Paired": TRUE, "Bonded": TRUE})
        return OK
