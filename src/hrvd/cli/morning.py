"""`hrvd morning`: this morning's measurement, on the running daemon or, with none, here."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import sys
import time
from datetime import datetime
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

from rich.console import Console

from hrvd.ble.events import LinkState
from hrvd.ble.session import StrapSession
from hrvd.cli.args import add_athlete, add_command
from hrvd.cli.broker import command_client
from hrvd.cli.output import write_json
from hrvd.cli.replay import DEFAULT_HR_MAX, daemon_online
from hrvd.coach.morning_day import local_day
from hrvd.coach.orthostatic_baseline import ortho_line
from hrvd.config import slug
from hrvd.daemon.loops import Loops
from hrvd.daemon.morning import MorningPrinter, MorningRun
from hrvd.daemon.ordered import opened_on_thread
from hrvd.daemon.orthostatic import OrthostaticRun
from hrvd.daemon.pipeline import StrapPipeline
from hrvd.daemon.service import to_wall
from hrvd.errors import EXIT_OK, HrvdError, UsageError
from hrvd.hrv.zones import ZoneModel, zones_for
from hrvd.publish import topics
from hrvd.publish.mqtt import MqttPublisher
from hrvd.publish.mqtt_auth import resolve_password
from hrvd.publish.outbox import open_outbox
from hrvd.publish.sink import MqttSink, TeeSink
from hrvd.setup import verdicts as v
from hrvd.setup.doctor import bluetooth_problem
from hrvd.store import open_store

if TYPE_CHECKING:
    import argparse

    import aiomqtt

    from hrvd.ble.events import StrapEvent
    from hrvd.cli.args import Parser, Subparsers
    from hrvd.config import Config, StrapConfig


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    morning = add_command(
        sub,
        "morning",
        "Take this morning's HRV measurement (or the orthostatic test) on the running "
        "daemon, or, with none running, connect to the morning strap here; print the "
        "readiness it gives.",
    )
    morning.add_argument("--repeat", action="store_true", help="replace today's measurement")
    morning.add_argument(
        "--posture", choices=("lying", "sitting", "standing"), help="default: [morning] posture"
    )
    morning.add_argument("--strap", metavar="NAME", help="default: the first morning strap")
    morning.add_argument(
        "--orthostatic", action="store_true", help="lie, then stand when told: the orthostatic test"
    )
    morning.add_argument("--config", metavar="FILE")
    add_athlete(morning)  # or --strap: whoever wears it
    morning.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="json: the readiness as JSON, the countdown on stderr",
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    if args.orthostatic and args.posture not in {None, "lying"}:
        raise UsageError("--orthostatic lies first, then stands: leave out --posture")
    config = load_config(find_config(args.config)).for_command(args.athlete, args.strap)
    asyncio.run(
        morning_command(
            config,
            repeat=args.repeat,
            strap=args.strap,
            out=out,
            posture=args.posture,
            orthostatic=args.orthostatic,
            as_json=args.format == "json",
        )
    )
    return EXIT_OK


MORNING_TIMEOUT_S = 600.0
"""The longest a morning measurement can take, with settling, plus margin, s."""


async def morning_command(  # noqa: PLR0913 - the command's options
    config: Config,
    *,
    repeat: bool,
    strap: str | None,
    out: TextIO,
    posture: str | None = None,
    orthostatic: bool = False,
    as_json: bool = False,
) -> None:
    """Start a morning measurement (or orthostatic test) on the running daemon, show it.

    ``config`` is the athlete's (:meth:`~hrvd.config.Config.for_command`): the command goes
    to their topic, and their strap is measured.

    ``as_json``: the result (the readiness, or why the measurement is not valid) is one
    JSON object on ``out``, the prompts and the countdown go to stderr.

    Raises:
        HrvdError: no daemon is running, or the measurement did not end in time.
    """
    cfg = config.mqtt
    password = await asyncio.to_thread(resolve_password, cfg, config.source)
    if not await daemon_online(cfg, password):
        await standalone_morning(
            config,
            repeat=repeat,
            strap=strap,
            out=out,
            posture=posture,
            orthostatic=orthostatic,
            as_json=as_json,
        )
        return
    body: dict[str, object] = {"repeat": repeat}
    if orthostatic:
        body["orthostatic"] = True
    if posture is not None:
        body["posture"] = posture
    if strap is not None:
        body["strap"] = strap
    async with await command_client(cfg, password, "morning") as client:
        base = config.topic_base()
        await client.subscribe(topics.morning(base), qos=1)
        await client.subscribe(topics.readiness(base), qos=1)
        await client.publish(topics.cmd_morning(base), json.dumps(body).encode(), qos=1)
        talk = sys.stderr if as_json else out
        talk.write(
            "Lie still and breathe normally."
            + (" You will be told when to stand.\n" if orthostatic else "\n")
        )
        await _countdown(client, out, talk)


CONNECT_TIMEOUT_S = 60.0
"""How long the standalone measurement waits for the strap to stream, s."""


MORNING_DRAIN_S = 5.0
"""At the end of a standalone measurement, how long to wait for the broker to take the
readiness, s. It is in the store's outbox either way: what the broker has not taken by
then, the daemon sends when it next starts."""


async def standalone_morning(  # noqa: PLR0913 - the command's options, and a timeout
    config: Config,
    *,
    repeat: bool,
    strap: str | None,
    out: TextIO,
    posture: str | None = None,
    orthostatic: bool = False,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    as_json: bool = False,
) -> None:
    """With no daemon running: connect to the morning strap, measure, score, keep, publish.

    The progress goes to the broker as the daemon's does, the end and the readiness
    through the daemon's own durable outbox (in the store), so that a broker away now
    gets them from the next daemon start.

    No BlueZ or no adapter ends it at once, a strap that does not stream after
    ``connect_timeout_s``: each with the verdict and fix ``hrvd doctor`` gives.

    Raises:
        UsageError: no morning strap in the config.
        HrvdError: Bluetooth cannot be used, the strap does not stream, the measurement
            does not end in time, or the store cannot be opened.
    """
    straps = [s for s in config.straps if s.role in {"morning", "both"}]
    chosen = next((s for s in straps if strap is None or s.slug == slug(strap)), None)
    if chosen is None:
        raise UsageError("no morning strap in the config (a [[strap]] with role morning or both)")
    problem = await bluetooth_problem()
    if problem is not None:
        raise HrvdError(f"cannot connect to {chosen.name}: {v.one_line(problem)}")
    talk = sys.stderr if as_json else out  # with as_json, stdout is the result alone
    printer = MorningPrinter(Console(file=talk), config.athlete.language)
    try:
        zones = config.athlete.heart_rate_zones()
    except ValueError:
        zones = zones_for(ZoneModel.HRMAX, hr_max=DEFAULT_HR_MAX)  # shown, not used here
    pipeline = StrapPipeline(
        strap_name=chosen.name,
        base_topic=config.topic_base(),
        zones=zones,
        rides=None,
        sink=printer,
        to_wall=to_wall,
    )
    streaming = asyncio.Event()

    def on_event(event: StrapEvent) -> None:
        pipeline.on_event(event)
        if pipeline.status().link is LinkState.STREAMING:
            streaming.set()

    # Left in reverse: the measurement stops listening, the publisher flushes, the strap's
    # session ends, the store closes.
    async with contextlib.AsyncExitStack() as stack:
        # Opened and closed on threads, like every file here: never on the loop.
        store = await opened_on_thread(stack, open_store, config.store.path)
        talk.write(f"no daemon running: connecting to {chosen.name} myself ...\n")
        session = StrapSession(chosen, on_event).run()
        loops = await stack.enter_async_context(Loops("morning").running({"strap": session}))
        try:
            await loops.until(_wait_streaming(streaming, chosen, pipeline, connect_timeout_s))
            # Only now: a strap held by a daemon never streams here, so two senders never
            # drain the one outbox.
            publisher, mqtt = await _publishing(config, stack, loops)
            if not orthostatic:  # the test prints its own prompts
                talk.write("Lie still and breathe normally.\n")
            tz = ZoneInfo(config.athlete.timezone)
            finished = asyncio.Event()
            kind = OrthostaticRun if orthostatic else MorningRun
            run = kind(
                config,
                day=local_day(datetime.now(tz), tz),
                now_s=time.monotonic(),
                repeat=repeat,
                sink=TeeSink(mqtt, printer),
                store=store,
                on_end=finished.set,
                posture=posture,
            )
            stack.callback(pipeline.subscribe_beats(run.on_beats))
            await loops.until(_measure(run, finished))
            await loops.until(mqtt.drain())
            if await loops.until(publisher.flush(MORNING_DRAIN_S)):
                cfg = publisher.cfg
                talk.write(
                    f"the broker {cfg.host}:{cfg.port} is away: the result waits in "
                    "the store, and the daemon sends it when it next starts\n"
                )
        except TimeoutError:
            msg = "the measurement did not end in time: is the strap streaming?"
            raise HrvdError(msg) from None
    if as_json and printer.result is not None:
        write_json(out, printer.result.payload())  # as published


async def _publishing(
    config: Config, stack: contextlib.AsyncExitStack, loops: Loops
) -> tuple[MqttPublisher, MqttSink]:
    """The daemon's outbox (in the store) and a publisher of the measurement's messages."""
    cfg = dataclasses.replace(config.mqtt, client_id=f"hrvd-morning-{os.getpid()}")
    outbox = await opened_on_thread(stack, open_outbox, config.store.path)
    password = await asyncio.to_thread(resolve_password, cfg, config.source)
    publisher = MqttPublisher(cfg, outbox, password=password, presence=False)
    await stack.enter_async_context(publisher)
    mqtt = await stack.enter_async_context(MqttSink(publisher))
    loops.start("mqtt", publisher.wait())
    loops.start("outbox writer", mqtt.wait())
    return publisher, mqtt


async def _measure(run: MorningRun, finished: asyncio.Event) -> None:
    """Tick the measurement once a second until it ends and its result is kept."""
    async with asyncio.timeout(MORNING_TIMEOUT_S):
        while not finished.is_set():
            await asyncio.sleep(1.0)
            run.tick(time.monotonic())
        await run.settled()


async def _wait_streaming(
    streaming: asyncio.Event, strap: StrapConfig, pipeline: StrapPipeline, timeout_s: float
) -> None:
    try:
        await asyncio.wait_for(streaming.wait(), timeout_s)
    except TimeoutError:
        if pipeline.status().link in {LinkState.NO_CONTACT, LinkState.STALLED}:
            msg = (
                f"{strap.name} is connected but sent no heart beat within {timeout_s:g} s "
                "(fix: wet the electrodes and put the strap on)"
            )
        else:
            problem = await bluetooth_problem() or v.strap_verdict(
                strap, connected=False, rssi=None, scanned_s=timeout_s
            )
            msg = f"cannot connect to {strap.name}: {v.one_line(problem)}"
        raise HrvdError(msg) from None


async def _countdown(client: aiomqtt.Client, out: TextIO, talk: TextIO) -> None:
    prompted = False
    try:
        async with asyncio.timeout(MORNING_TIMEOUT_S):
            async for message in client.messages:
                data = None if message.retain else _json_object(message.payload)
                if data is None:
                    continue  # yesterday's readiness, or not ours to judge
                readiness = str(message.topic).endswith("/readiness")
                if readiness or data.get("state") == "invalid":
                    _result(data, readiness=readiness, out=out, as_json=talk is not out)
                    return
                if data.get("prompt") and data.get("phase") == "stand_up" and not prompted:
                    talk.write(f"\n{data.get('prompt')}\n")
                    prompted = True
                talk.write(f"\r{data.get('state')}: {data.get('remaining_s')} s left   ")
                talk.flush()
    except TimeoutError:
        raise HrvdError("the measurement did not end in time: is the strap streaming?") from None


def _json_object(payload: object) -> dict[str, object] | None:
    try:
        data = json.loads(payload)  # type: ignore[arg-type]
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _result(data: dict[str, object], *, readiness: bool, out: TextIO, as_json: bool) -> None:
    """The end of a measurement: the readiness, or why it is not valid."""
    if as_json:
        write_json(out, data)  # as the daemon published it
    elif not readiness:
        out.write(f"\nnot valid ({data.get('reason')}): please repeat\n")
    else:
        score = data.get("score")
        out.write(
            f"\nreadiness: {data.get('status')}"
            + (f", score {score}" if score is not None else "")
            + f"\n{data.get('recommendation_text')}\n"
        )
        ortho = data.get("orthostatic")
        if isinstance(ortho, dict):
            out.write(ortho_line(ortho) + "\n")
