"""`hrvd analyze`: the HRV of an RR recording, whole or as a rolling time series."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np

from hrvd.coach.hrvt1 import estimate_hrvt1, recording_windows
from hrvd.hrv.artifacts import BeatClass, correct_batch
from hrvd.hrv.dfa import dfa_alpha1
from hrvd.hrv.metrics import time_domain
from hrvd.hrv.quality import irregular, judge
from hrvd.hrv.stream import DFA_EVERY_S, HrvStream

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import NDArray

ROLLING_EVERY_S = DFA_EVERY_S
"""One rolling row every 5 s, as often as the live daemon recomputes alpha1."""

Row = dict[str, float | int | bool | str | None]


def summarise(
    rr_ms: NDArray[np.float64], gaps: NDArray[np.bool_] | None = None
) -> dict[str, object]:
    """Correct a whole recording and compute its metrics.

    Returns the keys of ``hrvd analyze --format json``; metrics are computed on the
    corrected series, ``artifacts`` indexes the input. With ``gaps`` (the ``gap`` column of
    an exported ride), each stretch between gaps is corrected on its own, no successive
    difference spans a gap, and alpha1 is that of the longest stretch.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    starts = [0] if gaps is None else [0, *np.flatnonzero(gaps[1:]) + 1]
    ends = [*starts[1:], len(rr)]
    parts, flags, classes, artifacts = [], [], [], []
    for start, end in zip(starts, ends, strict=True):
        correction = correct_batch(rr[start:end])
        parts.append(correction.rr_ms)
        flags.append(np.arange(len(correction.rr_ms)) == 0)
        classes.append(correction.classes)
        artifacts += (correction.artifact_indices + start).tolist()
    corrected = np.concatenate(parts)
    every = np.concatenate(classes)
    counts = np.bincount(every, minlength=len(BeatClass)).tolist()
    metrics = asdict(time_domain(corrected, gap_before=np.concatenate(flags)))
    del metrics["n_beats"]
    alpha1 = dfa_alpha1(max(parts, key=len))
    artifact_rate = float(np.count_nonzero(every)) / max(len(every), 1)
    # Without time stamps a dropout shows as one long interval; the missing time behind
    # a gap flag is not known, so it counts as no time.
    burden = [irregular(rr[a:b]) for a, b in zip(starts, ends, strict=True)]
    quality = judge(
        duration_s=float(np.sum(rr)) / 1000.0,
        artifact_rate=artifact_rate,
        ectopic_burden=float(np.mean(np.concatenate(burden))) if len(rr) else 0.0,
        longest_gap_s=float(np.max(rr, initial=0.0)) / 1000.0,
        alpha1=alpha1,
    )
    return {
        "n_beats": len(rr),
        "duration_s": float(np.sum(rr)) / 1000.0,
        "gaps": len(starts) - 1,
        "artifact_rate": artifact_rate,
        "artifacts": artifacts,
        "artifact_classes": {c.name.lower(): counts[c] for c in BeatClass if c},
        "n_corrected_beats": len(corrected),
        **metrics,
        "dfa_alpha1": alpha1,
        **_hrvt1(rr, gaps),
        "quality": quality.payload(),
        "quality_words": quality.words(),
    }


HRVT1_MAX_S = 6 * 3600.0
"""Recordings longer than a long ride give no HRVT1, s. alpha1 falls as exercise goes on
(Rogers et al. 2021, "durability" of alpha1 over prolonged exercise), so a day's recording
with several efforts mixes fatigue into the line; and the estimate replays the live stream
(~45 us a beat), which would turn a 24-hour `analyze` from a tenth of a second into
seconds. docs/thresholds.md says so."""


def _hrvt1(rr: NDArray[np.float64], gaps: NDArray[np.bool_] | None) -> dict[str, object]:
    """The recording's HRVT1 as a live ride would give it (docs/thresholds.md)."""
    if float(np.sum(rr)) / 1000.0 > HRVT1_MAX_S:
        return {"hrvt1_bpm": None, "hrvt1_reason": "longer_than_a_ride"}
    estimate = estimate_hrvt1(recording_windows(rr, gaps))
    return {"hrvt1_bpm": estimate.hrvt1_bpm, "hrvt1_reason": estimate.reason}


def rolling(
    rr_ms: NDArray[np.float64], window_s: float, gaps: NDArray[np.bool_] | None = None
) -> Iterator[Row]:
    """Replay a recording through the live pipeline; yield one row every 5 s.

    The beats are timed by the running sum of the raw RR intervals, so each row is what
    the daemon would have shown at that moment of the recording. A beat with a gap before
    it starts a new series, as a reconnect does live (the missing beats take no time here).
    """
    stream = HrvStream(window_s=window_s)
    ends = np.cumsum(rr_ms) / 1000.0
    breaks = np.zeros(len(rr_ms), dtype=bool) if gaps is None else gaps
    next_row = ROLLING_EVERY_S
    for rr, t, gap in zip(rr_ms.tolist(), ends.tolist(), breaks.tolist(), strict=True):
        while t >= next_row:
            yield _row(stream, next_row)
            next_row += ROLLING_EVERY_S
        if gap:
            stream.gap()
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
        "quality": snap.quality.level.value,
        "quality_reasons": ",".join(r.value for r in snap.quality.reasons),
    }
