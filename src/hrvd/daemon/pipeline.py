"""One strap's live pipeline: strap events in, topic-contract messages out.

A live session, a replayed file and the demo's virtual strap all produce the same
:data:`~hrvd.ble.session.StrapEvent` values; this class turns them into HRV, zones and
ride-coach decisions and hands the resulting messages to a :class:`Sink` (MQTT, the
terminal, a test). It does no I/O of its own and reads no clock: times come with the
events, and ``to_wall`` maps them to wall-clock time for the payloads.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, TypeAlias

import structlog

from hrvd.ble.events import BatteryLevel, LinkChange, LinkState, Notification
from hrvd.coach.alpha1 import GuardEvent
from hrvd.coach.hrvt1 import CeilingPolicy, Hrvt1Tracker, window_of
from hrvd.coach.recovery import AlertEvent, PhaseEvent
from hrvd.coach.rides import RideEnded, RideEvent, RideManager, RideStarted
from hrvd.hrv.rolling import RollingTimeDomain
from hrvd.hrv.stream import HrvStream
from hrvd.publish import topics
from hrvd.publish.messages import (
    ABSENT,
    AlertMessage,
    RideMessage,
    SessionMessage,
    StateMessage,
    ThresholdsMessage,
    ride_id,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from hrvd.ble.events import StrapEvent
    from hrvd.ble.timeline import TimedBeat
    from hrvd.coach.hrvt1 import Ceiling
    from hrvd.coach.recovery import RideSettings
    from hrvd.hrv.artifacts_live import CorrectedBeat
    from hrvd.hrv.stream import HrvSnapshot
    from hrvd.hrv.zones import Zones
    from hrvd.publish.messages import Sink

    BeatListener: TypeAlias = Callable[[tuple[TimedBeat, ...], float], None]
    """Called with each notification's raw timed beats and its time, s."""

__all__ = ["PipelineStatus", "StrapPipeline"]

log = structlog.get_logger("hrvd.ride")

HR_WINDOW_S = 5.0
"""Heart rate for the coach and the state message: mean of the corrected RR of the last
5 s, so that replayed files (RR only) and straps are judged alike."""


@dataclass(frozen=True, slots=True)
class PipelineStatus:
    """What one strap's pipeline knows now (see :meth:`StrapPipeline.status`).

    Attributes:
        strap: the strap's configured name.
        link: the strap's link; None before its first link event.
        hr_bpm: the heart rate of the latest notification, bpm, as in its state message;
            None before the first one, or when it had no skin contact.
        battery_pct: the strap's last battery reading, %; None before one came.
        riding: whether a ride is active on this strap.
    """

    strap: str
    link: LinkState | None
    hr_bpm: float | None
    battery_pct: int | None
    riding: bool


