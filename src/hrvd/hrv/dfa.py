"""Short-term detrended fluctuation analysis: DFA alpha1 (Peng et al. 1995).

alpha1 is the slope of log F(n) against log n for box sizes n = 4..16 beats, where F(n)
is the root mean square of the residuals of a least-squares line fitted to each
non-overlapping box of the integrated, mean-removed RR series. About 1.0-1.5 at rest,
0.75 near the first ventilatory threshold (Rogers et al. 2021), 0.5 near the second.
"""

from __future__ import annotations

import math
from functools import cache
from itertools import accumulate
from operator import mul
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    from numpy.typing import NDArray

DFA_SCALES = tuple(range(4, 17))
"""Box sizes of alpha1, beats (the short-term range of Peng et al. 1995)."""
DFA_MIN_BEATS = 4 * DFA_SCALES[-1]
"""Fewest beats for an alpha1: four boxes of the largest size. This project's choice;
a 2-minute window at 50 bpm still has 100."""
ALPHA1_VT1 = 0.75
"""alpha1 near the first ventilatory threshold (Rogers, Giles, Draper, Hoos, Gronwald 2021,
Front. Physiol. 11:596567)."""
ALPHA1_MAX_ARTIFACT_RATE = 0.03
"""Above 3 % artifacts alpha1 is biased upwards and not to be trusted (Rogers & Gronwald
2022 review, Front. Physiol. doi:10.3389/fphys.2022.879071)."""


@cache
def _box_axis(n: int) -> tuple[tuple[float, ...], float]:
    """Centred positions 0..n-1 of one box and their sum of squares."""
    x = tuple(i - (n - 1) / 2 for i in range(n))
    return x, math.fsum(v * v for v in x)


@cache
def _log_scales(scales: tuple[int, ...]) -> tuple[tuple[float, ...], float]:
    """The logarithm of each box size, centred, and their sum of squares."""
    logs = [math.log(n) for n in scales]
    mean = math.fsum(logs) / len(logs)
    lx = tuple(v - mean for v in logs)
    return lx, math.fsum(v * v for v in lx)


def fluctuations(
    rr_ms: NDArray[np.float64], scales: tuple[int, ...] = DFA_SCALES
) -> NDArray[np.float64]:
    """F(n) for each box size n, in ms (see the module docstring)."""
    import numpy as np  # noqa: PLC0415 - a whole series; live windows use window_alpha1

    rr = np.asarray(rr_ms, dtype=np.float64)
    profile = np.cumsum(rr - rr.mean())
    out = np.empty(len(scales))
    for i, n in enumerate(scales):
        boxes = len(profile) // n
        seg = profile[: boxes * n].reshape(boxes, n)
        positions, sxx = _box_axis(n)
        x = np.asarray(positions)
        centred = seg - seg.mean(axis=1, keepdims=True)
        slope = centred @ x / sxx
        # Residual sum of squares of each box's line: SS_y - slope² · SS_x.
        rss = np.einsum("ij,ij->", centred, centred) - sxx * float(slope @ slope)
        out[i] = np.sqrt(max(rss, 0.0) / (boxes * n))
    return out


def dfa_alpha1(rr_ms: NDArray[np.float64]) -> float | None:
    """DFA alpha1 of an RR series (ms), or None when it has fewer than DFA_MIN_BEATS beats."""
    if len(rr_ms) < DFA_MIN_BEATS:
        return None
    f = fluctuations(rr_ms)
    if not (f > 0).all():
        return None  # a perfectly regular series has no scaling to speak of
    lx, sxx = _log_scales(DFA_SCALES)
    return math.fsum(map(mul, lx, (math.log(v) for v in f.tolist()))) / sxx


def window_alpha1(rr_ms: Sequence[float]) -> float | None:
    """:func:`dfa_alpha1` of a live window, in plain Python.

    The same arithmetic box by box (a test holds the two within 1e-9). A 2-minute window
    has a few hundred beats, which plain Python handles in about a millisecond, and the
    live daemon never loads numpy (12.7 MB of its RSS; BENCHMARKS.md, "Footprint on the Pi").
    """
    if len(rr_ms) < DFA_MIN_BEATS:
        return None
    mean = math.fsum(rr_ms) / len(rr_ms)
    profile = list(accumulate(rr - mean for rr in rr_ms))
    log_f: list[float] = []
    for n in DFA_SCALES:
        x, sxx = _box_axis(n)
        boxes = len(profile) // n
        rss = 0.0
        for start in range(0, boxes * n, n):
            box = profile[start : start + n]
            box_mean = sum(box) / n
            centred = [y - box_mean for y in box]
            sxy = sum(map(mul, x, centred))
            rss += sum(map(mul, centred, centred)) - sxy * sxy / sxx
        f = math.sqrt(max(rss, 0.0) / (boxes * n))
        if f <= 0.0:
            return None  # a perfectly regular series has no scaling to speak of
        log_f.append(math.log(f))
    lx, sxx = _log_scales(DFA_SCALES)
    return math.fsum(map(mul, lx, log_f)) / sxx
