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

The parts: daemon_plan.py (run sizes, strap plans, result values), daemon_runs.py
(`hrvd run`), daemon_replay.py (`hrvd replay`), daemon_inprocess.py, daemon_report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from core_common import no_nan
from daemon_inprocess import run_inprocess_alerts
from daemon_plan import (
    FAST_INTERVAL_S,
    FAST_RIDE,
    FULL,
    QUICK,
    REAL_INTERVAL_S,
    Config,
    Report,
    fast_plan,
    log,
    real_plans,
)
from daemon_replay import run_replays
from daemon_report import render
from daemon_rig import load_fixtures
from daemon_runs import run_daemon
from harness.machine import machine as describe_machine

if TYPE_CHECKING:
    from collections.abc import Sequence


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
