"""`hrvd replay`: a recorded RR file through the live pipeline, as one ride.

The file becomes the notifications a strap would have sent: one a second of beat time,
each with the RR intervals that ended in that second. They go through the same
:class:`~hrvd.daemon.pipeline.StrapPipeline` as a live strap, so a replay shows exactly the
alerts and phase events the daemon would have shown. Timing follows beat time, so any
``--speed`` gives the same result.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import aiomqtt

from hrvd.ble.events import LinkChange, LinkState, Notification
from hrvd.ble.protocol import RR_UNITS_PER_S
from hrvd.ble.timeline import TimedBeat
from hrvd.cli.broker import command_client
from hrvd.coach.recovery import RideSettings
from hrvd.coach.rides import RideManager
from hrvd.daemon.loops import Loops
from hrvd.daemon.ordered import opened_on_thread
from hrvd.daemon.pipeline import StrapPipeline
from hrvd.errors import HrvdError, UsageError
from hrvd.hrv.zones import ZoneModel, Zones, zones_for
from hrvd.publish.announce import announce
from hrvd.publish.mqtt import MqttPublisher
from hrvd.publish.mqtt_auth import resolve_password
from hrvd.publish.outbox import Outbox
from hrvd.publish.sink import MqttSink, TeeSink

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterator

    import numpy as np
    from numpy.typing import NDArray

    from hrvd.cli.args import Parser, Subparsers
    from hrvd.coach.hrvt1 import CeilingPolicy
    from hrvd.config import Config, MqttConfig
    from hrvd.publish.messages import Payload, Sink

NOTIFY_EVERY_S = 1.0
"""A strap notifies about once a second."""


CONNECT_WAIT_S = 10.0
"""How long `hrvd replay --config` waits for the broker before giving up, s."""
DRAIN_TIMEOUT_S = 60.0
"""How long `hrvd replay --config` waits at the end for the broker to acknowledge what is
still queued, s (``--drain-timeout``). The outbox of a replay is temporary: what is not
delivered when it exits is lost, and said. A broker restart takes seconds and the link
retries every 2.5 s at most (:mod:`hrvd.publish.policy`); a minute also covers a slow
restart of the machine's broker service."""


def notifications(
    strap: str, rr_ms: NDArray[np.float64], gaps: NDArray[np.bool_] | None = None
) -> Iterator[Notification]:
    """The notifications a strap would have sent for ``rr_ms``, times from 0 s.

    ``gaps`` marks the intervals with beats missing before them (a Bluetooth drop in the
    recording), so that no HRV window bridges them.
    """
    t = 0.0
    due = NOTIFY_EVERY_S
    pending: list[TimedBeat] = []
    gap_flags = [False] * len(rr_ms) if gaps is None else gaps.tolist()
    for i, rr in enumerate(rr_ms.tolist()):
        t += rr / 1000.0
        while t > due:
            yield _notification(strap, due, pending)
            pending = []
            due += NOTIFY_EVERY_S
        raw = round(rr * RR_UNITS_PER_S / 1000.0)
        pending.append(TimedBeat(raw, rr, t, due, gap_before=i == 0 or gap_flags[i]))
    if pending:
        yield _notification(strap, due, pending)


def _notification(strap: str, at_s: float, beats: list[TimedBeat]) -> Notification:
    hr = round(60000.0 / beats[-1].rr_ms) if beats else 0
    return Notification(strap, at_s, hr, None, tuple(beats))


def wall_clock(start: datetime) -> Callable[[float], datetime]:
    """Map replay time (s from the first beat) to wall-clock time from ``start``."""

    def to_wall(t_s: float) -> datetime:
        return start + timedelta(seconds=t_s)

    return to_wall


async def replay(
    pipeline: StrapPipeline,
    rr_ms: NDArray[np.float64],
    *,
    speed: float,
    gaps: NDArray[np.bool_] | None = None,
) -> None:
    """Play ``rr_ms`` through ``pipeline`` as one ride, at ``speed`` times real time (0: fast)."""
    pipeline.on_event(LinkChange(pipeline.name, LinkState.STREAMING, 0.0))
    pipeline.command("start", 0.0)
    last = 0.0
    for n in notifications(pipeline.name, rr_ms, gaps):
        if speed > 0:
            await asyncio.sleep((n.at_s - last) / speed)
        else:
            await asyncio.sleep(0)  # let the publisher run
        last = n.at_s
        pipeline.on_event(n)
    pipeline.command("stop", last)
    pipeline.on_event(LinkChange(pipeline.name, LinkState.DISCONNECTED, last, "end of file"))


