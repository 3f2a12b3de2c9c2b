"""`hrvd run`: straps -> HRV -> ride coach -> MQTT, until SIGTERM.

The daemon enters one context manager per outside resource (the systemd notifier, the
store, the outbox, the MQTT publisher, its writers) on one AsyncExitStack, which also
closes them, and runs the MQTT link, the strap sessions, a once-a-second ticker, the
systemd watchdog and status lines as loops of one task group owned by one task
(:mod:`hrvd.daemon.loops`): a loop that raises is logged with its traceback and ends the
daemon with exit code 1, for systemd to restart it, and the watchdog pings only while
every loop lives and the ticker ticks. It reads its straps' pipelines through their
:meth:`~hrvd.daemon.pipeline.StrapPipeline.status` and subscribes to their beats.
It tells systemd READY once the config is loaded, the store open and the tasks about to
run: it never waits for the broker or a strap, either of which may be away for hours.
On SIGTERM or SIGINT it ends open rides (their alerts turn off and their summaries go
out), flushes, says offline, and exits 0. Each athlete's pipelines, mornings and commands
are their own :class:`~hrvd.daemon.athlete.AthleteDesk`: one, or a household's several.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import sqlite3
import time
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from hrvd.ble.events import LinkChange, LinkState
from hrvd.ble.session import StrapSession, run_straps
from hrvd.daemon.athlete import AthleteDesk, CommandRouter, StoredStart
from hrvd.daemon.beats import BeatRecorder
from hrvd.daemon.clock import read_clock
from hrvd.daemon.interrupted import interrupted_messages
from hrvd.daemon.loops import Loops
from hrvd.daemon.ordered import opened_on_thread
from hrvd.daemon.record import StoreSink
from hrvd.daemon.systemd import Notifier
from hrvd.publish.announce import announce
from hrvd.publish.messages import RideMessage
from hrvd.publish.mqtt import MqttPublisher
from hrvd.publish.mqtt_auth import password_file_warning, resolve_password
from hrvd.publish.outbox import open_outbox
from hrvd.publish.sink import MqttSink, TeeSink
from hrvd.store import StoreError, open_store

if TYPE_CHECKING:
    from hrvd.config import Config
    from hrvd.daemon.pipeline import StrapPipeline
    from hrvd.publish.messages import Payload, Sink
    from hrvd.publish.outbox import Outbox
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
        # One desk per athlete (docs/household.md); each checks its athlete's zones.
        self.athletes = [AthleteDesk(config.for_athlete(a.name), to_wall) for a in config.athletes]
        self.password = resolve_password(config.mqtt, config.source)
        if warning := password_file_warning(config.mqtt):
            log.warning("password file readable by every user", detail=warning)
        self.stop = asyncio.Event()
        self.pipelines: dict[str, StrapPipeline] = {}
        self.sessions: list[StrapSession] = []
        self.commands = CommandRouter(self.athletes)
        self.loops = Loops()
        self._ticked_at = time.monotonic()
        self._said_stuck = False
        self._sink: Sink | None = None

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT (or :attr:`stop` is set).

        Raises:
            LoopCrashedError: a loop raised (a bug, logged with its traceback).
        """
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        # Every resource on one stack, left in reverse: the rides end while the loops still
        # run, a morning still measuring ends (its worker process too), the loops stop, the
        # links say so, the writers flush, the publisher says offline, the files close.
        async with contextlib.AsyncExitStack() as stack:
            stack.enter_context(self.notifier)
            # The store first: it refuses a second daemon and a damaged file (exit 2, not
            # restarted) before the outbox writes to the same file.
            # Opened, read and closed on threads: SQLite and the lock file are disk I/O. The
            # rows the start needs are read before the MQTT client exists, so that no ride
            # or morning command can come between the read and the messages made of it.
            path = self.config.store.path
            store = await opened_on_thread(stack, open_store, path, exclusive=True)
            outbox = await opened_on_thread(stack, open_outbox, path)
            last, stored = await asyncio.to_thread(self._read_start, store)
            publisher = await stack.enter_async_context(self._publisher(outbox))
            mqtt = await stack.enter_async_context(MqttSink(publisher))
            recorder = await stack.enter_async_context(StoreSink(store, self._wearer))
            beats = await stack.enter_async_context(BeatRecorder(store, to_wall))
            self._build(TeeSink(mqtt, recorder), store, beats, stored)
            self._end_interrupted(last)
            for desk, start in zip(self.athletes, stored, strict=True):
                desk.republish_readiness(start)
            self._ticked_at = time.monotonic()
            stack.callback(self._links_down)
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
            self.notifier.ready(self._status_line(publisher))  # before the first ping
            log.info("running", straps=[s.strap.name for s in self.sessions])
            loops = await stack.enter_async_context(self.loops.running(running))
            for desk in self.athletes:
                stack.push_async_callback(desk.close_morning)
            stack.callback(self._stopping)
            await loops.until(self.stop.wait())

    def _publisher(self, outbox: Outbox) -> MqttPublisher:
        """The daemon's MQTT client, its discovery and retained values announced."""
        publisher = MqttPublisher(
            self.config.mqtt,
            outbox,
            password=self.password,
            on_command=self.commands,
            command_topics=self.commands.topics,
        )
        announce(publisher, self.config)
        return publisher

    def _wearer(self, strap: str) -> str:
        """The name of the athlete who wears a strap."""
        return self.config.athlete_of(strap).name

    def _read_start(self, store: Store) -> tuple[dict[str, Payload], list[StoredStart]]:
        """The last ride state and every athlete's start rows (blocking: off the loop).

        Ride state that cannot be read is logged and taken as none.
        """
        try:
            last = store.ride_state()
        except sqlite3.Error as exc:
            log.error("cannot read the last ride state", error=str(exc))  # noqa: TRY400
            last = {}
        return last, [desk.read_start(store) for desk in self.athletes]

    def _build(
        self, sink: Sink, store: Store, beats: BeatRecorder, stored: list[StoredStart]
    ) -> None:
        """Every athlete's pipelines and sessions, on one sink."""
        self._sink = sink
        for desk, start in zip(self.athletes, stored, strict=True):
            self.sessions.extend(desk.build(sink, store, beats, start))
            self.pipelines.update(desk.pipelines)

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
            for desk in self.athletes:
                await desk.tick(now)

    def _end_interrupted(self, last: dict[str, Payload]) -> None:
        """End the rides a crash cut short, so the broker stops showing them as active.

        ``last`` is the stored ride state, read at start before any ride command could come.
        """
        if self._sink is None:
            return
        now = to_wall(time.monotonic()).isoformat(timespec="seconds")
        for topic, message in interrupted_messages(last, now):
            if isinstance(message, RideMessage):
                log.warning("ride cut short by a crash; ending it", topic=topic, ride=message.id)
            self._sink.durable(topic, message.payload())

    def _stopping(self) -> None:
        self.notifier.stopping()
        log.info("stopping")
        self._end_rides()

    def _healthy(self) -> bool:
        """Every loop alive and the ticker not stuck: only then does the watchdog ping."""
        stuck = time.monotonic() - self._ticked_at > TICK_STUCK_S
        if stuck and not self._said_stuck:
            log.error(
                "the ticker is stuck; the watchdog stops pinging",
                since_s=round(time.monotonic() - self._ticked_at),
            )
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
            if pipeline.status().link is not LinkState.DISCONNECTED:
                pipeline.on_event(
                    LinkChange(pipeline.name, LinkState.DISCONNECTED, now, "daemon stopped")
                )

    def _status_line(self, publisher: MqttPublisher) -> str:
        broker = "broker connected" if publisher.connected.is_set() else "broker away"
        statuses = [p.status() for p in self.pipelines.values()]
        links = ", ".join(f"{s.strap} {(s.link or LinkState.CONNECTING).value}" for s in statuses)
        return f"{broker}; {links or 'no strap configured'}"

    async def _status(self, publisher: MqttPublisher) -> None:
        last = ""
        while True:
            line = self._status_line(publisher)
            if line != last:
                self.notifier.status(line)
                last = line
            await asyncio.sleep(STATUS_EVERY_S)


async def run_daemon(config: Config) -> None:
    """`hrvd run`."""
    # Made on a thread: it reads the MQTT password file.
    daemon = await asyncio.to_thread(Daemon, config)
    await daemon.run()
