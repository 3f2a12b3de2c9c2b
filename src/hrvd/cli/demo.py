"""`hrvd demo`: the whole pipeline with no strap and no broker.

An embedded MQTT broker (or ``--broker``), a temporary store, and a virtual strap playing a
recovery ride through the real session code, pipeline, coach and publisher: an easy start,
a drift above the ceiling, back down. The live view shows it; the topics are printed so
that ``mosquitto_sub`` or Home Assistant can watch too. It ends with the ride.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import aiomqtt
import numpy as np

from hrvd.ble.session import StrapSession
from hrvd.ble.virtual import measurements
from hrvd.cli.live import LiveView
from hrvd.cli.replay import wall_clock
from hrvd.coach.baseline import Morning, Posture
from hrvd.coach.rides import RideManager
from hrvd.config import AthleteConfig, Config, MqttConfig, StoreConfig, StrapConfig
from hrvd.daemon.loops import Loops
from hrvd.daemon.morning import MorningPrinter, MorningRun
from hrvd.daemon.ordered import opened_on_thread
from hrvd.daemon.pipeline import StrapPipeline
from hrvd.hrv.synthetic import ride_rr, sinus_rr
from hrvd.publish.announce import announce
from hrvd.publish.embedded import embedded_broker
from hrvd.publish.mqtt import MqttPublisher
from hrvd.publish.outbox import Outbox
from hrvd.publish.sink import MqttSink, TeeSink
from hrvd.store import open_store

if TYPE_CHECKING:
    import argparse
    from collections.abc import AsyncIterator

    from numpy.typing import NDArray
    from rich.console import Console

    from hrvd.cli.args import Parser, Subparsers


CONNECT_WAIT_S = 5.0
"""The demo waits this long for its broker before it plays (and plays without it after)."""
DEMO_HR_MAX = 190
DEMO_HR_REST = 50
EASY, HARD = 0.7, 0.2
"""Beat-to-beat correlation of an easy ride (alpha1 about 1) and of a hard one (about 0.6)."""


def demo_ride(ceiling_bpm: float) -> list[tuple[float, float, float, float]]:
    """A 45-minute recovery ride around ``ceiling_bpm``: (s, HR from, HR to, correlation)."""
    c = ceiling_bpm
    return [
        (180, c - 20, c - 14, EASY),  # start: the legs begin to turn
        (720, c - 14, c - 14, EASY),  # warm-up: extremely easy
        (600, c - 10, c - 8, EASY),  # steady
        (180, c - 8, c + 10, 0.5),  # the power creeps up
        (300, c + 10, c + 10, HARD),  # too hard for recovery
        (180, c + 10, c - 6, 0.5),  # the rider eases off
        (540, c - 8, c - 9, EASY),  # easy to the end
    ]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def _broker(broker: tuple[str, int] | None) -> AsyncIterator[tuple[str, int]]:
    if broker is not None:
        yield broker
        return
    port = free_port()
    async with embedded_broker(port):
        yield "127.0.0.1", port


EMBEDDED_PROTOCOL = aiomqtt.ProtocolVersion.V311
"""The embedded broker (amqtt) speaks 3.1.1 only: no need to find that out first."""


async def run_demo(*, speed: float, broker: tuple[str, int] | None, console: Console) -> None:
    """Play the demo ride at ``speed`` times real time (0: as fast as possible)."""
    strap = StrapConfig("Demo strap", role="ride")
    athlete = AthleteConfig(hr_max=DEMO_HR_MAX, hr_rest=DEMO_HR_REST)
    # Left in reverse: the live view ends, the loops stop, the publisher says offline, the
    # outbox closes, the temporary files go, the embedded broker stops.
    async with contextlib.AsyncExitStack() as stack:
        host, port = await stack.enter_async_context(_broker(broker))
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="hrvd-demo-"))
        config = Config(
            mqtt=MqttConfig(host=host, port=port, client_id=f"hrvd-demo-{os.getpid()}"),
            straps=(strap,),
            athlete=athlete,
            store=StoreConfig(Path(tmp) / "hrvd.sqlite3"),
        )
        settings = config.ride_settings()
        rr = ride_rr(demo_ride(settings.ceiling_bpm), np.random.default_rng())
        console.print(
            f"hrvd demo: a 45-minute recovery ride at {speed:g}x, ceiling "
            f"{settings.ceiling_bpm:.0f} bpm (HRmax {DEMO_HR_MAX}).\n"
            f"Watch it over MQTT:  mosquitto_sub -h {host} -p {port} -t 'hrvd/#' -v",
            highlight=False,
        )
        outbox = await opened_on_thread(stack, Outbox, config.store.path)
        protocol = EMBEDDED_PROTOCOL if broker is None else aiomqtt.ProtocolVersion.V5
        publisher, loops = await _publishing(config, stack, outbox, protocol)
        start = wall_clock_now()
        view = stack.enter_context(LiveView(console, strap.name, start))
        mqtt = await stack.enter_async_context(MqttSink(publisher))
        loops.start("outbox writer", mqtt.wait())
        pipeline = StrapPipeline(
            strap_name=strap.name,
            base_topic=config.mqtt.base_topic,
            zones=config.athlete.heart_rate_zones(),
            rides=RideManager(config.ride_settings(), DEMO_HR_REST, auto_start=False),
            sink=TeeSink(mqtt, view),
            to_wall=wall_clock(start),
        )
        await loops.until(_ride(pipeline, strap, rr, speed))


async def _publishing(
    config: Config,
    stack: contextlib.AsyncExitStack,
    outbox: Outbox,
    protocol: aiomqtt.ProtocolVersion,
) -> tuple[MqttPublisher, Loops]:
    """The demo's publisher, its link a watched loop; waits a moment for the broker."""
    publisher = await stack.enter_async_context(
        MqttPublisher(config.mqtt, outbox, protocol=protocol)
    )
    announce(publisher, config)
    # A link that dies (a bug) ends the demo at once, with one line.
    loops = await stack.enter_async_context(Loops("demo").running({"mqtt": publisher.wait()}))
    with contextlib.suppress(TimeoutError):
        await loops.until(asyncio.wait_for(publisher.connected.wait(), CONNECT_WAIT_S))
    return publisher, loops


