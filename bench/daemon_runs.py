"""bench_daemon.py's runs of `hrvd run`: fake straps on a private bus, a real broker.

One run starts mosquitto, the fake BlueZ with its straps, a subscriber process and the
daemon, starts a ride on each strap, then measures CPU, memory and latency over a window
of notifications (:func:`run_daemon`).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiomqtt

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from daemon_plan import ATHLETE, DaemonRun, StrapPlan, log
from daemon_rig import (
    Fixtures,
    SubscriberProcess,
    cpu_seconds,
    memory_kb,
    record_sends,
    threads,
)
from daemon_stats import Latency, Received, Sent, match_alerts, match_states
from harness.daemon import DaemonProcess, StrapEntry, write_config
from harness.dbus import private_dbus
from hrvd.publish import topics

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from harness.fake_bluez import FakeBluez, FakeStrap

LOG_LEVELS_KEPT = {"warning", "error", "critical"}


async def _first_of_each(client: aiomqtt.Client, wanted: set[str], timeout_s: float) -> None:
    """Wait until a message has come on each topic of ``wanted``."""
    async with asyncio.timeout(timeout_s):
        async for message in client.messages:
            wanted.discard(str(message.topic))
            if not wanted:
                return


def _daemon_log_events(path: Path) -> dict[str, int]:
    """Warnings and errors of the daemon's log, and its link changes, counted."""
    events: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            key = f"not JSON: {re.sub(r'[0-9]+', 'N', line[:80])}"
            events[key] = events.get(key, 0) + 1
            continue
        if not isinstance(entry, dict):
            continue
        level, event = str(entry.get("level")), str(entry.get("event"))
        if level in LOG_LEVELS_KEPT:
            key = f"{level}: {event}"
        elif event in {"link", "reconnecting"}:
            key = f"{event}: {entry.get('state', '')}".rstrip(": ")
        else:
            continue
        events[key] = events.get(key, 0) + 1
    return events


async def run_daemon(  # noqa: PLR0913 - one run's parts, all named at the call
    fx: Fixtures,
    label: str,
    plans: Sequence[StrapPlan],
    *,
    notifications: int,
    ride: dict[str, float] | None,
    workdir: Path,
    aligned: bool = False,
) -> DaemonRun:
    """Run `hrvd run` with ``plans`` until ``notifications`` more have been sent after all
    straps stream; a ride is started on each strap first.

    The straps notify at random phases, or with ``aligned`` all in the same instant (a
    burst every interval: the worst case for the MQTT link).
    """
    workdir.mkdir(parents=True)  # noqa: ASYNC240 - set-up, before anything runs on the loop
    broker = fx.new_broker(workdir / "mosquitto")
    broker.start()
    try:
        with private_dbus() as bus:
            config = workdir / "hrvd.toml"
            tables = {"athlete": ATHLETE} | ({"ride": ride} if ride else {})
            write_config(
                config,
                port=broker.port,
                store=workdir / "hrvd.sqlite3",
                straps=[StrapEntry(p.name, p.address, "ride") for p in plans],
                tables=tables,
            )
            sub = SubscriberProcess(broker.port, workdir / "messages.jsonl", ["hrvd/#"])
            async with sub, fx.new_bluez(bus.address) as bluez:
                sends = record_sends(bluez)
                straps = [fx.new_strap(p.address, p.interval_s, p.rr_ms) for p in plans]
                interval_s = 0.0 if aligned else plans[0].interval_s
                await _add_at_random_phases(bluez, straps, interval_s)
                async with aiomqtt.Client("127.0.0.1", broker.port) as control:
                    await control.subscribe("hrvd/status", qos=1)
                    launched = time.monotonic()
                    daemon = DaemonProcess(config, bus.address, workdir / "hrvd.log")
                    async with daemon:
                        await _first_of_each(control, {"hrvd/status"}, 30.0)
                        await control.unsubscribe("hrvd/status")
                        await control.subscribe("hrvd/+/state", qos=0)
                        if ride is not None:
                            for p in plans:
                                await control.publish(
                                    topics.cmd_ride("hrvd"),
                                    topics.ride_command(p.name, "start"),
                                    qos=1,
                                )
                        wanted = {topics.state("hrvd", p.name) for p in plans}
                        await _first_of_each(control, wanted, 60.0 + 3.0 * len(plans))
                        all_streaming_s = time.monotonic() - launched
                        await control.unsubscribe("hrvd/+/state")
                        log(
                            f"{label}: all {len(plans)} straps stream after {all_streaming_s:.1f} s"
                        )
                        window = await _measure_window(daemon.pid, bus.pid, sends, notifications)
                        await daemon.stop()
                    connects = sum(s.connects for s in straps)
            await asyncio.sleep(0)
        messages = sub.messages()
        _save_sends(workdir / "sends.jsonl", sends)
    finally:
        broker.stop()
    return _daemon_result(
        label,
        plans=plans,
        w=window,
        sends=sends,
        messages=messages,
        daemon=daemon,
        connects=connects,
        all_streaming_s=all_streaming_s,
        workdir=workdir,
    )


