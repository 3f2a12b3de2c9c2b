"""Hostile input on the daemon's MQTT topics: memory, streaming, log and store (issue 17.7).

Run from the repository root::

    python bench/bench_flood.py               # a 20 s flood, about 40 s in all
    python bench/bench_flood.py --seconds 60

Real parts only, as bench_daemon.py: `hrvd run` as a subprocess, one fake strap on a private
dbus-daemon, a real mosquitto. After 5 s of quiet streaming the flood comes, paced at
``--rate`` messages a second on each of ``hrvd/cmd/ride`` (start and stop in turn),
``hrvd/cmd/morning`` (1,000-deep JSON and a 4,400-digit number in turn) and
``homeassistant/status`` (``online``), after three 10 MB payloads. It reports the daemon's
resident memory before, at its peak and after, the live values that kept coming during the
flood, the discovery messages it re-sent, the rides written to the store, the log's size,
and whether a command after the flood is answered. It prints Markdown to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from daemon_rig import load_fixtures, memory_kb
from harness.daemon import DaemonProcess, StrapEntry, write_config
from harness.dbus import private_dbus
from harness.machine import cpu_model

SETTLE_S = 5.0
SAMPLE_S = 0.25
ADDRESS = "AA:BB:CC:DD:EE:90"


async def _count(client: aiomqtt.Client, counts: dict[str, int]) -> None:
    async for m in client.messages:
        topic = str(m.topic)
        kind = "discovery" if topic.endswith("/config") else topic
        if not m.retain and topic != "homeassistant/status":
            counts[kind] = counts.get(kind, 0) + 1


async def _sample(pid: int, peak: list[int]) -> None:
    while True:
        peak.append(memory_kb(pid).get("VmRSS", 0))
        await asyncio.sleep(SAMPLE_S)


async def _flood(port: int, seconds: float, rate: int) -> int:
    hostile = (b"[" * 1000, b"9" * 4400)
    sent = 0
    async with aiomqtt.Client("127.0.0.1", port, max_queued_outgoing_messages=10_000) as pub:
        for _ in range(3):
            await pub.publish("hrvd/cmd/ride", b"x" * 10_000_000, qos=1)
        start = time.monotonic()
        k = 0
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate)
            while k < due:
                await pub.publish("hrvd/cmd/ride", b"stop" if k % 2 else b"start")
                await pub.publish("hrvd/cmd/morning", hostile[k % 2])
                await pub.publish("homeassistant/status", b"online")
                k += 1
                sent += 3
            await asyncio.sleep(0.01)
    return sent


async def run(seconds: float, rate: int) -> str:
    """The flood against a real daemon; the report as Markdown."""
    fx = load_fixtures()
    with tempfile.TemporaryDirectory(prefix="hrvd-flood-") as tmp, private_dbus() as bus:
        work = Path(tmp)
        broker = fx.new_broker(work / "mosquitto")
        broker.start()
        try:
            async with fx.new_bluez(bus.address) as bluez:
                await bluez.add_strap(fx.new_strap(ADDRESS, 1.0, fx.steady_rr(800.0, 1)))
                config = work / "hrvd.toml"
                store = work / "store.sqlite3"
                write_config(
                    config,
                    port=broker.port,
                    store=store,
                    straps=[StrapEntry("H10", ADDRESS, "both")],
                    tables={"athlete": {"hr_max": 190, "hr_rest": 50}},
                )
                counts: dict[str, int] = {}
                async with (
                    aiomqtt.Client("127.0.0.1", broker.port) as sub,
                    DaemonProcess(config, bus.address, work / "daemon.log") as daemon,
                ):
                    await sub.subscribe("hrvd/#", qos=0)
                    await sub.subscribe("homeassistant/#", qos=0)
                    counter = asyncio.create_task(_count(sub, counts))
                    await asyncio.sleep(SETTLE_S)
                    before_kb = memory_kb(daemon.pid)["VmRSS"]
                    states_before = counts.get("hrvd/h10/state", 0)
                    samples: list[int] = []
                    sampler = asyncio.create_task(_sample(daemon.pid, samples))
                    flood_start = time.monotonic()
                    sent = await _flood(broker.port, seconds, rate)
                    flood_s = time.monotonic() - flood_start
                    states_during = counts.get("hrvd/h10/state", 0) - states_before
                    discovery = counts.get("discovery", 0)
                    await asyncio.sleep(SETTLE_S)
                    sampler.cancel()
                    after_kb = memory_kb(daemon.pid)["VmRSS"]
                    # Answered after the flood: a morning measurement starts and counts down.
                    await sub.publish("hrvd/cmd/morning", b"start", qos=1)
                    await asyncio.sleep(2.0)
                    answered = counts.get("hrvd/morning", 0) > 0
                    counter.cancel()
                    exit_code = await daemon.stop()
                log_bytes = (work / "daemon.log").stat().st_size
                with sqlite3.connect(store) as db:
                    (rides,) = db.execute("SELECT count(*) FROM rides").fetchone()
        finally:
            broker.stop()
    rows = [
        ("machine", f"{cpu_model()}, {os.cpu_count()} logical CPUs"),
        ("date (UTC)", datetime.now(UTC).strftime("%Y-%m-%d")),
        ("flood", f"{sent} messages in {flood_s:.1f} s on 3 topics, after three 10 MB payloads"),
        ("resident memory before", f"{before_kb / 1024:.0f} MB"),
        ("resident memory, peak during the flood", f"{max(samples) / 1024:.0f} MB"),
        ("resident memory 5 s after", f"{after_kb / 1024:.0f} MB"),
        ("live values during the flood", f"{states_during} (one a second expected)"),
        ("discovery messages re-sent", str(discovery)),
        ("rides written to the store", str(rides)),
        ("daemon log", f"{log_bytes / 1024:.1f} kB"),
        ("a morning command after the flood answered", "yes" if answered else "no"),
        ("exit code after SIGTERM", str(exit_code)),
    ]
    lines = ["| measure | value |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Parse the options, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="flood length, s")
    parser.add_argument("--rate", type=int, default=1000, help="messages a second, per topic")
    args = parser.parse_args()
    print(asyncio.run(run(args.seconds, args.rate)), end="")


if __name__ == "__main__":
    main()
