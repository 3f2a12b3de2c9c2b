"""What the pipeline hands on: a message's payload, and the :class:`Sink` it goes to.

Pure: MQTT, the store, the terminal and the tests each implement :class:`Sink`.
"""

from __future__ import annotations

from typing import Protocol

Payload = dict[str, object]


class Sink(Protocol):
    """Where the pipeline's messages go."""

    def state(self, topic: str, payload: Payload) -> None:
        """A live value (QoS 0, dropped when it cannot go)."""

    def retained(self, topic: str, payload: str) -> None:
        """A retained plain value (availability, link)."""

    def durable(self, topic: str, payload: Payload) -> None:
        """A message that must arrive, in order (alert, ride, session)."""
