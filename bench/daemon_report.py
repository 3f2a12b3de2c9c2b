"""The Markdown report of bench_daemon.py."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core_common import md_table

if TYPE_CHECKING:
    from daemon_plan import DaemonRun, ReplayRun, Report
    from daemon_stats import Latency

TARGET_STATE_P99_MS = 20.0
TARGET_ALERT_P99_MS = 50.0
TARGET_CPU_S_PER_STRAP_HOUR = 10.0
TARGET_RSS_MB = 80.0
FLAT_WITHIN = 1.25
"""Scale is flat when the CPU per strap-hour with more straps stays within 25 % above the
one-strap figure."""


@dataclass(frozen=True, slots=True)
class Target:
    """One target and how the run fared."""

    name: str
    goal: str
    measured: str
    met: bool | None  # None: not measured in this run


def ms(value: float) -> str:
    """Milliseconds, or n/a."""
    return "n/a" if math.isnan(value) else f"{value:.1f} ms"


def mb(kb: int) -> str:
    """kB as MB (10^6 bytes)."""
    return f"{kb * 1024 / 1e6:.1f} MB"


def judge(report: Report) -> list[Target]:
    """The issue's targets against this run."""
    fast, scale = report.fast, {run.straps: run for run in report.scale}
    targets = [
        Target(
            "Notification -> `state` at a subscriber, p99 (1 strap, an hour of data)",
            f"<= {TARGET_STATE_P99_MS:.0f} ms",
            f"{ms(fast.state.p99_ms)} (p50 {ms(fast.state.p50_ms)}, n = {fast.state.n})",
            fast.state.p99_ms <= TARGET_STATE_P99_MS,
        ),
        Target(
            "Sustain-completing notification -> `alert` at a subscriber, p99, daemon",
            f"<= {TARGET_ALERT_P99_MS:.0f} ms",
            f"{ms(fast.alert.p99_ms)} (p50 {ms(fast.alert.p50_ms)}, n = {fast.alert.n})",
            None if fast.alert.n == 0 else fast.alert.p99_ms <= TARGET_ALERT_P99_MS,
        ),
        Target(
            "Same, in-process pipeline + outbox + broker (more alerts)",
            f"<= {TARGET_ALERT_P99_MS:.0f} ms",
            f"{ms(report.inprocess.alert.p99_ms)} (p50 {ms(report.inprocess.alert.p50_ms)}, "
            f"n = {report.inprocess.alert.n})",
            report.inprocess.alert.p99_ms <= TARGET_ALERT_P99_MS,
        ),
    ]
    cpu_rows: list[tuple[str, float]] = []
    if 1 in scale:
        cpu_rows.append(("fake strap on D-Bus, real cadence, 1 strap", scale[1].cpu_per_strap_hour))
    cpu_rows.append(("fake strap on D-Bus, accelerated, 1 strap", fast.cpu_per_strap_hour))
    cpu_rows += [(f"`hrvd {r.label}`", r.cpu_per_hour) for r in report.replay]
    targets += [
        Target(
            f"CPU per strap-hour: {name}",
            f"<= {TARGET_CPU_S_PER_STRAP_HOUR:.0f} s",
            f"{value:.2f} s",
            value <= TARGET_CPU_S_PER_STRAP_HOUR,
        )
        for name, value in cpu_rows
    ]
    targets.append(
        Target(
            "Daemon RSS after an hour of data, 1 strap",
            f"<= {TARGET_RSS_MB:.0f} MB",
            f"{mb(fast.rss_end_kb)} (peak {mb(fast.hwm_kb)})",
            fast.rss_end_kb * 1024 / 1e6 <= TARGET_RSS_MB,
        )
    )
    if 1 in scale:
        base = scale[1].cpu_per_strap_hour
        for n, run in sorted(scale.items()):
            if n == 1:
                continue
            ratio = run.cpu_per_strap_hour / base
            targets.append(
                Target(
                    f"CPU per strap-hour flat: {n} straps against 1",
                    f"<= {FLAT_WITHIN:.2f}x",
                    f"{run.cpu_per_strap_hour:.2f} s against {base:.2f} s ({ratio:.2f}x)",
                    ratio <= FLAT_WITHIN,
                )
            )
    return targets


def _status(met: bool | None) -> str:
    if met is None:
        return "not measured"
    return "met" if met else "**missed**"


def render_targets(targets: list[Target]) -> str:
    """The targets table."""
    return md_table(
        ["target", "goal", "measured", "status"],
        [[t.name, t.goal, t.measured, _status(t.met)] for t in targets],
    )


def _latency_row(label: str, lat: Latency, extra: str) -> list[str]:
    return [
        label,
        str(lat.n),
        ms(lat.p50_ms),
        ms(lat.p90_ms),
        ms(lat.p99_ms),
        ms(lat.max_ms),
        extra,
    ]


