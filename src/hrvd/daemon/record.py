"""Keep what the pipeline produces in the store: a :class:`~hrvd.publish.messages.Sink`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

import structlog

from hrvd.daemon.ordered import OrderedWriter
from hrvd.publish.messages import (
    AlertMessage,
    MalformedMessageError,
    RideMessage,
    SessionMessage,
    parse,
)
from hrvd.store import StoreError

if TYPE_CHECKING:
    from types import TracebackType

    from hrvd.publish.messages import Payload
    from hrvd.store import Store

Kept = SessionMessage | RideMessage | AlertMessage
"""What the store keeps: a ride's summary, and each strap's last ride and alert message."""

log = structlog.get_logger("hrvd.store")


class StoreSink:
    """Writes each ride's summary, and the last ride and alert message, to the store in order.

    A write that fails (a full disk) is logged once per kind of failure; the summary still
    went to MQTT, and the daemon goes on.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._writer: OrderedWriter[tuple[str, Kept]] | None = None
        self._reported: set[str] = set()

    async def __aenter__(self) -> Self:
        """Start the writer."""
        self._writer = OrderedWriter(self._keep, name="store.writer")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Write what is queued, then stop."""
        if self._writer is not None:
            await self._writer.close(timeout_s=2.0)

    async def wait(self) -> None:
        """Until the store writer ends (by a bug only): raises its error."""
        if self._writer is not None:
            await self._writer.wait()

    async def _keep(self, item: tuple[str, Kept]) -> None:
        topic, message = item
        try:
            if isinstance(message, SessionMessage):
                await self.store.add_ride(message.payload())
            else:
                await self.store.keep_ride_state(topic, message.payload())
        except StoreError as exc:
            if str(exc) not in self._reported:
                self._reported.add(str(exc))
                log.error(  # noqa: TRY400 - a full disk is a fault to report, not a bug
                    "ride message not stored", error=str(exc), topic=topic, id=message.id
                )

    def state(self, topic: str, payload: Payload) -> None:
        """Live values are not stored."""

    def retained(self, topic: str, payload: str) -> None:
        """Nor are link states."""

    def durable(self, topic: str, payload: Payload) -> None:
        """A ride's summary is stored, and each strap's last ride and alert message."""
        if self._writer is None or not topic.endswith(("/session", "/ride", "/alert")):
            return
        try:
            message = parse(topic, payload)
        except MalformedMessageError as exc:  # a bug: the pipeline builds its messages
            log.error("ride message not stored", error=str(exc), topic=topic)  # noqa: TRY400
            return
        if isinstance(message, Kept):
            self._writer.put((topic, message))
