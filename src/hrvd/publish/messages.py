"""What the pipeline hands on: one frozen value per JSON topic, and the :class:`Sink` it goes to.

Each message class knows its topic (:mod:`hrvd.publish.topics`), gives its JSON object
(:meth:`payload`) and is read back from one (:meth:`from_payload`: ``hrvd watch``, the
interrupted-ride repair, the tests). A field holding :data:`ABSENT` is left out of the
payload, as a key missing from a received payload reads back as :data:`ABSENT`: the wire
format has keys that only some messages carry (a ride's ceiling, an orthostatic test's phase).

Pure: MQTT, the store, the terminal and the tests each implement :class:`Sink`.
"""

from __future__ import annotations

import enum
import re
import types
from dataclasses import dataclass, fields
from datetime import datetime
from typing import (
    TYPE_CHECKING,
    ClassVar,
    Protocol,
    Self,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from hrvd.errors import HrvdError
from hrvd.publish import topics

if TYPE_CHECKING:
    from collections.abc import Mapping

Payload = dict[str, object]


class Sink(Protocol):
    """Where the pipeline's messages go."""

    def state(self, topic: str, payload: Payload) -> None:
        """A live value (QoS 0, dropped when it cannot go)."""

    def retained(self, topic: str, payload: str) -> None:
        """A retained plain value (availability, link)."""

    def durable(self, topic: str, payload: Payload) -> None:
        """A message that must arrive, in order (alert, ride, session)."""


class MalformedMessageError(HrvdError):
    """A received payload is not the message its topic promises."""


class _Absent(enum.Enum):
    ABSENT = "absent"

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent.ABSENT
"""A field whose key the payload does not carry."""


class _Message:
    """What every message does: its payload, and reading one back."""

    __slots__ = ()
    kind: ClassVar[str]
    """The topic's last part (``state``, ``alert``, ...)."""

    def payload(self) -> Payload:
        """The JSON object, keys in field order; :data:`ABSENT` fields left out."""
        return {n: v for n in _names(type(self)) if (v := getattr(self, n)) is not ABSENT}

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> Self:
        """Read a received JSON object; keys this version does not know are ignored.

        Raises:
            MalformedMessageError: a key is missing, or a value has the wrong type.
        """
        hints = _hints(cls)
        values: dict[str, object] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            hint = hints[f.name]
            if f.name not in payload:
                if not _allows(hint, ABSENT):
                    raise MalformedMessageError(f"{cls.kind} message without {f.name!r}")
                values[f.name] = ABSENT
                continue
            value = payload[f.name]
            if value is ABSENT or not _allows(hint, value):
                raise MalformedMessageError(
                    f"{cls.kind} message: {f.name} = {value!r} is not {_describe(hint)}"
                )
            values[f.name] = value
        return cls(**values)


_HINTS: dict[type, dict[str, object]] = {}
_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    """The field names of a message class, looked up once: a state message goes out every second."""
    if cls not in _NAMES:
        _NAMES[cls] = tuple(f.name for f in fields(cls))
    return _NAMES[cls]


def _hints(cls: type) -> dict[str, object]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls, globals(), {"_Absent": _Absent})
    return _HINTS[cls]


