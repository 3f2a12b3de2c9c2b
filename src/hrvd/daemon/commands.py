"""The daemon's command topics: each payload parsed, limited, logged sparingly, handed on.

Anyone who may publish on the broker reaches ``<base>/cmd/ride`` and ``<base>/cmd/morning``.
:class:`CommandDesk` parses each payload with the pure parsers of
:mod:`hrvd.publish.commands`, refuses what is no command or over a limit (a few log lines
however many come), and hands the rest to the daemon's ride pipelines and morning starter.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import structlog

from hrvd.publish import topics
from hrvd.publish.commands import (
    RIDE_STARTS_BURST,
    Rejected,
    TokenBucket,
    parse_morning_command,
    parse_ride_command,
    refusal_log,
    ride_starts,
    shown,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from hrvd.daemon.pipeline import StrapPipeline
    from hrvd.publish.commands import MorningCommand

log = structlog.get_logger("hrvd.daemon")


class CommandDesk:
    """Takes the daemon's commands (the MQTT publisher's ``on_command``).

    Args:
        base_topic: ``[mqtt] base_topic``.
        ride_pipeline: the pipeline of the ride strap named (None: the first ride strap).
        start_morning: starts a measurement; returns why it did not, or None.
        clock: monotonic clock, s.
    """

    def __init__(
        self,
        base_topic: str,
        *,
        ride_pipeline: Callable[[str | None], StrapPipeline | None],
        start_morning: Callable[[MorningCommand], str | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._morning_topic = topics.cmd_morning(base_topic)
        self._ride_pipeline = ride_pipeline
        self._start_morning = start_morning
        self._clock = clock
        self._ride_starts: dict[str, TokenBucket] = {}
        self._refusal_log = refusal_log()
        self._refusals = 0

    def __call__(self, topic: str, payload: bytes) -> None:
        """One message on a command topic."""
        now = self._clock()
        if topic == self._morning_topic:
            morning = parse_morning_command(payload)
            if isinstance(morning, Rejected):
                self._refused(now, "morning command rejected", morning.reason, payload)
            elif (why := self._start_morning(morning)) is not None:
                self._refused(now, "morning command ignored", why, payload)
            return
        ride = parse_ride_command(payload)
        if isinstance(ride, Rejected):
            self._refused(now, "ride command rejected", ride.reason, payload)
            return
        pipeline = self._ride_pipeline(ride.strap)
        if pipeline is None:
            self._refused(now, "ride command for no ride strap", "no such ride strap", payload)
            return
        riding = pipeline.status().riding
        if riding == (ride.action == "start"):
            return  # nothing to do (a start while riding, a stop with no ride), nothing to log
        if ride.action == "start":
            bucket = self._ride_starts.setdefault(pipeline.name, ride_starts())
            if not bucket.allow(now):
                why = f"more than {RIDE_STARTS_BURST} rides started within minutes"
                self._refused(now, "ride start refused", why, payload)
                return
        log.info("ride command", action=ride.action, strap=pipeline.name)
        pipeline.command(ride.action, now)

    def _refused(self, now_s: float, event: str, reason: str, payload: bytes) -> None:
        """Log a refused command, but only a few lines a minute however many come."""
        self._refusals += 1
        if self._refusal_log.allow(now_s):
            log.warning(
                event, reason=reason, payload=shown(payload), refused_since_last_line=self._refusals
            )
            self._refusals = 0
