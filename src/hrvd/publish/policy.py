"""Pure policy of the MQTT link: how long to wait before the next connect attempt.

A broker is not a strap. A strap out of range may stay away for hours and every attempt
costs a Bluetooth scan, so the strap's backoff grows to 30 s (``hrvd.ble.policy``). A
broker is a LAN service, usually on the same Pi or the next box: it is away while it
restarts (an upgrade, a Home Assistant add-on restart), which takes a second or two, and
an attempt while it is down costs one refused TCP connect. Waiting 30 s there delayed
alerts by up to half a minute after the broker was back (issue 17). So the wait stays
short.
"""

from __future__ import annotations

import random

FIRST_RETRY_S = 0.25
"""First retry, s: a broker restarted in place is usually listening again within it."""
BACKOFF_FACTOR = 2.0
MAX_BACKOFF_S = 2.0
"""Cap of the wait, s. MQTT.js (Zigbee2MQTT, Node-RED) retries every 1 s by default
(``reconnectPeriod``); twice that still puts the first attempt after the broker is back
within 2.5 s (with jitter), which leaves room in the goal of a queued alert out within
5 s. An unreachable host (no refusal) is slower anyway: each attempt then waits for the
connect timeout."""
JITTER = 0.25
"""Each wait is drawn from +/-25 % around its step, so that several hrvd processes (the
daemon, a replay, a morning measurement) do not knock in step."""
HEALTHY_AFTER_S = 10.0
"""A connection that lasted this long was healthy: the next loss starts from the first
step again. One that broke sooner (a broker that accepts and then drops us) keeps
climbing to the cap, instead of reconnecting four times a second."""


def reconnect_wait_s(attempt: int, rng: random.Random | None = None) -> float:
    """Wait before broker connect attempt ``attempt`` (0 = the first retry), s.

    Capped exponential with jitter: 0.25, 0.5, 1, 2, 2, ... s, each +/-25 %; never
    more than ``MAX_BACKOFF_S * (1 + JITTER)`` (2.5 s).
    """
    step = min(FIRST_RETRY_S * BACKOFF_FACTOR ** min(max(attempt, 0), 32), MAX_BACKOFF_S)
    spread = (rng or random).uniform(-JITTER, JITTER)
    return step * (1.0 + spread)


def longest_wait_s() -> float:
    """The longest :func:`reconnect_wait_s` can return, s: a broker back is found within it."""
    return MAX_BACKOFF_S * (1.0 + JITTER)
