"""An MQTT broker inside the process (amqtt), for the demo: no mosquitto needed.

It speaks MQTT 3.1.1 only, which the publisher finds out by itself. Loopback only, no
authentication: it is for trying hrvd out, not for a home network. amqtt is the optional
``demo`` extra: the Raspberry Pi install leaves it out, and says how to add it.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from hrvd.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def embedded_broker(port: int, host: str = "127.0.0.1") -> AsyncIterator[None]:
    """Run an anonymous MQTT broker on ``host:port`` for the duration of the block."""
    try:
        from amqtt.broker import Broker  # noqa: PLC0415 - the optional demo extra
    except ImportError:
        raise UsageError(
            "the demo's own MQTT broker needs the demo extra: pip install 'hrvd[demo]'"
            " (or play the demo to a broker you have: hrvd demo --broker HOST:PORT)"
        ) from None
    # amqtt reports every client that goes away at shutdown as an error: not ours to show.
    logging.getLogger("amqtt").setLevel(logging.CRITICAL)
    # A demo at full speed ends with QoS 0 values still in flight, and aiomqtt says so.
    logging.getLogger("mqtt").setLevel(logging.ERROR)  # aiomqtt's logger
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {}},
        }
    )
    await broker.start()
    try:
        yield
    finally:
        await broker.shutdown()
