"""An MQTT subscriber that records every message it gets, for tests and benchmarks.

In a test or a benchmark's own event loop, ``async with Subscriber(port, topics) as sub``
subscribes before the block starts and records in a task of its own. With ``client_id``
the session is persistent (clean session off, QoS 1), so a broker restart loses nothing
queued for it; with ``reconnect=True`` it reconnects by itself whenever the broker goes.

As a process of its own (``python -m harness.subscriber PORT FILE TOPIC...``, what
``bench/daemon_rig.py`` starts), it prints ``ready`` once subscribed and appends one JSON
line per message to FILE: ``[monotonic receive time (s), topic, payload text]``, until
SIGTERM or SIGINT. A process of its own keeps the receive times free of the benchmark's
bookkeeping; ``time.monotonic()`` is one clock for every process on Linux.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Self

import aiomqtt

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Sequence
    from types import TracebackType

RECONNECT_S = 0.3
"""Pause before a reconnecting subscriber tries the broker again, s."""
WAIT_S = 15.0
"""How long :meth:`Subscriber.until` waits by default, s."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message received: monotonic receive time (s), topic, payload, retain flag."""

    t_s: float
    topic: str
    payload: bytes
    retain: bool

    @property
    def text(self) -> str:
        """The payload as text (undecodable bytes replaced)."""
        return self.payload.decode(errors="replace")


class Subscriber:
    """Records every message on ``topics`` from the broker on 127.0.0.1:``port``.

    Args:
        port: the broker's port.
        topics: topic filters, subscribed at QoS 1 (none: publish only, through ``client``).
        client_id: a fixed client id, which makes the session persistent.
        reconnect: reconnect whenever the broker goes, instead of failing.
        keepalive: MQTT keepalive, s.
        tls_context: TLS for a broker that speaks only TLS.
        sink: called with every delivery as it arrives.
    """

    def __init__(
        self,
        port: int,
        topics: Sequence[str] = (),
        *,
        client_id: str | None = None,
        reconnect: bool = False,
        keepalive: int = 60,
        tls_context: ssl.SSLContext | None = None,
        sink: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.port = port
        self.topics = tuple(topics)
        self.client_id = client_id
        self.reconnect = reconnect
        self.keepalive = keepalive
        self.tls_context = tls_context
        self.sink = sink
        self.deliveries: list[Delivery] = []
        self.connects: list[float] = []
        """Monotonic times at which it (re)subscribed, s."""
        self.changed = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._subscribed = asyncio.Event()
        self._json: dict[str, list[tuple[float, dict[str, object]]]] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def client(self) -> aiomqtt.Client:
        """The connected client, to publish through."""
        if self._client is None:
            raise RuntimeError("the subscriber is not connected")
        return self._client

    async def run(self) -> None:
        """Receive until cancelled; with ``reconnect``, reconnect whenever the broker goes."""
        while True:
            try:
                await self._session()
            except aiomqtt.MqttError:
                if not self.reconnect:
                    raise
                await asyncio.sleep(RECONNECT_S)

    async def _session(self) -> None:
        persistent = self.client_id is not None
        async with aiomqtt.Client(
            "127.0.0.1",
            self.port,
            identifier=self.client_id,
            clean_session=False if persistent else None,
            keepalive=self.keepalive,
            tls_context=self.tls_context,
        ) as client:
            # Subscribing again re-sends retained messages (flagged retain); what was
            # queued for a persistent session comes unflagged.
            for topic in self.topics:
                await client.subscribe(topic, qos=1)
            self._client = client
            self.connects.append(time.monotonic())
            self._subscribed.set()
            try:
                async for m in client.messages:
                    self._record(Delivery(time.monotonic(), str(m.topic), m.payload, m.retain))
            finally:
                self._client = None

    def _record(self, d: Delivery) -> None:
        self.deliveries.append(d)
        if not d.retain:
            with contextlib.suppress(ValueError):  # not JSON, or not UTF-8
                parsed = json.loads(d.payload)
                if isinstance(parsed, dict):
                    self._json.setdefault(d.topic, []).append((d.t_s, parsed))
        if self.sink is not None:
            self.sink(d)
        self.changed.set()

    async def __aenter__(self) -> Self:
        """Start receiving in a task; return once subscribed (or raise why it could not)."""
        self._task = asyncio.create_task(self.run(), name="subscriber")
        subscribed = asyncio.create_task(self._subscribed.wait())
        await asyncio.wait({self._task, subscribed}, return_when=asyncio.FIRST_COMPLETED)
        if not subscribed.done():
            subscribed.cancel()
            await self._task  # it ended before it subscribed: raise why
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        """Stop receiving."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._task

    async def wait(self) -> None:
        """Until receiving ends: cancelled, or failed (its error is raised here)."""
        if self._task is not None:
            await self._task

    def on(self, topic: str) -> list[bytes]:
        """Payloads received on ``topic``, retained ones included, in order."""
        return [d.payload for d in self.deliveries if d.topic == topic]

    @property
    def messages(self) -> list[tuple[str, bytes, bool]]:
        """Every delivery as (topic, payload, retain)."""
        return [(d.topic, d.payload, d.retain) for d in self.deliveries]

    def last(self, topic: str) -> bytes | None:
        """The last payload received on ``topic``, if any."""
        return next((d.payload for d in reversed(self.deliveries) if d.topic == topic), None)

    def since(self, t_s: float, topic: str) -> list[dict[str, object]]:
        """JSON objects received on ``topic`` after ``t_s`` (monotonic s), not retained."""
        return [p for t, p in self._json.get(topic, []) if t > t_s]

    async def wait_for(self, found: Callable[[], bool], timeout_s: float) -> bool:
        """Wait until ``found()`` holds (checked at every message), at most ``timeout_s``."""
        with contextlib.suppress(TimeoutError):
            await self.until(found, timeout_s)
        return found()

    async def until(self, found: Callable[[], object], within_s: float = WAIT_S) -> None:
        """Wait until ``found()`` is true, checked at every message.

        Raises:
            TimeoutError: it was not within ``within_s``.
        """
        async with asyncio.timeout(within_s):
            while not found():
                self.changed.clear()
                await self.changed.wait()


async def _record_to_file(port: int, path: Path, topics: Sequence[str]) -> None:
    with path.open("w", encoding="utf-8") as out:

        def write(d: Delivery) -> None:
            out.write(json.dumps([d.t_s, d.topic, d.text]) + "\n")

        async with Subscriber(port, topics, sink=write) as sub:
            print("ready", flush=True)  # noqa: T201 - the parent waits for this line
            await sub.wait()  # until SIGTERM cancels it


async def main(argv: Sequence[str]) -> int:
    """``PORT FILE TOPIC...``: record to FILE until SIGTERM or SIGINT."""
    port, path, topics = int(argv[0]), Path(argv[1]), argv[2:]
    task = asyncio.create_task(_record_to_file(port, path, topics))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