async def _ride(
    pipeline: StrapPipeline, strap: StrapConfig, rr: NDArray[np.float64], speed: float
) -> None:
    """The virtual strap plays ``rr`` through the real session code, as one ride."""
    now = [0.0]
    session = StrapSession(strap, pipeline.on_event, clock=lambda: now[0])
    pipeline.command("start", 0.0)
    for t, payload in measurements(rr):
        await asyncio.sleep((t - now[0]) / speed if speed > 0 else 0)
        now[0] = t
        session.feed(payload)
    pipeline.command("stop", now[0])


def wall_clock_now() -> datetime:
    """The demo's timestamps start now, local time."""
    return datetime.fromtimestamp(time.time()).astimezone()


SEED_DAYS = 30
"""Mornings of history the morning demo starts with: enough for a baseline."""


async def run_morning_demo(
    *, speed: float, broker: tuple[str, int] | None, console: Console
) -> None:
    """Seed a month of mornings, then play one morning measurement to a readiness score."""
    strap = StrapConfig("Demo strap", role="morning")
    # Left in reverse: the measurement stops listening, the loops stop, the publisher says
    # offline, the outbox and store close, the temporary files go, the broker stops.
    async with contextlib.AsyncExitStack() as stack:
        host, port = await stack.enter_async_context(_broker(broker))
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="hrvd-demo-"))
        config = Config(
            mqtt=MqttConfig(host=host, port=port, client_id=f"hrvd-demo-{os.getpid()}"),
            straps=(strap,),
            athlete=AthleteConfig(hr_max=DEMO_HR_MAX, hr_rest=DEMO_HR_REST),
            store=StoreConfig(Path(tmp) / "hrvd.sqlite3"),
        )
        rng = np.random.default_rng()
        today = datetime.now().astimezone().date()
        store = await opened_on_thread(stack, open_store, config.store.path)
        outbox = await opened_on_thread(stack, Outbox, config.store.path)
        await store.add_mornings(_seed_history(today, rng), source="imported")
        console.print(
            f"hrvd demo --morning: {SEED_DAYS} mornings of history, then this "
            f"morning's measurement at {speed:g}x (60 s settling, 120 s measured).\n"
            f"Watch it over MQTT:  mosquitto_sub -h {host} -p {port} -t 'hrvd/#' -v",
            highlight=False,
        )
        protocol = EMBEDDED_PROTOCOL if broker is None else aiomqtt.ProtocolVersion.V5
        publisher, loops = await _publishing(config, stack, outbox, protocol)
        mqtt = await stack.enter_async_context(MqttSink(publisher))
        loops.start("outbox writer", mqtt.wait())
        printer = MorningPrinter(console, config.athlete.language)
        sink = TeeSink(mqtt, printer)
        pipeline = StrapPipeline(
            strap_name=strap.name,
            base_topic=config.mqtt.base_topic,
            zones=config.athlete.heart_rate_zones(),
            rides=None,
            sink=sink,
            to_wall=wall_clock(wall_clock_now()),
        )
        finished = asyncio.Event()
        run = MorningRun(
            config, day=today, now_s=0.0, repeat=False, sink=sink, store=store, on_end=finished.set
        )
        stack.callback(pipeline.subscribe_beats(run.on_beats))
        await loops.until(
            _morning(pipeline, strap, run=run, finished=finished, speed=speed, rng=rng)
        )
        async with asyncio.timeout(CONNECT_WAIT_S):
            await loops.until(printer.readiness.wait())


