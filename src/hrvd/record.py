"""Keep what the pipeline produces in the store: a :class:`~hrvd.pipeline.Sink`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

import structlog

from hrvd.ordered import OrderedWriter
from hrvd.store import StoreError

if TYPE_CHECKING:
    from types import TracebackType

    from hrvd.pipeline import Payload
    from hrvd.store import Store

log = structlog.get_logger("hrvd.store")


class StoreSink:
    """Writes each ride's summary to the store as it is published, in order.

    A write that fails (a full disk) is logged once per kind of failure; the summary still
    went to MQTT, and the daemon goes on.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._writer: OrderedWriter[Payload] | None = None
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

    async def _keep(self, summary: Payload) -> None:
        try:
            await self.store.add_ride(summary)
        except StoreError as exc:
            if str(exc) not in self._reported:
                self._reported.add(str(exc))
                log.error(  # noqa: TRY400 - a full disk is a fault to report, not a bug
                    "ride summary not stored", error=str(exc), ride=summary.get("id")
                )

    def state(self, topic: str, payload: Payload) -> None:
        """Live values are not stored."""

    def retained(self, topic: str, payload: str) -> None:
        """Nor are link states."""

    def durable(self, topic: str, payload: Payload) -> None:
        """A ride's summary is stored."""
        if topic.endswith("/session") and self._writer is not None:
            self._writer.put(payload)
