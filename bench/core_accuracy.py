"""Sections 3 to 5 of bench_core.py, and its targets: accuracy against neurokit2.

Synthetic sinus rhythm with injected artifacts (detection and RMSSD error by rate and by
kind), the real recordings raw and corrected (batch and streaming), and the verdict on
each target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core_common import (
    KIND_RATE,
    MICRO,
    RATES,
    SYNTHETIC_BEATS,
    TARGET_ALPHA1_MS,
    TARGET_DETECTION,
    TARGET_PUSH_US,
    TARGET_RMSSD_ERR,
    TARGET_RMSSD_UP_TO,
    TARGET_SPEEDUP,
    TIMES,
    Config,
    NeurokitRef,
    alpha1,
    pct,
    rel,
    rmssd,
    stream_correct,
)
from hrvd.hrv.artifacts import classify, correct_batch
from hrvd.hrv.synthetic import (
    Injected,
    detection_scores,
    inject,
    sinus_rr,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from core_speed import SpeedResult, StreamResult


# --- 3. accuracy on synthetic series ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trial:
    """One synthetic series: detection scores and relative RMSSD errors."""

    rate: float
    kind: str
    seed: int
    artifacts: int
    detector_p: float
    detector_r: float
    batch_p: float
    batch_r: float
    stream_p: float
    stream_r: float
    nk_p: float
    nk_r: float
    err_raw: float
    err_hrvd: float
    err_nk: float


@dataclass(frozen=True, slots=True)
class Summary:
    """Trials of one setting, averaged over seeds."""

    label: str
    seeds: int
    artifacts_mean: float
    detector_p: float
    detector_r: float
    batch_p: float
    batch_r: float
    stream_p: float
    stream_r: float
    nk_p: float
    nk_r: float
    err_raw_mean: float
    err_hrvd_mean: float
    err_hrvd_max: float
    err_nk_mean: float
    err_nk_max: float
    err_hrvd_signed: float
    err_nk_signed: float


def run_trial(
    nk: NeurokitRef, rate: float, seed: int, kinds: tuple[Injected, ...], kind_label: str
) -> Trial:
    """One seed: clean sinus series, injected artifacts, both detectors and corrections."""
    rng = np.random.default_rng(seed)
    clean = sinus_rr(SYNTHETIC_BEATS, rng)
    series = inject(clean, rate, rng, kinds=kinds)
    rr, arts = series.rr_ms, series.artifacts
    ref = rmssd(clean)
    batch = correct_batch(rr)
    stream_classes, _ = stream_correct(rr)
    nk_flagged, nk_rr = nk.fixpeaks(rr)
    det = detection_scores(np.flatnonzero(classify(rr)), arts)
    bat = detection_scores(batch.artifact_indices, arts)
    stm = detection_scores(np.flatnonzero(stream_classes), arts)
    nks = detection_scores(nk_flagged, arts)
    return Trial(
        rate=rate,
        kind=kind_label,
        seed=seed,
        artifacts=len(arts),
        detector_p=det[0],
        detector_r=det[1],
        batch_p=bat[0],
        batch_r=bat[1],
        stream_p=stm[0],
        stream_r=stm[1],
        nk_p=nks[0],
        nk_r=nks[1],
        err_raw=rel(rmssd(rr), ref),
        err_hrvd=rel(rmssd(batch.rr_ms), ref),
        err_nk=rel(rmssd(nk_rr), ref),
    )


def summarise(label: str, trials: list[Trial]) -> Summary:
    """Means over seeds (precision, recall, |RMSSD error|) and the worst |RMSSD error|."""

    def mean(values: list[float]) -> float:
        return float(np.mean(values))

    return Summary(
        label=label,
        seeds=len(trials),
        artifacts_mean=mean([t.artifacts for t in trials]),
        detector_p=mean([t.detector_p for t in trials]),
        detector_r=mean([t.detector_r for t in trials]),
        batch_p=mean([t.batch_p for t in trials]),
        batch_r=mean([t.batch_r for t in trials]),
        stream_p=mean([t.stream_p for t in trials]),
        stream_r=mean([t.stream_r for t in trials]),
        nk_p=mean([t.nk_p for t in trials]),
        nk_r=mean([t.nk_r for t in trials]),
        err_raw_mean=mean([abs(t.err_raw) for t in trials]),
        err_hrvd_mean=mean([abs(t.err_hrvd) for t in trials]),
        err_hrvd_max=max(abs(t.err_hrvd) for t in trials),
        err_nk_mean=mean([abs(t.err_nk) for t in trials]),
        err_nk_max=max(abs(t.err_nk) for t in trials),
        err_hrvd_signed=mean([t.err_hrvd for t in trials]),
        err_nk_signed=mean([t.err_nk for t in trials]),
    )


def bench_accuracy(
    nk: NeurokitRef, cfg: Config
) -> tuple[list[Trial], list[Summary], list[Summary]]:
    """Sweep the artifact rate (all kinds), then each kind alone at 3 %."""
    trials: list[Trial] = []
    by_rate: list[Summary] = []
    for rate in RATES:
        batch = [run_trial(nk, rate, s, tuple(Injected), "all") for s in range(cfg.seeds)]
        trials += batch
        by_rate.append(summarise(pct(rate, 0), batch))
    by_kind: list[Summary] = []
    for kind in Injected:
        batch = [run_trial(nk, KIND_RATE, s, (kind,), kind.value) for s in range(cfg.seeds)]
        trials += batch
        by_kind.append(summarise(kind.value, batch))
    return trials, by_rate, by_kind


# --- 4 and 5. real recordings -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RealResult:
    """One real recording through both corrections, and streaming against batch."""

    name: str
    beats: int
    duration_s: float
    detector_flagged: int
    batch_flagged: int
    batch_rate: float
    nk_flagged: int
    rmssd_raw: float
    rmssd_hrvd: float
    rmssd_nk: float
    alpha1_raw: float
    alpha1_hrvd: float
    alpha1_nk: float
    stream_flagged: int
    disagree: int
    disagree_share: float
    rmssd_batch1: float
    """RMSSD after ``correct_batch(max_passes=1)``: the batch form without its later passes."""
    rmssd_stream: float
    stream_vs_batch: float


def bench_real(name: str, rr: NDArray[np.float64], nk: NeurokitRef) -> RealResult:
    """Both corrections of one recording, and the streaming form against the batch form."""
    batch = correct_batch(rr)
    detector = classify(rr) != 0
    nk_flagged, nk_rr = nk.fixpeaks(rr)
    stream_classes, stream_rr = stream_correct(rr)
    streamed = stream_classes != 0
    disagree = int(np.count_nonzero(streamed != detector))
    rmssd_hrvd = rmssd(batch.rr_ms)
    rmssd_stream = rmssd(stream_rr)
    return RealResult(
        name=name,
        beats=len(rr),
        duration_s=float(rr.sum()) / 1000.0,
        detector_flagged=int(np.count_nonzero(detector)),
        batch_flagged=len(batch.artifact_indices),
        batch_rate=batch.artifact_rate,
        nk_flagged=len(nk_flagged),
        rmssd_raw=rmssd(rr),
        rmssd_hrvd=rmssd_hrvd,
        rmssd_nk=rmssd(nk_rr),
        alpha1_raw=alpha1(rr),
        alpha1_hrvd=alpha1(batch.rr_ms),
        alpha1_nk=alpha1(nk_rr),
        stream_flagged=int(np.count_nonzero(streamed)),
        disagree=disagree,
        disagree_share=disagree / len(rr),
        rmssd_batch1=rmssd(correct_batch(rr, max_passes=1).rr_ms),
        rmssd_stream=rmssd_stream,
        stream_vs_batch=rel(rmssd_stream, rmssd_hrvd),
    )


# --- targets ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One target and whether this run met it."""

    name: str
    target: str
    measured: str
    met: bool