def _allows(hint: object, value: object) -> bool:  # noqa: C901, PLR0911 - one case per kind of type
    """Whether a JSON value fits a field's type (an int fits a float; a bool no number)."""
    origin = get_origin(hint)
    if origin in {Union, types.UnionType}:
        return any(_allows(h, value) for h in get_args(hint))
    if hint is type(None):
        return value is None
    if hint is _Absent:
        return value is ABSENT
    if hint is object:
        return True
    if hint is bool:
        return isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        (item,) = get_args(hint)
        return isinstance(value, list) and all(_allows(item, v) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    raise TypeError(f"no check for {hint!r}")  # a bug in a message class


def _describe(hint: object) -> str:
    if get_origin(hint) in {Union, types.UnionType}:
        return " or ".join(_describe(h) for h in get_args(hint) if h is not _Absent)
    if hint is type(None):
        return "null"
    return getattr(hint, "__name__", str(hint))


# Each strap's messages.
@dataclass(frozen=True, slots=True)
class StateMessage(_Message):
    """The live values of one strap notification (QoS 0, about once a second).

    Heart rate in bpm, RR and HRV in ms, rates 0-1; None where not known (warm-up, no contact).
    """

    kind: ClassVar[str] = "state"
    ts: str
    hr_bpm: float | None
    rr_ms: list[float]
    rmssd_ms: float | None
    ln_rmssd: float | None
    sdnn_ms: float | None
    dfa_alpha1: float | None
    artifact_rate: float | None
    quality: str
    quality_reasons: list[str]
    zone: int | None
    contact: bool | None
    battery_pct: int | None

    @staticmethod
    def topic(base: str, strap: str) -> str:
        """``<base>/<strap>/state``."""
        return topics.state(base, strap)


@dataclass(frozen=True, slots=True)
class AlertMessage(_Message):
    """The "too hard for recovery" alert, on every change (retained, durable)."""

    kind: ClassVar[str] = "alert"
    id: str
    ts: str
    too_hard: bool
    reason: str
    since: str | None
    hr_bpm: float | None
    ceiling_bpm: float | None
    dfa_alpha1: float | None

    @staticmethod
    def topic(base: str, strap: str) -> str:
        """``<base>/<strap>/alert``."""
        return topics.alert(base, strap)


@dataclass(frozen=True, slots=True)
class RideMessage(_Message):
    """A ride's phase, elapsed time (s) and latest event (retained, durable).

    The start's message says which ceiling holds and why (``ceiling_*``); others leave them out.
    """

    kind: ClassVar[str] = "ride"
    id: str
    active: bool
    phase: str
    elapsed_s: float | None
    event: str
    alpha1_guard: str | None
    ceiling_bpm: float | _Absent = ABSENT
    ceiling_source: str | _Absent = ABSENT
    ceiling_why: str | _Absent = ABSENT

    @staticmethod
    def topic(base: str, strap: str) -> str:
        """``<base>/<strap>/ride``."""
        return topics.ride(base, strap)


_RIDE_START = re.compile(r"@(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[+-]\d\d:\d\d|Z)?)")


def ride_id(strap: str, start_iso: str, n: int = 1) -> str:
    """A ride's id: ``<strap>@<start, ISO 8601>``, ``#n`` after it for a second ride.

    ``n``: the ride's number among those started in the same second. Its ride and alert
    messages' ids begin with it, so :func:`ride_start` reads the start back from them.
    """
    base = f"{strap}@{start_iso}"
    return base if n == 1 else f"{base}#{n}"


def ride_start(message_id: str) -> datetime | None:
    """When the ride of a ride or alert message started, read from the message's id.

    Both ids begin with the ride's (:func:`ride_id`). None when the id holds no such start.
    """
    found = _RIDE_START.findall(message_id)
    if not found:
        return None
    try:
        start = datetime.fromisoformat(found[-1])
    except ValueError:
        return None
    return start if start.tzinfo is not None else None  # the daemon writes an offset


@dataclass(frozen=True, slots=True)
class SessionMessage(_Message):
    """The summary of a strap's last ride (retained, durable; kept in the store).

    Times ISO 8601; durations s, heart rates bpm, RMSSD ms, shares %, rates 0-1.
    """

    kind: ClassVar[str] = "session"
    id: str
    strap: str
    started: str
    ended: str
    end_reason: str
    duration_s: float
    in_zone_pct: float | None
    too_hard_s: float
    mean_hr_bpm: float | None
    max_hr_bpm: float | None
    mean_rmssd_ms: float | None
    mean_dfa_alpha1: float | None
    artifact_rate: float | None
    alerts: int
    ceiling_bpm: float
    hrvt1_bpm: float | None
    hrvt1_reason: str | None
    ceiling_source: str | _Absent = ABSENT
    ceiling_why: str | _Absent = ABSENT

    @staticmethod
    def topic(base: str, strap: str) -> str:
        """``<base>/<strap>/session``."""
        return topics.session(base, strap)


# The athlete's messages.
@dataclass(frozen=True, slots=True)
class MorningMessage(_Message):
    """A morning measurement's progress (QoS 0) and its end (durable, with an id).

    An orthostatic test adds ``test``, ``phase``, ``prompt`` and ``outcome``.
    """

    kind: ClassVar[str] = "morning"
    state: str
    remaining_s: float | None
    reason: str | None
    test: str | _Absent = ABSENT
    phase: str | _Absent = ABSENT
    prompt: str | _Absent | None = ABSENT
    outcome: str | _Absent | None = ABSENT
    id: str | _Absent = ABSENT

    @staticmethod
    def topic(base: str) -> str:
        """``<base>/morning``."""
        return topics.morning(base)


@dataclass(frozen=True, slots=True)
class ReadinessMessage(_Message):
    """The day's readiness and recommendation (retained, durable).

    lnRMSSD of ms, RMSSD ms, heart rate bpm, CVs %; an orthostatic test adds ``orthostatic``.
    """

    kind: ClassVar[str] = "readiness"
    date: str
    score: float | None
    status: str
    ln_rmssd: float
    ln_rmssd_7d: float
    rmssd_ms: float
    resting_hr_bpm: float | None
    baseline_ln_rmssd: float | None
    normal_low: float | None
    normal_high: float | None
    recommendation: str | None
    recommendation_text: str
    posture: str
    cv_7d_pct: float | None
    cv_7d_prev_pct: float | None
    ln_rmssd_7d_prev: float | None
    trend_7d: float | None
    cv_7d_change_pct: float | None
    quality: dict[str, object] | None
    orthostatic: dict[str, object] | _Absent = ABSENT
    id: str | _Absent = ABSENT

    @staticmethod
    def topic(base: str) -> str:
        """``<base>/readiness``."""
        return topics.readiness(base)


@dataclass(frozen=True, slots=True)
class ThresholdsMessage(_Message):
    """The personal HRVT1 (median of recent rides, bpm) and the ride ceiling in force (retained).

    The daemon's start and each ride that gives an estimate send it, durable, with an ``id``.
    """

    kind: ClassVar[str] = "thresholds"
    hrvt1_bpm: float | None
    n: int
    dates: list[str]
    ceiling_bpm: float
    ceiling_source: str
    ceiling_why: str
    follows_hrvt1: bool
    margin_bpm: float
    id: str | _Absent = ABSENT

    @staticmethod
    def topic(base: str) -> str:
        """``<base>/thresholds``."""
        return topics.thresholds(base)


StrapMessage = StateMessage | AlertMessage | RideMessage | SessionMessage
AthleteMessage = MorningMessage | ReadinessMessage | ThresholdsMessage
Message = StrapMessage | AthleteMessage

STRAP_MESSAGES: tuple[type[StrapMessage], ...] = (
    StateMessage,
    AlertMessage,
    RideMessage,
    SessionMessage,
)
ATHLETE_MESSAGES: tuple[type[AthleteMessage], ...] = (
    MorningMessage,
    ReadinessMessage,
    ThresholdsMessage,
)
_BY_KIND: dict[str, type[Message]] = {c.kind: c for c in (*STRAP_MESSAGES, *ATHLETE_MESSAGES)}


def parse(topic: str, payload: Mapping[str, object]) -> Message | None:
    """The message a received JSON object is, by its topic's last part; None: no JSON topic.

    Raises:
        MalformedMessageError: the payload is not what the topic carries.
    """
    cls = _BY_KIND.get(topic.rsplit("/", 1)[-1])
    return None if cls is None else cls.from_payload(payload)
