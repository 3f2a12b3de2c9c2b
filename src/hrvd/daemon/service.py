"""`hrvd run`: straps -> HRV -> ride coach -> MQTT, until SIGTERM.

The daemon composes one async context manager per outside resource (the MQTT publisher,
its sink) with an AsyncExitStack, and runs the MQTT link, the strap sessions, a
once-a-second ticker, the systemd watchdog and status lines as loops of one task group
(:mod:`hrvd.daemon.loops`): a loop that raises is logged with its traceback and ends the daemon
with exit code 1, for systemd to restart it, and the watchdog pings only while every
loop lives and the ticker ticks. It tells systemd READY once the config
is loaded, the store open and the tasks running: it never waits for the broker or a
strap, either of which may be away for hours. On SIGTERM or SIGINT it ends open rides
(their alerts turn off and their summaries go out), flushes, says offline, and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import sqlite3
import time
from datetime import datetime
from datetime import time as dt_time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import structlog

from hrvd.ble.events import LinkChange, LinkState
from hrvd.ble.session import StrapSession, run_straps
from hrvd.coach.morning_day import local_day, may_auto_start
from hrvd.coach.rides import RideManager
from hrvd.config import slug
from hrvd.daemon.beats import BeatRecorder
from hrvd.daemon.clock import read_clock
from hrvd.daemon.commands import CommandDesk
from hrvd.daemon.loops import Loops
from hrvd.daemon.morning import MorningRun, stored_readiness
from hrvd.daemon.orthostatic import OrthostaticRun
from hrvd.daemon.pipeline import StrapPipeline, interrupted_messages
from hrvd.daemon.record import StoreSink
from hrvd.daemon.systemd import Notifier
from hrvd.errors import ConfigError, HrvdError
from hrvd.publish import topics
from hrvd.publish.announce import announce
from hrvd.publish.mqtt import MqttPublisher
from hrvd.publish.mqtt_auth import password_file_warning, resolve_password
from hrvd.publish.outbox import Outbox
from hrvd.publish.sink import MqttSink, TeeSink
from hrvd.store import StoreError, open_store

if TYPE_CHECKING:
    from collections.abc import Callable

    from hrvd.ble.timeline import TimedBeat
    from hrvd.coach.hrvt1 import CeilingPolicy
    from hrvd.config import Config
    from hrvd.publish.commands import MorningCommand
    from hrvd.publish.messages import Sink
    from hrvd.store import Store

log = structlog.get_logger("hrvd.daemon")

TICK_S = 1.0
"""How often time-based ride ends are checked, s."""
TICK_STUCK_S = 60.0
"""A ticker silent this long is stuck (a store call that hangs): the watchdog stops
pinging and systemd restarts the daemon. Its work takes milliseconds; a minute leaves
room for a slow SD card without restarting a daemon that is only busy."""
STATUS_EVERY_S = 5.0
"""How often the systemd STATUS line is refreshed, s."""
STOP_BUDGET_S = 4.0
"""SIGTERM to exit: ending rides and flushing the outbox must fit in this (under 5 s)."""
PRUNE_EVERY_S = 24 * 3600.0
"""Raw RR older than [store] keep_raw_days is dropped at start and then once a day, s."""


def to_wall(t_s: float) -> datetime:
    """A monotonic time as local wall-clock time, with the clock's current offset.

    A Raspberry Pi has no real-time clock: the offset is taken anew each time, so times
    are right as soon as the clock has been set, even mid-ride.
    """
    return datetime.fromtimestamp(time.time() - (time.monotonic() - t_s)).astimezone()


class Daemon:
    """The running daemon's parts (see the module docstring)."""

    def __init__(self, config: Config, notifier: Notifier | None = None) -> None:
        self.config = config
        self.notifier = notifier or Notifier()
        try:
            self.zones = config.athlete.heart_rate_zones()
            self.ride_settings = config.ride_settings()
        except ValueError as exc:
            raise ConfigError(config.source or "config", "athlete", f"{exc}") from None
        self.password = resolve_password(config.mqtt, config.source)
        if warning := password_file_warning(config.mqtt):
            log.warning("password file readable by every user", detail=warning)
        self.stop = asyncio.Event()
        self.pipelines: dict[str, StrapPipeline] = {}
        self.sessions: list[StrapSession] = []
        self.morning: MorningRun | None = None
        self._auto_judged: set[str] = set()
        self.commands = CommandDesk(config.mqtt.base_topic, ride_pipeline=self._ride_pipeline,
                                    start_morning=self._morning_command)  # fmt: skip
        self.loops = Loops()
        self._ticked_at = time.monotonic()
        self._said_stuck = False
        self._sink: Sink | None = None
        self._store: Store | None = None

    def _open_outbox(self) -> Outbox:
        path = self.config.store.path
        try:
            return Outbox(path)
        except (OSError, sqlite3.Error) as exc:
            msg = f"cannot open the store {path}: {exc}"
            raise HrvdError(msg) from None

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT (or :attr:`stop` is set)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        # The store first: it refuses a second daemon and a damaged file (exit 2, not
        # restarted) before the outbox writes to the same file.
        store = self._store = open_store(self.config.store.path, exclusive=True)
        try:
            outbox = self._open_outbox()
        except BaseException:
            store.close()
            raise
        base = self.config.mqtt.base_topic
        publisher = MqttPublisher(
            self.config.mqtt,
            outbox,
            password=self.password,
            on_command=self.commands,
            command_topics=(topics.cmd_ride(base), topics.cmd_morning(base)),
        )
        announce(publisher, self.config)
        try:
            async with contextlib.AsyncExitStack() as stack:
                await stack.enter_async_context(publisher)
                mqtt = await stack.enter_async_context(MqttSink(publisher))
                recorder = await stack.enter_async_context(StoreSink(store))
                beats = await stack.enter_async_context(BeatRecorder(store, to_wall))
                self._build(TeeSink(mqtt, recorder), beats, self._ceilings(store))
                self._end_interrupted(store)
                self._republish_readiness(store)
                self._ticked_at = time.monotonic()
                running = {
                    "mqtt": publisher.wait(),
                    "outbox writer": mqtt.wait(),
                    "store writer": recorder.wait(),
                    "beat writer": beats.wait(),
                    "prune": self._prune(store),
                    "straps": run_straps(self.sessions),
                    "tick": self._tick(),
                    "watchdog": self.notifier.watchdog_loop(self._healthy),
                    "status": self._status(publisher),
                }
                self.notifier.ready(self._status_line(publisher))
                log.info("running", straps=[s.strap.name for s in self.sessions])
                try:
                    await self.loops.run(running, self.stop, self._stopping)
                finally:
                    self._links_down()
        finally:
            outbox.close()
            store.close()

    def _ceilings(self, store: Store) -> CeilingPolicy:
        """The ride ceiling, with the HRVT1 estimates kept (read once, at start)."""
        try:
            estimates = store.hrvt1_estimates()
        except sqlite3.Error as exc:
            log.error("cannot read the HRVT1 estimates", error=str(exc))  # noqa: TRY400
            estimates = []
        return self.config.ceiling_policy(estimates)

    def _build(self, sink: Sink, beats: BeatRecorder, ceilings: CeilingPolicy) -> None:
        self._sink = sink
        base = self.config.mqtt.base_topic
        if any(s.role in {"ride", "both"} for s in self.config.straps):
            now = to_wall(time.monotonic())
            payload = ceilings.payload(now.date())
            payload["id"] = f"thresholds:{now.isoformat(timespec='seconds')}"
            sink.durable(topics.thresholds(base), payload)
        for strap in self.config.straps:
            rides = None
            if strap.role in {"ride", "both"}:
                rides = RideManager(self.ride_settings, self.config.athlete.hr_rest,
                                    auto_start=self.config.ride.auto_start)  # fmt: skip
            pipeline = StrapPipeline(strap_name=strap.name, base_topic=base, zones=self.zones,
                                     rides=rides, sink=sink, to_wall=to_wall,
                                     ceilings=ceilings)  # fmt: skip
            pipeline.beat_listeners.append(beats.listener(strap.name))
            self.pipelines[strap.slug] = pipeline
            self.sessions.append(StrapSession(strap, pipeline.on_event))

    async def _prune(self, store: Store) -> None:
        keep = self.config.store.keep_raw_days
        while True:
            if not read_clock().trusted:
                # A clock set wrong (a Pi without its time server yet) could put "today" in
                # the future and drop raw RR that must be kept: try again tomorrow.
                log.warning("raw RR not pruned: the clock is not synchronised")
                await asyncio.sleep(PRUNE_EVERY_S)
                continue
            today = datetime.now().astimezone().date()
            try:
                pruned = await asyncio.to_thread(store.prune, keep, today)
            except StoreError as exc:
                log.error("raw RR not pruned", error=str(exc))  # noqa: TRY400 - reported fault
            else:
                if pruned.beats or pruned.measurements or pruned.morning_raw:
                    log.info("raw RR pruned", keep_raw_days=keep, **dataclasses.asdict(pruned))
            await asyncio.sleep(PRUNE_EVERY_S)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = self._ticked_at = time.monotonic()
            for pipeline in self.pipelines.values():
                pipeline.tick(now)
            if self.morning is not None:
                self.morning.tick(now)
            elif self.config.morning.auto_start:
                await self._maybe_auto_start()

    def _end_interrupted(self, store: Store) -> None:
        """End the rides a crash cut short, so the broker stops showing them as active.

        Read on the loop (a row or two per strap) so that no ride command can start a ride
        between the read and the messages that end the old one.
        """
        if self._sink is None:
            return
        try:
            last = store.ride_state()
        except sqlite3.Error as exc:
            log.error("cannot read the last ride state", error=str(exc))  # noqa: TRY400
            return
        now = to_wall(time.monotonic()).isoformat(timespec="seconds")
        for topic, payload in interrupted_messages(last, now):
            if topic.endswith("/ride"):
                log.warning("ride cut short by a crash; ending it", topic=topic,
                            ride=payload["id"])  # fmt: skip
            self._sink.durable(topic, payload)

    def _republish_readiness(self, store: Store) -> None:
        """Publish the latest stored readiness again, durably.

        A morning measured by `hrvd morning` without the daemon, or while the broker was
        away, or a retained message lost with a broker's data, reaches the broker this
        way. Read on the loop (before any command can start a newer one), as above.
        """
        if self._sink is None:
            return
        try:
            mornings = store.mornings()
        except sqlite3.Error as exc:
            log.error("cannot read the stored mornings", error=str(exc))  # noqa: TRY400
            return
        payload = stored_readiness(mornings, self.config.morning.posture,
                                   self.config.athlete.language)  # fmt: skip
        if payload is not None:
            log.info("publishing the latest readiness again", id=payload["id"])
            self._sink.durable(topics.readiness(self.config.mqtt.base_topic), payload)

    def _stopping(self) -> None:
        self.notifier.stopping()
        log.info("stopping")
        self._end_rides()

    def _healthy(self) -> bool:
        """Every loop alive and the ticker not stuck: only then does the watchdog ping."""
        stuck = time.monotonic() - self._ticked_at > TICK_STUCK_S
        if stuck and not self._said_stuck:
            log.error("the ticker is stuck; the watchdog stops pinging",
                      since_s=round(time.monotonic() - self._ticked_at))  # fmt: skip
        self._said_stuck = stuck
        return self.loops.healthy() and not stuck

    def _end_rides(self) -> None:
        now = time.monotonic()
        for pipeline in self.pipelines.values():
            pipeline.command("stop", now)

    def _links_down(self) -> None:
        """After a clean stop no strap is streaming: its link and availability say so.

        The straps' sessions are cancelled, not disconnected by the strap, so they report
        nothing themselves; without this the broker kept "streaming" and "online".
        """
        now = time.monotonic()
        for pipeline in self.pipelines.values():
            if pipeline.link is not LinkState.DISCONNECTED:
                pipeline.on_event(LinkChange(pipeline.name, LinkState.DISCONNECTED, now,
                                             "daemon stopped"))  # fmt: skip

    def _status_line(self, publisher: MqttPublisher) -> str:
        broker = "broker connected" if publisher.connected.is_set() else "broker away"
        links = ", ".join(
            f"{p.name} {(p.link or LinkState.CONNECTING).value}" for p in self.pipelines.values()
        )
        return f"{broker}; {links or 'no strap configured'}"

    async def _status(self, publisher: MqttPublisher) -> None:
        last = ""
        while True:
            line = self._status_line(publisher)
            if line != last:
                self.notifier.status(line)
                last = line
            await asyncio.sleep(STATUS_EVERY_S)

    def _morning_command(self, command: MorningCommand) -> str | None:
        """A morning command: started, or why not."""
        if self.morning is not None:
            return "a morning measurement is already running"
        if self._role_pipeline(command.strap, {"morning", "both"}) is None:
            return "no such morning strap"
        self._start_morning(command.strap, repeat=command.repeat, posture=command.posture,
                            orthostatic=command.orthostatic)  # fmt: skip
        return None

    def _start_morning(
        self, strap: str | None, *, repeat: bool, posture: str | None = None,
        orthostatic: bool = False,
    ) -> None:  # fmt: skip
        if self.morning is not None:
            log.info("a morning measurement is already running")
            return
        pipeline = self._role_pipeline(strap, {"morning", "both"})
        if pipeline is None or self._sink is None or self._store is None:
            log.warning("morning command for no morning strap", strap=strap)
            return
        tz = ZoneInfo(self.config.athlete.timezone)
        day = local_day(datetime.now(tz), tz)
        listener: list[Callable[[tuple[TimedBeat, ...], float], None]] = []

        def ended() -> None:
            self.morning = None
            for fn in listener:
                pipeline.beat_listeners.remove(fn)

        kind = OrthostaticRun if orthostatic else MorningRun
        run = kind(self.config, day=day, now_s=time.monotonic(), repeat=repeat,
                   sink=self._sink, store=self._store, on_end=ended, posture=posture)  # fmt: skip
        listener.append(run.on_beats)
        pipeline.beat_listeners.append(run.on_beats)
        self.morning = run
        log.info("morning measurement", strap=pipeline.name, day=str(day), repeat=repeat,
                 orthostatic=orthostatic)  # fmt: skip
        clock = read_clock()
        if not clock.trusted:
            why = "the clock is not synchronised: this morning may get the wrong date"
            log.warning(why, day=str(day), clock=clock.now.isoformat(), fix="see hrvd doctor")

    async def _maybe_auto_start(self) -> None:
        """Start the morning measurement when a morning strap connects at rest, in the window.

        Judged once per connection, on its first heart rate; never twice a day.
        """
        tz = ZoneInfo(self.config.athlete.timezone)
        now = datetime.now(tz)
        for strap in self.config.straps:
            pipeline = self.pipelines[strap.slug]
            if strap.role not in {"morning", "both"} or pipeline.link is not LinkState.STREAMING:
                self._auto_judged.discard(strap.slug)
                continue
            hr = (pipeline.last_state or {}).get("hr_bpm")
            if strap.slug in self._auto_judged or not isinstance(hr, int | float):
                continue
            self._auto_judged.add(strap.slug)
            riding = pipeline.rides is not None and pipeline.rides.ride is not None
            window = _window(self.config.morning.window)
            if not may_auto_start(now.time(), hr, self.config.athlete.hr_rest,
                                  ride_active=riding, window=window):  # fmt: skip
                continue
            if self._store is not None:
                kept = await asyncio.to_thread(self._store.mornings)
                if any(m.day == local_day(now, tz) for m in kept):
                    continue  # today's morning is in; only a repeat replaces it
            log.info("morning measurement starts by itself", strap=strap.name, hr_bpm=hr)
            self._start_morning(strap.name, repeat=False)
            return

    def _role_pipeline(self, strap: str | None, roles: set[str]) -> StrapPipeline | None:
        if strap is not None:
            return self.pipelines.get(slug(strap))
        for s in self.config.straps:
            if s.role in roles:
                return self.pipelines.get(s.slug)
        return None

    def _ride_pipeline(self, strap: str | None) -> StrapPipeline | None:
        if strap is not None:
            return self.pipelines.get(slug(strap))
        return next((p for p in self.pipelines.values() if p.rides is not None), None)


def _window(text: str) -> tuple[dt_time, dt_time]:
    """``"05:00-10:00"`` (validated by the config) as two times."""
    start, end = text.split("-")
    return dt_time.fromisoformat(start), dt_time.fromisoformat(end)


async def run_daemon(config: Config) -> None:
    """`hrvd run`."""
    await Daemon(config).run()
