"""`hrvd analyze`: the HRV of an RR recording, whole or as a rolling time series."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np

from hrvd.hrv.artifacts import BeatClass, correct_batch
from hrvd.hrv.dfa import dfa_alpha1
from hrvd.hrv.metrics import time_domain
from hrvd.hrv.stream import DFA_EVERY_S, HrvStream

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import NDArray

ROLLING_EVERY_S = DFA_EVERY_S
"""One rolling row every 5 s, as often as the live daemon recomputes alpha1."""

Row = dict[str, float | int | bool | None]


def summarise(rr_ms: NDArray[np.float64]) -> dict[str, object]:
    """Correct a whole recording and compute its metrics.

    Returns the keys of ``hrvd analyze --format json``; metrics are computed on the
    corrected series, ``artifacts`` indexes the input.
    """
    correction = correct_batch(rr_ms)
    counts = Counter(BeatClass(c) for c in correction.classes.tolist())
    metrics = asdict(time_domain(correction.rr_ms))
    del metrics["n_beats"]
    return {
        "n_beats": len(rr_ms),
        "duration_s": float(np.sum(rr_ms)) / 1000.0,
        "artifact_rate": correction.artifact_rate,
        "artifacts": correction.artifact_indices.tolist(),
        "artifact_classes": {c.name.lower(): counts[c] for c in BeatClass if c},
        "n_corrected_beats": len(correction.rr_ms),
        **metrics,
        "dfa_alpha1": dfa_alpha1(correction.rr_ms),
    }


def rolling(rr_ms: NDArray[np.float64], window_s: float) -> Iterator[Row]:
    """Replay a recording through the live pipeline; yield one row every 5 s.

    The beats are timed by the running sum of the raw RR intervals, so each row is what
    the daemon would have shown at that moment of the recording.
    """
    stream = HrvStream(window_s=window_s)
    ends = np.cumsum(rr_ms) / 1000.0
    next_row = ROLLING_EVERY_S
    for rr, t in zip(rr_ms.tolist(), ends.tolist(), strict=True):
        while t >= next_row:
            yield _row(stream, next_row)
            next_row += ROLLING_EVERY_S
        stream.push(rr, t)
    stream.flush()
    if len(ends) and not math.isclose(next_row - ROLLING_EVERY_S, ends[-1]):
        yield _row(stream, float(ends[-1]))


def _row(stream: HrvStream, t_s: float) -> Row:
    snap = stream.snapshot()
    return {
        "t_s": round(t_s, 3),
        "n_beats": snap.n_beats,
        "mean_rr_ms": snap.mean_rr_ms,
        "mean_hr_bpm": snap.mean_hr_bpm,
        "rmssd_ms": snap.rmssd_ms,
        "ln_rmssd": snap.ln_rmssd,
        "sdnn_ms": snap.sdnn_ms,
        "pnn50": snap.pnn50,
        "artifact_rate": snap.artifact_rate,
        "dfa_alpha1": snap.dfa_alpha1,
        "dfa_reliable": snap.dfa_reliable,
    }