async def _add_at_random_phases(
    bluez: FakeBluez, straps: Sequence[FakeStrap], interval_s: float
) -> None:
    """Add the straps at random moments within one notification interval.

    Real straps notify at independent phases; added at once, the fake's straps would all
    notify in the same instant, every time.
    """
    rng = random.Random(len(straps))  # noqa: S311 - reproducible phases, not cryptography
    offsets = sorted(rng.uniform(0.0, interval_s) for _ in straps)
    start = time.monotonic()
    for strap, offset in zip(straps, offsets, strict=True):
        await asyncio.sleep(max(0.0, start + offset - time.monotonic()))
        await bluez.add_strap(strap)


def _save_sends(path: Path, sends: dict[str, list[Sent]]) -> None:
    """The fake's notifications (address, send time, RR), for a look afterwards."""
    with path.open("w", encoding="utf-8") as out:
        for address, strap_sends in sends.items():
            for s in strap_sends:
                out.write(json.dumps([address, s.t_s, s.rr]) + "\n")


@dataclass(slots=True)
class _Window:
    t0: float
    t1: float
    sent_before: dict[str, int]
    sent_after: dict[str, int]
    cpu_s: float
    bus_cpu_s: float
    rss_start_kb: int
    mem_end: dict[str, int]
    threads_end: int
    load_before: float
    load_after: float
    trend: list[tuple[int, int]]


async def _measure_window(
    pid: int, bus_pid: int, sends: dict[str, list[Sent]], notifications: int
) -> _Window:
    """CPU and memory over the next ``notifications`` notifications (all straps)."""

    def sent() -> dict[str, int]:
        return {address: len(s) for address, s in sends.items()}

    load_before = os.getloadavg()[0]
    before = sent()
    t0 = time.monotonic()
    cpu0, bus0 = cpu_seconds(pid), cpu_seconds(bus_pid)
    rss0 = memory_kb(pid)["VmRSS"]
    trend = [(0, rss0)]
    step = max(1, notifications // 10)
    next_sample = step
    while True:
        await asyncio.sleep(0.2)
        done = sum(sent().values()) - sum(before.values())
        if done >= next_sample:
            trend.append((done, memory_kb(pid)["VmRSS"]))
            next_sample += step
        if done >= notifications:
            break
    cpu1, bus1 = cpu_seconds(pid), cpu_seconds(bus_pid)
    t1 = time.monotonic()
    return _Window(
        t0=t0,
        t1=t1,
        sent_before=before,
        sent_after=sent(),
        cpu_s=cpu1 - cpu0,
        bus_cpu_s=bus1 - bus0,
        rss_start_kb=rss0,
        mem_end=memory_kb(pid),
        threads_end=threads(pid),
        load_before=load_before,
        load_after=os.getloadavg()[0],
        trend=trend,
    )


def _daemon_result(  # noqa: PLR0913 - the parts of one finished run
    label: str,
    *,
    plans: Sequence[StrapPlan],
    w: _Window,
    sends: dict[str, list[Sent]],
    messages: list[Received],
    daemon: DaemonProcess,
    connects: int,
    all_streaming_s: float,
    workdir: Path,
) -> DaemonRun:
    """Latencies matched from the subscriber's messages; numbers of the window."""
    latencies: list[float] = []
    skipped = 0
    send_time: dict[int, float] = {}
    beats = 0
    for p in plans:
        strap_sends = sends.get(p.address.upper(), [])
        topic = topics.state("hrvd", p.name)
        result = match_states(strap_sends, [m for m in messages if m.topic == topic])
        latencies += [
            messages[i].t_s - sent for i, sent in result.send_time.items() if w.t0 <= sent < w.t1
        ]
        skipped += result.skipped_sends
        send_time |= result.send_time
        window_sends = strap_sends[w.sent_before.get(p.address.upper(), 0) :]
        beats += sum(len(s.rr) for s in window_sends if s.t_s < w.t1)
    alerts = match_alerts(messages, send_time)
    return DaemonRun(
        label=label,
        straps=len(plans),
        interval_s=plans[0].interval_s,
        all_streaming_s=all_streaming_s,
        window_s=w.t1 - w.t0,
        notifications=sum(w.sent_after.values()) - sum(w.sent_before.values()),
        beats=beats,
        cpu_s=w.cpu_s,
        bus_cpu_s=w.bus_cpu_s,
        rss_start_kb=w.rss_start_kb,
        rss_end_kb=w.mem_end["VmRSS"],
        hwm_kb=w.mem_end["VmHWM"],
        threads_end=w.threads_end,
        load_before=w.load_before,
        load_after=w.load_after,
        state=Latency.of(latencies),
        skipped_sends=skipped,
        alert=Latency.of(alerts.latencies_s),
        alerts=alerts.alerts,
        alerts_unmatched=alerts.unmatched,
        alerts_not_from_a_beat=alerts.not_from_a_beat,
        alert_reasons=alerts.reasons,
        connects=connects,
        stop_s=daemon.stop_s,
        exit_code=daemon.exit_code,
        rss_trend=w.trend,
        log_events=_daemon_log_events(workdir / "hrvd.log"),
    )
