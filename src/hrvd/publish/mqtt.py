"""The MQTT link: one long-lived aiomqtt client that reconnects by itself.

:class:`MqttPublisher` is an async context manager. Inside it:

* durable messages (alert, ride, session, readiness) go through the SQLite
  :class:`~hrvd.publish.outbox.Outbox` and leave in order, QoS 1, deleted only after the
  broker's acknowledgement: at least once, across outages and restarts;
* retained messages (status, availability, link state, discovery) are remembered and
  published again after every reconnect, and discovery again when Home Assistant says
  ``online`` on its status topic;
* state messages are QoS 0 and dropped while the broker is away (the next one follows
  within a second);
* ``<base>/status`` is ``online`` while connected; ``offline`` is the Last Will and is
  also published on a clean stop.

When the broker goes away it tries again quickly (:mod:`hrvd.publish.policy`: a broker is
a LAN service, never more than 2.5 s between attempts), and the outbox drains as soon as
the connection is up. :meth:`MqttPublisher.flush` waits until everything queued is
acknowledged (a replay uses it before it exits).

It speaks MQTT 5 and falls back to 3.1.1 when the broker refuses 5. Passwords come from
a file or the environment and appear in no log and no error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import ssl
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Self

import aiomqtt
import structlog

from hrvd.daemon.ordered import cancel_and_wait
from hrvd.errors import ConfigError
from hrvd.publish.policy import HEALTHY_AFTER_S, reconnect_wait_s

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import TracebackType

    from hrvd.config import MqttConfig
    from hrvd.publish.outbox import Outbox

log = structlog.get_logger("hrvd.mqtt")

PASSWORD_ENV = "HRVD_MQTT_PASSWORD"  # noqa: S105 - the name of a variable, not a secret
CREDENTIALS_PREFIX = "$CREDENTIALS_DIRECTORY/"
"""A password_file may start with this; systemd's LoadCredential= sets the directory."""
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
FLUSH_POLL_S = 0.05
"""How often :meth:`MqttPublisher.flush` asks the outbox what is left, s."""
STOP_RETAINED_S = 1.0
"""At a clean stop, how long retained values set just before (links offline) may take to
leave before ``offline`` is said, s."""
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