class ConsoleSink:
    """Prints the ride's events, one line each; ignores live values."""

    def __init__(self, out: TextIO, start: datetime) -> None:
        self.out = out
        self.start = start

    def _clock(self, payload: Payload, key: str) -> str:
        stamp = payload.get(key)
        if not isinstance(stamp, str):
            return "     "
        elapsed = datetime.fromisoformat(stamp) - self.start
        minutes, seconds = divmod(int(elapsed.total_seconds()), 60)
        return f"{minutes:3d}:{seconds:02d}"

    def state(self, topic: str, payload: Payload) -> None:
        """Live values are not printed (too many)."""

    def retained(self, topic: str, payload: str) -> None:
        """Link state is not printed either."""

    def durable(self, topic: str, payload: Payload) -> None:
        """Print alerts, phase events and the summary."""
        kind = topic.rsplit("/", 1)[-1]
        if kind == "alert":
            stamp = self._clock(payload, "ts")
            word = "ALERT too hard for recovery" if payload["too_hard"] else "alert off"
            self.out.write(
                f"{stamp}  {word} ({payload['reason']}): HR {payload['hr_bpm']} bpm, "
                f"ceiling {payload['ceiling_bpm']} bpm\n"
            )
        elif kind == "ride":
            elapsed = payload.get("elapsed_s")
            m, s = divmod(int(elapsed), 60) if isinstance(elapsed, float | int) else (0, 0)
            self.out.write(f"{m:3d}:{s:02d}  {payload['phase']:<9} {payload['event']}\n")
            if "ceiling_why" in payload:
                self.out.write(
                    f"       ceiling {payload['ceiling_bpm']} bpm: {payload['ceiling_why']}\n"
                )
        elif kind == "session":
            from hrvd.cli.output import ride_summary  # noqa: PLC0415

            self.out.writelines(f"{line}\n" for line in ride_summary(payload))


def default_start() -> datetime:
    """Now, in UTC with an offset (replay timestamps count from here)."""
    return datetime.now(tz=UTC).replace(microsecond=0)


DEFAULT_HR_MAX = 190
STATUS_WAIT_S = 1.0
"""How long to wait for a retained ``<base>/status`` before deciding no daemon runs."""


async def daemon_online(cfg: MqttConfig, password: str | None) -> bool:
    """Whether ``<base>/status`` is retained ``online`` on the broker (a daemon runs).

    An unreachable broker means no daemon can be reached through it: False.
    """
    try:
        async with await command_client(cfg, password, "probe") as client:
            await client.subscribe(f"{cfg.base_topic}/status", qos=1)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STATUS_WAIT_S):
                    async for message in client.messages:
                        return message.payload == b"online"
    except aiomqtt.MqttError:
        return False
    return False


async def run_replay(  # noqa: PLR0913 - the command's options
    rr_ms: NDArray[np.float64],
    *,
    config: Config | None,
    strap: str | None,
    speed: float,
    start: datetime,
    force: bool,
    hr_max: int = DEFAULT_HR_MAX,
    out: TextIO,
    gaps: NDArray[np.bool_] | None = None,
    drain_timeout_s: float = DRAIN_TIMEOUT_S,
) -> None:
    """`hrvd replay`: print the ride's events; with a config, publish them too.

    With a config it returns only when the broker has acknowledged every message, or
    after ``drain_timeout_s`` with an error that says how many it did not.

    Raises:
        UsageError: no ride strap to publish as, or a daemon is running (without force).
        HrvdError: the broker is unreachable at the start, or did not acknowledge every
            durable message by the end.
    """
    console = ConsoleSink(out, start)
    if config is None:
        zones = zones_for(ZoneModel.HRMAX, hr_max=hr_max)
        settings = RideSettings(zones.recovery_ceiling_bpm)
        pipeline = _pipeline(
            name=strap or "replay",
            base="hrvd",
            zones=zones,
            settings=settings,
            sink=console,
            start=start,
        )
        await replay(pipeline, rr_ms, speed=speed, gaps=gaps)
        return
    name = strap or next((s.name for s in config.straps if s.role in {"ride", "both"}), None)
    if name is None:
        raise UsageError("the config has no ride strap to publish as: pass --strap NAME")
    household, config = config, config.for_command(None, name)  # the strap's wearer's
    zones = config.athlete.heart_rate_zones()
    password = await asyncio.to_thread(resolve_password, config.mqtt, config.source)
    if not force and await daemon_online(config.mqtt, password):
        raise UsageError(
            f"a daemon is running ({config.mqtt.base_topic}/status is online): stop it, "
            "or pass --force to publish beside it"
        )
    cfg = dataclasses.replace(config.mqtt, client_id=f"hrvd-replay-{os.getpid()}")
    # Left in reverse: the loops stop, the publisher says offline, the temporary outbox goes.
    async with contextlib.AsyncExitStack() as stack:
        # Made and removed on threads: the folder and SQLite file are disk I/O.
        tmp = await asyncio.to_thread(tempfile.TemporaryDirectory, prefix="hrvd-replay-")
        stack.push_async_callback(asyncio.to_thread, tmp.cleanup)
        outbox = await opened_on_thread(stack, Outbox, Path(tmp.name) / "outbox.sqlite3")
        publisher = await stack.enter_async_context(MqttPublisher(cfg, outbox, password=password))
        # A link that dies (a bug) ends the replay at once, not after the drain timeout.
        loops = await stack.enter_async_context(Loops("replay").running({"mqtt": publisher.wait()}))
        # Before the first beat: live values are dropped while unconnected, and a short
        # replay would end before its messages left the temporary outbox.
        await loops.until(_connected(publisher))
        announce(publisher, household)  # every device: announcing one would clear the rest
        async with MqttSink(publisher) as mqtt:
            loops.start("outbox writer", mqtt.wait())
            sink = TeeSink(mqtt, console)
            pipeline = _pipeline(
                name=name,
                base=config.topic_base(),
                zones=zones,
                settings=config.ride_settings(),
                sink=sink,
                start=start,
                ceilings=config.ceiling_policy(),
            )
            await loops.until(replay(pipeline, rr_ms, speed=speed, gaps=gaps))
        await loops.until(_drain(publisher, drain_timeout_s, out))


