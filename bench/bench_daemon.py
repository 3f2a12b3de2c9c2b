"""Latency, CPU, memory and scale of the real daemon (`hrvd run`), issue 9 parts 1-3.

Run from the repository root::

    python bench/bench_daemon.py            # full run, about 30 minutes
    python bench/bench_daemon.py --quick    # smoke run, about a minute
    python bench/bench_daemon.py --json results.json

Real parts only: `python -m hrvd.cli run --config FILE` as a subprocess, bleak on a private
dbus-daemon talking to the fake BlueZ of tests/harness/fake_bluez.py (run here, in this
process), a real mosquitto on a free loopback port (tests/harness/mosquitto.py), and an
MQTT subscriber in a process of its own that timestamps what it receives. It prints a
Markdown report to stdout and measures:

1. latency: notification sent by the fake strap -> its ``state`` message at the
   subscriber; and notification that completes an alert's sustain time -> the ``alert``
   message at the subscriber (outbox write included), through the daemon and, for a
   larger sample, through StrapPipeline + MqttPublisher + SQLite outbox in this process;
2. CPU seconds per strap-hour (daemon process, from /proc/<pid>/stat) and resident memory
   after an hour of data, through the fake strap on the private bus and through
   `hrvd replay --speed 0`, with and without publishing;
3. scale: 1, 5 and 20 straps in one daemon at the real cadence.

An hour of data is 3600 notifications of one strap (a strap notifies once a second).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import aiomqtt
import numpy as np

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from bench_core import no_nan
from daemon_inprocess import InProcessAlerts, run_inprocess_alerts
from daemon_report import render
from daemon_rig import (
    Fixtures,
    SubscriberProcess,
    cpu_seconds,
    load_fixtures,
    memory_kb,
    record_sends,
    threads,
)
from daemon_stats import Latency, Received, Sent, match_alerts, match_states, square_heart
from harness.daemon import DaemonProcess, StrapEntry, write_config
from harness.dbus import private_dbus
from harness.machine import machine as describe_machine
from hrvd.hrv.synthetic import sinus_rr
from hrvd.publish import topics

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from harness.fake_bluez import FakeBluez, FakeStrap

HOUR_NOTIFICATIONS = 3600
"""An hour of data: a strap notifies about once a second."""
LOG_LEVELS_KEPT = {"warning", "error", "critical"}

# The accelerated heart: four notifications a second, about one RR each (225-285 bpm), so
# an hour of notifications takes 15 minutes and the RR sum keeps pace with the clock. It
# alternates every 12 s between 225 and 285 bpm around a ride ceiling of 250 bpm
# (240 in the warm-up), which turns the alert on and off about five times a minute.
FAST_INTERVAL_S = 0.25
FAST_RIDE = {
    "ceiling_bpm": 250,
    "sustain_s": 5.0,
    "hysteresis_bpm": 3.0,
    "warmup_min": 5.0,
    "target_min": 30.0,
}
REAL_INTERVAL_S = 1.0
ATHLETE = {"hr_max": 190, "hr_rest": 50}
REAL_MEAN_RR_MS = 900.0
"""The real cadence: one notification a second, a heart of about 67 bpm."""


@dataclass(frozen=True, slots=True)
class Config:
    """How much work one run does."""

    quick: bool
    fast_notifications: int
    scale: tuple[int, ...]
    scale_s: float
    replay_s: float
    replay_repeats: int
    replay_startup_repeats: int
    inprocess_alerts: int
    inprocess_pace_s: float


FULL = Config(
    quick=False,
    fast_notifications=HOUR_NOTIFICATIONS,
    scale=(1, 5, 20),
    scale_s=180.0,
    replay_s=3600.0,
    replay_repeats=2,
    replay_startup_repeats=5,
    inprocess_alerts=600,
    inprocess_pace_s=0.01,
)
QUICK = Config(
    quick=True,
    fast_notifications=60,
    scale=(1, 5, 20),
    scale_s=6.0,
    replay_s=600.0,
    replay_repeats=1,
    replay_startup_repeats=1,
    inprocess_alerts=40,
    inprocess_pace_s=0.01,
)


@dataclass(frozen=True, slots=True)
class StrapPlan:
    """One fake strap: name, address, notification interval and heart."""

    name: str
    address: str
    interval_s: float
    rr_ms: Callable[[], float]


@dataclass(slots=True)
class DaemonRun:
    """One run of `hrvd run` and what was measured in its window."""

    label: str
    straps: int
    interval_s: float
    all_streaming_s: float
    """Daemon start to the first state message of the last strap, s."""
    window_s: float
    notifications: int
    beats: int
    cpu_s: float
    bus_cpu_s: float
    rss_start_kb: int
    rss_end_kb: int
    hwm_kb: int
    threads_end: int
    load_before: float
    load_after: float
    state: Latency
    """Notifications sent in the window -> their state messages (``n``: matched)."""
    skipped_sends: int
    alert: Latency
    alerts: int
    alerts_unmatched: int
    alerts_not_from_a_beat: int
    alert_reasons: dict[str, int]
    connects: int
    stop_s: float | None
    exit_code: int | None
    rss_trend: list[tuple[int, int]] = field(default_factory=list)
    """(notifications since the window began, VmRSS kB)."""
    log_events: dict[str, int] = field(default_factory=dict)

    @property
    def strap_hours(self) -> float:
        """Data in the window, strap-hours (3600 notifications each)."""
        return self.notifications / HOUR_NOTIFICATIONS

    @property
    def cpu_per_strap_hour(self) -> float:
        """Daemon CPU s per strap-hour of data."""
        return self.cpu_s / self.strap_hours

    @property
    def bus_cpu_per_strap_hour(self) -> float:
        """dbus-daemon CPU s per strap-hour of data."""
        return self.bus_cpu_s / self.strap_hours


@dataclass(slots=True)
class ReplayRun:
    """`hrvd replay FILE --speed 0`, with or without publishing."""

    label: str
    data_s: float
    notifications: int
    beats: int
    cpu_s: float
    """Best of the repeats, s."""
    startup_cpu_s: float
    """The same command on one minute of data, best of the repeats, s."""
    maxrss_kb: int
    wall_s: float
    exit_code: int
    states_received: int | None = None
    runs: int = 0
    """Runs of the command (the hour and the start-up minute)."""
    hung: int = 0
    """Runs killed after REPLAY_TIMEOUT_S."""

    @property
    def cpu_per_hour(self) -> float:
        """CPU s per hour of data, start-up cost taken off."""
        return (self.cpu_s - self.startup_cpu_s) / (self.notifications / HOUR_NOTIFICATIONS)


@dataclass(slots=True)
class Report:
    """Everything one run of the benchmark produced."""

    meta: dict[str, object]
    fast: DaemonRun
    scale: list[DaemonRun]
    replay: list[ReplayRun]
    inprocess: InProcessAlerts


# --- the daemon runs ----------------------------------------------------------------------


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the report."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


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


def fast_plan() -> list[StrapPlan]:
    """One strap with the accelerated heart."""
    heart = square_heart(267.0, 210.0, period_s=24.0, step_ms=6.0, rsa_ms=4.5, noise_ms=2.0, seed=1)
    return [StrapPlan("H10 Fast", "AA:BB:CC:DD:EE:01", FAST_INTERVAL_S, heart)]


def real_plans(fx: Fixtures, n: int) -> list[StrapPlan]:
    """``n`` straps at the real cadence, each heart a little different (62-72 bpm)."""
    return [
        StrapPlan(
            f"Strap {i + 1:02d}",
            f"AA:BB:CC:DD:{i // 256:02X}:{i % 256:02X}",
            REAL_INTERVAL_S,
            fx.steady_rr(REAL_MEAN_RR_MS + 60.0 * (i % 5 - 2) / 2, i),
        )
        for i in range(n)
    ]


# --- replay -------------------------------------------------------------------------------


def write_rr(path: Path, duration_s: float, seed: int) -> int:
    """A synthetic sinus-rhythm RR file (ms, one a line) of ``duration_s``; its beats."""
    rng = np.random.default_rng(seed)
    rr = sinus_rr(int(duration_s / 0.8), rng, mean_ms=REAL_MEAN_RR_MS)
    end = int(np.searchsorted(np.cumsum(rr), duration_s * 1000.0)) + 1
    path.write_text("\n".join(f"{v:.1f}" for v in rr[:end].tolist()) + "\n", encoding="utf-8")
    return min(end, len(rr))


@dataclass(frozen=True, slots=True)
class _Usage:
    cpu_s: float
    maxrss_kb: int
    wall_s: float
    exit_code: int
    hung: bool


def _run_measured(args: list[str], log_path: Path, timeout_s: float) -> _Usage:
    """Run a command; its CPU time and peak RSS from wait4(); killed after ``timeout_s``."""
    started = time.monotonic()
    hung = False
    with log_path.open("ab") as err:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout_s:
                hung = True
                proc.kill()
            time.sleep(0.01)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return _Usage(
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss,
        time.monotonic() - started,
        proc.returncode,
        hung,
    )


REPLAY_SPEED = 200.0
"""A finite speed for the publishing replay: at ``--speed 0`` the whole file is played
before the publisher has connected, and every state message is dropped (see
BENCHMARKS.md)."""
REPLAY_TIMEOUT_S = 30.0
"""A replay that takes this much longer than its data at its speed is hung: killed."""


async def _replays(
    args: list[str], log_path: Path, data_s: float, speed: float, repeats: int
) -> list[_Usage]:
    timeout_s = REPLAY_TIMEOUT_S + (data_s / speed if speed > 0 else 0.0)
    return [
        await asyncio.to_thread(_run_measured, args, log_path, timeout_s) for _ in range(repeats)
    ]


async def run_replays(fx: Fixtures, cfg: Config, workdir: Path) -> list[ReplayRun]:
    """`hrvd replay` of ``cfg.replay_s`` of data: without a broker, and publishing.

    A run that hangs (see BENCHMARKS.md) is killed after :data:`REPLAY_TIMEOUT_S`, counted,
    and left out of the CPU figures.
    """
    workdir.mkdir(parents=True)  # noqa: ASYNC240 - set-up, before anything runs on the loop
    data, minute = workdir / "rr.txt", workdir / "rr-1min.txt"
    beats = write_rr(data, cfg.replay_s, seed=9)
    write_rr(minute, 60.0, seed=9)
    runs: list[ReplayRun] = []
    broker = fx.new_broker(workdir / "mosquitto")
    broker.start()
    try:
        config = workdir / "hrvd.toml"
        write_config(
            config,
            port=broker.port,
            store=workdir / "hrvd.sqlite3",
            straps=[StrapEntry("Replay", "AA:BB:CC:DD:EE:99", "ride")],
            tables={"athlete": ATHLETE},
        )
        publish = ["--config", str(config), "--force"]
        variants: list[tuple[float, list[str]]] = [
            (0.0, []),
            (0.0, publish),
            (REPLAY_SPEED, publish),
        ]
        log_path = workdir / "replay.log"
        for speed, extra in variants:
            base = [sys.executable, "-m", "hrvd.cli", "replay", "--speed", f"{speed:g}", *extra]
            path = workdir / f"messages-{len(runs)}.jsonl"
            async with SubscriberProcess(broker.port, path, ["hrvd/+/state"]) as sub:
                full = await _replays(
                    [*base, str(data)], log_path, cfg.replay_s, speed, cfg.replay_repeats
                )
                await asyncio.sleep(0.5)
            startup = await _replays(
                [*base, str(minute)], log_path, 60.0, speed, cfg.replay_startup_repeats
            )
            states = sum(1 for m in sub.messages() if m.topic.endswith("/state"))
            done = [u for u in full if not u.hung]
            done_startup = [u for u in startup if not u.hung]
            label = f"replay --speed {speed:g}" + (" --config (publishing)" if extra else "")
            nan = float("nan")
            runs.append(
                ReplayRun(
                    label=label,
                    data_s=cfg.replay_s,
                    notifications=round(cfg.replay_s),
                    beats=beats,
                    cpu_s=min((u.cpu_s for u in done), default=nan),
                    startup_cpu_s=min((u.cpu_s for u in done_startup), default=nan),
                    maxrss_kb=max((u.maxrss_kb for u in done), default=0),
                    wall_s=min((u.wall_s for u in done), default=nan),
                    exit_code=max((u.exit_code for u in done + done_startup), default=0),
                    states_received=states // len(full) if extra else None,
                    runs=len(full) + len(startup),
                    hung=len(full) + len(startup) - len(done) - len(done_startup),
                )
            )
    finally:
        broker.stop()
    return runs


# --- machine and main ---------------------------------------------------------------------


def machine() -> dict[str, object]:
    """CPU, cores, OS, versions, commit (no host name)."""
    packages = (
        "bleak",
        "bleak-retry-connector",
        "dbus-fast",
        "aiomqtt",
        "paho-mqtt",
        "numpy",
        "structlog",
    )
    return {**describe_machine(packages, tools=True)}


async def run_all(cfg: Config, workdir: Path) -> Report:
    """Every measurement, one after the other (never two at once)."""
    fx = load_fixtures()
    meta = machine() | {"quick": cfg.quick, "load_before": os.getloadavg()[0]}
    log(f"accelerated heart: {cfg.fast_notifications} notifications every {FAST_INTERVAL_S} s")
    fast = await run_daemon(
        fx,
        "1 strap, accelerated",
        fast_plan(),
        notifications=cfg.fast_notifications,
        ride=FAST_RIDE,
        workdir=workdir / "fast",
    )
    scale = []
    for n in cfg.scale:
        log(f"scale: {n} strap(s) at one notification a second for {cfg.scale_s:.0f} s")
        scale.append(
            await run_daemon(
                fx,
                f"{n} strap(s)",
                real_plans(fx, n),
                notifications=round(n * cfg.scale_s / REAL_INTERVAL_S),
                ride={},
                workdir=workdir / f"scale-{n}",
            )
        )
    log(f"replay: {cfg.replay_s:.0f} s of data, {cfg.replay_repeats} time(s) each")
    replay = await run_replays(fx, cfg, workdir / "replay")
    log(f"in-process alerts: {cfg.inprocess_alerts}")
    inprocess = await run_inprocess_alerts(
        fx, cfg.inprocess_alerts, cfg.inprocess_pace_s, workdir / "inprocess"
    )
    meta["load_after"] = os.getloadavg()[0]
    return Report(meta=meta, fast=fast, scale=scale, replay=replay, inprocess=inprocess)


def to_json(report: Report) -> dict[str, object]:
    """The raw numbers, derived ones included."""
    raw = asdict(report)
    for run, out in zip([report.fast, *report.scale], [raw["fast"], *raw["scale"]], strict=True):
        out["cpu_per_strap_hour"] = run.cpu_per_strap_hour
        out["bus_cpu_per_strap_hour"] = run.bus_cpu_per_strap_hour
    for replay, out in zip(report.replay, raw["replay"], strict=True):
        out["cpu_per_hour"] = replay.cpu_per_hour
    result = no_nan(raw)
    assert isinstance(result, dict)  # noqa: S101 - asdict gives a dict
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write raw numbers here")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="work in DIR and keep the logs and messages (default: a temporary directory, removed)",
    )
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            workdir = args.keep
            workdir.mkdir(parents=True, exist_ok=False)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hrvd-bench-")))
        report = asyncio.run(run_all(cfg, workdir))
    print(render(report))
    if args.json is not None:
        args.json.write_text(
            json.dumps(to_json(report), indent=1, allow_nan=False) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
