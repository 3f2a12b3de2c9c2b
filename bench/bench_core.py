"""Speed and accuracy benchmark of hrvd's HRV core, side by side with neurokit2.

Run from the repository root::

    python bench/bench_core.py            # full run, several minutes
    python bench/bench_core.py --quick    # smoke run, well under a minute
    python bench/bench_core.py --json results.json

It prints a Markdown report to stdout and measures, in one run:

1. batch speed on a 24-hour RR series (the real recordings of tests/data, repeated, with
   2 % injected artifacts): hrvd's ``correct_batch + time_domain + dfa_alpha1`` against
   neurokit2's Kubios correction + ``hrv_time`` + ``fractal_dfa`` (tests/neurokit_ref.py);
2. streaming cost: per-beat ``HrvStream.push`` (alpha1 recompute excluded) and the alpha1
   recompute alone on a full 2-minute window;
3. accuracy on synthetic sinus rhythm with injected artifacts (1-10 %): detection precision
   and recall and RMSSD error after correction, hrvd against neurokit2, and per artifact
   kind at 3 %;
4. the real recordings: flagged beats, RMSSD and DFA alpha1 raw and after each correction;
5. the streaming corrector against the batch detector on the real recordings.

Imports (neurokit2's included) are done and warmed up before anything is timed.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import numpy as np

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from harness.machine import machine as describe_machine
from hrvd.hrv.artifacts import LOOKAHEAD_BEATS, StreamingCorrector, classify, correct_batch
from hrvd.hrv.dfa import dfa_alpha1
from hrvd.hrv.metrics import time_domain
from hrvd.hrv.stream import DFA_WINDOW_S, HrvStream
from hrvd.hrv.synthetic import (
    Injected,
    InjectedSeries,
    detection_scores,
    inject,
    sinus_rr,
)
from hrvd.rrfile import read_rr

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import NDArray

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
RECORDINGS = (
    "pyhrv/SampleNNISeriesShort.txt",
    "pyhrv/SampleNNISeriesLong.txt",
    "rhenanbartels-hrv/noisy_rri.txt",
    "rhenanbartels-hrv/exercise_rri.txt",
    "kbroman-detectPVC/polar_h10.txt",
)
CLEAN_RECORDINGS = RECORDINGS[:2]
"""The pyhrv sample series: physiological, almost free of artifacts."""

DAY_S = 24 * 3600.0
DAY_ARTIFACT_RATE = 0.02
RATES = (0.01, 0.02, 0.03, 0.05, 0.07, 0.10)
KIND_RATE = 0.03
SYNTHETIC_BEATS = 3000
STREAM_WARMUP = 200
"""Pushes left untimed at the start: the corrector's warm-up and the stream's one
alpha1 computation at its first released beat."""

TARGET_SPEEDUP = 50.0
TARGET_PUSH_US = 20.0
TARGET_ALPHA1_MS = 1.0
TARGET_DETECTION = 0.95
TARGET_RMSSD_ERR = 0.05
TARGET_RMSSD_UP_TO = 0.05

MICRO = "\u00b5"
TIMES = "\u00d7"


@dataclass(frozen=True, slots=True)
class Config:
    """How much work one run does."""

    quick: bool
    day_s: float
    hrvd_runs: int
    nk_runs: int
    seeds: int
    alpha1_calls: int


FULL = Config(quick=False, day_s=DAY_S, hrvd_runs=7, nk_runs=3, seeds=20, alpha1_calls=2000)
QUICK = Config(quick=True, day_s=3 * 3600.0, hrvd_runs=2, nk_runs=1, seeds=3, alpha1_calls=200)


class NeurokitRef(Protocol):
    """The part of tests/neurokit_ref.py used here."""

    def fixpeaks(
        self, rr_ms: NDArray[np.float64]
    ) -> tuple[NDArray[np.intp], NDArray[np.float64]]: ...

    def pipeline(self, rr_ms: NDArray[np.float64]) -> dict[str, float]: ...


def load_neurokit_ref() -> NeurokitRef:
    """Import tests/neurokit_ref.py (outside mypy's files; it needs neurokit2)."""
    return cast("NeurokitRef", importlib.import_module("neurokit_ref"))


# --- helpers ------------------------------------------------------------------------------


def rmssd(rr_ms: NDArray[np.float64]) -> float:
    """RMSSD of a series, ms."""
    value = time_domain(rr_ms).rmssd_ms
    if value is None:
        raise ValueError("series too short for an RMSSD")
    return value


def alpha1(rr_ms: NDArray[np.float64]) -> float:
    """DFA alpha1 of a series (hrvd's non-overlapping boxes, 4-16 beats), NaN if none."""
    value = dfa_alpha1(rr_ms)
    return math.nan if value is None else value


def rel(value: float, ref: float) -> float:
    """Signed relative difference."""
    return (value - ref) / ref


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def read_recordings() -> dict[str, NDArray[np.float64]]:
    """The real recordings of tests/data, by their path under it."""
    return {name: read_rr(str(DATA / name)).rr_ms for name in RECORDINGS}


def stream_correct(rr_ms: NDArray[np.float64]) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    """Every beat through StreamingCorrector (t = cumulative sum): classes and output."""
    corrector = StreamingCorrector(keep_classes=True)
    t_s = (np.cumsum(rr_ms) / 1000.0).tolist()
    out: list[float] = []
    for rr, t in zip(rr_ms.tolist(), t_s, strict=True):
        out.extend(b.rr_ms for b in corrector.push(rr, t))
    out.extend(b.rr_ms for b in corrector.flush())
    classes = np.asarray(corrector.classes, dtype=np.int8)
    if len(classes) != len(rr_ms):
        raise RuntimeError(f"streaming corrector decided {len(classes)} of {len(rr_ms)} beats")
    return classes, np.asarray(out, dtype=np.float64)


def timed_runs(fn: Callable[[], object], runs: int) -> list[float]:
    """Wall times of ``runs`` calls, s."""
    times: list[float] = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; columns after the first are right-aligned."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join([":---"] + ["---:"] * (len(headers) - 1)) + " |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def pct(x: float, digits: int = 1) -> str:
    """A share as a percentage."""
    return f"{100 * x:.{digits}f} %"


def signed_pct(x: float, digits: int = 2) -> str:
    """A signed relative difference as a percentage."""
    return f"{100 * x:+.{digits}f} %"


# --- 1. batch speed -----------------------------------------------------------------------


@dataclass(slots=True)
class SpeedResult:
    """Batch speed on the 24-hour series."""

    beats: int
    duration_h: float
    injected_artifacts: int
    hrvd_s: list[float]
    nk_s: list[float]
    hrvd_rmssd_ms: float
    hrvd_alpha1: float
    nk_rmssd_ms: float
    nk_alpha1: float
    speedup_best: float = 0.0
    speedup_median: float = 0.0


def build_day(
    recordings: dict[str, NDArray[np.float64]], duration_s: float, rng: np.random.Generator
) -> InjectedSeries:
    """The recordings repeated in turn up to ``duration_s``, with injected artifacts."""
    parts: list[NDArray[np.float64]] = []
    total_ms = 0.0
    while total_ms < duration_s * 1000.0:
        for rr in recordings.values():
            parts.append(rr)
            total_ms += float(rr.sum())
    base = np.concatenate(parts)
    end = int(np.searchsorted(np.cumsum(base), duration_s * 1000.0)) + 1
    return inject(base[:end], DAY_ARTIFACT_RATE, rng)


def hrvd_batch(rr_ms: NDArray[np.float64]) -> dict[str, float]:
    """hrvd's batch pipeline: correction, time domain, DFA alpha1."""
    corrected = correct_batch(rr_ms).rr_ms
    td = time_domain(corrected)
    a1 = dfa_alpha1(corrected)
    return {
        "rmssd_ms": math.nan if td.rmssd_ms is None else td.rmssd_ms,
        "sdnn_ms": math.nan if td.sdnn_ms is None else td.sdnn_ms,
        "dfa_alpha1": math.nan if a1 is None else a1,
    }


def bench_speed(day: InjectedSeries, nk: NeurokitRef, cfg: Config) -> SpeedResult:
    """Time both batch pipelines on the same series."""
    rr = day.rr_ms
    # Warm-up: neurokit2's lazy imports and hrvd's cached DFA axes.
    nk.pipeline(rr[:3000])
    hrvd_out = hrvd_batch(rr)
    hrvd_s = timed_runs(lambda: hrvd_batch(rr), cfg.hrvd_runs)
    nk_out = nk.pipeline(rr)
    nk_s = timed_runs(lambda: nk.pipeline(rr), cfg.nk_runs)
    result = SpeedResult(
        beats=len(rr),
        duration_h=float(rr.sum()) / 3.6e6,
        injected_artifacts=len(day.artifacts),
        hrvd_s=hrvd_s,
        nk_s=nk_s,
        hrvd_rmssd_ms=hrvd_out["rmssd_ms"],
        hrvd_alpha1=hrvd_out["dfa_alpha1"],
        nk_rmssd_ms=nk_out["rmssd_ms"],
        nk_alpha1=nk_out["dfa_alpha1"],
    )
    result.speedup_best = min(nk_s) / min(hrvd_s)
    result.speedup_median = statistics.median(nk_s) / statistics.median(hrvd_s)
    return result


# --- 2. streaming cost --------------------------------------------------------------------


@dataclass(slots=True)
class Alpha1Cost:
    """Cost of ``HrvStream._recompute_alpha1`` on one full window."""

    window: str
    beats_in_window: int
    calls: int
    median_us: float
    p99_us: float


@dataclass(slots=True)
class StreamResult:
    """Per-beat cost of HrvStream.push and cost of one alpha1 recompute."""

    timed_pushes: int
    timer_overhead_ns: float
    push_median_us: float
    push_mean_us: float
    push_p99_us: float
    push_p999_us: float
    push_max_us: float
    default_mean_us: float
    """Mean per beat with the default settings (alpha1 every 5 s included)."""
    alpha1: list[Alpha1Cost] = field(default_factory=list)


def timer_overhead_ns() -> float:
    """Median cost of an empty perf_counter_ns pair, ns."""
    clock = time.perf_counter_ns
    costs = []
    for _ in range(100_000):
        start = clock()
        costs.append(clock() - start)
    return float(statistics.median(costs))


def bench_push(rr_ms: NDArray[np.float64]) -> list[int]:
    """Time every HrvStream.push over a series, ns, with alpha1 recomputes excluded.

    The stream computes alpha1 at its first released beat and then every
    ``dfa_every_s``; with an infinite period only that first one happens, and it falls in
    the untimed warm-up.
    """
    stream = HrvStream(dfa_every_s=math.inf)
    t_s = (np.cumsum(rr_ms) / 1000.0).tolist()
    rr = rr_ms.tolist()
    clock = time.perf_counter_ns
    push = stream.push
    for i in range(STREAM_WARMUP):
        push(rr[i], t_s[i])
    if stream._dfa_at is None:  # noqa: SLF001 - checks that the one recompute is behind us
        raise RuntimeError("warm-up too short: alpha1 not yet computed once")
    costs = [0] * (len(rr) - STREAM_WARMUP)
    gc.collect()
    for k, i in enumerate(range(STREAM_WARMUP, len(rr))):
        start = clock()
        push(rr[i], t_s[i])
        costs[k] = clock() - start
    return costs


def bench_default_stream(rr_ms: NDArray[np.float64]) -> float:
    """Mean cost per beat of a default HrvStream (alpha1 every 5 s), s."""
    stream = HrvStream()
    t_s = (np.cumsum(rr_ms) / 1000.0).tolist()
    gc.collect()
    start = time.perf_counter()
    for rr, t in zip(rr_ms.tolist(), t_s, strict=True):
        stream.push(rr, t)
    return (time.perf_counter() - start) / len(rr_ms)


def busiest_window_end(rr_ms: NDArray[np.float64], window_s: float) -> int:
    """Index of the beat that ends the ``window_s`` window holding the most beats."""
    t_s = np.cumsum(rr_ms) / 1000.0
    first = np.searchsorted(t_s, t_s - window_s, side="right")
    counts = np.arange(len(t_s)) - first + 1
    return int(np.argmax(counts))


def bench_alpha1(name: str, rr_ms: NDArray[np.float64], calls: int) -> Alpha1Cost:
    """Fill a default HrvStream with ``rr_ms`` and time the alpha1 recompute alone."""
    stream = HrvStream()
    t_s = (np.cumsum(rr_ms) / 1000.0).tolist()
    for rr, t in zip(rr_ms.tolist(), t_s, strict=True):
        stream.push(rr, t)
    stream.flush()
    if t_s[-1] - t_s[0] < DFA_WINDOW_S:
        raise ValueError("segment shorter than the alpha1 window")
    now = t_s[-1]
    recompute = stream._recompute_alpha1  # noqa: SLF001 - the recompute is what is timed
    clock = time.perf_counter_ns
    costs: list[int] = []
    gc.collect()
    for _ in range(calls):
        start = clock()
        recompute(now)
        costs.append(clock() - start)
    return Alpha1Cost(
        window=name,
        beats_in_window=len(stream._dfa_beats),  # noqa: SLF001 - reports the window's size
        calls=calls,
        median_us=statistics.median(costs) / 1e3,
        p99_us=percentile(costs, 99) / 1e3,
    )


def bench_streaming(
    day: InjectedSeries, recordings: dict[str, NDArray[np.float64]], cfg: Config
) -> StreamResult:
    """Per-beat push cost over the day, and the alpha1 recompute at rest and at exercise."""
    overhead = timer_overhead_ns()
    costs_us = np.asarray(bench_push(day.rr_ms), dtype=np.float64) / 1e3
    result = StreamResult(
        timed_pushes=len(costs_us),
        timer_overhead_ns=overhead,
        push_median_us=float(np.median(costs_us)),
        push_mean_us=float(costs_us.mean()),
        push_p99_us=float(np.percentile(costs_us, 99)),
        push_p999_us=float(np.percentile(costs_us, 99.9)),
        push_max_us=float(costs_us.max()),
        default_mean_us=bench_default_stream(day.rr_ms) * 1e6,
    )
    rest = recordings["pyhrv/SampleNNISeriesLong.txt"]
    rest_end = int(np.searchsorted(np.cumsum(rest), 600_000.0))  # the first 10 minutes
    result.alpha1.append(
        bench_alpha1("rest (pyhrv long, 0-10 min)", rest[:rest_end], cfg.alpha1_calls)
    )
    exercise = recordings["rhenanbartels-hrv/exercise_rri.txt"]
    busiest = busiest_window_end(exercise, DFA_WINDOW_S)
    result.alpha1.append(
        bench_alpha1("exercise (busiest 2 min)", exercise[: busiest + 1], cfg.alpha1_calls)
    )
    return result


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


# --- report -------------------------------------------------------------------------------


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


def no_nan(value: object) -> object:
    """``value`` with every NaN float replaced by None (strict JSON has no NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [no_nan(v) for v in value]
    return value


def machine() -> dict[str, str | int]:
    """CPU, cores, OS and package versions (no host name, no paths)."""
    return describe_machine(("numpy", "neurokit2"))


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
        if r.name in CLEAN_RECORDINGS
    ]
    return (
        "Flagged beats (neurokit2: single pass); RMSSD in ms; alpha1 from hrvd's "
        "`dfa_alpha1` (non-overlapping boxes, 4-16 beats) on each series.\n\n"
        + table
        + "\n\nClean recordings (should come out nearly unchanged):\n\n"
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
        "Every beat through `StreamingCorrector` (trailing windows, "
        f"{LOOKAHEAD_BEATS} beats of look-ahead), flushed; its classes against "
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


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the report."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write raw numbers here")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL

    load_before = os.getloadavg()[0]
    nk = load_neurokit_ref()
    recordings = read_recordings()
    day = build_day(recordings, cfg.day_s, np.random.default_rng(2024))
    log(f"speed: {len(day.rr_ms)} beats")
    speed = bench_speed(day, nk, cfg)
    log("streaming")
    streaming = bench_streaming(day, recordings, cfg)
    log(f"accuracy: {cfg.seeds} seeds")
    trials, by_rate, by_kind = bench_accuracy(nk, cfg)
    log("real recordings")
    real = [bench_real(name, rr, nk) for name, rr in recordings.items()]

    meta = machine() | {
        "quick": cfg.quick,
        "seeds": cfg.seeds,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }
    report = Report(
        meta=meta,
        speed=speed,
        streaming=streaming,
        accuracy_by_rate=by_rate,
        accuracy_by_kind=by_kind,
        real=real,
        targets=judge(speed, streaming, by_rate),
        trials=trials,
    )
    print(render(report))
    if args.json is not None:
        args.json.write_text(
            json.dumps(no_nan(asdict(report)), indent=1, allow_nan=False) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
