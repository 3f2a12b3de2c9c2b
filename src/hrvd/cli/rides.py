"""`hrvd sessions` and `hrvd ride start|stop`: the rides, from the store and over MQTT."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import time
from datetime import datetime
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

import aiomqtt
from rich.console import Console

from hrvd.ble.events import LinkState
from hrvd.ble.session import StrapSession
from hrvd.cli.replay import DEFAULT_HR_MAX, daemon_online
from hrvd.coach.morning import local_day
from hrvd.coach.orthostatic_baseline import ortho_line
from hrvd.config import slug
from hrvd.daemon.loops import Loops
from hrvd.daemon.morning import MorningPrinter, MorningRun
from hrvd.daemon.orthostatic import OrthostaticRun
from hrvd.daemon.pipeline import StrapPipeline
from hrvd.daemon.service import to_wall
from hrvd.errors import HrvdError, UsageError
from hrvd.hrv.zones import ZoneModel, zones_for
from hrvd.publish import topics
from hrvd.publish.mqtt import MqttPublisher, resolve_password, tls_context
from hrvd.publish.outbox import open_outbox
from hrvd.publish.sink import MqttSink, TeeSink
from hrvd.setup import verdicts as v
from hrvd.setup.doctor import bluetooth_problem
from hrvd.store import open_store

if TYPE_CHECKING:
    from hrvd.ble.events import StrapEvent
    from hrvd.config import Config, StrapConfig
    from hrvd.store import Ride

FOLLOW_TIMEOUT_S = 10.0
"""How long `hrvd ride stop` waits for the daemon's summary."""


def list_sessions(config: Config, *, limit: int, as_json: bool, out: TextIO) -> None:
    """The last rides, newest first."""
    rides = []
    if config.store.path.exists():  # else the daemon has not run yet: no ride
        store = open_store(config.store.path, readonly=True)
        try:
            rides = store.rides(limit)
        finally:
            store.close()
    if as_json:
        out.write(json.dumps([r.summary for r in rides], separators=(",", ":")) + "\n")
        return
    if not rides:
        out.write("no ride stored yet\n")
        return
    out.write(f"{'STARTED':<26}{'STRAP':<14}{'MIN':>5}{'IN ZONE':>9}{'TOO HARD':>10}"
              f"{'ALERTS':>8}{'HRVT1':>7}  ID\n")  # fmt: skip
    for r in rides:
        s = r.summary
        out.write(
            f"{r.started:<26}{r.strap[:13]:<14}{_minutes(s.get('duration_s')):>5}"
            f"{_pct(s.get('in_zone_pct')):>9}{_minutes(s.get('too_hard_s')):>10}"
            f"{s.get('alerts', 0)!s:>8}{_bpm(s.get('hrvt1_bpm')):>7}  {r.id}\n"
        )


def show_session(config: Config, ride_id: str, *, as_json: bool, out: TextIO) -> None:
    """One ride's summary.

    Raises:
        UsageError: no ride, or more than one, has that id.
    """
    store = open_store(config.store.path, readonly=True)
    try:
        ride = store.ride(ride_id)
    finally:
        store.close()
    if ride is None:
        raise UsageError(f"no single ride with the id {ride_id!r} (see 'hrvd sessions')")
    if as_json:
        out.write(json.dumps(ride.summary, separators=(",", ":")) + "\n")
        return
    out.write(_describe(ride))


def _describe(ride: Ride) -> str:
    s = ride.summary
    lines = [
        f"ride {ride.id}",
        f"  strap            {ride.strap}",
        f"  from             {ride.started} to {ride.ended} ({s.get('end_reason')})",
        f"  duration         {_minutes(s.get('duration_s'))} min",
        f"  in recovery zone {_pct(s.get('in_zone_pct'))} (ceiling {s.get('ceiling_bpm')} bpm)",
        f"  too hard         {_minutes(s.get('too_hard_s'))} min, {s.get('alerts')} alert(s)",
        f"  heart rate       mean {s.get('mean_hr_bpm')} bpm, max {s.get('max_hr_bpm')} bpm",
        f"  RMSSD, alpha1    {s.get('mean_rmssd_ms')} ms, {s.get('mean_dfa_alpha1')}",
        f"  artifacts        {_pct(_times100(s.get('artifact_rate')))}",
        f"  HRVT1            {_hrvt1(s)}",
    ]
    if "ceiling_why" in s:
        lines.insert(5, f"  ceiling          {s.get('ceiling_why')}")
    return "\n".join(lines) + "\n"


def _bpm(value: object) -> str:
    return f"{value:.0f}" if isinstance(value, int | float) else "-"


def _hrvt1(s: dict[str, object]) -> str:
    """A ride's HRVT1, or why it gave none."""
    if isinstance(s.get("hrvt1_bpm"), int | float):
        return f"{s['hrvt1_bpm']} bpm (alpha1 = 0.75)"
    why = s.get("hrvt1_reason")
    return f"none ({why})" if why else "none"


