"""The kernel's view of the wall clock: is it set, and synchronised with a time server?

A Raspberry Pi has no battery-backed clock. Until a time server answers after boot, its
clock runs from the last shutdown (fake-hwclock) or from 1970, and a morning measured then
would be filed under the wrong date.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from datetime import UTC, datetime

MIN_YEAR = 2025
"""A clock before this year was never set (hrvd did not exist yet)."""


@dataclass(frozen=True, slots=True)
class ClockReading:
    """The kernel's clock: the time, and whether it is synchronised (None: unknown)."""

    now: datetime
    synchronised: bool | None

    @property
    def trusted(self) -> bool:
        """The date can be believed: set, and not known to be unsynchronised."""
        return self.now.year >= MIN_YEAR and self.synchronised is not False


TIME_ERROR = 5
"""adjtimex's answer when the clock is not synchronised."""
STA_UNSYNC = 0x0040
"""The status bit the kernel keeps set until a time server has set the clock."""


class _Timex(ctypes.Structure):
    """``struct timex`` of <sys/timex.h> up to ``status``; the rest is room for the kernel."""

    _fields_ = (
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("rest", ctypes.c_long * 32),
    )


def read_clock() -> ClockReading:
    """The time, and the kernel's view of whether it is synchronised.

    systemd-timesyncd, chrony and ntpd all tell the kernel (adjtimex clears STA_UNSYNC),
    so this works whichever of them runs. Reading (modes 0) needs no privilege.
    """
    now = datetime.now(UTC)
    timex = _Timex()
    try:
        state = ctypes.CDLL(None, use_errno=True).adjtimex(ctypes.byref(timex))
    except (AttributeError, OSError):
        return ClockReading(now, None)
    if state < 0:
        return ClockReading(now, None)
    return ClockReading(now, state != TIME_ERROR and not timex.status & STA_UNSYNC)