class StrapPipeline:
    """HRV, zones and the ride coach of one strap.

    Args:
        strap_name: the strap's configured name.
        base_topic: ``[mqtt] base_topic``.
        zones: the athlete's heart-rate zones.
        rides: the strap's ride manager (None for a morning-only strap).
        sink: where messages go.
        to_wall: maps an event time (s) to wall-clock time.
        ceilings: the athlete's ceiling policy, shared by every strap (None: the rides'
            settings as given, never following HRVT1).
    """

    def __init__(  # noqa: PLR0913 - the pipeline's collaborators
        self,
        *,
        strap_name: str,
        base_topic: str,
        zones: Zones,
        rides: RideManager | None,
        sink: Sink,
        to_wall: Callable[[float], datetime],
        ceilings: CeilingPolicy | None = None,
    ) -> None:
        self.name = strap_name
        self.base = base_topic
        self.zones = zones
        self.rides = rides
        self.sink = sink
        self.to_wall = to_wall
        self.hrv = HrvStream()
        self.hr = RollingTimeDomain(HR_WINDOW_S)
        self.battery: int | None = None
        self.link: LinkState | None = None
        self._ride_id: str | None = None
        self._alert_count = 0
        self._ride_seq = 0
        self._last_start: tuple[str, int] = ("", 0)
        self._beat_listeners: list[BeatListener] = []
        self._hr_bpm: float | None = None
        self._hrvt1 = Hrvt1Tracker()
        self.ceilings = ceilings
        if rides is not None and ceilings is None:
            bpm = rides.settings.ceiling_bpm
            self.ceilings = CeilingPolicy(bpm, "ride", f"the ride's ceiling {bpm:.0f} bpm")
        self._ceiling: Ceiling | None = None
        if rides is not None:
            rides.settings_for = self._settings_for

    def subscribe_beats(self, listener: BeatListener) -> Callable[[], None]:
        """Hand each notification's raw timed beats to ``listener`` from now on.

        The beat recorder and a morning measurement listen this way. Returns the call that
        ends the subscription (calling it again does nothing).
        """
        self._beat_listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._beat_listeners.remove(listener)

        return unsubscribe

    def status(self) -> PipelineStatus:
        """The strap's link, heart rate, battery and ride, as a value."""
        riding = self.rides is not None and self.rides.ride is not None
        return PipelineStatus(self.name, self.link, self._hr_bpm, self.battery, riding)

    def _settings_for(self, now_s: float) -> RideSettings:
        """A new ride's settings: the ceiling in force on its day (it may follow HRVT1)."""
        assert self.rides is not None  # noqa: S101 - only set on a ride strap
        assert self.ceilings is not None  # noqa: S101 - set with the rides
        self._ceiling = self.ceilings.ceiling(self.to_wall(now_s).date())
        return replace(self.rides.settings, ceiling_bpm=self._ceiling.bpm)

    def _topic(self, kind: Callable[[str, str], str]) -> str:
        return kind(self.base, self.name)

    def _iso(self, t_s: float) -> str:
        return self.to_wall(t_s).isoformat(timespec="seconds")

    def on_event(self, event: StrapEvent) -> None:
        """Take one event of the strap."""
        if isinstance(event, LinkChange):
            self._on_link(event)
        elif isinstance(event, BatteryLevel):
            self.battery = event.percent
        else:
            self._on_notification(event)

    def _on_link(self, event: LinkChange) -> None:
        self.link = event.state
        self.sink.retained(self._topic(topics.link), event.state.value)
        online = topics.ONLINE if event.state is LinkState.STREAMING else topics.OFFLINE
        self.sink.retained(self._topic(topics.availability), online)
        if event.state is not LinkState.STREAMING:
            gap = self.hrv.gap()
            self._take_hr(gap)
            if self.rides is not None:
                self.rides.gone(event.at_s)

    def _take_hr(self, beats: list[CorrectedBeat]) -> None:
        for b in beats:
            self.hr.push(b.rr_ms, b.t_s, gap_before=b.gap_before)

    def _on_notification(self, n: Notification) -> None:
        for listener in list(self._beat_listeners):
            listener(n.beats, n.at_s)
        for beat in n.beats:
            if beat.gap_before:
                self._take_hr(self.hrv.gap())
            self._take_hr(self.hrv.push(beat.rr_ms, beat.t_s))
        snap = self.hrv.snapshot()
        hr = self._heart_rate(n, snap)
        self._hr_bpm = _round(hr, 1)
        zone = self.zones.zone(hr).number if hr is not None else None
        message = StateMessage(
            ts=self._iso(n.at_s),
            hr_bpm=_round(hr, 1),
            rr_ms=[round(b.rr_ms, 1) for b in n.beats],
            rmssd_ms=_round(snap.rmssd_ms, 1),
            ln_rmssd=_round(snap.ln_rmssd, 3),
            sdnn_ms=_round(snap.sdnn_ms, 1),
            dfa_alpha1=_round(snap.dfa_alpha1, 3),
            artifact_rate=_round(snap.artifact_rate, 4),
            quality=snap.quality.level.value,
            quality_reasons=[r.value for r in snap.quality.reasons],
            zone=zone,
            contact=n.contact,
            battery_pct=self.battery,
        )
        payload = message.payload()
        self.sink.state(message.topic(self.base, self.name), payload)
        if self.rides is not None:
            window = window_of(snap) if self.rides.ride is not None else None
            if window is not None:
                self._hrvt1.add(window)
            events = self.rides.update(
                n.at_s,
                hr,
                rmssd_ms=snap.rmssd_ms,
                dfa_alpha1=snap.dfa_alpha1,
                dfa_artifact_rate=_alpha1_artifact_rate(snap),
            )
            self._on_ride_events(events)

    def _heart_rate(self, n: Notification, snap: HrvSnapshot) -> float | None:
        """Heart rate now, bpm: None without contact.

        The mean of the corrected beats of the last 5 s; until there are such beats (the
        corrector's warm-up, a reconnect), the strap's own value.
        """
        if n.contact is False:
            return None
        if snap.n_beats and n.at_s - snap.t_s <= HR_WINDOW_S:
            return self.hr.metrics().mean_hr_bpm
        return float(n.hr_bpm) if n.hr_bpm > 0 else None

    def tick(self, now_s: float) -> None:
        """Check time-based ride ends (strap gone) while no notification arrives."""
        if self.rides is not None:
            self._on_ride_events(self.rides.tick(now_s))

    def command(self, action: str, now_s: float) -> None:
        """A ride command: ``start`` or ``stop``."""
        if self.rides is None:
            return
        events = self.rides.start(now_s) if action == "start" else self.rides.stop(now_s)
        self._on_ride_events(events)

    def _on_ride_events(self, events: list[RideEvent]) -> None:
        for e in events:
            if isinstance(e, RideStarted):
                self._ride_id = self._new_ride_id(e.at_s)
                self._alert_count = 0
                self._ride_seq = 0
                self._hrvt1 = Hrvt1Tracker()
                self._ride_message(
                    e.at_s, "start", active=True, event=f"started ({e.how})", ceiling=True
                )
            elif isinstance(e, PhaseEvent):
                self._ride_message(e.at_s, e.phase.value, active=True, event=e.text or e.event)
            elif isinstance(e, AlertEvent):
                self._alert(e)
            elif isinstance(e, GuardEvent):
                self._ride_message(e.at_s, None, active=True, event=self._guard_text(e))
            elif isinstance(e, RideEnded):
                self._ride_ended(e)

    def _guard_text(self, e: GuardEvent) -> str:
        if e.active:
            return "alpha1 guard back"
        limit = self.rides.settings.alpha1.max_artifact_rate if self.rides is not None else 0.0
        return f"alpha1 guard off: artifacts above {100 * limit:g} %"

    def _ride_message(  # noqa: PLR0913 - a ride message's fields
        self,
        at_s: float,
        phase: str | None,
        *,
        active: bool,
        event: str,
        elapsed_s: float | None = None,
        ceiling: bool = False,
    ) -> None:
        ride = self.rides.ride if self.rides is not None else None
        current = phase or (ride.phase.value if ride is not None else "complete")
        elapsed = elapsed_s if ride is None else ride.elapsed_s(at_s)
        guard = None if ride is None else ("on" if ride.alpha1.guard_active else "off")
        c = self._ceiling if ceiling else None  # the start says which ceiling holds, and why
        self._durable(
            RideMessage(
                id=f"{self._ride_id}:{self._next_seq()}:{event}",
                active=active,
                phase=current,
                elapsed_s=_round(elapsed, 0),
                event=event,
                alpha1_guard=guard,
                ceiling_bpm=ABSENT if c is None else round(c.bpm, 1),
                ceiling_source=ABSENT if c is None else c.source,
                ceiling_why=ABSENT if c is None else c.why,
            )
        )

    def _durable(self, message: AlertMessage | RideMessage | SessionMessage) -> None:
        self.sink.durable(message.topic(self.base, self.name), message.payload())

    def _new_ride_id(self, at_s: float) -> str:
        """The strap and start time; a second ride started within that second gets #2."""
        start = self._iso(at_s)
        last, n = self._last_start
        n = n + 1 if start == last else 1
        self._last_start = (start, n)
        return ride_id(self.name, start, n)

    def _next_seq(self) -> int:
        """The ride message's number in its ride: ids stay unique within one second."""
        self._ride_seq += 1
        return self._ride_seq

    def _alert(self, e: AlertEvent) -> None:
        if e.too_hard:
            self._alert_count += 1
        log.info(
            "alert",
            strap=self.name,
            too_hard=e.too_hard,
            reason=e.reason,
            hr_bpm=_round(e.hr_bpm, 1),
            ceiling_bpm=_round(e.ceiling_bpm, 1),
        )
        self._durable(
            AlertMessage(
                id=f"{self._ride_id}:alert:{self._alert_count}:{'on' if e.too_hard else 'off'}",
                ts=self._iso(e.at_s),
                too_hard=e.too_hard,
                reason=e.reason,
                since=self._iso(e.since_s) if e.since_s is not None else None,
                hr_bpm=_round(e.hr_bpm, 1),
                ceiling_bpm=_round(e.ceiling_bpm, 1),
                dfa_alpha1=_round(e.dfa_alpha1, 3),
            )
        )

    def _ride_ended(self, e: RideEnded) -> None:
        self._ride_message(
            e.at_s,
            "complete",
            active=False,
            elapsed_s=e.summary.duration_s,
            event=f"ended ({e.summary.end_reason})",
        )
        summary = asdict(e.summary)
        started, ended = summary.pop("started_s"), summary.pop("ended_s")
        floor = self.rides.settings.alpha1.min_hr_bpm if self.rides is not None else None
        estimate = self._hrvt1.estimate() if floor is None else self._hrvt1.estimate(floor)
        c = self._ceiling
        rounded = {k: _round(v, 2) if isinstance(v, float) else v for k, v in summary.items()}
        if c is not None:  # which ceiling held: its value, as at the start, rounded to 0.1
            rounded["ceiling_bpm"] = round(c.bpm, 1)
        self._durable(
            SessionMessage(
                id=str(self._ride_id),
                strap=self.name,
                started=self._iso(started),
                ended=self._iso(ended),
                **rounded,  # type: ignore[arg-type]
                hrvt1_bpm=_round(estimate.hrvt1_bpm, 1),
                hrvt1_reason=estimate.reason,
                ceiling_source=ABSENT if c is None else c.source,
                ceiling_why=ABSENT if c is None else c.why,
            )
        )
        self._ride_id = None
        if estimate.hrvt1_bpm is not None and self.ceilings is not None:
            day = self.to_wall(started).date()
            self.ceilings.add(day, round(estimate.hrvt1_bpm, 1))
            log.info("hrvt1", strap=self.name, hrvt1_bpm=round(estimate.hrvt1_bpm, 1))
            thresholds = ThresholdsMessage(
                **self.ceilings.payload(self.to_wall(ended).date()),  # type: ignore[arg-type]
                id=f"thresholds:{self._iso(ended)}",
            )
            self.sink.durable(thresholds.topic(self.base), thresholds.payload())


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _alpha1_artifact_rate(snap: HrvSnapshot) -> float | None:
    """The artifact share the ride coach judges alpha1 by, 0-1.

    A run of ectopic beats reads alpha1 0.1 while the corrector flags only 2 % of it:
    irregular beats count as artifacts here, so the coach's 3 % guard falls back to the
    heart rate instead of raising "too hard" on a meaningless alpha1.
    """
    if snap.dfa_artifact_rate is None:
        return None
    return max(snap.dfa_artifact_rate, snap.quality.ectopic_burden)
