"""The live terminal view: heart rate, RMSSD, alpha1, zone, ride phase and the alert.

A :class:`~hrvd.publish.messages.Sink`: on a terminal it redraws a small table (rich) and rings the
bell when "too hard" turns on; elsewhere (a pipe, CI) it prints one line per event.

Fed from MQTT (`hrvd watch`) it shows only what is true now: a daemon whose
``<base>/status`` is ``offline`` is shown stopped, a strap whose availability is
``offline`` is shown offline, and live values that stopped coming are marked stale. In
those cases the alert, kept retained on the broker, is shown as unknown, not as current.
"""

from __future__ import annotations

import time
from collections import deque
from datetime import datetime
from typing import TYPE_CHECKING, Self

import structlog
from rich.live import Live
from rich.table import Table

from hrvd.ble.policy import STALL_TIMEOUT_S
from hrvd.cli.output import clock, ride_summary
from hrvd.cli.spark import sparkline
from hrvd.publish.messages import (
    AlertMessage,
    MalformedMessageError,
    RideMessage,
    SessionMessage,
    StateMessage,
    parse,
    ride_start,
)
from hrvd.publish.topics import OFFLINE, ONLINE

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from rich.console import Console

    from hrvd.publish.messages import Message, Payload

log = structlog.get_logger("hrvd.live")

REFRESH_PER_S = 4
STALE_AFTER_S = STALL_TIMEOUT_S
"""Live values older than this are stale, s. A strap notifies about once a second and the
daemon itself calls a link stalled after this long without a notification."""
TRAIL_VALUES = 60
"""Live values in the heart-rate and alpha1 trails: a strap notifies about once a second,
so the last minute."""
ALPHA1_TRAIL_RANGE = (0.5, 1.5)
"""alpha1 trail's fixed scale: 0.75 (the aerobic threshold) sits a quarter of the way up."""


