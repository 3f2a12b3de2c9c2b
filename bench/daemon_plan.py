"""What bench_daemon.py runs and what a run yields, as values.

How much work a full and a quick run do, the fake straps' plans (the accelerated heart and
the real cadence), and the results of one daemon run, one replay and the whole report.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from daemon_stats import Latency, square_heart

if TYPE_CHECKING:
    from collections.abc import Callable

    from daemon_inprocess import InProcessAlerts
    from daemon_rig import (
        Fixtures,
    )


HOUR_NOTIFICATIONS = 3600
"""An hour of data: a strap notifies about once a second."""


# The accelerated heart: four notifications a second, about one RR each (225-285 bpm), so
# an hour of notifications takes 15 minutes and the RR sum keeps pace with the clock. It
# alternates every 12 s between 225 and 285 bpm around a ride ceiling of 250 bpm
# (240 in the warm-up), which turns the alert on and off about five times a minute.
FAST_INTERVAL_S = 0.25
FAST_RIDE = {
    "ceiling_bpm": 250,
    "sustain_s": 5.0,
    "hysteresis_bpm": 3.0,
    "warmup_min": 5.0,
    "target_min": 30.0,
}
REAL_INTERVAL_S = 1.0
ATHLETE = {"hr_max": 190, "hr_rest": 50}
REAL_MEAN_RR_MS = 900.0
"""The real cadence: one notification a second, a heart of about 67 bpm."""


@dataclass(frozen=True, slots=True)
class Config:
    """How much work one run does."""

    quick: bool
    fast_notifications: int
    scale: tuple[int, ...]
    scale_s: float
    replay_s: float
    replay_repeats: int
    replay_startup_repeats: int
    inprocess_alerts: int
    inprocess_pace_s: float


FULL = Config(
    quick=False,
    fast_notifications=HOUR_NOTIFICATIONS,
    scale=(1, 5, 20),
    scale_s=180.0,
    replay_s=3600.0,
    replay_repeats=2,
    replay_startup_repeats=5,
    inprocess_alerts=600,
    inprocess_pace_s=0.01,
)
QUICK = Config(
    quick=True,
    fast_notifications=60,
    scale=(1, 5, 20),
    scale_s=6.0,
    replay_s=600.0,
    replay_repeats=1,
    replay_startup_repeats=1,
    inprocess_alerts=40,
    inprocess_pace_s=0.01,
)


@dataclass(frozen=True, slots=True)
class StrapPlan:
    """One fake strap: name, address, notification interval and heart."""

    name: str
    address: str
    interval_s: float
    rr_ms: Callable[[], float]


@dataclass(slots=True)
class DaemonRun:
    """One run of `hrvd run` and what was measured in its window."""

    label: str
    straps: int
    interval_s: float
    all_streaming_s: float
    """Daemon start to the first state message of the last strap, s."""
    window_s: float
    notifications: int
    beats: int
    cpu_s: float
    bus_cpu_s: float
    rss_start_kb: int
    rss_end_kb: int
    hwm_kb: int
    threads_end: int
    load_before: float
    load_after: float
    state: Latency
    """Notifications sent in the window -> their state messages (``n``: matched)."""
    skipped_sends: int
    alert: Latency
    alerts: int
    alerts_unmatched: int
    alerts_not_from_a_beat: int
    alert_reasons: dict[str, int]
    connects: int
    stop_s: float | None
    exit_code: int | None
    rss_trend: list[tuple[int, int]] = field(default_factory=list)
    """(notifications since the window began, VmRSS kB)."""
    log_events: dict[str, int] = field(default_factory=dict)

    @property
    def strap_hours(self) -> float:
        """Data in the window, strap-hours (3600 notifications each)."""
        return self.notifications / HOUR_NOTIFICATIONS

    @property
    def cpu_per_strap_hour(self) -> float:
        """Daemon CPU s per strap-hour of data."""
        return self.cpu_s / self.strap_hours

    @property
    def bus_cpu_per_strap_hour(self) -> float:
        """dbus-daemon CPU s per strap-hour of data."""
        return self.bus_cpu_s / self.strap_hours


@dataclass(slots=True)
class ReplayRun:
    """`hrvd replay FILE --speed 0`, with or without publishing."""

    label: str
    data_s: float
    notifications: int
    beats: int
    cpu_s: float
    """Best of the repeats, s."""
    startup_cpu_s: float
    """The same command on one minute of data, best of the repeats, s."""
    maxrss_kb: int
    wall_s: float
    exit_code: int
    states_received: int | None = None
    runs: int = 0
    """Runs of the command (the hour and the start-up minute)."""
    hung: int = 0
    """Runs killed after REPLAY_TIMEOUT_S."""

    @property
    def cpu_per_hour(self) -> float:
        """CPU s per hour of data, start-up cost taken off."""
        return (self.cpu_s - self.startup_cpu_s) / (self.notifications / HOUR_NOTIFICATIONS)


@dataclass(slots=True)
class Report:
    """Everything one run of the benchmark produced."""

    meta: dict[str, object]
    fast: DaemonRun
    scale: list[DaemonRun]
    replay: list[ReplayRun]
    inprocess: InProcessAlerts


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the report."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def fast_plan() -> list[StrapPlan]:
    """One strap with the accelerated heart."""
    heart = square_heart(267.0, 210.0, period_s=24.0, step_ms=6.0, rsa_ms=4.5, noise_ms=2.0, seed=1)
    return [StrapPlan("H10 Fast", "AA:BB:CC:DD:EE:01", FAST_INTERVAL_S, heart)]


def real_plans(fx: Fixtures, n: int) -> list[StrapPlan]:
    """``n`` straps at the real cadence, each heart a little different (62-72 bpm)."""
    return [
        StrapPlan(
            f"Strap {i + 1:02d}",
            f"AA:BB:CC:DD:{i // 256:02X}:{i % 256:02X}",
            REAL_INTERVAL_S,
            fx.steady_rr(REAL_MEAN_RR_MS + 60.0 * (i % 5 - 2) / 2, i),
        )
        for i in range(n)
    ]
