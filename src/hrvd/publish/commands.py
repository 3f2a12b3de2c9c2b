"""Commands from MQTT as values, and the limits a flood of them meets. Pure: no I/O, no clock.

The parser's contract (as :mod:`hrvd.ble.protocol`'s for the strap): any bytes on a command
topic give either a command or a :class:`Rejected` with its reason, never an exception.
Anyone on the broker may publish there, so the payload is capped before it is decoded, and
JSON nesting or numbers that would make :func:`json.loads` raise something other than
``JSONDecodeError`` (``RecursionError``, ``ValueError`` for a 4,300-digit integer) are
rejected too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

MAX_COMMAND_BYTES = 1024
"""A command is ``start``, ``stop`` or a JSON object of three short fields (about 60
bytes); anything longer than this is not one of ours and is not decoded."""
MAX_STRAP_NAME_CHARS = 64
"""A strap name in a command longer than this cannot name a configured strap worth
typing; a longer one is rejected, so no log line carries it."""
LOG_TEXT_CHARS = 80
"""What of a rejected payload a log line shows, characters."""
POSTURES = ("lying", "sitting", "standing")
RIDE_STARTS_BURST = 3
RIDE_START_EVERY_S = 60.0
"""Ride starts by command, per strap: three back to back (a start, a mistaken stop, a
start again, and one to spare), then one a minute. A ride is minutes long; a flood of
start/stop commands would otherwise write a ride to the store per pair (9,801 in 20 s,
measured). Stops always pass: they end a ride, they write no new one."""
REFUSAL_LOG_BURST = 5
REFUSAL_LOG_EVERY_S = 10.0
"""Refused commands are logged five at once, then one line per 10 s with the count of
those not logged: a flood of bad commands must not flood the journal."""

RideAction = Literal["start", "stop"]


@dataclass(frozen=True, slots=True)
class RideCommand:
    """Start or stop a ride; ``strap`` None: the first ride strap."""

    action: RideAction
    strap: str | None = None


@dataclass(frozen=True, slots=True)
class MorningCommand:
    """Start a morning measurement; None fields take the config's defaults.

    ``orthostatic``: the orthostatic test (lie, then stand) instead of a plain morning.
    """

    strap: str | None = None
    repeat: bool = False
    posture: str | None = None
    orthostatic: bool = False


@dataclass(frozen=True, slots=True)
class Rejected:
    """A payload that is no command, and why (one short line, safe to log)."""

    reason: str


def shown(payload: bytes) -> str:
    """A payload as a log line may show it: decoded leniently, cut to a few words."""
    text = payload[: LOG_TEXT_CHARS * 4].decode(errors="replace")
    return text if len(text) <= LOG_TEXT_CHARS else text[:LOG_TEXT_CHARS] + "…"


def parse_ride_command(payload: bytes) -> RideCommand | Rejected:
    """``start`` / ``stop``, or JSON ``{"action": "start", "strap": "h10_garage"}``."""
    fields = _fields(payload, ("start", "stop"))
    if isinstance(fields, Rejected):
        return fields
    if isinstance(fields, str):
        return RideCommand("start" if fields == "start" else "stop")
    action = fields.get("action")
    if action not in ("start", "stop"):  # a tuple: the value may be unhashable
        return Rejected("action must be start or stop")
    strap = _strap(fields)
    if isinstance(strap, Rejected):
        return strap
    return RideCommand("start" if action == "start" else "stop", strap)


def parse_morning_command(payload: bytes) -> MorningCommand | Rejected:
    """``start``, ``orthostatic``, or JSON with any of the fields below.

    ``{"strap": "h10", "repeat": true, "posture": "sitting", "orthostatic": true}``.
    """
    fields = _fields(payload, ("start", "", "orthostatic"))
    if isinstance(fields, Rejected):
        return fields
    if isinstance(fields, str):
        return MorningCommand(orthostatic=fields == "orthostatic")
    strap = _strap(fields)
    flags = [fields.get(k, False) for k in ("repeat", "orthostatic")]
    posture = fields.get("posture")
    if isinstance(strap, Rejected):
        return strap
    if not all(isinstance(f, bool) for f in flags):
        return Rejected("repeat and orthostatic must be true or false")
    if posture is not None and posture not in POSTURES:
        return Rejected(f"posture must be one of {', '.join(POSTURES)}")
    return MorningCommand(
        strap, repeat=flags[0] is True, posture=posture, orthostatic=flags[1] is True
    )


def _fields(payload: bytes, words: tuple[str, ...]) -> str | dict[str, object] | Rejected:
    """One of ``words``, or the fields of a JSON object."""
    if len(payload) > MAX_COMMAND_BYTES:
        return Rejected(f"{len(payload)} bytes, more than a command's {MAX_COMMAND_BYTES}")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return Rejected("not UTF-8 text")
    return text if text in words else _object(text)


def _object(text: str) -> dict[str, object] | Rejected:
    if not text.startswith("{"):
        return Rejected("neither a command word nor a JSON object")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError and integers beyond Python's digit limit;
        # RecursionError, nesting deeper than the interpreter's stack.
        return Rejected("not valid JSON")
    if not isinstance(data, dict):
        return Rejected("not a JSON object")
    return data


def _strap(data: dict[str, object]) -> str | Rejected | None:
    strap = data.get("strap")
    if strap is None:
        return None
    if not isinstance(strap, str) or not strap.strip():
        return Rejected("strap must be a strap's name")
    if len(strap) > MAX_STRAP_NAME_CHARS:
        return Rejected(f"strap name longer than {MAX_STRAP_NAME_CHARS} characters")
    return strap


class TokenBucket:
    """At most ``burst`` events at once, then one per ``every_s``; time comes in, s.

    Args:
        burst: how many events may pass back to back.
        every_s: how often one more may pass once the burst is spent, s.
    """

    def __init__(self, burst: int, every_s: float) -> None:
        self.burst = burst
        self.every_s = every_s
        self._tokens = float(burst)
        self._at_s: float | None = None
        self.refused = 0
        """Events refused since the last one that passed."""

    def allow(self, now_s: float) -> bool:
        """Whether one event at ``now_s`` may pass (it then spends a token)."""
        if self._at_s is not None:
            elapsed = max(now_s - self._at_s, 0.0)
            self._tokens = min(float(self.burst), self._tokens + elapsed / self.every_s)
        self._at_s = now_s
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self.refused += 1
        return False

    def take_refused(self) -> int:
        """The count of refused events, reset to zero (for a log line that sums them)."""
        n, self.refused = self.refused, 0
        return n


def ride_starts() -> TokenBucket:
    """The limit on one strap's ride starts by command."""
    return TokenBucket(RIDE_STARTS_BURST, RIDE_START_EVERY_S)


def refusal_log() -> TokenBucket:
    """The limit on log lines about refused commands."""
    return TokenBucket(REFUSAL_LOG_BURST, REFUSAL_LOG_EVERY_S)