def render_latency(report: Report) -> str:
    """Section 1."""
    rows = []
    for run in [report.fast, *report.scale]:
        cadence = f"every {run.interval_s:g} s"
        missing = run.notifications - run.state.n
        extra = f"{run.straps} strap(s), {cadence}; {missing} of {run.notifications} unmatched"
        rows.append(_latency_row(f"`state`, {run.label}", run.state, extra))
    fast = report.fast
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(fast.alert_reasons.items()))
    rows.append(
        _latency_row(
            "`alert`, daemon, 1 strap accelerated",
            fast.alert,
            f"{fast.alerts} alerts ({reasons or 'none'}); {fast.alerts_unmatched} unmatched, "
            f"{fast.alerts_not_from_a_beat} caused by the stop, not a beat (not timed)",
        )
    )
    ip = report.inprocess
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(ip.reasons.items()))
    rows.append(
        _latency_row(
            "`alert`, in-process pipeline + outbox",
            ip.alert,
            f"{ip.alerts_sent} alerts ({reasons}), {ip.unmatched} unmatched; "
            f"{ip.notifications} notifications, one every {ip.pace_s * 1e3:.0f} ms",
        )
    )
    return md_table(["path", "n", "p50", "p90", "p99", "max", "notes"], rows)


def render_cpu(report: Report) -> str:
    """Section 2: the daemon runs' CPU and memory."""
    rows = [
        [
            run.label,
            str(run.notifications),
            str(run.beats),
            f"{run.window_s:.0f} s",
            f"{run.cpu_s:.2f} s",
            f"**{run.cpu_per_strap_hour:.2f} s**",
            f"{run.bus_cpu_per_strap_hour:.2f} s",
            mb(run.rss_start_kb),
            mb(run.rss_end_kb),
            mb(run.hwm_kb),
            str(run.threads_end),
            f"{run.load_before:.2f} / {run.load_after:.2f}",
        ]
        for run in [report.fast, *report.scale]
    ]
    return md_table(
        [
            "run",
            "notifications",
            "beats",
            "window",
            "daemon CPU",
            "CPU per strap-hour",
            "dbus-daemon per strap-hour",
            "RSS at start",
            "RSS at end",
            "peak RSS",
            "threads",
            "load 1 min before / after",
        ],
        rows,
    )


def render_trend(run: DaemonRun) -> str:
    """RSS over the accelerated hour."""
    points = ", ".join(f"{n}: {mb(kb)}" for n, kb in run.rss_trend)
    return f"VmRSS of the daemon by notifications since the window began: {points}."


def render_replay(runs: list[ReplayRun]) -> str:
    """Section 2b: replay."""
    rows = [
        [
            f"`hrvd {r.label}`",
            f"{r.data_s / 3600:.2f} h ({r.beats} beats)",
            f"{r.cpu_s:.2f} s",
            f"{r.startup_cpu_s:.2f} s",
            f"**{r.cpu_per_hour:.2f} s**",
            mb(r.maxrss_kb),
            f"{r.wall_s:.1f} s",
            "-" if r.states_received is None else f"{r.states_received} of {r.notifications}",
            f"{r.hung} of {r.runs}" if r.hung else f"0 of {r.runs}",
            str(r.exit_code),
        ]
        for r in runs
    ]
    return md_table(
        [
            "command",
            "data",
            "CPU",
            "start-up (1 min of data)",
            "CPU per hour, net",
            "peak RSS",
            "wall",
            "states at subscriber",
            "hung (killed)",
            "exit",
        ],
        rows,
    )


def render_scale(runs: list[DaemonRun]) -> str:
    """Section 3."""
    rows = [
        [
            str(run.straps),
            f"{run.all_streaming_s:.1f} s",
            str(run.connects),
            f"{run.cpu_per_strap_hour:.2f} s",
            mb(run.rss_end_kb),
            ms(run.state.p50_ms),
            ms(run.state.p99_ms),
            "-" if run.stop_s is None else f"{run.stop_s:.2f} s (exit {run.exit_code})",
        ]
        for run in runs
    ]
    return md_table(
        [
            "straps",
            "start to all streaming",
            "connects",
            "CPU per strap-hour",
            "RSS",
            "state p50",
            "state p99",
            "SIGTERM to exit",
        ],
        rows,
    )


def render_logs(report: Report) -> str:
    """What the daemon logged beyond the expected."""
    lines = []
    for run in [report.fast, *report.scale]:
        events = ", ".join(f"{k} x{v}" for k, v in sorted(run.log_events.items())) or "nothing"
        lines.append(f"- {run.label}: {events}")
    return "\n".join(lines)


def render(report: Report) -> str:
    """The whole Markdown report."""
    m = report.meta
    mode = "quick" if m["quick"] else "full"
    head = (
        f"# hrvd daemon benchmark ({mode} run, {m['date_utc']})\n\n"
        f"{m['cpu']}, {m['logical_cpus']} logical CPUs, {m['os']}; Python {m['python']}; "
        f"{m['packages']}; {m['mosquitto']}; {m['dbus']}. hrvd {m['hrvd']}, commit "
        f"`{m['commit']}` with {m['src_changes']} changed file(s) under src/. "
        f"1-minute load average {m['load_before']:.2f} before the run, "
        f"{m['load_after']:.2f} after."
    )
    sections = [
        head,
        "## Targets\n\n" + render_targets(judge(report)),
        "## 1. Latency\n\n" + render_latency(report),
        "## 2. CPU and memory, daemon\n\n"
        + render_cpu(report)
        + "\n\n"
        + render_trend(report.fast),
        "## 2b. CPU and memory, replay\n\n" + render_replay(report.replay),
        "## 3. Scale\n\n" + render_scale(report.scale),
        "## Daemon log: warnings, errors, link changes\n\n" + render_logs(report),
    ]
    return "\n\n".join(sections) + "\n"
