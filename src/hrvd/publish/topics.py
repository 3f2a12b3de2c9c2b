"""The MQTT topic contract, pure: every topic hrvd publishes or listens to, in one place.

``base`` is ``[mqtt] base_topic`` (default ``hrvd``); ``strap`` is a strap's name or slug,
passed through :func:`hrvd.config.slug` so both give the same topic. What each topic carries
is documented in ``docs/home-assistant.md`` and issue 5; the publisher, the discovery payloads
and the command handler all take their topics from here.
"""

from __future__ import annotations

import json
from typing import Literal

from hrvd.config import slug

ONLINE = "online"
OFFLINE = "offline"
"""Payloads of the status and availability topics (Home Assistant's defaults)."""

RideAction = Literal["start", "stop"]


# The daemon as a whole.
def status(base: str) -> str:
    """Retained ``online`` / ``offline`` of the daemon; ``offline`` is the Last Will."""
    return f"{base}/status"


def morning(base: str) -> str:
    """JSON progress of a morning measurement (``state``, ``remaining_s``, ``reason``)."""
    return f"{base}/morning"


def readiness(base: str) -> str:
    """Retained JSON of the latest valid morning readiness result."""
    return f"{base}/readiness"


def thresholds(base: str) -> str:
    """Retained JSON of the athlete's personal HRVT1 and the ride ceiling in force."""
    return f"{base}/thresholds"


def cmd_morning(base: str) -> str:
    """Command: ``start``, or JSON ``{"strap": ..., "repeat": true}``."""
    return f"{base}/cmd/morning"


def cmd_ride(base: str) -> str:
    """Command: ``start`` / ``stop``, or JSON naming the strap (:func:`ride_command`)."""
    return f"{base}/cmd/ride"


# One strap.
def availability(base: str, strap: str) -> str:
    """Retained ``online`` while the strap streams, else ``offline``."""
    return f"{base}/{slug(strap)}/availability"


def link(base: str, strap: str) -> str:
    """Retained link state: connecting, streaming, stalled, no_contact, disconnected."""
    return f"{base}/{slug(strap)}/link"


def state(base: str, strap: str) -> str:
    """Live JSON, not retained, one per strap notification (about once a second)."""
    return f"{base}/{slug(strap)}/state"


def alert(base: str, strap: str) -> str:
    """Retained JSON of the "too hard for recovery" alert, on every change."""
    return f"{base}/{slug(strap)}/alert"


def ride(base: str, strap: str) -> str:
    """Retained JSON of the current ride: phase, elapsed time, latest event."""
    return f"{base}/{slug(strap)}/ride"


def session(base: str, strap: str) -> str:
    """Retained JSON summary of the strap's last ride."""
    return f"{base}/{slug(strap)}/session"


def strap_topics(base: str, strap: str) -> tuple[str, ...]:
    """Every topic of one strap."""
    return tuple(f(base, strap) for f in (availability, link, state, alert, ride, session))


def daemon_topics(base: str) -> tuple[str, ...]:
    """Every topic of the daemon that belongs to no strap, commands included."""
    return (
        status(base),
        morning(base),
        readiness(base),
        thresholds(base),
        cmd_morning(base),
        cmd_ride(base),
    )


# Home Assistant.
def ha_status(discovery_prefix: str) -> str:
    """Home Assistant's birth / will topic: ``online`` means publish discovery again."""
    return f"{discovery_prefix}/status"


def ride_command(strap: str, action: RideAction) -> str:
    """The JSON on :func:`cmd_ride` that starts or stops a ride on one strap.

    ``{"strap": "<slug>", "action": "start"}``; the plain payloads ``start`` / ``stop`` act
    on the first strap with a ride role.
    """
    return json.dumps({"strap": slug(strap), "action": action}, separators=(",", ":"))