async def _connected(publisher: MqttPublisher) -> None:
    """Wait for the broker, for at most :data:`CONNECT_WAIT_S`."""
    try:
        async with asyncio.timeout(CONNECT_WAIT_S):
            await publisher.connected.wait()
    except TimeoutError:
        cfg = publisher.cfg
        msg = (
            f"cannot reach the broker {cfg.host}:{cfg.port} "
            f"within {CONNECT_WAIT_S:g} s (see 'hrvd doctor')"
        )
        raise HrvdError(msg) from None


async def _drain(publisher: MqttPublisher, timeout_s: float, out: TextIO) -> None:
    """Wait for the broker to take what is queued; raise with the count of what it did not."""
    waiting = await publisher.outbox.count() + publisher.unsent_retained
    if waiting:
        out.write(
            f"waiting up to {timeout_s:g} s for the broker to acknowledge {waiting} "
            "message(s) (--drain-timeout)\n"
        )
        out.flush()
    left = await publisher.flush(timeout_s)
    if left:
        cfg = publisher.cfg
        retained = publisher.unsent_retained
        also = f" and {retained} retained value(s)" if retained else ""
        msg = (
            f"{left} durable message(s) (alerts, ride events, summary){also} not "
            f"delivered: the broker {cfg.host}:{cfg.port} did not acknowledge them within "
            f"{timeout_s:g} s, and they end with this replay (--drain-timeout waits "
            "longer)"
        )
        raise HrvdError(msg)


def _pipeline(  # noqa: PLR0913 - one replayed strap's parts
    *,
    name: str,
    base: str,
    zones: Zones,
    settings: RideSettings,
    sink: Sink,
    start: datetime,
    ceilings: CeilingPolicy | None = None,
) -> StrapPipeline:
    rides = RideManager(settings, hr_rest=None, auto_start=False)
    return StrapPipeline(
        strap_name=name,
        base_topic=base,
        zones=zones,
        rides=rides,
        sink=sink,
        to_wall=wall_clock(start),
        ceilings=ceilings,
    )


def register(sub: Subparsers[Parser]) -> None:
    """`hrvd replay FILE`."""
    from hrvd.cli.args import add_command, hr_max, seconds, speed, when  # noqa: PLC0415

    replay_cmd = add_command(
        sub,
        "replay",
        "Push an RR file (any format 'hrvd analyze' reads) through the same "
        "pipeline as a strap and print the ride's phase events, alerts and summary. With "
        "--config it also publishes to MQTT as the daemon would.",
    )
    add = replay_cmd.add_argument
    add("file", metavar="FILE", help="RR file, or - for stdin")
    add(
        "--speed",
        type=speed,
        default=60.0,
        help="times real time (default 60; 0: as fast as possible)",
    )
    add("--config", metavar="FILE", help="publish to this config's broker (never a default one)")
    add("--strap", metavar="NAME", help="publish as this strap")
    add("--force", action="store_true", help="publish even while a daemon is online")
    add(
        "--hr-max",
        type=hr_max,
        metavar="BPM",
        help="without --config: zones from this HRmax (default 190)",
    )
    add("--start", type=when, metavar="ISO8601", help="timestamp of the first beat (default: now)")
    add(
        "--drain-timeout",
        type=seconds,
        metavar="SECONDS",
        help="with --config: how long to wait at the end for the broker to acknowledge every "
        "message (default 60); what it has not is an error",
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.config import load_config  # noqa: PLC0415
    from hrvd.rrfile import read_rr  # noqa: PLC0415

    series = read_rr(args.file)
    config = load_config(Path(args.config)) if args.config else None
    play = run_replay(
        series.rr_ms,
        config=config,
        strap=args.strap,
        speed=args.speed,
        start=args.start or default_start(),
        force=args.force,
        hr_max=DEFAULT_HR_MAX if args.hr_max is None else args.hr_max,
        out=out,
        gaps=series.gaps,
        drain_timeout_s=DRAIN_TIMEOUT_S if args.drain_timeout is None else args.drain_timeout,
    )
    asyncio.run(play)
    return 0
