"""bench_daemon.py's `hrvd replay` runs: CPU and memory per hour of replayed data."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from daemon_plan import ATHLETE, REAL_MEAN_RR_MS, Config, ReplayRun
from daemon_rig import Fixtures, SubscriberProcess
from harness.daemon import StrapEntry, write_config
from hrvd.hrv.synthetic import sinus_rr

if TYPE_CHECKING:
    from pathlib import Path


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