class LiveView:
    """Shows one strap's live values and the ride's events.

    Args:
        console: where to draw.
        title: the strap's name, shown on top.
        start: when the ride started, until a ride or alert message's id says (alert
            times are shown from it).
        clock: monotonic clock, s (when a live value arrived; staleness).
    """

    def __init__(
        self,
        console: Console,
        title: str,
        start: datetime,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.title = title
        self.start = start
        self.clock = clock
        self.state_message: StateMessage | None = None
        self.state_at: float | None = None
        """When the last live value arrived (``clock`` time), or None."""
        self.stale = False
        self.daemon: str | None = None
        """``online`` / ``offline`` from ``<base>/status``; None: not known (the demo)."""
        self.availability: str | None = None
        self.link = "connecting"
        self.phase = "-"
        self.elapsed_s: float | None = None
        self.alert: AlertMessage | None = None
        self.events: list[str] = []
        self.hr_trail: deque[float | None] = deque(maxlen=TRAIL_VALUES)
        self.alpha1_trail: deque[float | None] = deque(maxlen=TRAIL_VALUES)
        self._live: Live | None = None

    def __enter__(self) -> Self:
        """Start drawing (on a terminal only)."""
        if self.console.is_terminal:
            self._live = Live(self.render(), console=self.console, refresh_per_second=REFRESH_PER_S)
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop drawing; the last picture stays on the screen."""
        if self._live is not None:
            self._live.update(self.render())
            self._live.__exit__(exc_type, exc, tb)

    @property
    def live(self) -> bool:
        """Whether what is shown is current: daemon up, strap available, values fresh."""
        return OFFLINE not in (self.daemon, self.availability) and not self.stale

    def headline(self) -> str:
        """The state in the title: the daemon stopped, or the link (and whether stale)."""
        if self.daemon == OFFLINE:
            return "daemon stopped"
        if self.stale:
            return f"{self.link}, no live value for {self._age_s():.0f} s"
        return self.link

    def _age_s(self) -> float:
        return 0.0 if self.state_at is None else self.clock() - self.state_at

    def render(self) -> Table:
        """The picture: the strap's values, the ride and the alert, and the last events."""
        s = self.state_message
        table = Table(title=f"hrvd - {self.title} ({self.headline()})", show_header=False)
        table.add_column(style="bold")
        table.add_column()
        elapsed = "-" if self.elapsed_s is None else clock(self.elapsed_s)
        too_hard = self.alert is not None and self.alert.too_hard
        alert = "[bold red]TOO HARD for recovery[/]" if too_hard else "[green]ok[/]"
        if not self.live:
            alert = "[dim]unknown (not live)[/]"
        dim = "" if self.live else "[dim]"
        rows = [
            ("heart rate", dim + _num(s and s.hr_bpm, "bpm", 0)),
            ("zone", dim + str((s and s.zone) or "-")),
            ("RMSSD", dim + _num(s and s.rmssd_ms, "ms", 1)),
            ("DFA alpha1", dim + _num(s and s.dfa_alpha1, "", 2)),
            ("artifacts", dim + _num(_pct(s and s.artifact_rate), "%", 1)),
            ("HR trail", f"[red]{sparkline(list(self.hr_trail))}[/]"),
            ("alpha1 trail", f"[blue]{sparkline(list(self.alpha1_trail), *ALPHA1_TRAIL_RANGE)}[/]"),
            ("ride", f"{self.phase}, {elapsed}"),
            ("alert", alert),
        ]
        for label, value in rows:
            table.add_row(label, value)
        for line in self.events[-6:]:
            table.add_row("", f"[dim]{line}[/]")
        return table

    def _redraw(self) -> None:
        if self._live is not None:
            self._live.update(self.render())

    def _event(self, line: str) -> None:
        self.events.append(line)
        if self._live is None:
            self.console.print(line, highlight=False)
        self._redraw()

    def state(self, topic: str, payload: Payload) -> None:
        """A live value: redraw."""
        message = _read(topic, payload)
        if not isinstance(message, StateMessage):
            return
        self.state_message = message
        self.state_at = self.clock()
        hr, a1 = message.hr_bpm, message.dfa_alpha1
        self.hr_trail.append(None if hr is None else float(hr))
        self.alpha1_trail.append(None if a1 is None else float(a1))
        if self.stale:
            self.stale = False
            self._event("live values again")
        self._redraw()

    def tick(self) -> None:
        """Now and then (about once a second): mark live values that stopped as stale."""
        if not self.stale and self.state_at is not None and self._age_s() > STALE_AFTER_S:
            self.stale = True
            self._event(f"no live value for {STALE_AFTER_S:g} s: the values shown are stale")
        self._redraw()

    def retained(self, topic: str, payload: str) -> None:
        """The daemon's status, the strap's availability and link: shown in the title."""
        kind = topic.rsplit("/", 1)[-1]
        if kind == "link":
            self.link = payload
        elif kind == "availability":
            was, self.availability = self.availability, payload
            if payload == OFFLINE and was != OFFLINE:
                self._event(f"{self.title} offline ({self.link})")
            elif payload == ONLINE and was == OFFLINE:
                self._event(f"{self.title} online")
        elif kind == "status":
            was, self.daemon = self.daemon, payload
            if payload == OFFLINE and was != OFFLINE:
                self._event("daemon stopped: nothing shown here is live")
            elif payload == ONLINE and was == OFFLINE:
                self._event("daemon running")
        self._redraw()

    def durable(self, topic: str, payload: Payload, *, past: bool = False) -> None:
        """Ride events and alerts: a line each; the bell when the alert turns on.

        ``past``: a retained message from before (the broker's last word), shown as such:
        no bell, and the line says "earlier".
        """
        message = _read(topic, payload)
        if past:
            self._past(message)
            return
        if isinstance(message, (RideMessage, AlertMessage)):
            # Alert times count from the ride's start, which a view opened mid-ride (or
            # watching a replay of another day) learns from the ride's id.
            self.start = ride_start(message.id) or self.start
        if isinstance(message, RideMessage):
            self.phase = message.phase
            elapsed = message.elapsed_s
            self.elapsed_s = None if elapsed is None else float(elapsed)
            self._event(f"{clock(self.elapsed_s or 0)}  {self.phase}: {message.event}")
        elif isinstance(message, AlertMessage):
            self.alert = message
            at = self._since_start(message.ts)
            if message.too_hard:
                self.console.bell()
                hr, ceiling, reason = message.hr_bpm, message.ceiling_bpm, message.reason
                # alpha1 alone can hold the alert with heart rate under the ceiling.
                why = (
                    f"HR {hr} > {ceiling}"
                    if "hr_ceiling" in reason
                    else f"alpha1 {message.dfa_alpha1}, HR {hr}"
                )
                self._event(f"{at}  ALERT too hard for recovery ({reason}): {why}")
            else:
                self._event(f"{at}  alert off ({message.reason})")
        elif isinstance(message, SessionMessage):
            for line in ride_summary(message.payload()):
                self._event(line)

    def _since_start(self, ts: str) -> str:
        """``m:ss`` from the ride's start to ``ts``.

        ``-`` when ``ts`` is no time with an offset: another publisher's message must not
        end the view.
        """
        try:
            return clock((datetime.fromisoformat(ts) - self.start).total_seconds())
        except (ValueError, TypeError):
            return "-"

    def _past(self, message: Message | None) -> None:
        if isinstance(message, AlertMessage):
            self.alert = message
            word = "too hard for recovery" if message.too_hard else "off"
            self._event(f"earlier: alert {word} (since {message.since or '-'})")
        elif isinstance(message, RideMessage):
            self.phase = message.phase
            self._event(f"earlier: ride {self.phase}: {message.event}")
        elif isinstance(message, SessionMessage):
            self._event(f"earlier: last ride summary, {message.alerts} alert(s)")


def _read(topic: str, payload: Payload) -> Message | None:
    """The message a payload is; None (a logged fault) when it is not what its topic carries."""
    try:
        return parse(topic, payload)
    except MalformedMessageError as exc:
        log.warning("message not shown", topic=topic, error=str(exc))
        return None


def _pct(value: object) -> float | None:
    return 100 * value if isinstance(value, int | float) else None


def _num(value: object, unit: str, digits: int) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{value:.{digits}f} {unit}".strip()
