"""Sections 1 and 2 of bench_core.py: batch speed on a day of RR, and streaming cost.

The day is the real recordings repeated with injected artifacts; hrvd's batch pipeline
against neurokit2's, then the per-beat cost of HrvStream.push and of one alpha1 recompute.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from core_common import (
    DAY_ARTIFACT_RATE,
    STREAM_WARMUP,
    Config,
    NeurokitRef,
    percentile,
    timed_runs,
)
from hrvd.hrv.artifacts import correct_batch
from hrvd.hrv.dfa import dfa_alpha1
from hrvd.hrv.metrics import time_domain
from hrvd.hrv.stream import DFA_WINDOW_S, HrvStream
from hrvd.hrv.synthetic import (
    InjectedSeries,
    inject,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray


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
