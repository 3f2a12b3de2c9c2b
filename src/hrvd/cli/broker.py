"""The MQTT client of a one-off command (`watch`, `morning`, `ride`, replay's daemon probe)."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from hrvd.publish.mqtt_auth import tls_context

if TYPE_CHECKING:
    import aiomqtt

    from hrvd.config import MqttConfig


async def command_client(cfg: MqttConfig, password: str | None, role: str) -> aiomqtt.Client:
    """A client named ``hrvd-<role>-<pid>``, not yet connected (``async with`` it).

    The TLS files are read on a thread: they are disk I/O, and the ssl module reads them
    where no check of the event loop sees it.
    """
    import aiomqtt  # noqa: PLC0415 - only when a command connects, not for `hrvd --help`

    tls = await asyncio.to_thread(tls_context, cfg)
    return aiomqtt.Client(
        cfg.host,
        cfg.port,
        username=cfg.username,
        password=password,
        tls_context=tls,
        identifier=f"hrvd-{role}-{os.getpid()}",
    )
