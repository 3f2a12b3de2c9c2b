"""The pipeline's messages onto MQTT: a :class:`~hrvd.publish.messages.Sink` over the publisher."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Self

from hrvd.daemon.ordered import OrderedWriter

if TYPE_CHECKING:
    from types import TracebackType

    from hrvd.publish.messages import Payload, Sink
    from hrvd.publish.mqtt import MqttPublisher

FLUSH_TIMEOUT_S = 5.0
"""At the end, how long to wait for durable messages to reach the outbox and the broker."""


class MqttSink:
    """Live values QoS 0; retained values kept; durable ones into the outbox, in order.

    The pipeline calls it synchronously; durable messages queue here and one task writes
    them to the outbox, so their order is the order of the calls.
    """

    def __init__(self, publisher: MqttPublisher) -> None:
        self.publisher = publisher
        self._writer: OrderedWriter[tuple[str, Payload]] | None = None

    async def __aenter__(self) -> Self:
        """Start the outbox writer."""
        self._writer = OrderedWriter(self._send, name="sink.writer")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Write what is queued, give the broker a moment to take it, and stop."""
        if self._writer is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_TIMEOUT_S):
                await self._writer.drain()
                # The outbox is on disk: asking it a few times a second, for at most
                # FLUSH_TIMEOUT_S, is cheaper than a notification path through it.
                while self.publisher.connected.is_set() and await self.publisher.outbox.count():  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        await self._writer.close(timeout_s=0)

    async def drain(self) -> None:
        """Wait until every durable message handed over so far is in the outbox."""
        if self._writer is not None:
            await self._writer.drain()

    async def wait(self) -> None:
        """Until the outbox writer ends (by a bug only): raises its error."""
        if self._writer is not None:
            await self._writer.wait()

    async def _send(self, item: tuple[str, Payload]) -> None:
        await self.publisher.send_durable(*item)

    def state(self, topic: str, payload: Payload) -> None:
        """A live value."""
        self.publisher.publish_state(topic, payload)

    def retained(self, topic: str, payload: str) -> None:
        """A retained plain value."""
        self.publisher.set_retained(topic, payload)

    def durable(self, topic: str, payload: Payload) -> None:
        """A message that must arrive, in order."""
        if self._writer is not None:
            self._writer.put((topic, payload))


class TeeSink:
    """Hands every message to several sinks (MQTT and the terminal)."""

    def __init__(self, *sinks: Sink) -> None:
        self.sinks = sinks

    def state(self, topic: str, payload: Payload) -> None:
        """A live value, to each sink."""
        for s in self.sinks:
            s.state(topic, payload)

    def retained(self, topic: str, payload: str) -> None:
        """A retained value, to each sink."""
        for s in self.sinks:
            s.retained(topic, payload)

    def durable(self, topic: str, payload: Payload) -> None:
        """A durable message, to each sink."""
        for s in self.sinks:
            s.durable(topic, payload)
