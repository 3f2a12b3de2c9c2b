"""The fake BlueZ's object tree: the D-Bus plumbing under :class:`harness.fake_bluez.FakeBluez`.

:class:`ObjectServer` holds the exported objects (path -> interface -> properties), emits the
signals bluetoothd would for them (``InterfacesAdded``, ``InterfacesRemoved``,
``PropertiesChanged``) and answers ``GetManagedObjects`` and ``org.freedesktop.DBus.Properties``
itself. Calls to the ``org.bluez`` interfaces go to the handler table that the layers above
(:mod:`harness.fake_bluez_gatt`, :mod:`harness.fake_bluez_device`, :mod:`harness.fake_bluez`)
fill. The names bluetoothd and the GATT specification give are constants here.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from dbus_fast import Message, MessageType, Variant

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine, Sequence

    from dbus_fast.aio import MessageBus

BLUEZ = "org.bluez"
ADAPTER_PATH = "/org/bluez/hci0"

HEART_RATE_SERVICE = "0000180d-0000-1000-8000-00805f9b34fb"
HEART_RATE_MEASUREMENT = "00002a37-0000-1000-8000-00805f9b34fb"
BODY_SENSOR_LOCATION = "00002a38-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
CLIENT_CHARACTERISTIC_CONFIG = "00002902-0000-1000-8000-00805f9b34fb"

ABORT_BY_LOCAL = "le-connection-abort-by-local"
"""The ``org.bluez.Error.Failed`` message after which bleak waits for the disconnect, then
retries ``Connect`` inside the same ``connect()`` call."""

BODY_SENSOR_CHEST = b"\x01"
POLAR_COMPANY_ID = 0x006B
HEART_RATE_BELT_APPEARANCE = 0x0341
RR_UNITS_PER_S = 1024

ADAPTER1 = "org.bluez.Adapter1"
DEVICE1 = "org.bluez.Device1"
BATTERY1 = "org.bluez.Battery1"
GATT_SERVICE1 = "org.bluez.GattService1"
GATT_CHAR1 = "org.bluez.GattCharacteristic1"
GATT_DESC1 = "org.bluez.GattDescriptor1"
PROPERTIES = "org.freedesktop.DBus.Properties"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
_UNKNOWN_OBJECT = "org.freedesktop.DBus.Error.UnknownObject"
_UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod"
_INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"
_READ_ONLY = "org.freedesktop.DBus.Error.PropertyReadOnly"
_WRITABLE = {
    ADAPTER1: {"Alias", "Discoverable", "Pairable", "Powered"},
    DEVICE1: {"Alias", "Blocked", "Trusted"},
}
Reply = tuple[str, list[Any]]
"""A D-Bus method's answer: signature and body."""
OK: Reply = ("", [])