def dumps(payload: Mapping[str, object]) -> bytes:
    """Compact JSON, one object per message."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


MAX_PASSWORD_BYTES = 65_535
"""The longest MQTT password (MQTT 3.1.1 section 3.1.3.5: a two-byte length prefix), bytes."""


def resolve_password(cfg: MqttConfig, source: Path | None = None) -> str | None:
    """The broker password: from ``password_file`` when set, else ``$HRVD_MQTT_PASSWORD``.

    The file is read as its first line, at most :data:`MAX_PASSWORD_BYTES`; it must be a
    regular file (``/dev/zero`` or a pipe would never end).

    Raises:
        ConfigError: the file cannot be read or is not one line of text. Neither its content
            nor a value that may be the password itself (a relative "path") is in the message.
    """
    if cfg.password_file is None:
        return os.environ.get(PASSWORD_ENV) or None
    raw = str(cfg.password_file)

    def fail(reason: str) -> ConfigError:
        # A value that is not an absolute path may be the password typed in by mistake.
        shown = raw if raw.startswith(("/", CREDENTIALS_PREFIX)) else "(value not shown)"
        return ConfigError(source or "config", "mqtt.password_file", f"{shown}: {reason}")

    if raw.startswith(CREDENTIALS_PREFIX):
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            msg = "names $CREDENTIALS_DIRECTORY, which is not set (not under systemd?)"
            raise ConfigError(source or "config", "mqtt.password_file", msg)
        raw = str(Path(directory) / raw.removeprefix(CREDENTIALS_PREFIX))
    elif not raw.startswith("/"):
        raise fail("is not an absolute path (expected the path of a file holding the password)")
    password = _first_line(raw, fail)
    # An empty file (the service's credential placeholder) means: no password.
    return password or None


def _first_line(raw: str, fail: Callable[[str], ConfigError]) -> str:
    """The one line of the password file ``raw``, read without reading past the limit."""
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer.
        with os.fdopen(os.open(raw, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise fail("is not a regular file (expected a file holding the password)")
            data = f.read(MAX_PASSWORD_BYTES + 2)
    except OSError as exc:
        raise fail(exc.strerror or type(exc).__name__) from None
    try:
        password = data.decode("utf-8").removesuffix("\n").removesuffix("\r")
    except UnicodeDecodeError:
        raise fail("is not UTF-8 text (expected the password on one line)") from None
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise fail(f"holds more than {MAX_PASSWORD_BYTES} bytes, MQTT's longest password")
    if any(c in password for c in "\r\n\0"):
        raise fail("holds more than one line or a NUL (expected the password on one line)")
    return password


def password_file_warning(cfg: MqttConfig) -> str | None:
    """A warning when ``password_file`` can be read by every user of the machine, else None."""
    raw = str(cfg.password_file or "")
    if not raw.startswith("/"):
        return None  # unset, or systemd's credential (a private copy for the service)
    try:
        mode = Path(raw).stat().st_mode
    except OSError:
        return None  # reading it will say what is wrong
    if not mode & stat.S_IROTH:
        return None
    return (f"the password file {raw} can be read by every user (mode "
            f"{stat.S_IMODE(mode):04o}): chmod o-r {raw}")  # fmt: skip


def tls_context(cfg: MqttConfig) -> ssl.SSLContext | None:
    """A TLS context verifying the broker with ``tls_ca_file`` (and our client certificate)."""
    if cfg.tls_ca_file is None:
        return None
    context = ssl.create_default_context(cafile=str(cfg.tls_ca_file))
    if cfg.tls_cert_file is not None and cfg.tls_key_file is not None:
        context.load_cert_chain(str(cfg.tls_cert_file), str(cfg.tls_key_file))
    return context


def default_client_id() -> str:
    """Unique per process, so two daemons never kick each other off the broker."""
    return f"hrvd-{socket.gethostname()}-{os.getpid()}"


class MqttPublisher:
    """The daemon's one MQTT client.

    Args:
        cfg: broker, credentials and topics.
        outbox: where durable messages wait for the broker.
        password: the broker password (see :func:`resolve_password`).
        on_command: called with (topic, payload) for every command message.
        command_topics: topics to subscribe for commands.
        ha_status_topic: Home Assistant's birth topic; ``online`` there re-publishes
            the retained messages (discovery among them).
        protocol: the MQTT version to try first (default 5; the other after a failure).
        presence: say ``online`` on ``<base>/status`` while connected (``offline`` as
            the Last Will and at a clean stop): the daemon and a replay do; a standalone
            morning measurement, which is no daemon, does not.
        reconnect_wait: the wait before connect attempt n (0 = the first retry), s;
            default :func:`~hrvd.publish.policy.reconnect_wait_s`.
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

    async def __aenter__(self) -> Self:
        """Start connecting in the background; never waits for the broker."""
        self._task = asyncio.create_task(self._run(), name="mqtt")
        return self

    async def wait(self) -> None:
        """Until the connection task ends, which it only does by a bug: raises its error.

        The daemon runs this among its loops, so that a dead MQTT task ends the daemon
        instead of leaving it "online" and deaf.
        """
        if self._task is not None:
            await asyncio.shield(self._task)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Send the retained values just set, say ``offline`` (if connected) and close."""
        client = self._client
        if client is not None and self.connected.is_set():
            # The links' "offline" of a clean stop goes out before the daemon's.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_RETAINED_S):
                    while self._unsent and self.connected.is_set():  # noqa: ASYNC110
                        await asyncio.sleep(FLUSH_POLL_S)
            if self._presence:
                with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                    await client.publish(self.status_topic, b"offline", qos=1, retain=True,
                                         timeout=2.0)  # fmt: skip
        tasks = [t for t in (self._task, self._reannounce) if t is not None]
        await cancel_and_wait(*tasks)

    async def flush(self, timeout_s: float) -> int:
        """Wait until the broker has acknowledged everything queued, for at most ``timeout_s``.

        Connected or not: the link reconnects by itself meanwhile. Returns the durable
        messages still waiting (0: all delivered); see :attr:`unsent_retained` for the rest.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                # The outbox is on disk: asking it a few times a second is cheaper than a
                # notification path through it.
                while self._unsent or await self.outbox.count():  # noqa: ASYNC110
                    await asyncio.sleep(FLUSH_POLL_S)
        return await self.outbox.count()

    @property
    def unsent_retained(self) -> int:
        """Retained values (status, links, discovery) whose latest is not acknowledged yet."""
        return len(self._unsent)

    # --- what the rest of the daemon calls ---------------------------------------------

    def publish_state(self, topic: str, payload: Mapping[str, object]) -> None:
        """A live value, QoS 0, not retained; dropped while the broker is away."""
        client = self._client
        if client is None or not self.connected.is_set():
            return
        task = asyncio.create_task(self._fire(client, topic, dumps(payload)))
        task.add_done_callback(_consume)

    @staticmethod
    async def _fire(client: aiomqtt.Client, topic: str, payload: bytes) -> None:
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await client.publish(topic, payload, qos=0, timeout=PUBLISH_TIMEOUT_S)

    def set_retained(self, topic: str, payload: bytes | str) -> None:
        """A retained value (QoS 1), published now if connected and after every reconnect.

        An empty payload clears the topic on the broker (and forgets it here afterwards).
        """
        data = payload.encode() if isinstance(payload, str) else payload
        self._retained[topic] = data
        self._unsent.add(topic)
        client = self._client
        if client is not None and self.connected.is_set():
            task = asyncio.create_task(self._send_retained(client, topic, data))
            task.add_done_callback(_consume)

    def clear_stale_retained(self, pattern: str, select: Callable[[list[str]], list[str]]) -> None:
        """On every connect, clear the retained topics under ``pattern`` that ``select`` picks.

        ``select`` gets the topics that hold a retained message and returns those to clear
        (with an empty retained payload): discovery configs of straps no longer configured.
        """
        self._stale.append((pattern, select))

    async def send_durable(
        self, topic: str, payload: Mapping[str, object], *, retain: bool = True
    ) -> None:
        """A message that must arrive (alert, ride, session, readiness): via the outbox."""
        data = dumps(payload)
        await self.outbox.put(topic, data, qos=1, retain=retain)
        # What went into the outbox, in order: the soak test's record of what was sent.
        log.debug("durable queued", topic=topic, id=payload.get("id"), payload=data.decode())

    # --- the connection ----------------------------------------------------------------

    def _new_client(self) -> aiomqtt.Client:
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
            tls_context=tls_context(self.cfg),
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
                async with self._new_client() as client:
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
                log.exception("command handling failed", topic=topic,
                              failures=self.handler_failures)  # fmt: skip

    def _schedule_reannounce(self, client: aiomqtt.Client) -> None:
        if self._reannounce is not None and not self._reannounce.done():
            return  # one is due already and will answer this "online" too
        delay = max(self._announced_at_s + REANNOUNCE_MIN_S - time.monotonic(), 0.0)
        self._reannounce = asyncio.create_task(self._reannounce_after(client, delay),
                                               name="mqtt.reannounce")  # fmt: skip
        self._reannounce.add_done_callback(_consume)

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


def _consume(task: asyncio.Task[None]) -> None:
    """Retrieve a fire-and-forget task's exception so asyncio does not warn about it."""
    if not task.cancelled():
        task.exception()