def _minutes(seconds: object) -> str:
    return f"{float(seconds) / 60:.0f}" if isinstance(seconds, int | float) else "-"


def _times100(value: object) -> float | None:
    return 100 * value if isinstance(value, int | float) else None


def _pct(value: object) -> str:
    return f"{value:.0f} %" if isinstance(value, int | float) else "-"


async def ride_command(config: Config, action: str, strap: str | None, out: TextIO) -> None:
    """Send a ride command to the running daemon and follow the ride's messages.

    Raises:
        HrvdError: no daemon is running (hrvd/status is not online).
    """
    cfg = config.mqtt
    password = resolve_password(cfg, config.source)
    if not await daemon_online(cfg, password):
        raise HrvdError(
            f"no daemon is running ({cfg.base_topic}/status is not online): start it "
            "(systemctl start hrvd), or play a file with 'hrvd replay'"
        )
    payload = action if strap is None else json.dumps({"strap": strap, "action": action})
    async with aiomqtt.Client(
        cfg.host, cfg.port, username=cfg.username, password=password,
        tls_context=tls_context(cfg), identifier=f"hrvd-ride-{os.getpid()}",
    ) as client:  # fmt: skip
        await client.subscribe(f"{cfg.base_topic}/+/ride", qos=1)
        await client.subscribe(f"{cfg.base_topic}/+/alert", qos=1)
        await client.subscribe(f"{cfg.base_topic}/+/session", qos=1)
        await client.publish(topics.cmd_ride(cfg.base_topic), payload.encode(), qos=1)
        out.write(f"ride {action} sent; following the ride (Ctrl-C to stop following)\n")
        await _follow(client, action, out)


async def _follow(client: aiomqtt.Client, action: str, out: TextIO) -> None:
    timeout = FOLLOW_TIMEOUT_S if action == "stop" else None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            async for message in client.messages:
                if message.retain:
                    continue  # the last ride's retained messages: not news
                try:
                    data = json.loads(message.payload)
                except (json.JSONDecodeError, TypeError, UnicodeDecodeError):
                    continue  # not ours to judge: hrvd writes JSON here
                if not isinstance(data, dict):
                    continue
                kind = str(message.topic).rsplit("/", 1)[-1]
                if kind == "alert":
                    word = "ALERT too hard for recovery" if data.get("too_hard") else "alert off"
                    out.write(f"{word} ({data.get('reason')}), HR {data.get('hr_bpm')} bpm\n")
                elif kind == "ride":
                    out.write(f"{data.get('phase')}: {data.get('event')}\n")
                elif kind == "session":
                    out.write(f"ride over: {_minutes(data.get('duration_s'))} min, "
                              f"{data.get('alerts')} alert(s)\n")  # fmt: skip
                    return
                out.flush()


MORNING_TIMEOUT_S = 600.0
"""The longest a morning measurement can take, with settling, plus margin, s."""


async def morning_command(  # noqa: PLR0913 - the command's options
    config: Config, *, repeat: bool, strap: str | None, out: TextIO, posture: str | None = None,
    orthostatic: bool = False,
) -> None:  # fmt: skip
    """Start a morning measurement (or orthostatic test) on the running daemon, show it.

    Raises:
        HrvdError: no daemon is running, or the measurement did not end in time.
    """
    cfg = config.mqtt
    password = resolve_password(cfg, config.source)
    if not await daemon_online(cfg, password):
        await standalone_morning(config, repeat=repeat, strap=strap, out=out, posture=posture,
                                 orthostatic=orthostatic)  # fmt: skip
        return
    body: dict[str, object] = {"repeat": repeat}
    if orthostatic:
        body["orthostatic"] = True
    if posture is not None:
        body["posture"] = posture
    if strap is not None:
        body["strap"] = strap
    async with aiomqtt.Client(
        cfg.host, cfg.port, username=cfg.username, password=password,
        tls_context=tls_context(cfg), identifier=f"hrvd-morning-{os.getpid()}",
    ) as client:  # fmt: skip
        await client.subscribe(topics.morning(cfg.base_topic), qos=1)
        await client.subscribe(topics.readiness(cfg.base_topic), qos=1)
        await client.publish(topics.cmd_morning(cfg.base_topic), json.dumps(body).encode(), qos=1)
        out.write("Lie still and breathe normally."
                  + (" You will be told when to stand.\n" if orthostatic else "\n"))  # fmt: skip
        await _countdown(client, out)


CONNECT_TIMEOUT_S = 60.0
"""How long the standalone measurement waits for the strap to stream, s."""


MORNING_DRAIN_S = 5.0
"""At the end of a standalone measurement, how long to wait for the broker to take the
readiness, s. It is in the store's outbox either way: what the broker has not taken by
then, the daemon sends when it next starts."""


