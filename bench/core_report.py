"""The Markdown report of bench_core.py, and the Report value its --json writes."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core_common import (
    DAY_ARTIFACT_RATE,
    KIND_RATE,
    MICRO,
    RESTING_RECORDINGS,
    STREAM_WARMUP,
    SYNTHETIC_BEATS,
    TIMES,
    md_table,
    pct,
    rel,
    signed_pct,
)
from hrvd.hrv.rules import LOOKAHEAD_BEATS

if TYPE_CHECKING:
    from core_accuracy import RealResult, Summary, Target, Trial
    from core_speed import SpeedResult, StreamResult


@dataclass(slots=True)
class Report:
    """Everything one run measured (also the --json output)."""

    meta: dict[str, str | int | float | bool]
    speed: SpeedResult
    streaming: StreamResult
    accuracy_by_rate: list[Summary]
    accuracy_by_kind: list[Summary]
    real: list[RealResult]
    targets: list[Target]
    trials: list[Trial]


def render_speed(r: SpeedResult) -> str:
    """Section 1."""
    rows = [
        [
            "hrvd `correct_batch` + `time_domain` + `dfa_alpha1`",
            str(len(r.hrvd_s)),
            f"{min(r.hrvd_s) * 1e3:.1f} ms",
            f"{statistics.median(r.hrvd_s) * 1e3:.1f} ms",
            f"{r.hrvd_rmssd_ms:.2f}",
            f"{r.hrvd_alpha1:.3f}",
        ],
        [
            "neurokit2 Kubios `signal_fixpeaks` + `hrv_time` + `fractal_dfa`",
            str(len(r.nk_s)),
            f"{min(r.nk_s) * 1e3:.0f} ms",
            f"{statistics.median(r.nk_s) * 1e3:.0f} ms",
            f"{r.nk_rmssd_ms:.2f}",
            f"{r.nk_alpha1:.3f}",
        ],
    ]
    return (
        f"{r.beats} beats, {r.duration_h:.2f} h (real recordings repeated, plus "
        f"{r.injected_artifacts} injected artifacts = {pct(DAY_ARTIFACT_RATE, 0)}).\n\n"
        + md_table(["pipeline", "runs", "best", "median", "RMSSD ms", "alpha1"], rows)
        + f"\n\nSpeed-up: **{r.speedup_median:.0f}{TIMES}** median/median, "
        f"{r.speedup_best:.0f}{TIMES} best/best."
    )


def render_streaming(r: StreamResult) -> str:
    """Section 2."""
    u = f"{MICRO}s"
    push = md_table(
        ["pushes timed", "median", "mean", "p99", "p99.9", "max", "default stream, mean"],
        [
            [
                str(r.timed_pushes),
                f"{r.push_median_us:.2f} {u}",
                f"{r.push_mean_us:.2f} {u}",
                f"{r.push_p99_us:.2f} {u}",
                f"{r.push_p999_us:.1f} {u}",
                f"{r.push_max_us:.0f} {u}",
                f"{r.default_mean_us:.2f} {u}",
            ]
        ],
    )
    a1 = md_table(
        ["window", "beats in window", "calls", "median", "p99"],
        [
            [
                a.window,
                str(a.beats_in_window),
                str(a.calls),
                f"{a.median_us:.0f} {u}",
                f"{a.p99_us:.0f} {u}",
            ]
            for a in r.alpha1
        ],
    )
    return (
        "`HrvStream.push` per beat over the series of section 1, each push timed with "
        f"`perf_counter_ns` (timer overhead {r.timer_overhead_ns:.0f} ns, included), "
        f"first {STREAM_WARMUP} pushes untimed, alpha1 recompute excluded "
        "(`dfa_every_s=inf`). The last column is the whole default stream (alpha1 every "
        "5 s included) divided by the beats.\n\n"
        + push
        + "\n\n`HrvStream._recompute_alpha1` alone on a full 2-minute window:\n\n"
        + a1
    )


def render_summaries(rows: list[Summary], first: str) -> str:
    """Sections 3a and 3b: detection and RMSSD tables."""

    def pr(p: float, r: float) -> str:
        return f"{p:.3f} / {r:.3f}"

    det = md_table(
        [
            first,
            "artifacts",
            "hrvd detector P / R",
            "hrvd all passes P / R",
            "hrvd streaming P / R",
            "neurokit2 P / R",
        ],
        [
            [
                s.label,
                f"{s.artifacts_mean:.0f}",
                pr(s.detector_p, s.detector_r),
                pr(s.batch_p, s.batch_r),
                pr(s.stream_p, s.stream_r),
                pr(s.nk_p, s.nk_r),
            ]
            for s in rows
        ],
    )
    err = md_table(
        [
            first,
            "raw mean",
            "hrvd mean",
            "hrvd max",
            "hrvd bias",
            "neurokit2 mean",
            "neurokit2 max",
            "neurokit2 bias",
        ],
        [
            [
                s.label,
                pct(s.err_raw_mean),
                pct(s.err_hrvd_mean, 2),
                pct(s.err_hrvd_max, 2),
                signed_pct(s.err_hrvd_signed),
                pct(s.err_nk_mean, 2),
                pct(s.err_nk_max, 2),
                signed_pct(s.err_nk_signed),
            ]
            for s in rows
        ],
    )
    return (
        "Detection, mean over seeds (P = precision, R = recall):\n\n"
        + det
        + "\n\nAbsolute RMSSD error after correction, relative to the clean series' RMSSD "
        "(mean and max over seeds; bias = mean signed error):\n\n" + err
    )


def render_real(rows: list[RealResult]) -> str:
    """Section 4."""
    table = md_table(
        [
            "recording",
            "beats",
            "hrvd pass one",
            "hrvd all passes",
            "hrvd rate",
            "neurokit2",
            "RMSSD raw",
            "RMSSD hrvd",
            "RMSSD nk",
            "alpha1 raw",
            "alpha1 hrvd",
            "alpha1 nk",
        ],
        [
            [
                r.name,
                str(r.beats),
                str(r.detector_flagged),
                str(r.batch_flagged),
                pct(r.batch_rate, 2),
                str(r.nk_flagged),
                f"{r.rmssd_raw:.2f}",
                f"{r.rmssd_hrvd:.2f}",
                f"{r.rmssd_nk:.2f}",
                f"{r.alpha1_raw:.3f}",
                f"{r.alpha1_hrvd:.3f}",
                f"{r.alpha1_nk:.3f}",
            ]
            for r in rows
        ],
    )
    clean = [
        f"`{r.name}`: RMSSD {r.rmssd_raw:.2f} -> {r.rmssd_hrvd:.2f} ms with hrvd "
        f"({signed_pct(rel(r.rmssd_hrvd, r.rmssd_raw))}, {r.batch_flagged} beats flagged; "
        f"pass one alone {signed_pct(rel(r.rmssd_batch1, r.rmssd_raw))}), "
        f"-> {r.rmssd_nk:.2f} ms with neurokit2 ({signed_pct(rel(r.rmssd_nk, r.rmssd_raw))})"
        for r in rows
        if r.name in RESTING_RECORDINGS
    ]
    return (
        "Flagged beats (neurokit2: single pass); RMSSD in ms; alpha1 from hrvd's "
        "`dfa_alpha1` (non-overlapping boxes, 4-16 beats) on each series.\n\n"
        + table
        + "\n\nResting recordings without beat labels (BENCHMARKS.md, validation corpus):\n\n"
        + "\n".join(f"- {line}" for line in clean)
    )


def render_stream_vs_batch(rows: list[RealResult]) -> str:
    """Section 5."""
    table = md_table(
        [
            "recording",
            "beats",
            "streaming flagged",
            "batch pass one flagged",
            "disagree",
            "share",
            "RMSSD streaming",
            "RMSSD batch",
            "difference",
            "RMSSD batch pass one",
            "difference",
        ],
        [
            [
                r.name,
                str(r.beats),
                str(r.stream_flagged),
                str(r.detector_flagged),
                str(r.disagree),
                pct(r.disagree_share, 2),
                f"{r.rmssd_stream:.2f}",
                f"{r.rmssd_hrvd:.2f}",
                signed_pct(r.stream_vs_batch),
                f"{r.rmssd_batch1:.2f}",
                signed_pct(rel(r.rmssd_stream, r.rmssd_batch1)),
            ]
            for r in rows
        ],
    )
    return (
        "Every beat through `StreamingCorrector` (trailing thresholds, the median centred "
        f"by {LOOKAHEAD_BEATS} beats of look-ahead), flushed; its classes against "
        "`classify` (pass one, centred windows), artifact or normal per input beat. "
        "RMSSD of the streaming output against `correct_batch`'s output (all passes, and "
        "pass one alone: `max_passes=1`).\n\n" + table
    )


def render_targets(targets: list[Target]) -> str:
    """The targets table."""
    return md_table(
        ["target", "goal", "measured", "status"],
        [[t.name, t.target, t.measured, "met" if t.met else "**missed**"] for t in targets],
    )


def render(report: Report) -> str:
    """The whole Markdown report."""
    m = report.meta
    mode = "quick" if m["quick"] else "full"
    head = (
        f"# hrvd core benchmark ({mode} run, {m['date_utc']})\n\n"
        f"{m['cpu']}, {m['logical_cpus']} logical CPUs, {m['os']}; Python {m['python']}, "
        f"{m['packages']}, hrvd {m['hrvd']}. "
        f"Seeds per setting: {m['seeds']}; synthetic series of {SYNTHETIC_BEATS} beats. "
        f"1-minute load average {m['load_before']:.2f} before the run, "
        f"{m['load_after']:.2f} after.\n"
    )
    sections = [
        head,
        "## Targets\n\n" + render_targets(report.targets),
        f"## 1. Batch speed, {report.speed.duration_h:.0f}-hour series\n\n"
        + render_speed(report.speed),
        "## 2. Streaming cost\n\n" + render_streaming(report.streaming),
        "## 3. Accuracy by artifact rate (all kinds mixed)\n\n"
        + render_summaries(report.accuracy_by_rate, "rate"),
        f"## 3b. Accuracy by artifact kind at {pct(KIND_RATE, 0)}\n\n"
        + render_summaries(report.accuracy_by_kind, "kind"),
        "## 4. Real recordings\n\n" + render_real(report.real),
        "## 5. Streaming vs batch on real recordings\n\n" + render_stream_vs_batch(report.real),
    ]
    return "\n\n".join(sections) + "\n"
