"""Pure helpers of bench_daemon.py: the test heart, message matching, latency summaries.

Nothing here starts a process or reads a clock.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from pathlib import Path

RR_UNITS_PER_S = 1024
NOT_FROM_A_BEAT = {"ride_end"}
"""Alert reasons that a command or a stop causes, not a notification."""


def rr_key(rr_raw: Iterable[int]) -> tuple[float, ...]:
    """RR values (1/1024 s) as a state payload carries them: ms, rounded to 0.1."""
    return tuple(round(r * 1000.0 / RR_UNITS_PER_S, 1) for r in rr_raw)


def square_heart(  # noqa: PLR0913 - the wave's shape, one number each
    low_hr_rr_ms: float,
    high_hr_rr_ms: float,
    *,
    period_s: float,
    step_ms: float,
    rsa_ms: float,
    noise_ms: float,
    seed: int,
) -> Callable[[], float]:
    """RR intervals (ms), one per call, of a heart that alternates between two rates.

    Half of each ``period_s`` (beat time) at ``low_hr_rr_ms``, half at ``high_hr_rr_ms``;
    the RR moves by at most ``step_ms`` a beat (no artifact-like jumps), with a breathing
    wave of ``rsa_ms`` over 4.5 beats and uniform noise of ``noise_ms``.
    """
    rng = random.Random(seed)  # noqa: S311 - a reproducible test heart, not cryptography
    t_s = 0.0
    current = low_hr_rr_ms
    beat = 0

    def next_rr_ms() -> float:
        nonlocal t_s, current, beat
        target = high_hr_rr_ms if (t_s % period_s) < period_s / 2 else low_hr_rr_ms
        current += max(-step_ms, min(step_ms, target - current))
        beat += 1
        rr = current + rsa_ms * math.sin(2 * math.pi * beat / 4.5)
        rr += rng.uniform(-noise_ms, noise_ms)
        t_s += rr / 1000.0
        return rr

    return next_rr_ms


# --- latency summaries --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Latency:
    """A latency distribution, ms."""

    n: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    @staticmethod
    def of(seconds: Sequence[float]) -> Latency:
        """Summary of latencies given in s (NaN everywhere when there are none)."""
        if not seconds:
            nan = math.nan
            return Latency(0, nan, nan, nan, nan, nan)
        ms = np.asarray(seconds, dtype=np.float64) * 1e3
        p50, p90, p99 = np.percentile(ms, [50, 90, 99]).tolist()
        return Latency(len(ms), p50, p90, p99, float(ms.max()), float(ms.mean()))


# --- the messages a subscriber recorded ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    """One message as the subscriber process recorded it."""

    index: int
    t_s: float
    topic: str
    text: str

    def json(self) -> dict[str, object]:
        """The payload as a JSON object (an empty dict for anything else)."""
        try:
            value = json.loads(self.text)
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}


def read_messages(path: Path) -> list[Received]:
    """The subscriber's file, in receive order (a torn last line is skipped)."""
    out: list[Received] = []
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            t_s, topic, text = json.loads(line)
        except (json.JSONDecodeError, ValueError):
            continue
        out.append(Received(len(out), float(t_s), str(topic), str(text)))
    return out


@dataclass(frozen=True, slots=True)
class Sent:
    """One notification the fake strap sent: when (monotonic s) and its RR (state form)."""

    t_s: float
    rr: tuple[float, ...]


@dataclass(slots=True)
class StateMatch:
    """State messages of one strap matched to the notifications that caused them."""

    received: int = 0
    matched: int = 0
    skipped_sends: int = 0
    """Notifications passed over between two matched ones (a lost or unmatched message)."""
    latencies_s: list[float] = field(default_factory=list)
    send_time: dict[int, float] = field(default_factory=dict)
    """Message index -> send time of its notification."""


def match_states(
    sends: Sequence[Sent], states: Sequence[Received], max_latency_s: float = 2.0
) -> StateMatch:
    """Match one strap's state messages to its notifications, in order.

    Messages and notifications go one way and in order. A message with RR values is
    matched to the first notification not yet matched that carries the same values and
    was sent before it arrived (at most ``max_latency_s`` before); once one has matched,
    a message without RR is matched to the next notification if that one had none too.
    """
    result = StateMatch()
    i = 0
    anchored = False
    for msg in states:
        result.received += 1
        rr_list = msg.json().get("rr_ms")
        rr = tuple(float(v) for v in rr_list) if isinstance(rr_list, list) else ()
        j: int | None = None
        if rr:
            k = i
            while k < len(sends) and sends[k].t_s <= msg.t_s:
                if sends[k].rr == rr and msg.t_s - sends[k].t_s <= max_latency_s:
                    j = k
                    break
                k += 1
        elif anchored and i < len(sends) and not sends[i].rr and sends[i].t_s <= msg.t_s:
            j = i
        if j is None:
            continue
        if anchored:
            result.skipped_sends += j - i
        anchored = True
        result.matched += 1
        result.latencies_s.append(msg.t_s - sends[j].t_s)
        result.send_time[msg.index] = sends[j].t_s
        i = j + 1
    return result


@dataclass(slots=True)
class AlertMatch:
    """Alert messages matched to the notification that completed their sustain time."""

    alerts: int = 0
    latencies_s: list[float] = field(default_factory=list)
    unmatched: int = 0
    not_from_a_beat: int = 0
    """Alerts no notification caused (``ride_end``: the ride was stopped); not timed."""
    reasons: dict[str, int] = field(default_factory=dict)


def match_alerts(messages: Sequence[Received], send_time: dict[int, float]) -> AlertMatch:
    """Match each alert to the state message of the same notification.

    The pipeline publishes a notification's state and then, in the same call, the alert
    it caused (the state at once, QoS 0; the alert through the outbox). So the alert's
    notification is the one of the latest state message of the strap received before the
    alert, and both carry the same heart rate: that is checked.
    """
    result = AlertMatch()
    last_state: dict[str, Received] = {}
    for msg in messages:
        strap, _, kind = msg.topic.rpartition("/")
        if kind == "state":
            last_state[strap] = msg
        elif kind == "alert" and msg.text:
            result.alerts += 1
            payload = msg.json()
            reason = str(payload.get("reason"))
            result.reasons[reason] = result.reasons.get(reason, 0) + 1
            if reason in NOT_FROM_A_BEAT:
                result.not_from_a_beat += 1
                continue
            state = last_state.get(strap)
            sent = send_time.get(state.index) if state is not None else None
            if state is None or sent is None or state.json().get("hr_bpm") != payload.get("hr_bpm"):
                result.unmatched += 1
                continue
            result.latencies_s.append(msg.t_s - sent)
    return result
