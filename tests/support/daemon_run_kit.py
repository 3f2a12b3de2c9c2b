"""The config and the broker probes that the `hrvd run` tests share.

Used by tests/daemon/test_daemon_run.py and test_daemon_run_commands.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import aiomqtt

from harness.daemon import WAIT_S, StrapEntry, write_config

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from harness.fake_bluez import FakeStrap
    from harness.mosquitto import Broker
    from hrvd.publish.messages import MorningMessage, ReadinessMessage


def run_config(tmp_path: Path, broker: Broker, strap: FakeStrap) -> Path:
    return write_config(
        tmp_path / "hrvd.toml",
        port=broker.port,
        store=tmp_path / "store.sqlite3",
        straps=[StrapEntry("H10 Garage", strap.address, "ride")],
        tables={"athlete": {"hr_max": 190, "hr_rest": 50}},
    )


async def first_json(
    port: int, topic: str, wanted: Callable[[dict[str, object]], bool]
) -> dict[str, object]:
    """The first JSON on ``topic`` (retained or new) that is ``wanted``."""
    async with aiomqtt.Client("127.0.0.1", port) as sub:
        await sub.subscribe(topic, qos=1)
        async with asyncio.timeout(WAIT_S):
            async for m in sub.messages:
                payload: dict[str, object] = json.loads(m.payload)  # type: ignore[arg-type]
                if wanted(payload):
                    return payload
    raise AssertionError  # unreachable: the timeout ends the loop


def reads_back(cls: type[MorningMessage | ReadinessMessage], received: dict[str, object]) -> bool:
    """The received JSON is its typed message's payload: the same keys, order and values."""
    return list(cls.from_payload(received).payload().items()) == list(received.items())


async def until_online(sub: aiomqtt.Client) -> None:
    async with asyncio.timeout(WAIT_S):
        async for m in sub.messages:
            if m.topic.matches("hrvd/status") and m.payload == b"online":
                return
