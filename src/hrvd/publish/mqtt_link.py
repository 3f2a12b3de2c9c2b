"""The MQTT link's connection: one aiomqtt client at a time, kept up by a reconnect loop.

:class:`MqttLink` holds the link's state and the loop that
:class:`~hrvd.publish.mqtt.MqttPublisher` starts: connect (MQTT 5, else 3.1.1), subscribe,
say ``online``, then drain the outbox in order while the retained values go out again and
stale discovery topics are cleared; hand every command on to its handler; when the
connection drops, log it once and try again (:mod:`hrvd.publish.policy`). What the rest of
the daemon calls is in :mod:`hrvd.publish.mqtt`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from typing import TYPE_CHECKING

import aiomqtt
import structlog

from hrvd.daemon.ordered import cancel_and_wait
from hrvd.publish.mqtt_auth import default_client_id, tls_context
from hrvd.publish.policy import HEALTHY_AFTER_S, reconnect_wait_s

if TYPE_CHECKING:
    from collections.abc import Callable

    from hrvd.config import MqttConfig
    from hrvd.publish.outbox import Outbox

log = structlog.get_logger("hrvd.mqtt")

KEEPALIVE_S = 30
STALE_COLLECT_S = 1.0
"""How long to listen for retained messages under a stale-cleaning pattern, s: the
broker sends retained messages right after the subscription."""
CONNECT_TIMEOUT_S = 5.0
"""A broker that has not answered CONNECT within this is unreachable (for now)."""
PUBLISH_TIMEOUT_S = 10.0
"""A durable message not acknowledged within this is sent again after a reconnect."""
PENDING_PUBLISHES_WARN = 200
"""Publishes in flight above which aiomqtt warns (a broker that stopped reading)."""
UNREACHABLE_LOG_EVERY_S = 60.0
"""While the broker stays unreachable, the same reason is logged again this often, s: an
attempt every 2 s would otherwise write 1800 lines an hour."""
MAX_QUEUED_INCOMING = 1000
"""Messages received but not yet handled, at most; more are dropped (aiomqtt's queue).
Handling one takes microseconds, so only a flood fills it, and memory stays bounded."""
REANNOUNCE_MIN_S = 60.0
"""Discovery goes out again at most this often however often Home Assistant says
``online``, s: each time is four retained messages a strap, and a flood of ``online``
(54,000 in 20 s, measured) grew the daemon by 250 MB. Home Assistant takes longer than
this to restart; an ``online`` inside the interval is answered at its end, so no restart
goes unanswered."""
QUEUE_FULL_LOG_EVERY_S = 60.0
"""aiomqtt's "queue is full" warning, once a message in a flood: one line this often, s."""
_UNSUPPORTED_PROTOCOL = {1, 0x84}
"""CONNACK codes for "unacceptable protocol version" in MQTT 3.1.1 and 5."""


class MqttLink:
    """The connection under :class:`~hrvd.publish.mqtt.MqttPublisher`: state and loop.

    It holds the link's state and the loop that keeps it connected; its arguments are
    documented on :class:`~hrvd.publish.mqtt.MqttPublisher`, the class the daemon builds.
    """

    def __init__(  # noqa: PLR0913 - each is a separate concern of the link
        self,
        cfg: MqttConfig,
        outbox: Outbox,
        *,
        password: str | None = None,
        on_command: Callable[[str, bytes], None] | None = None,
        command_topics: tuple[str, ...] = (),
        ha_status_topic: str | None = None,
        protocol: aiomqtt.ProtocolVersion = aiomqtt.ProtocolVersion.V5,
        presence: bool = True,
        reconnect_wait: Callable[[int], float] = reconnect_wait_s,
    ) -> None:
        self.cfg = cfg
        self.outbox = outbox
        self._password = password
        self._on_command = on_command
        self._command_topics = command_topics
        self._ha_status_topic = ha_status_topic or f"{cfg.discovery_prefix}/status"
        self.status_topic = f"{cfg.base_topic}/status"
        self._client_id = cfg.client_id or default_client_id()
        self._protocol = protocol
        self._protocol_known = False  # set once a connection has succeeded
        self._presence = presence
        self._reconnect_wait = reconnect_wait
        self._retained: dict[str, bytes] = {}
        self._unsent: set[str] = set()  # retained topics whose latest value is not acked
        self._last_unreachable: tuple[str, float] | None = None  # reason, when logged
        self._stale: list[tuple[str, Callable[[list[str]], list[str]]]] = []
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._announced_at_s = -REANNOUNCE_MIN_S
        self._reannounce: asyncio.Task[None] | None = None
        self.handler_failures = 0
        """Commands whose handler raised (a bug, logged with its traceback)."""
        self.connected = asyncio.Event()
        """Set while a connection is up."""

    # --- the connection ----------------------------------------------------------------

    def _new_client(self, tls: ssl.SSLContext | None) -> aiomqtt.Client:
        client = aiomqtt.Client(
            self.cfg.host,
            self.cfg.port,
            username=self.cfg.username,
            password=self._password,
            identifier=self._client_id,
            protocol=self._protocol,
            will=aiomqtt.Will(self.status_topic, b"offline", qos=1, retain=True)
            if self._presence
            else None,
            keepalive=KEEPALIVE_S,
            tls_context=tls,
            timeout=CONNECT_TIMEOUT_S,
            # Small messages leave at once: with Nagle's algorithm a live value sent right
            # after another waited for the broker's delayed ACK (40 ms, measured).
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
            max_queued_incoming_messages=MAX_QUEUED_INCOMING,
        )
        # aiomqtt warns above 10 publishes in flight; twenty straps notifying in the same
        # second put that many live values on the wire at once, which is normal here.
        client.pending_calls_threshold = PENDING_PUBLISHES_WARN
        return client

    async def _run(self) -> None:
        attempt = 0
        while True:
            connected_at: float | None = None
            try:
                # Read at each connect (a renewed certificate is taken), off the loop.
                tls = await asyncio.to_thread(tls_context, self.cfg)
                async with self._new_client(tls) as client:
                    self._client = client
                    self._protocol_known = True
                    connected_at = time.monotonic()
                    await self._serve(client)
            except aiomqtt.MqttCodeError as exc:
                code = getattr(exc.rc, "value", exc.rc)  # an int in 3.1.1, a ReasonCode in 5
                if code in _UNSUPPORTED_PROTOCOL and not self._protocol_known:
                    self._other_protocol("refused")
                self._lost(str(exc))
            except (aiomqtt.MqttError, OSError, ssl.SSLError, TimeoutError) as exc:
                self._lost(f"{type(exc).__name__}: {exc}")
                if not self._protocol_known:
                    # Some brokers do not answer a CONNECT of a version they lack at all.
                    self._other_protocol("unanswered")
            if connected_at is not None and time.monotonic() - connected_at >= HEALTHY_AFTER_S:
                attempt = 0
            wait = self._reconnect_wait(attempt)
            attempt += 1
            await asyncio.sleep(wait)

    def _other_protocol(self, why: str) -> None:
        v5, v311 = aiomqtt.ProtocolVersion.V5, aiomqtt.ProtocolVersion.V311
        self._protocol = v311 if self._protocol is v5 else v5
        log.info("trying another MQTT version", version=self._protocol.name, after=why)

    def _lost(self, reason: str) -> None:
        now = time.monotonic()
        if self.connected.is_set():
            log.warning("broker connection lost", host=self.cfg.host, reason=reason)
            self._last_unreachable = None
        elif (
            self._last_unreachable is None
            or self._last_unreachable[0] != reason
            or now - self._last_unreachable[1] >= UNREACHABLE_LOG_EVERY_S
        ):
            log.info("broker unreachable", host=self.cfg.host, reason=reason)
            self._last_unreachable = (reason, now)
        self.connected.clear()
        self._client = None

    async def _serve(self, client: aiomqtt.Client) -> None:
        # Subscribe first: "online" then also means that commands are heard.
        for topic in (self._ha_status_topic, *self._command_topics):
            await client.subscribe(topic, qos=1)
        if self._presence:
            await client.publish(self.status_topic, b"online", qos=1, retain=True)
        self.connected.set()
        self._last_unreachable = None
        log.info("broker connected", host=self.cfg.host, protocol=self._protocol.name)
        # The outbox drains at once, beside the retained values and the stale-topic
        # cleaning (which listens for a second): a queued alert does not wait for them.
        # Not a TaskGroup: its ExceptionGroup would hide the MqttError that _run handles.
        tasks = {asyncio.create_task(self._drain(client), name="mqtt.drain")}
        try:
            await self._republish(client)
            for pattern, select in self._stale:
                await self._clear_stale(client, pattern, select)
            tasks.add(asyncio.create_task(self._receive(client), name="mqtt.receive"))
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait(*tasks)
        for task in done:
            task.result()  # the connection's own error, as it was raised

    async def _republish(self, client: aiomqtt.Client) -> None:
        for topic, payload in list(self._retained.items()):
            await self._send_retained(client, topic, payload)

    async def _send_retained(self, client: aiomqtt.Client, topic: str, payload: bytes) -> None:
        await client.publish(topic, payload, qos=1, retain=True, timeout=PUBLISH_TIMEOUT_S)
        if self._retained.get(topic) == payload:  # not replaced meanwhile
            self._unsent.discard(topic)
            if not payload:
                del self._retained[topic]  # cleared on the broker; nothing to repeat

    async def _clear_stale(
        self, client: aiomqtt.Client, pattern: str, select: Callable[[list[str]], list[str]]
    ) -> None:
        await client.subscribe(pattern, qos=1)
        seen: set[str] = set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STALE_COLLECT_S):
                async for message in client.messages:
                    topic = str(message.topic)
                    if message.retain and message.payload and aiomqtt.Topic(topic).matches(pattern):
                        seen.add(topic)
                    else:
                        self._dispatch(client, message)
        await client.unsubscribe(pattern)
        for topic in select(sorted(seen)):
            log.info("clearing retained topic of a removed device", topic=topic)
            await client.publish(topic, b"", qos=1, retain=True, timeout=PUBLISH_TIMEOUT_S)

    async def _drain(self, client: aiomqtt.Client) -> None:
        """Send the outbox in order, one message in flight, each deleted after its PUBACK."""
        while True:
            self.outbox.added.clear()
            batch = await self.outbox.oldest()
            for message in batch:
                await client.publish(
                    message.topic,
                    message.payload,
                    qos=message.qos,
                    retain=message.retain,
                    timeout=PUBLISH_TIMEOUT_S,
                )
                await self.outbox.ack(message)
            if not batch:
                await self.outbox.added.wait()

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            self._dispatch(client, message)

    def _dispatch(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        """Hand a message on without waiting: a flood must not queue up behind it.

        Retained messages are old news: a retained ``start`` would start a ride at every
        connect, and a retained ``online`` only repeats what the connect just published.
        """
        if message.retain:
            return
        topic = str(message.topic)
        payload = message.payload
        if topic == self._ha_status_topic:
            if payload.strip() == b"online":
                self._schedule_reannounce(client)
        elif self._on_command is not None:
            try:
                self._on_command(topic, payload)
            except Exception:
                # A bug in a command's handling: this command is lost, the link is not.
                self.handler_failures += 1
                log.exception(
                    "command handling failed", topic=topic, failures=self.handler_failures
                )

    def _schedule_reannounce(self, client: aiomqtt.Client) -> None:
        if self._reannounce is not None and not self._reannounce.done():
            return  # one is due already and will answer this "online" too
        delay = max(self._announced_at_s + REANNOUNCE_MIN_S - time.monotonic(), 0.0)
        self._reannounce = asyncio.create_task(
            self._reannounce_after(client, delay), name="mqtt.reannounce"
        )
        self._reannounce.add_done_callback(consume)

    async def _reannounce_after(self, client: aiomqtt.Client, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        if client is self._client and self.connected.is_set():
            log.info("home assistant restarted; publishing discovery again")
            self._announced_at_s = time.monotonic()
            await self._republish(client)


class _OncePer(logging.Filter):
    """Lets a library's record that starts with ``start`` through once per ``every_s``."""

    def __init__(self, start: str, every_s: float) -> None:
        super().__init__()
        self.start = start
        self.every_s = every_s
        self._last_s = -every_s

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether the record is written."""
        if not record.getMessage().startswith(self.start):
            return True
        now = time.monotonic()
        if now - self._last_s < self.every_s:
            return False
        self._last_s = now
        return True


_MQTT_LOG = logging.getLogger("mqtt")
_MQTT_LOG.addFilter(_OncePer("Message queue is full", QUEUE_FULL_LOG_EVERY_S))


def consume(task: asyncio.Task[None]) -> None:
    """Retrieve a fire-and-forget task's exception so asyncio does not warn about it."""
    if not task.cancelled():
        task.exception()
