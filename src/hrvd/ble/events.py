"""What a strap session emits: link changes, notifications with their beats, battery.

Pure values, no I/O: the pipeline, the replay and the tests use them without importing
bleak or dbus-fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hrvd.ble.timeline import TimedBeat


class LinkState(StrEnum):
    """The state of the link with one strap."""

    CONNECTING = "connecting"
    STREAMING = "streaming"
    STALLED = "stalled"
    NO_CONTACT = "no_contact"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class LinkChange:
    """The link with ``strap`` entered ``state`` at ``at_s`` (monotonic s)."""

    strap: str
    state: LinkState
    at_s: float
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    """One Heart Rate Measurement from ``strap``, received at ``at_s`` (monotonic s).

    ``beats`` holds its RR intervals with reconstructed times; empty while there is no
    skin contact.
    """

    strap: str
    at_s: float
    hr_bpm: int
    contact: bool | None
    beats: tuple[TimedBeat, ...]


@dataclass(frozen=True, slots=True)
class BatteryLevel:
    """The strap's battery, percent."""

    strap: str
    at_s: float
    percent: int


StrapEvent = LinkChange | Notification | BatteryLevel