def no_worse(hrvd_value: float, nk_value: float, *, higher_is_better: bool) -> bool:
    """hrvd at least as good as neurokit2 (ties count; 1e-9 absorbs float noise)."""
    if higher_is_better:
        return hrvd_value >= nk_value - 1e-9
    return hrvd_value <= nk_value + 1e-9


def judge(speed: SpeedResult, stream: StreamResult, by_rate: list[Summary]) -> list[Target]:
    """Every target against this run's numbers."""
    at3 = next(s for s in by_rate if s.label == pct(KIND_RATE, 0))
    up_to = [s for s, r in zip(by_rate, RATES, strict=True) if r <= TARGET_RMSSD_UP_TO]
    worst_alpha1 = max(stream.alpha1, key=lambda a: a.median_us)
    det_losses = [
        s.label
        for s in by_rate
        if not (
            no_worse(s.detector_p, s.nk_p, higher_is_better=True)
            and no_worse(s.detector_r, s.nk_r, higher_is_better=True)
        )
    ]
    rmssd_losses = [
        s.label
        for s in by_rate
        if not no_worse(s.err_hrvd_mean, s.err_nk_mean, higher_is_better=False)
    ]
    worst_rmssd = max(s.err_hrvd_max for s in up_to)
    return [
        Target(
            f"Batch speed-up vs neurokit2 ({speed.duration_h:.0f} h, median/median)",
            f">= {TARGET_SPEEDUP:.0f}{TIMES}",
            f"{speed.speedup_median:.0f}{TIMES} (best/best {speed.speedup_best:.0f}{TIMES})",
            speed.speedup_median >= TARGET_SPEEDUP,
        ),
        Target(
            "Streaming push, median per beat (alpha1 excluded)",
            f"<= {TARGET_PUSH_US:.0f} {MICRO}s",
            f"{stream.push_median_us:.1f} {MICRO}s (p99 {stream.push_p99_us:.1f} {MICRO}s)",
            stream.push_median_us <= TARGET_PUSH_US,
        ),
        Target(
            "alpha1 recompute, 2-min window, median (worst window)",
            f"<= {TARGET_ALPHA1_MS:.0f} ms",
            f"{worst_alpha1.median_us / 1e3:.3f} ms ({worst_alpha1.beats_in_window} beats)",
            worst_alpha1.median_us <= TARGET_ALPHA1_MS * 1e3,
        ),
        Target(
            "Detector (pass one) precision & recall at 3 %",
            f">= {TARGET_DETECTION}",
            f"P {at3.detector_p:.3f}, R {at3.detector_r:.3f}",
            min(at3.detector_p, at3.detector_r) >= TARGET_DETECTION,
        ),
        Target(
            "correct_batch (all passes) precision & recall at 3 %",
            f">= {TARGET_DETECTION}",
            f"P {at3.batch_p:.3f}, R {at3.batch_r:.3f}",
            min(at3.batch_p, at3.batch_r) >= TARGET_DETECTION,
        ),
        Target(
            "RMSSD after correction vs clean, every seed, rates <= 5 %",
            f"within {pct(TARGET_RMSSD_ERR, 0)}",
            f"worst \\|error\\| {pct(worst_rmssd, 2)}",
            worst_rmssd <= TARGET_RMSSD_ERR,
        ),
        Target(
            "Detection P and R >= neurokit2 at every rate (pass one vs single pass)",
            "no rate worse",
            "worse at " + ", ".join(det_losses) if det_losses else "no rate worse",
            not det_losses,
        ),
        Target(
            "Mean \\|RMSSD error\\| <= neurokit2's at every rate",
            "no rate worse",
            "worse at " + ", ".join(rmssd_losses) if rmssd_losses else "no rate worse",
            not rmssd_losses,
        ),
    ]
