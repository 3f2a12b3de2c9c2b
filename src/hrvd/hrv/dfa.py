"""Short-term detrended fluctuation analysis: DFA alpha1 (Peng et al. 1995).

alpha1 is the slope of log F(n) against log n for box sizes n = 4..16 beats, where F(n)
is the root mean square of the residuals of a least-squares line fitted to each
non-overlapping box of the integrated, mean-removed RR series. About 1.0-1.5 at rest,
0.75 near the first ventilatory threshold (Rogers et al. 2021), 0.5 near the second.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
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
def _box_axis(n: int) -> tuple[NDArray[np.float64], float]:
    """Centred positions 0..n-1 of one box and their sum of squares."""
    x = np.arange(n, dtype=np.float64) - (n - 1) / 2
    return x, float(x @ x)


@cache
def _log_scales(scales: tuple[int, ...]) -> tuple[NDArray[np.float64], float]:
    lx = np.log(np.asarray(scales, dtype=np.float64))
    lx -= lx.mean()
    return lx, float(lx @ lx)


def fluctuations(
    rr_ms: NDArray[np.float64], scales: tuple[int, ...] = DFA_SCALES
) -> NDArray[np.float64]:
    """F(n) for each box size n, in ms (see the module docstring)."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    profile = np.cumsum(rr - rr.mean())
    out = np.empty(len(scales))
    for i, n in enumerate(scales):
        boxes = len(profile) // n
        seg = profile[: boxes * n].reshape(boxes, n)
        x, sxx = _box_axis(n)
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
    if not np.all(f > 0):
        return None  # a perfectly regular series has no scaling to speak of
    lx, sxx = _log_scales(DFA_SCALES)
    return float(lx @ np.log(f) / sxx)
