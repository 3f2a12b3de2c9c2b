"""The fake heart-rate straps that :class:`harness.fake_bluez.FakeBluez` serves.

:class:`FakeStrap` is one strap, with the controls a test uses on it (drop the link, stall,
refuse connects, vanish, send a malformed payload); :class:`Heart` is its heart, beating on
the strap's own clock; :func:`steady_rr` and :func:`rr_ms_to_raw` make and encode its RR
intervals.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import re
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dbus_fast import Variant

from harness.fake_bluez_objects import ABORT_BY_LOCAL, ADAPTER_PATH, BATTERY1, RR_UNITS_PER_S

if TYPE_CHECKING:
    from collections.abc import Callable

    from harness.fake_bluez import FakeBluez

_ADDRESS = re.compile(r"[0-9A-F]{2}(:[0-9A-F]{2}){5}")


def steady_rr(mean_ms: float = 800.0, *, seed: int = 0) -> Callable[[], float]:
    """A source of RR intervals, ms: ``mean_ms`` with a breathing wave and a little noise.

    The wave is +-25 ms over 4.5 beats (respiratory sinus arrhythmia), the noise +-5 ms,
    reproducible for a given ``seed``.
    """
    rng = random.Random(seed)
    beat = itertools.count()

    def next_rr_ms() -> float:
        return mean_ms + 25.0 * math.sin(2 * math.pi * next(beat) / 4.5) + rng.uniform(-5, 5)

    return next_rr_ms


def rr_ms_to_raw(rr_ms: float) -> int:
    """An RR interval in ms as the strap sends it, in 1/1024 s."""
    return round(rr_ms * RR_UNITS_PER_S / 1000)


class Heart:
    """Beats on the strap's own clock, whoever listens; hands out the beats that ended.

    Args:
        rr_ms: source of RR intervals, ms.
        time_scale: strap seconds per wall second.
        now: the wall clock (event loop time, s) at which the first beat starts.
    """

    def __init__(self, rr_ms: Callable[[], float], time_scale: float, now: float) -> None:
        self._rr_ms = rr_ms
        self._time_scale = time_scale
        self._t0 = now
        self._beat_ms = self._next()
        self._beat_ends_s = self._beat_ms / 1000
        self.last_rr_ms = self._beat_ms

    def _next(self) -> float:
        rr = float(self._rr_ms())
        if not rr > 0:
            raise ValueError(f"rr_ms gave {rr!r}; RR intervals must be > 0 ms")
        return rr

    def ended(self, now: float) -> list[float]:
        """The RR intervals (ms) of the beats that ended since the last call, oldest first."""
        strap_s = (now - self._t0) * self._time_scale
        out: list[float] = []
        while self._beat_ends_s <= strap_s:
            out.append(self._beat_ms)
            self._beat_ms = self._next()
            self._beat_ends_s += self._beat_ms / 1000
        if out:
            self.last_rr_ms = out[-1]
        return out


@dataclass(eq=False)
class FakeStrap:
    """One simulated heart-rate strap. Add it with :meth:`FakeBluez.add_strap`.

    Args:
        address: the strap's Bluetooth address, ``"AA:BB:CC:DD:EE:01"``.
        name: advertised local name (also ``Alias``).
        battery: battery level, percent.
        gatt_battery: expose GATT 0x180F/0x2A19 instead of ``org.bluez.Battery1``.
        notify_interval_s: wall time between notifications (a real strap: about 1 s).
        rr_ms: source of RR intervals, ms, called once per beat; None: :func:`steady_rr`.
        contact: the sensor-contact bit; None: the strap does not support it.
        rssi: advertised signal strength, dBm (each advert varies it by up to 2 dB).
        time_scale: strap seconds per wall second for the heart; above 1 the RR sum runs
            ahead of the wall clock (see the module docstring).

    Attributes:
        sent_rr_raw: every RR value (1/1024 s) sent in a notification, in order.
        connects: successful ``Connect`` calls.
        refused: ``Connect`` calls refused by :meth:`refuse_connects`.
        notifications: notifications sent (including :meth:`send_raw` ones).
    """

    address: str
    name: str = "Polar H10 1234"
    battery: int = 87
    gatt_battery: bool = False
    notify_interval_s: float = 0.05
    rr_ms: Callable[[], float] | None = None
    contact: bool | None = True
    rssi: int = -60
    time_scale: float = 1.0
    sent_rr_raw: list[int] = field(default_factory=list, init=False)
    connects: int = field(default=0, init=False)
    refused: int = field(default=0, init=False)
    notifications: int = field(default=0, init=False)
    _bluez: FakeBluez | None = field(default=None, init=False, repr=False)
    _heart: Heart | None = field(default=None, init=False, repr=False)
    _connected: bool = field(default=False, init=False, repr=False)
    _in_range: bool = field(default=True, init=False, repr=False)
    _notify_clients: set[str] = field(default_factory=set, init=False, repr=False)
    _stalled_until: float = field(default=0.0, init=False, repr=False)
    _raw: deque[bytes] = field(default_factory=deque, init=False, repr=False)
    _refusals: deque[tuple[str, str]] = field(default_factory=deque, init=False, repr=False)

    def __post_init__(self) -> None:
        self.address = self.address.upper()
        if not _ADDRESS.fullmatch(self.address):
            raise ValueError(f"not a Bluetooth address: {self.address!r}")

    @property
    def path(self) -> str:
        """The strap's ``org.bluez.Device1`` object path."""
        return f"{ADAPTER_PATH}/dev_{self.address.replace(':', '_')}"

    @property
    def is_connected(self) -> bool:
        """Whether a central holds the link."""
        return self._connected

    @property
    def is_notifying(self) -> bool:
        """Whether some D-Bus client has ``StartNotify`` on 0x2A37."""
        return bool(self._notify_clients)

    def _owner(self) -> FakeBluez:
        if self._bluez is None:
            raise RuntimeError(f"strap {self.address} is not added to a FakeBluez")
        return self._bluez

    async def drop(self) -> None:
        """Lose the link as if out of range; return once BlueZ's signals are sent.

        The strap keeps advertising, so a scan finds it again at once.
        """
        bluez = self._owner()
        bluez.link_down(self)
        await bluez.flush()

    def stall(self, seconds: float) -> None:
        """Stay connected but send no notification for ``seconds`` (wall time).

        The beats that end meanwhile are lost, as a real strap's would be. The stall also ends
        when the link goes down: reconnecting is how a stuck strap gets going again.
        """
        self._stalled_until = asyncio.get_running_loop().time() + seconds

    def refuse_connects(
        self,
        n: int,
        error: str = "org.bluez.Error.Failed",
        message: str = ABORT_BY_LOCAL,
    ) -> None:
        """Make the next ``n`` ``Connect`` calls fail with ``error``/``message``.

        With :data:`ABORT_BY_LOCAL` the link comes up and goes down again around the error
        (``Connected`` true, then false), as bluetoothd does. bleak then retries by itself
        inside the same ``connect()`` until its timeout, and fires the client's
        ``disconnected_callback`` for every refusal.
        """
        self._refusals.extend([(error, message)] * n)

    def vanish(self) -> None:
        """Go out of range: no adverts, ``Connect`` fails with ``org.bluez.Error.NotFound``.

        A live link drops (signals sent from a task scheduled now). The ``Device1`` object
        stays, as in BlueZ's cache.
        """
        self._in_range = False
        if self._connected:
            bluez = self._owner()
            bluez.spawn(self.drop())

    def appear(self) -> None:
        """Come back in range: advertise again and accept ``Connect``."""
        self._in_range = True

    def send_raw(self, payload: bytes) -> None:
        """Make the next notification carry exactly ``payload`` (its beats are lost)."""
        self._raw.append(bytes(payload))

    def set_contact(self, contact: bool | None) -> None:
        """Set the sensor-contact bit of later notifications; None: not supported."""
        self.contact = contact

    def set_battery(self, percent: int) -> None:
        """Change the battery level (``Battery1.Percentage`` changes while connected)."""
        self.battery = percent
        if self._bluez is not None and self._connected and not self.gatt_battery:
            self._bluez.set_props(self.path, BATTERY1, {"Percentage": Variant("y", percent)})
