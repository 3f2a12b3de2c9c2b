"""The live terminal view: heart rate, RMSSD, alpha1, zone, ride phase and the alert.

A :class:`~hrvd.pipeline.Sink`: on a terminal it redraws a small table (rich) and rings the
bell when "too hard" turns on; elsewhere (a pipe, CI) it prints one line per event.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Self

from rich.live import Live
from rich.table import Table

if TYPE_CHECKING:
    from types import TracebackType

    from rich.console import Console

    from hrvd.pipeline import Payload

REFRESH_PER_S = 4


class LiveView:
    """Shows one strap's live values and the ride's events.

    Args:
        console: where to draw.
        title: the strap's name, shown on top.
        start: when the ride started (alert times are shown from it).
    """

    def __init__(self, console: Console, title: str, start: datetime) -> None:
        self.console = console
        self.title = title
        self.start = start
        self.state_payload: Payload = {}
        self.link = "connecting"
        self.phase = "-"
        self.elapsed_s: float | None = None
        self.alert: Payload | None = None
        self.events: list[str] = []
        self._live: Live | None = None

    def __enter__(self) -> Self:
        """Start drawing (on a terminal only)."""
        if self.console.is_terminal:
            self._live = Live(self._render(), console=self.console,
                              refresh_per_second=REFRESH_PER_S)  # fmt: skip
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
            self._live.update(self._render())
            self._live.__exit__(exc_type, exc, tb)

    def _render(self) -> Table:
        s = self.state_payload
        table = Table(title=f"hrvd - {self.title} ({self.link})", show_header=False)
        table.add_column(style="bold")
        table.add_column()
        elapsed = "-" if self.elapsed_s is None else _clock(self.elapsed_s)
        too_hard = bool(self.alert and self.alert.get("too_hard"))
        rows = [
            ("heart rate", _num(s.get("hr_bpm"), "bpm", 0)),
            ("zone", str(s.get("zone") or "-")),
            ("RMSSD", _num(s.get("rmssd_ms"), "ms", 1)),
            ("DFA alpha1", _num(s.get("dfa_alpha1"), "", 2)),
            ("artifacts", _num(_pct(s.get("artifact_rate")), "%", 1)),
            ("ride", f"{self.phase}, {elapsed}"),
            ("alert", "[bold red]TOO HARD for recovery[/]" if too_hard else "[green]ok[/]"),
        ]
        for label, value in rows:
            table.add_row(label, value)
        for line in self.events[-6:]:
            table.add_row("", f"[dim]{line}[/]")
        return table

    def _redraw(self) -> None:
        if self._live is not None:
            self._live.update(self._render())

    def _event(self, line: str) -> None:
        self.events.append(line)
        if self._live is None:
            self.console.print(line, highlight=False)
        self._redraw()

    def state(self, topic: str, payload: Payload) -> None:
        """A live value: redraw."""
        del topic
        self.state_payload = payload
        self._redraw()

    def retained(self, topic: str, payload: str) -> None:
        """The link state is shown in the title."""
        if topic.endswith("/link"):
            self.link = payload
            self._redraw()

    def durable(self, topic: str, payload: Payload) -> None:
        """Ride events and alerts: a line each; the bell when the alert turns on."""
        kind = topic.rsplit("/", 1)[-1]
        if kind == "ride":
            self.phase = str(payload.get("phase"))
            elapsed = payload.get("elapsed_s")
            self.elapsed_s = float(elapsed) if isinstance(elapsed, int | float) else None
            self._event(f"{_clock(self.elapsed_s or 0)}  {self.phase}: {payload.get('event')}")
        elif kind == "alert":
            self.alert = payload
            at = _clock(
                (datetime.fromisoformat(str(payload.get("ts"))) - self.start).total_seconds()
            )
            if payload.get("too_hard"):
                self.console.bell()
                hr, ceiling = payload.get("hr_bpm"), payload.get("ceiling_bpm")
                reason = str(payload.get("reason"))
                # alpha1 alone can hold the alert with heart rate under the ceiling.
                why = (f"HR {hr} > {ceiling}" if "hr_ceiling" in reason
                       else f"alpha1 {payload.get('dfa_alpha1')}, HR {hr}")  # fmt: skip
                self._event(f"{at}  ALERT too hard for recovery ({reason}): {why}")
            else:
                self._event(f"{at}  alert off ({payload.get('reason')})")
        elif kind == "session":
            self._event(
                f"ride summary: {_clock(float(str(payload.get('duration_s'))))}, "
                f"{payload.get('in_zone_pct')} % in the recovery zone, "
                f"{payload.get('alerts')} alert(s), mean HR {payload.get('mean_hr_bpm')} bpm"
            )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _pct(value: object) -> float | None:
    return 100 * value if isinstance(value, int | float) else None


def _num(value: object, unit: str, digits: int) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{value:.{digits}f} {unit}".strip()
