"""The reference HRVT1 of a synthetic ride: neurokit2's alpha1, regressed on heart rate.

Independent of hrvd's pipeline: the clean series (no artifacts, no correction), 2-minute
windows every 20 s, neurokit2's ``fractal_dfa`` (box sizes 4-16, no overlap), and a plain
least-squares line of alpha1 on the window's mean heart rate over the windows with alpha1
in 0.5-1.0; the heart rate where the line reaches 0.75.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from neurokit_ref import _nk

if TYPE_CHECKING:
    from numpy.typing import NDArray

WINDOW_S = 120.0
EVERY_S = 20.0


def reference_windows(rr_ms: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """(mean heart rate bpm, neurokit2 alpha1) of each 2-minute window, every 20 s."""
    nk = _nk()
    ends = np.cumsum(rr_ms) / 1000.0
    hrs, alphas = [], []
    for end in np.arange(WINDOW_S, ends[-1], EVERY_S):
        w = rr_ms[(ends > end - WINDOW_S) & (ends <= end)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alpha1, _ = nk.fractal_dfa(w, scale=np.arange(4, 17), overlap=False)
        hrs.append(60000.0 / float(w.mean()))
        alphas.append(float(alpha1))
    return np.asarray(hrs), np.asarray(alphas)


def reference_hrvt1(rr_ms: NDArray[np.float64]) -> float:
    """The heart rate (bpm) where neurokit2's alpha1 of the clean series crosses 0.75."""
    hr, alpha1 = reference_windows(rr_ms)
    band = (alpha1 >= 0.5) & (alpha1 <= 1.0)
    slope, intercept = np.polyfit(hr[band], alpha1[band], 1)
    return float((0.75 - intercept) / slope)


def quantise(rr_ms: NDArray[np.float64]) -> NDArray[np.float64]:
    """RR as a strap sends it: whole 1/1024 s."""
    return np.round(rr_ms * 1.024) / 1.024
