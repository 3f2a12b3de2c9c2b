"""A resilient session with one heart-rate strap, through bleak on BlueZ.

:meth:`StrapSession.run` keeps the strap connected for as long as it is cancelled: it finds
the strap, connects with bleak-retry-connector, subscribes to Heart Rate Measurement,
reads the battery, and emits events. When the link drops, stalls or cannot be made, it
waits (capped exponential backoff with jitter, quick at first) and tries again. A beat
series that breaks is marked, so no HRV window bridges the gap.

Events (frozen values, passed to the ``emit`` callback):

* :class:`LinkChange`: connecting, streaming, stalled, no_contact, disconnected;
* :class:`Notification`: one 0x2A37 notification with its timed beats;
* :class:`BatteryLevel`: percent, from GATT 0x2A19 or BlueZ's ``org.bluez.Battery1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import TYPE_CHECKING

import structlog
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError
from bleak_retry_connector import close_stale_connections_by_address, establish_connection
from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus

from hrvd.ble.events import BatteryLevel, LinkChange, LinkState, Notification, StrapEvent
from hrvd.ble.policy import RESET_AFTER_STREAMING_S, backoff_s
from hrvd.ble.protocol import (
    BATTERY_LEVEL_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    parse_battery_level,
    parse_measurement,
)
from hrvd.ble.timeline import MAX_DRIFT_S, BeatTimeline
from hrvd.errors import MalformedPayloadError

if TYPE_CHECKING:
    from collections.abc import Callable

    from bleak.backends.device import BLEDevice

    from hrvd.ble.timeline import TimedBeat
    from hrvd.config import StrapConfig

log = structlog.get_logger("hrvd.ble")

SCAN_TIMEOUT_S = 10.0
"""How long to look for the strap before the attempt counts as failed, s."""
BATTERY_EVERY_S = 300.0
"""How often the battery is read again while connected, s."""
CONNECT_ATTEMPTS = 2
"""Attempts inside bleak-retry-connector before our own backoff takes over."""
MALFORMED_LOG_EVERY = 100
"""After the first malformed payload, log one in this many (a broken strap sends many)."""


class _Stalled(Exception):  # noqa: N818 - a signal inside the session, not an error
    """No notification for the stall timeout while connected."""


class StrapSession:
    """Keeps one strap connected and streaming until cancelled.

    Args:
        strap: the strap's config (name, and address when known).
        emit: called with every :data:`StrapEvent`, on the event loop; must not block.
        stall_timeout_s: silence while connected that counts as a stall, s; default:
            the strap's ``stall_timeout_s`` from the config.
        scan_timeout_s: how long one search for the strap lasts, s.
        clock: monotonic clock, s; asyncio waits in the same unit.
        max_drift_s: how far the RR sum may part from the receive clock before the beat
            series is cut (see :mod:`hrvd.ble.timeline`).
        rng: random source of the backoff jitter.
        adapter_lock: held while searching and connecting; sessions on one adapter share
            it, because BlueZ refuses a second discovery or LE connect attempt while one
            is under way (org.bluez.Error.InProgress).
    """

    def __init__(  # noqa: PLR0913 - every argument but the first two has a default
        self,
        strap: StrapConfig,
        emit: Callable[[StrapEvent], None],
        *,
        stall_timeout_s: float | None = None,
        scan_timeout_s: float = SCAN_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        adapter_lock: asyncio.Lock | None = None,
        max_drift_s: float = MAX_DRIFT_S,
    ) -> None:
        self.strap = strap
        self.adapter_lock = adapter_lock or asyncio.Lock()
        self._emit = emit
        self._stall_timeout_s = stall_timeout_s or strap.stall_timeout_s
        self._scan_timeout_s = scan_timeout_s
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._timeline = BeatTimeline(max_drift_s)
        self._state: LinkState | None = None
        self._last_rx = 0.0
        self._wake = asyncio.Event()  # set on disconnect, or when a callback failed
        self._failure: Exception | None = None
        self.malformed = 0
        """Malformed payloads received so far."""
        self._stale_closed = False
        self.log = log.bind(strap=strap.name)

    @property
    def state(self) -> LinkState | None:
        """The current link state (None before the first attempt)."""
        return self._state

    def _set_state(self, state: LinkState, reason: str | None = None) -> None:
        if state is self._state:
            return
        self._state = state
        self.log.info("link", state=state.value, reason=reason)
        self._emit(LinkChange(self.strap.name, state, self._clock(), reason))

    def crashed(self, reason: str) -> None:
        """The session died of a bug: the link is down and the beat series broken."""
        self._timeline.gap()
        self._set_state(LinkState.DISCONNECTED, f"crashed: {reason}")

    async def run(self) -> None:
        """Connect, stream, and reconnect after every failure, until cancelled."""
        attempt = 0
        while True:
            started = self._clock()
            try:
                await self._connect_and_stream()
                reason = "disconnected"
            except _Stalled:
                reason = "stalled"
            except (BleakError, TimeoutError, OSError, EOFError) as exc:
                reason = _describe(exc)
                if "InProgress" in reason:
                    # A connect BlueZ still thinks is running: clear it, or every retry
                    # fails the same way.
                    with contextlib.suppress(BleakError, OSError, TimeoutError):
                        await close_stale_connections_by_address(self._address_or_name())
            self._timeline.gap()
            if self._state is not LinkState.STALLED:
                self._set_state(LinkState.DISCONNECTED, reason)
            if self._clock() - started >= RESET_AFTER_STREAMING_S:
                attempt = 0
            wait = 0.0 if reason == "stalled" else backoff_s(attempt, self._rng)
            attempt += 1
            self.log.info("reconnecting", after_s=round(wait, 2), attempt=attempt)
            await asyncio.sleep(wait)

    def _address_or_name(self) -> str:
        return self.strap.address or self.strap.name

    async def _find(self) -> BLEDevice:
        if self.strap.address and not self._stale_closed:
            # A link left up by an hrvd that died (kill -9, power cut of the process) stays
            # up in BlueZ, and a connected strap does not advertise: the scan would never
            # find it. Close such a link once, at the first connect.
            self._stale_closed = True
            with contextlib.suppress(BleakError, OSError, TimeoutError, EOFError):
                await close_stale_connections_by_address(self.strap.address)
        if self.strap.address:
            device = await BleakScanner.find_device_by_address(
                self.strap.address, timeout=self._scan_timeout_s
            )
        else:
            name = self.strap.name
            device = await BleakScanner.find_device_by_filter(
                lambda d, adv: name in (d.name, adv.local_name), timeout=self._scan_timeout_s
            )
        if device is None:
            where = self._address_or_name()
            msg = f"{where} not found (out of range, off, or held by another device)"
            raise BleakError(msg)
        return device

    async def _connect_and_stream(self) -> None:
        self._set_state(LinkState.CONNECTING)
        self._wake = wake = asyncio.Event()
        async with self.adapter_lock:
            device = await self._find()
            client = await establish_connection(
                BleakClient,
                device,
                self.strap.name,
                disconnected_callback=lambda _client: wake.set(),
                max_attempts=CONNECT_ATTEMPTS,
            )
        try:
            self._last_rx = self._clock()
            await client.start_notify(HEART_RATE_MEASUREMENT_UUID, self._on_notify)
            await self._watch(client, device, wake)
        finally:
            with contextlib.suppress(BleakError, OSError, TimeoutError, EOFError):
                await client.disconnect()

    async def _watch(self, client: BleakClient, device: BLEDevice, wake: asyncio.Event) -> None:
        """Return on disconnect; raise _Stalled when notifications stop.

        An exception inside the notification callback would be swallowed by the D-Bus
        layer that calls it; it is kept and raised here, so that the supervisor sees it.
        """
        next_battery = self._clock()
        while not wake.is_set():
            now = self._clock()
            if now >= next_battery:
                await self._read_battery(client, device)
                next_battery = now + BATTERY_EVERY_S
            silent = now - self._last_rx
            if silent >= self._stall_timeout_s:
                self._set_state(LinkState.STALLED, f"no notification for {silent:.1f} s")
                raise _Stalled
            timeout = min(self._stall_timeout_s - silent, max(next_battery - now, 0.0))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=max(timeout, 0.01))
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def feed(self, data: bytes | bytearray) -> None:
        """Take one Heart Rate Measurement as if the strap had just sent it.

        The virtual strap of the demo uses this, so its bytes go through the same parsing,
        contact handling and beat timing as a real strap's.
        """
        self._handle(bytearray(data))

    def _on_notify(self, _sender: object, data: bytearray) -> None:
        try:
            self._handle(data)
        except Exception as exc:  # noqa: BLE001 - handed to _watch, which raises it
            self._failure = exc
            self._wake.set()

    def _handle(self, data: bytearray) -> None:
        now = self._clock()
        self._last_rx = now
        try:
            m = parse_measurement(data)
        except MalformedPayloadError as exc:
            # Its beats are lost: the next ones start a new segment, and their times are
            # not pulled early by the missing intervals.
            self._timeline.gap()
            self.malformed += 1
            if self.malformed % MALFORMED_LOG_EVERY == 1:
                self.log.warning("malformed payload", error=str(exc), count=self.malformed)
            return
        no_contact = m.contact is False or (m.hr_bpm == 0 and not any(m.rr_raw))
        if no_contact:
            # A strap off the chest sends zeros or flags no contact: a state, not beats.
            self._timeline.gap()
            self._set_state(LinkState.NO_CONTACT)
            beats: tuple[TimedBeat, ...] = ()
        else:
            self._set_state(LinkState.STREAMING)
            beats = tuple(self._timeline.add(now, tuple(r for r in m.rr_raw if r > 0)))
        self._emit(Notification(self.strap.name, now, m.hr_bpm, m.contact, beats))

    async def _read_battery(self, client: BleakClient, device: BLEDevice) -> None:
        percent: int | None = None
        try:
            if client.services.get_characteristic(BATTERY_LEVEL_UUID) is not None:
                percent = parse_battery_level(await client.read_gatt_char(BATTERY_LEVEL_UUID))
            else:
                percent = await _bluez_battery(device)
        except (BleakError, MalformedPayloadError, OSError, TimeoutError) as exc:
            self.log.warning("battery unreadable", error=_describe(exc))
        if percent is not None:
            self._emit(BatteryLevel(self.strap.name, self._clock(), percent))


async def _bluez_battery(device: BLEDevice) -> int | None:
    """Battery percent from ``org.bluez.Battery1`` on the device object, if BlueZ has it.

    BlueZ hides the GATT Battery service and exposes this interface instead.
    """
    details = device.details
    path = details.get("path") if isinstance(details, dict) else None
    if not isinstance(path, str):
        return None
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    try:
        reply = await bus.call(
            Message(
                destination="org.bluez",
                path=path,
                interface="org.freedesktop.DBus.Properties",
                member="Get",
                signature="ss",
                body=["org.bluez.Battery1", "Percentage"],
            )
        )
    finally:
        bus.disconnect()
    if reply.message_type is not MessageType.METHOD_RETURN:
        return None
    value = reply.body[0].value
    return int(value) if isinstance(value, int) and 0 <= value <= 100 else None


def _describe(exc: BaseException) -> str:
    """One line for a log: the exception's class and message."""
    text = str(exc).strip() or "no detail"
    return f"{type(exc).__name__}: {text}"


async def supervise(session: StrapSession) -> None:
    """Run a session forever; an unexpected exception is logged and the session restarted.

    Each strap gets its own supervised task, so one strap's bug never cancels its
    siblings, as a bare TaskGroup would.
    """
    attempt = 0
    while True:
        try:
            await session.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            session.log.exception("session crashed; restarting", attempt=attempt)
            session.crashed(_describe(exc))
        await asyncio.sleep(backoff_s(attempt))
        attempt += 1


async def run_straps(sessions: list[StrapSession]) -> None:
    """Run several strap sessions side by side until cancelled, sharing one adapter lock."""
    lock = asyncio.Lock()
    for s in sessions:
        s.adapter_lock = lock
    async with asyncio.TaskGroup() as group:
        for s in sessions:
            group.create_task(supervise(s), name=f"strap[{s.strap.name}]")
