"""How soon a queued alert reaches a subscriber after a broker outage (issue 17).

A real mosquitto, hrvd's MqttPublisher, and a subscriber with a persistent session (as
Home Assistant has). The broker is stopped, one alert is queued in the outbox, and after
the outage the broker is started again. Measured: from the moment mosquitto accepts
connections again to the alert's arrival at the subscriber. Goal: <= 5 s.

Each outage length runs with the broker's own reconnect policy (hrvd.publish.policy) and,
for comparison, with the strap's policy that the link used before (hrvd.ble.policy).

    .venv/bin/python bench/bench_reconnect.py            # about 2.5 minutes
    .venv/bin/python bench/bench_reconnect.py --quick    # about 20 s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import aiomqtt

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from daemon_rig import load_fixtures
from harness.machine import cpu_model, os_name
from hrvd.ble.policy import backoff_s
from hrvd.config import MqttConfig
from hrvd.logging import configure_logging
from hrvd.publish.mqtt import MqttPublisher
from hrvd.publish.outbox import Outbox
from hrvd.publish.policy import reconnect_wait_s

if TYPE_CHECKING:
    from collections.abc import Callable

    from harness.mosquitto import Broker

GOAL_S = 5.0
TOPIC = "hrvd/h10/alert"
PLAN = [
    ("broker", 1.0, 4),
    ("broker", 5.0, 6),
    ("broker", 15.0, 2),
    ("broker", 30.0, 1),
    ("strap", 15.0, 2),
]
QUICK = [("broker", 1.0, 2), ("broker", 5.0, 2), ("strap", 5.0, 1)]
POLICIES: dict[str, Callable[[int], float]] = {"broker": reconnect_wait_s, "strap": backoff_s}


async def one_outage(broker: Broker, workdir: Path, outage_s: float, policy: str) -> float:
    """One outage; the latency from the broker's return to the alert's arrival, s."""
    client_id = f"ha-{uuid.uuid4().hex[:8]}"
    async with aiomqtt.Client(
        "127.0.0.1", broker.port, identifier=client_id, clean_session=False
    ) as sub:
        await sub.subscribe(TOPIC, qos=1)
    outbox = Outbox(workdir / f"{client_id}.sqlite3")
    loop = asyncio.get_running_loop()
    try:
        cfg = MqttConfig(host="127.0.0.1", port=broker.port)
        async with MqttPublisher(cfg, outbox, reconnect_wait=POLICIES[policy]) as pub:
            await asyncio.wait_for(pub.connected.wait(), 10)
            await asyncio.to_thread(broker.stop)
            await pub.send_durable(TOPIC, {"id": client_id, "too_hard": True})
            await asyncio.sleep(outage_s)
            await asyncio.to_thread(broker.start)  # returns once it accepts connections
            back = loop.time()
            async with aiomqtt.Client(
                "127.0.0.1", broker.port, identifier=client_id, clean_session=False
            ) as sub:
                await sub.subscribe(TOPIC, qos=1)
                async with asyncio.timeout(120):
                    async for m in sub.messages:
                        if client_id.encode() in m.payload:
                            return loop.time() - back
    finally:
        outbox.close()
    raise AssertionError  # unreachable: the timeout ends the loop


async def run(plan: list[tuple[str, float, int]]) -> list[dict[str, object]]:
    """Every row of ``plan``: policy, outage, latencies."""
    fixtures = load_fixtures()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="hrvd-bench-reconnect-") as tmp:
        broker = fixtures.new_broker(Path(tmp) / "mosquitto")
        broker.start()
        try:
            for policy, outage_s, runs in plan:
                latencies = [
                    await one_outage(broker, Path(tmp), outage_s, policy) for _ in range(runs)
                ]
                rows.append({"policy": policy, "outage_s": outage_s, "latency_s": latencies})
        finally:
            broker.stop()
    return rows


def report(rows: list[dict[str, object]]) -> str:
    """A Markdown table of the rows."""
    lines = [
        (
            f"Date {datetime.now(UTC):%Y-%m-%d}; CPU {cpu_model()}, {os.cpu_count()} logical "
            f"CPUs; {os_name()}; Python {platform.python_version()}."
        ),
        "",
        "| policy | outage | runs | median | max | goal <= 5 s |",
        "| :--- | ---: | ---: | ---: | ---: | :--- |",
    ]
    for row in rows:
        lat = [float(x) for x in row["latency_s"]]  # type: ignore[attr-defined]
        worst = max(lat)
        lines.append(
            f"| {row['policy']} | {row['outage_s']:g} s | {len(lat)} | "
            f"{statistics.median(lat):.2f} s | {worst:.2f} s | "
            f"{'met' if worst <= GOAL_S else 'missed'} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Run the plan and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run, about 20 s")
    parser.add_argument("--json", metavar="FILE", help="also write the raw latencies")
    args = parser.parse_args()
    configure_logging(level="warning")
    rows = asyncio.run(run(QUICK if args.quick else PLAN))
    print(report(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
