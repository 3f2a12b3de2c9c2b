"""An MQTT subscriber in a process of its own, for bench_daemon.py: it timestamps messages.

Usage: ``python bench/daemon_subscriber.py PORT FILE TOPIC...``. It subscribes to the
topics on 127.0.0.1:PORT, prints ``ready`` once subscribed, and appends one JSON line per
message to FILE: ``[monotonic receive time (s), topic, payload text]``. It stops on
SIGTERM or SIGINT.

A process of its own, so that the receive times are not held up by the fake BlueZ or the
benchmark's bookkeeping; ``time.monotonic()`` is one clock for every process on Linux,
so they compare with the send times taken in the benchmark.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import aiomqtt


async def subscribe(port: int, path: Path, topics: list[str]) -> None:
    """Record every message on ``topics`` into ``path`` until cancelled."""
    async with aiomqtt.Client(
        "127.0.0.1", port, identifier=f"hrvd-bench-sub-{os.getpid()}"
    ) as client:
        for topic in topics:
            await client.subscribe(topic, qos=1)
        print("ready", flush=True)
        with path.open("w", encoding="utf-8") as out:
            async for message in client.messages:
                received = time.monotonic()
                text = message.payload.decode(errors="replace")
                out.write(json.dumps([received, str(message.topic), text]) + "\n")


async def main(argv: list[str]) -> int:
    """Run until SIGTERM/SIGINT."""
    port, path, topics = int(argv[0]), Path(argv[1]), argv[2:]
    task = asyncio.create_task(subscribe(port, path, topics))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