class BluezError(Exception):
    """Answer the current D-Bus call with this error."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name}: {text}")
        self.name = name
        self.text = text


def dbus_bool(value: bool) -> Variant:
    return Variant("b", value)


TRUE = Variant("b", value=True)
FALSE = Variant("b", value=False)


class ObjectServer:
    """The exported objects of ``org.bluez`` and the D-Bus traffic about them.

    Args:
        bus_address: D-Bus address of the private bus (``unix:path=...``).
    """

    def __init__(self, bus_address: str) -> None:
        self.bus_address = bus_address
        self._bus: MessageBus | None = None
        self._tree: dict[str, dict[str, dict[str, Variant]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_send: asyncio.Future[Any] | None = None
        self._handlers: dict[tuple[str, str], Callable[[Message], Awaitable[Reply]]] = {}

    async def _close_bus(self) -> None:
        if self._bus is None:
            return
        bus, self._bus = self._bus, None
        bus.disconnect()
        with contextlib.suppress(Exception):
            await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]  # dbus-fast's

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` as a task this fake cancels when it closes."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Wait until every message sent so far is written to the bus."""
        if self._last_send is not None:
            with contextlib.suppress(Exception):
                await self._last_send

    # -- the object tree and its signals ---------------------------------------------------

    def _send(self, message: Message) -> None:
        if self._bus is None or not self._bus.connected:
            return
        future = self._bus.send(message)
        # Retrieve a failed write's error so asyncio does not log it as never retrieved.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._last_send = future

    def _add_object(self, path: str, interfaces: dict[str, dict[str, Variant]]) -> None:
        self._tree.setdefault(path, {}).update(interfaces)
        copied = {name: dict(props) for name, props in interfaces.items()}
        self._send(
            Message.new_signal("/", OBJECT_MANAGER, "InterfacesAdded", "oa{sa{sv}}", [path, copied])
        )

    def _remove_object(self, path: str, interfaces: Sequence[str] | None = None) -> None:
        held = self._tree.get(path, {})
        names = [name for name in (interfaces or list(held)) if name in held]
        for name in names:
            del held[name]
        if not held:
            self._tree.pop(path, None)
        if names:
            self._send(
                Message.new_signal("/", OBJECT_MANAGER, "InterfacesRemoved", "oas", [path, names])
            )

    def set_props(
        self,
        path: str,
        interface: str,
        changed: dict[str, Variant],
        invalidated: Sequence[str] = (),
    ) -> None:
        """Change properties of an exported object and emit ``PropertiesChanged``."""
        props = self._tree.get(path, {}).get(interface)
        if props is None:
            return
        props.update(changed)
        for name in invalidated:
            props.pop(name, None)
        self._send(
            Message.new_signal(
                path,
                PROPERTIES,
                "PropertiesChanged",
                "sa{sv}as",
                [interface, dict(changed), list(invalidated)],
            )
        )

    # -- D-Bus dispatch --------------------------------------------------------------------

    def _on_message(self, msg: Message) -> Message | bool:
        if msg.message_type is MessageType.SIGNAL:
            self._on_signal(msg)
            return False
        if msg.message_type is not MessageType.METHOD_CALL:
            return False
        if msg.interface == PROPERTIES:
            return self._properties(msg)
        if msg.interface == OBJECT_MANAGER and msg.member == "GetManagedObjects":
            return msg.path == "/" and self._managed_objects(msg)
        if msg.interface in {ADAPTER1, DEVICE1, GATT_CHAR1, GATT_DESC1}:
            self.spawn(self._answer(msg))
            return True
        return False  # dbus-fast answers the rest (Introspect, Peer, unknown methods)

    def _on_signal(self, msg: Message) -> None:
        if msg.member == "NameOwnerChanged" and msg.sender == "org.freedesktop.DBus":
            name, _old, new = msg.body
            if not new and name.startswith(":"):
                self._client_gone(name)

    def _client_gone(self, name: str) -> None:
        """A D-Bus client left the bus; the layers above end its sessions."""

    def _managed_objects(self, msg: Message) -> Message:
        objects = {
            path: {name: dict(props) for name, props in interfaces.items()}
            for path, interfaces in self._tree.items()
        }
        return Message.new_method_return(msg, "a{oa{sa{sv}}}", [objects])

    def _properties(self, msg: Message) -> Message:
        try:
            return self._properties_reply(msg)
        except BluezError as exc:
            return Message.new_error(msg, exc.name, exc.text)

    def _properties_reply(self, msg: Message) -> Message:
        interfaces = self._tree.get(msg.path or "")
        if interfaces is None:
            raise BluezError(_UNKNOWN_OBJECT, f"no object at {msg.path}")
        interface = msg.body[0] if msg.body else ""
        props = interfaces.get(interface)
        if props is None:
            raise BluezError(_INVALID_ARGS, f"No such interface '{interface}'")
        if msg.member == "GetAll":
            return Message.new_method_return(msg, "a{sv}", [dict(props)])
        name = msg.body[1]
        if msg.member == "Get":
            if name not in props:
                raise BluezError(_INVALID_ARGS, f"No such property '{name}'")
            return Message.new_method_return(msg, "v", [props[name]])
        if msg.member != "Set":
            raise BluezError(_UNKNOWN_METHOD, f"{PROPERTIES}.{msg.member}")
        if name not in _WRITABLE.get(interface, set()):
            raise BluezError(_READ_ONLY, f"Property '{name}' is read-only")
        self._set_property(msg.path or "", interface, name, msg.body[2])
        return Message.new_method_return(msg)

    def _set_property(self, path: str, interface: str, name: str, value: Variant) -> None:
        """A client's ``Properties.Set`` of a writable property."""
        self.set_props(path, interface, {name: value})

    async def _answer(self, msg: Message) -> None:
        try:
            signature, body = await self._handler_for(msg)(msg)
        except BluezError as exc:
            reply = Message.new_error(msg, exc.name, exc.text)
        else:
            reply = Message.new_method_return(msg, signature, body)
        self._send(reply)

    def _handler_for(self, msg: Message) -> Callable[[Message], Awaitable[Reply]]:
        if msg.interface not in self._tree.get(msg.path or "", {}):
            raise BluezError(
                _UNKNOWN_OBJECT,
                f'Method "{msg.member}" with signature "{msg.signature}" on interface '
                f'"{msg.interface}" doesn\'t exist',
            )
        handler = self._handlers.get((msg.interface or "", msg.member or ""))
        if handler is None:
            raise BluezError(_UNKNOWN_METHOD, f"{msg.interface}.{msg.member}")
        return handler
