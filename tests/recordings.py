"""The vendored real recordings (see data/README.md), for tests and the benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

DATA = Path(__file__).parent / "data"
RECORDINGS = {
    "SampleNNISeriesShort": DATA / "pyhrv" / "SampleNNISeriesShort.txt",
    "SampleNNISeriesLong": DATA / "pyhrv" / "SampleNNISeriesLong.txt",
    "noisy_rri": DATA / "rhenanbartels-hrv" / "noisy_rri.txt",
    "exercise_rri": DATA / "rhenanbartels-hrv" / "exercise_rri.txt",
    "polar_h10": DATA / "kbroman-detectPVC" / "polar_h10.txt",
}
RESTING_RECORDINGS = ("SampleNNISeriesShort", "SampleNNISeriesLong")
"""Resting ECG without beat labels (pyhrv's samples): mostly sinus rhythm with strong
breathing arrhythmia, and a few single intervals 20-45 % longer than a neighbour."""


def load_rr(name: str) -> NDArray[np.float64]:
    """One vendored recording, ms."""
    return np.loadtxt(RECORDINGS[name], dtype=np.float64)
