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
a file or the environment (:mod:`hrvd.publish.mqtt_auth`) and appear in no log and no
error. The connection and its reconnect loop are in :mod:`hrvd.publish.mqtt_link`; this
module holds what the rest of the daemon calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Self

import aiomqtt
import structlog

from hrvd.daemon.ordered import cancel_and_wait
from hrvd.publish.mqtt_link import PUBLISH_TIMEOUT_S, MqttLink, consume

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import TracebackType

log = structlog.get_logger("hrvd.mqtt")

FLUSH_POLL_S = 0.05
"""How often :meth:`MqttPublisher.flush` asks the outbox what is left, s."""
STOP_RETAINED_S = 1.0
"""At a clean stop, how long retained values set just before (links offline) may take to
leave before ``offline`` is said, s."""


def dumps(payload: Mapping[str, object]) -> bytes:
    """Compact JSON, one object per message."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class MqttPublisher(MqttLink):
    """The daemon's one MQTT client.

    The connection is its base, :class:`~hrvd.publish.mqtt_link.MqttLink`; here is what
    the rest of the daemon calls.

    Args:
        cfg: broker, credentials and topics.
        outbox: where durable messages wait for the broker.
        password: the broker password (see :func:`~hrvd.publish.mqtt_auth.resolve_password`).
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
                    await client.publish(
                        self.status_topic, b"offline", qos=1, retain=True, timeout=2.0
                    )
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
        task.add_done_callback(consume)

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
            task.add_done_callback(consume)

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
