"""Ending, at start, what a crash left active on the broker (pure).

A daemon cut by a crash or ``kill -9`` leaves its last ride and alert messages retained;
the next daemon publishes the messages that end them (see :func:`interrupted_messages`).
Like the pipeline that writes those messages, it does no I/O and reads no clock.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import structlog

from hrvd.publish.messages import AlertMessage, MalformedMessageError, RideMessage

if TYPE_CHECKING:
    from hrvd.publish.messages import Payload

log = structlog.get_logger("hrvd.ride")


def interrupted_messages(
    last: dict[str, Payload], now_iso: str
) -> list[tuple[str, AlertMessage | RideMessage]]:
    """The messages that end what a crash left active on the broker, with their topics (pure).

    ``last`` is the last ride and alert message queued on each topic (the store's
    ``ride_state``). A ride still ``active`` there was cut by a crash or ``kill -9``: it gets
    an ``ended (interrupted)`` ride message, and an alert still on gets its ``off``, so that
    the retained topics (and Home Assistant) stop showing a ride that no longer runs. Each
    id is the stale message's id with ``:interrupted``, so it is new and unique. Each goes to
    the topic its stale message was on: the strap may have left the config since.
    """
    out: list[tuple[str, AlertMessage | RideMessage]] = []
    for topic, p in sorted(last.items()):  # a strap's alert before its ride, as at a ride end
        try:
            if topic.endswith("/alert"):
                alert = AlertMessage.from_payload(p)
                if alert.too_hard:
                    ended = replace(
                        alert,
                        id=f"{alert.id}:interrupted",
                        ts=now_iso,
                        too_hard=False,
                        reason="interrupted",
                        since=None,
                        hr_bpm=None,
                        dfa_alpha1=None,
                    )
                    out.append((topic, ended))
            elif topic.endswith("/ride"):
                ride = RideMessage.from_payload(p)
                if ride.active:
                    stopped = replace(
                        ride,
                        id=f"{ride.id}:interrupted",
                        active=False,
                        phase="complete",
                        event="ended (interrupted)",
                        alpha1_guard=None,
                    )
                    out.append((topic, stopped))
        except MalformedMessageError as exc:  # not written so by this version: nothing to end
            log.warning("stored ride message not understood", topic=topic, error=str(exc))
    return out
