"""Soak test of `hrvd run`: hours of strap data with faults, then a check of what arrived.

Usage::

    .venv/bin/python bench/soak.py --minutes 60 --straps 16 [--seed 1] [--workdir DIR]
        [--json FILE]

Real parts only: a private ``dbus-daemon`` (never the host bus) with the fake BlueZ of
``tests/harness/fake_bluez.py`` serving K straps in real time, a mosquitto with persistence
on a free loopback port (``tests/harness/mosquitto.py``), the daemon as a subprocess
(``python -m hrvd.cli run --log-level debug``), and an MQTT subscriber with a persistent
session (fixed client id, clean session off, QoS 1), so that a broker restart loses nothing
queued for it.

"Accelerated" means parallel, not fast: the beat timeline cuts a series whose RR sum parts
from the receive clock by more than 3 s, so every strap beats in real time; K straps for M
minutes are K x M strap-minutes of data. K - 1 straps ride (RR swinging between about 91
and 128 bpm in blocks of a minute or two, so the "too hard" alert toggles), the last one is
a morning strap (about 60 bpm, calm) that measures readiness on command, again and again.

Faults, on a schedule drawn from ``--seed``: strap drops, stalls, malformed payloads, a
strap gone for longer than a ride tolerates, broker restarts, and ``kill -9`` of the daemon
followed by a restart. Rides start and stop by MQTT command (and some end by "strap gone").

Ground truth: every durable message the daemon put into its outbox is in its debug log
("durable queued", with the exact payload); the subscriber's record is compared with it.
Every RR value a fake strap sends carries a code, (5 x beat number) mod 16, in its low 4
bits, so that each stored beat is matched to exactly one sent beat (same value, sent
within 3.5 s of the stored time). The report's definitions are in ``RELIABILITY.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import pickle
import signal
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from harness.dbus import private_dbus
from harness.fake_bluez import FakeBluez
from harness.mosquitto import Broker
from soak_analysis import Result, analyse
from soak_plan import Plan, long_plan, short_plan
from soak_report import report
from soak_run import Soak

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Plan", "Result", "analyse", "long_plan", "main", "report", "run_soak", "short_plan"]


async def run_soak(
    plan: Plan, *, bus_address: str, bluez: FakeBluez, broker: Broker, workdir: Path
) -> Result:
    """Run ``plan`` with a started fake BlueZ and broker; analyse what happened."""
    raw = await Soak(plan, bus_address, broker, workdir).run(bluez)
    # Kept so that analyse() can be run again later (unpickle with bench/soak.py's classes).
    (workdir / "raw.pickle").write_bytes(pickle.dumps(raw))
    (workdir / "deliveries.jsonl").write_text(
        "".join(
            json.dumps({"t_s": d.t_s, "topic": d.topic, "payload": d.text, "retain": d.retain})
            + "\n"
            for d in raw.deliveries
        ),
        encoding="utf-8",
    )
    return analyse(raw)


async def main_async(plan: Plan, workdir: Path) -> Result:
    """The standalone run: a private bus, a broker and the fake BlueZ of our own."""
    task = asyncio.current_task()
    if task is not None:  # SIGTERM (kill PID): clean up the broker and the bus, then stop
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    broker = Broker(workdir / "mosquitto")
    broker.start()
    try:
        with private_dbus() as bus:
            async with FakeBluez(bus.address) as bluez:
                return await run_soak(
                    plan, bus_address=bus.address, bluez=bluez, broker=broker, workdir=workdir
                )
    finally:
        broker.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run, print the report; exit 1 if an invariant failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--straps", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--kill-at",
        type=float,
        nargs="+",
        default=[0.2, 0.45],
        metavar="SHARE",
        help="kill -9 at these shares of the run",
    )
    parser.add_argument("--short", action="store_true", help="the CI plan (about 4 minutes)")
    parser.add_argument("--workdir", type=Path, help="keep logs and the store here")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    plan = (
        short_plan(args.seed)
        if args.short
        else long_plan(args.minutes, args.straps, args.seed, tuple(args.kill_at))
    )
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(main_async(plan, workdir))
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=1, default=str) + "\n")
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
