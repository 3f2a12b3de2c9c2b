"""One athlete in the daemon: their straps' pipelines, their mornings, their commands.

A household (docs/household.md) is several of these in one daemon. Each sees the config
as that athlete's daemon would (:meth:`hrvd.config.Config.for_athlete`): their zones and
ride ceiling, their morning settings, their topics (``<base>/<athlete>/...`` in a
household) and their rows of the store. Nothing here reaches another athlete's state, so
two mornings run side by side and a command for one never starts the other's.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dt_time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import structlog

from hrvd.ble.events import LinkState
from hrvd.ble.session import StrapSession
from hrvd.coach.morning_day import local_day, may_auto_start
from hrvd.coach.rides import RideManager
from hrvd.config import slug
from hrvd.daemon.clock import read_clock
from hrvd.daemon.commands import CommandDesk
from hrvd.daemon.morning import MorningRun, stored_readiness
from hrvd.daemon.orthostatic import OrthostaticRun
from hrvd.daemon.pipeline import StrapPipeline
from hrvd.errors import ConfigError
from hrvd.publish import topics
from hrvd.publish.messages import ThresholdsMessage

if TYPE_CHECKING:
    from collections.abc import Callable

    from hrvd.coach.baseline import Morning
    from hrvd.coach.orthostatic import OrthoRecord
    from hrvd.config import Config
    from hrvd.daemon.beats import BeatRecorder
    from hrvd.publish.commands import MorningCommand
    from hrvd.publish.messages import Sink
    from hrvd.store import Store

log = structlog.get_logger("hrvd.daemon")

MORNING_ROLES = frozenset({"morning", "both"})
RIDE_ROLES = frozenset({"ride", "both"})


@dataclass(frozen=True, slots=True)
class StoredStart:
    """An athlete's rows the daemon's start needs, read on a thread before MQTT connects."""

    estimates: list[tuple[date, float]]
    """HRVT1 estimates: (local day, bpm); empty when unreadable."""
    mornings: list[Morning] | None
    """Stored mornings, oldest first; None when unreadable."""
    orthostatic_tests: list[OrthoRecord]
    """Stored orthostatic tests, oldest first; empty when unreadable."""


class AthleteDesk:
    """Everything of one athlete the daemon runs.

    Args:
        config: the athlete's view of the config (:meth:`~hrvd.config.Config.for_athlete`).
        to_wall: maps a monotonic time (s) to local wall-clock time.

    Raises:
        ConfigError: the athlete's heart rates give no zones.
    """

    def __init__(self, config: Config, to_wall: Callable[[float], datetime]) -> None:
        self.config = config
        self.name = config.athlete.name
        self.base = config.topic_base()
        self.to_wall = to_wall
        try:
            self.zones = config.athlete.heart_rate_zones()
            self.ride_settings = config.ride_settings()
        except ValueError as exc:
            key = f"athlete {self.name!r}" if config.household else "athlete"
            raise ConfigError(config.source or "config", key, f"{exc}") from None
        self.pipelines: dict[str, StrapPipeline] = {}
        self.morning: MorningRun | None = None
        self._auto_judged: set[str] = set()
        self.commands = CommandDesk(
            self.base, ride_pipeline=self._ride_pipeline, start_morning=self._morning_command
        )
        self._sink: Sink | None = None
        self._store: Store | None = None

    @property
    def command_topics(self) -> tuple[str, str]:
        """The athlete's command topics: rides, mornings."""
        return topics.cmd_ride(self.base), topics.cmd_morning(self.base)

    def read_start(self, store: Store) -> StoredStart:
        """What the athlete's start needs from the store (blocking: call it off the loop)."""
        try:
            estimates = store.hrvt1_estimates(self.name)
        except sqlite3.Error as exc:
            log.error("cannot read the HRVT1 estimates", error=str(exc))  # noqa: TRY400
            estimates = []
        tests: list[OrthoRecord] = []
        try:
            mornings: list[Morning] | None = store.mornings(self.name)
            tests = store.orthostatic_tests(self.name)
        except sqlite3.Error as exc:
            log.error("cannot read the stored mornings", error=str(exc))  # noqa: TRY400
            mornings = None
        return StoredStart(estimates, mornings, tests)

    def build(
        self, sink: Sink, store: Store, beats: BeatRecorder, stored: StoredStart
    ) -> list[StrapSession]:
        """The athlete's pipelines (their thresholds published); return their sessions."""
        self._sink, self._store = sink, store
        ceilings = self.config.ceiling_policy(stored.estimates)  # estimates read at start
        if any(s.role in RIDE_ROLES for s in self.config.straps):
            now = self.to_wall(time.monotonic())
            thresholds = ThresholdsMessage(
                **ceilings.payload(now.date()),  # type: ignore[arg-type]
                id=f"thresholds:{now.isoformat(timespec='seconds')}",
            )
            sink.durable(thresholds.topic(self.base), thresholds.payload())
        sessions = []
        for strap in self.config.straps:
            rides = None
            if strap.role in RIDE_ROLES:
                rides = RideManager(
                    self.ride_settings,
                    self.config.athlete.hr_rest,
                    auto_start=self.config.ride.auto_start,
                )
            pipeline = StrapPipeline(
                strap_name=strap.name,
                base_topic=self.base,
                zones=self.zones,
                rides=rides,
                sink=sink,
                to_wall=self.to_wall,
                ceilings=ceilings,
            )
            pipeline.subscribe_beats(beats.listener(strap.name))  # for the daemon's life
            self.pipelines[strap.slug] = pipeline
            sessions.append(StrapSession(strap, pipeline.on_event))
        return sessions

    def republish_readiness(self, stored: StoredStart) -> None:
        """Publish the athlete's latest stored readiness again, durably.

        A morning measured by `hrvd morning` without the daemon, or while the broker was
        away, or a retained message lost with a broker's data, reaches the broker this
        way. ``stored`` holds the stored mornings and tests (mornings None: unreadable), read
        at start before the MQTT client existed, so that no command can have started a newer one.
        """
        if self._sink is None or stored.mornings is None:
            return
        message = stored_readiness(
            stored.mornings,
            self.config.morning.posture,
            self.config.athlete.language,
            stored.orthostatic_tests,
        )
        if message is not None:
            log.info("publishing the latest readiness again", id=message.id, athlete=self.name)
            self._sink.durable(message.topic(self.base), message.payload())

    async def tick(self, now: float) -> None:
        """Once a second: the pipelines' time-based ends, the morning's clock."""
        for pipeline in self.pipelines.values():
            pipeline.tick(now)
        if self.morning is not None:
            self.morning.tick(now)
        elif self.config.morning.auto_start:
            await self._maybe_auto_start()

    async def close_morning(self) -> None:
        """The daemon stops: a measurement still running ends with it (nothing is kept)."""
        if self.morning is not None:
            await self.morning.close()
            self.morning = None

    def _morning_command(self, command: MorningCommand) -> str | None:
        """A morning command: started, or why not."""
        if self.morning is not None:
            return "a morning measurement is already running"
        if self._role_pipeline(command.strap, MORNING_ROLES) is None:
            return "no such morning strap"
        self.start_morning(
            command.strap,
            repeat=command.repeat,
            posture=command.posture,
            orthostatic=command.orthostatic,
        )
        return None

    def start_morning(
        self,
        strap: str | None,
        *,
        repeat: bool,
        posture: str | None = None,
        orthostatic: bool = False,
    ) -> None:
        """Start a morning measurement (or orthostatic test) on one of the athlete's straps."""
        if self.morning is not None:
            log.info("a morning measurement is already running", athlete=self.name)
            return
        pipeline = self._role_pipeline(strap, MORNING_ROLES)
        if pipeline is None or self._sink is None or self._store is None:
            log.warning("morning command for no morning strap", strap=strap, athlete=self.name)
            return
        tz = ZoneInfo(self.config.athlete.timezone)
        day = local_day(datetime.now(tz), tz)

        def ended() -> None:
            self.morning = None
            unsubscribe()  # bound below, before the run can end

        kind = OrthostaticRun if orthostatic else MorningRun
        run = kind(
            self.config,
            day=day,
            now_s=time.monotonic(),
            repeat=repeat,
            sink=self._sink,
            store=self._store,
            on_end=ended,
            posture=posture,
        )
        unsubscribe = pipeline.subscribe_beats(run.on_beats)
        self.morning = run
        log.info(
            "morning measurement",
            strap=pipeline.name,
            day=str(day),
            repeat=repeat,
            orthostatic=orthostatic,
            athlete=self.name,
        )
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
            status = self.pipelines[strap.slug].status()
            if strap.role not in MORNING_ROLES or status.link is not LinkState.STREAMING:
                self._auto_judged.discard(strap.slug)
                continue
            hr = status.hr_bpm
            if strap.slug in self._auto_judged or hr is None:
                continue
            self._auto_judged.add(strap.slug)
            window = _window(self.config.morning.window)
            if not may_auto_start(
                now.time(),
                hr,
                self.config.athlete.hr_rest,
                ride_active=status.riding,
                window=window,
            ):
                continue
            if self._store is not None:
                kept = await asyncio.to_thread(self._store.mornings, self.name)
                if any(m.day == local_day(now, tz) for m in kept):
                    continue  # today's morning is in; only a repeat replaces it
            log.info(
                "morning measurement starts by itself",
                strap=strap.name,
                hr_bpm=hr,
                athlete=self.name,
            )
            self.start_morning(strap.name, repeat=False)
            return

    def _role_pipeline(self, strap: str | None, roles: frozenset[str]) -> StrapPipeline | None:
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


class CommandRouter:
    """The daemon's command handler: each athlete's command topics to their own desk.

    With one athlete these are ``<base>/cmd/ride`` and ``<base>/cmd/morning`` as always; in
    a household ``<base>/<athlete>/cmd/...``, so a command names its athlete by its topic.
    """

    def __init__(self, desks: list[AthleteDesk]) -> None:
        self._desks = {topic: desk.commands for desk in desks for topic in desk.command_topics}

    @property
    def topics(self) -> tuple[str, ...]:
        """Every command topic to subscribe to."""
        return tuple(self._desks)

    def __call__(self, topic: str, payload: bytes) -> None:
        """One message on a command topic, handed to its athlete's desk."""
        desk = self._desks.get(topic)
        if desk is not None:  # the publisher subscribes to these topics only
            desk(topic, payload)
