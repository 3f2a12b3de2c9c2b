"""The validation corpus of the artifact corrector (issue 16): recordings, roles, split.

Each real recording has a role: ``clean`` (sinus rhythm the corrector should leave alone),
``ectopic`` (real premature beats; without beat labels these are reported, not
scored), or ``base`` (a clean series artifacts are injected into,
with seeds). Every entry sits in the ``tune`` or the ``held_out`` split: thresholds may be
looked at against ``tune``; the numbers reported as final in BENCHMARKS.md are those of
``held_out``. Data sources and conversions: data/README.md.

MIT-BIH Arrhythmia record 100 (cardiologist beat labels) is held out too, but ships with
no registry package: bench/bench_corpus.py reads it from a folder the user gives
(``--mitdb DIR``, PhysioNet's ``100.atr``), and nothing of it is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from recordings import DATA, load_rr

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Entry:
    """One recording of the corpus."""

    name: str
    role: str  # clean, ectopic, base
    split: str  # tune, held_out
    source: str  # ecg, strap, ppg


CORPUS = (
    Entry("SampleNNISeriesShort", "clean", "tune", "ecg"),
    Entry("SampleNNISeriesLong", "clean", "held_out", "ecg"),
    Entry("polar_h10", "ectopic", "tune", "strap"),
    Entry("systole_ppg", "base", "held_out", "ppg"),
)
SYNTHETIC_BASE_SPLIT = "tune"
"""hrvd.hrv.synthetic.sinus_rr is a base of the tune split (the existing tests use it)."""
TUNE_SEEDS = range(8)
"""Seeds of injected artifacts in the tune split."""
HELD_OUT_SEEDS = range(100, 108)
"""Seeds of injected artifacts in the held-out split."""
PPG = DATA / "systole" / "ppg_rr.txt"


def load(name: str) -> NDArray[np.float64]:
    """A corpus recording, ms."""
    if name == "systole_ppg":
        return np.loadtxt(PPG, dtype=np.float64)
    return load_rr(name)


def base_series(name: str, beats: int) -> NDArray[np.float64]:
    """A clean series of at least ``beats`` beats: the recording repeated end to end.

    A short recording (the PPG one has 245 beats) is repeated so that the corrector's
    91-beat windows see whole windows; the seam is one ordinary beat-to-beat change.
    """
    rr = load(name)
    return np.tile(rr, -(-beats // len(rr)))