def _seed_history(today: date, rng: np.random.Generator) -> list[Morning]:
    """A month of ordinary mornings: lnRMSSD about 4.0 (RMSSD 55 ms), resting HR about 52."""
    return [
        Morning(
            today - timedelta(days=k),
            Posture.LYING,
            float(rng.normal(4.0, 0.12)),
            float(rng.normal(52.0, 1.5)),
        )
        for k in range(SEED_DAYS, 0, -1)
    ]


async def _morning(  # noqa: PLR0913 - the measurement's parts
    pipeline: StrapPipeline,
    strap: StrapConfig,
    *,
    run: MorningRun,
    finished: asyncio.Event,
    speed: float,
    rng: np.random.Generator,
) -> None:
    """The virtual strap plays a somewhat tired morning until the measurement ends."""
    # RMSSD lower than usual, the heart a little faster: lnRMSSD about 3.85.
    rr = sinus_rr(240, rng, mean_ms=1110.0, rsa_ms=45.0, noise_ms=18.0)
    now = [0.0]
    session = StrapSession(strap, pipeline.on_event, clock=lambda: now[0])
    for t, payload in measurements(rr):
        await asyncio.sleep((t - now[0]) / speed if speed > 0 else 0)
        now[0] = t
        session.feed(payload)
        run.tick(t)
        if finished.is_set():
            break


def register(sub: Subparsers[Parser]) -> None:
    """`hrvd demo`."""
    from hrvd.cli.args import add_command, host_port, speed  # noqa: PLC0415

    demo = add_command(
        sub,
        "demo",
        "Start an embedded MQTT broker (or use --broker) and play a 45-minute "
        "recovery ride from a virtual strap through the real pipeline, with a live view.",
    )
    demo.add_argument(
        "--speed",
        type=speed,
        default=60.0,
        help="times real time (default 60: the ride takes 45 s)",
    )
    demo.add_argument(
        "--morning",
        action="store_true",
        help="a month of history, then a morning measurement to a score",
    )
    demo.add_argument(
        "--broker",
        type=host_port,
        metavar="HOST:PORT",
        help="publish to this broker instead of an embedded one",
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from rich.console import Console  # noqa: PLC0415 - only the live commands draw

    from hrvd.logging import configure_logging  # noqa: PLC0415

    configure_logging(level="warning")  # the live view speaks; the log only for trouble
    play = run_morning_demo if args.morning else run_demo
    asyncio.run(play(speed=args.speed, broker=args.broker, console=Console(file=out)))
    return 0