async def standalone_morning(  # noqa: PLR0913 - the command's options, and a timeout
    config: Config, *, repeat: bool, strap: str | None, out: TextIO, posture: str | None = None,
    orthostatic: bool = False, connect_timeout_s: float = CONNECT_TIMEOUT_S,
) -> None:  # fmt: skip
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
    console = Console(file=out)
    printer = MorningPrinter(console, config.athlete.language)
    try:
        zones = config.athlete.heart_rate_zones()
    except ValueError:
        zones = zones_for(ZoneModel.HRMAX, hr_max=DEFAULT_HR_MAX)  # shown, not used here
    pipeline = StrapPipeline(strap_name=chosen.name, base_topic=config.mqtt.base_topic,
                             zones=zones, rides=None, sink=printer, to_wall=to_wall)  # fmt: skip
    streaming = asyncio.Event()

    def on_event(event: StrapEvent) -> None:
        pipeline.on_event(event)
        if pipeline.status().link is LinkState.STREAMING:
            streaming.set()

    # Left in reverse: the measurement stops listening, the publisher flushes, the strap's
    # session ends, the store closes.
    async with contextlib.AsyncExitStack() as stack:
        store = stack.enter_context(open_store(config.store.path))
        out.write(f"no daemon running: connecting to {chosen.name} myself ...\n")
        session = StrapSession(chosen, on_event).run()
        loops = await stack.enter_async_context(Loops("morning").running({"strap": session}))
        try:
            await loops.until(_wait_streaming(streaming, chosen, pipeline, connect_timeout_s))
            # Only now: a strap held by a daemon never streams here, so two senders never
            # drain the one outbox.
            publisher, mqtt = await _publishing(config, stack, loops)
            if not orthostatic:  # the test prints its own prompts
                out.write("Lie still and breathe normally.\n")
            tz = ZoneInfo(config.athlete.timezone)
            finished = asyncio.Event()
            kind = OrthostaticRun if orthostatic else MorningRun
            run = kind(config, day=local_day(datetime.now(tz), tz), now_s=time.monotonic(),
                       repeat=repeat, sink=TeeSink(mqtt, printer), store=store,
                       on_end=finished.set, posture=posture)  # fmt: skip
            stack.callback(pipeline.subscribe_beats(run.on_beats))
            await loops.until(_measure(run, finished))
            await loops.until(mqtt.drain())
            if await loops.until(publisher.flush(MORNING_DRAIN_S)):
                cfg = publisher.cfg
                out.write(f"the broker {cfg.host}:{cfg.port} is away: the result waits in "
                          "the store, and the daemon sends it when it next starts\n")  # fmt: skip
        except TimeoutError:
            msg = "the measurement did not end in time: is the strap streaming?"
            raise HrvdError(msg) from None


async def _publishing(
    config: Config, stack: contextlib.AsyncExitStack, loops: Loops
) -> tuple[MqttPublisher, MqttSink]:
    """The daemon's outbox (in the store) and a publisher of the measurement's messages."""
    cfg = dataclasses.replace(config.mqtt, client_id=f"hrvd-morning-{os.getpid()}")
    outbox = stack.enter_context(open_outbox(config.store.path))
    publisher = MqttPublisher(cfg, outbox, password=resolve_password(cfg, config.source),
                              presence=False)  # fmt: skip
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
            msg = (f"{strap.name} is connected but sent no heart beat within {timeout_s:g} s "
                   "(fix: wet the electrodes and put the strap on)")  # fmt: skip
        else:
            problem = await bluetooth_problem() or v.strap_verdict(
                strap, connected=False, rssi=None, scanned_s=timeout_s
            )
            msg = f"cannot connect to {strap.name}: {v.one_line(problem)}"
        raise HrvdError(msg) from None


async def _countdown(client: aiomqtt.Client, out: TextIO) -> None:
    prompted = False
    try:
        async with asyncio.timeout(MORNING_TIMEOUT_S):
            async for message in client.messages:
                if message.retain:
                    continue  # yesterday's readiness
                try:
                    data = json.loads(message.payload)
                except (json.JSONDecodeError, TypeError, UnicodeDecodeError):
                    continue
                if not isinstance(data, dict):
                    continue
                if str(message.topic).endswith("/readiness"):
                    score = data.get("score")
                    out.write(f"\nreadiness: {data.get('status')}"
                              + (f", score {score}" if score is not None else "")
                              + f"\n{data.get('recommendation_text')}\n")  # fmt: skip
                    ortho = data.get("orthostatic")
                    if isinstance(ortho, dict):
                        out.write(ortho_line(ortho) + "\n")
                    return
                if data.get("prompt") and data.get("phase") == "stand_up" and not prompted:
                    out.write(f"\n{data.get('prompt')}\n")
                    prompted = True
                state = data.get("state")
                if state == "invalid":
                    out.write(f"\nnot valid ({data.get('reason')}): please repeat\n")
                    return
                out.write(f"\r{state}: {data.get('remaining_s')} s left   ")
                out.flush()
    except TimeoutError:
        raise HrvdError("the measurement did not end in time: is the strap streaming?") from None
