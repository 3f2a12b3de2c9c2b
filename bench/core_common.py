"""The shared parts of bench_core.py: recordings, run sizes, targets, helpers.

The real recordings of tests/data, how much work a full and a quick run do, the targets
the report judges against, the neurokit2 reference, and the small statistics, Markdown and
JSON helpers that bench_analyze.py, bench_corpus.py and the daemon benchmarks share.
"""

from __future__ import annotations

import gc
import importlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import numpy as np

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from harness.machine import machine as describe_machine
from hrvd.hrv.artifacts_live import StreamingCorrector
from hrvd.hrv.dfa import dfa_alpha1
from hrvd.hrv.metrics import time_domain
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
RESTING_RECORDINGS = RECORDINGS[:2]
"""The pyhrv sample series: resting ECG without beat labels, a few abnormal intervals."""

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
