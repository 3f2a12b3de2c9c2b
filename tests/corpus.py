"""The validation corpus of the artifact corrector (issue 16): recordings, roles, split.

Each real recording has a role: ``clean`` (sinus rhythm the corrector should leave alone),
``resting`` (resting ECG without beat labels that holds a few abnormal intervals: reported
beside neurokit2, not scored), ``ectopic`` (real premature beats; without beat labels
these are reported, not scored), or ``base`` (a clean series artifacts are injected into,
with seeds). Every entry sits in the ``tune`` or the ``held_out`` split: thresholds may be
looked at against ``tune``; the numbers reported as final in BENCHMARKS.md are those of
``held_out``. Data sources and conversions: data/README.md.

MIT-BIH Arrhythmia record 100 (cardiologist beat labels, data/mitdb-100) is held out too:
its labelled premature beats score the ectopic goal, its runs of normal beats the clean one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hrvd.hrv.rules import PERCENT_FILTER
from hrvd.hrv.synthetic import Artifact, Injected
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
    # pyhrv's samples were "clean" until 2026-12-04: they hold single intervals 20-45 %
    # longer than a neighbour, which the classic 20 % criterion and neurokit2's Kubios
    # method call abnormal too (data/README.md); nothing labels them either way.
    Entry("SampleNNISeriesShort", "resting", "tune", "ecg"),
    Entry("SampleNNISeriesLong", "resting", "held_out", "ecg"),
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
MITDB_100 = DATA / "mitdb-100" / "100_beats.csv"
MITDB_FS_HZ = 360.0
MITDB_STRETCH_BEATS = 100
"""Shortest run of normal beats of record 100 that counts as a clean recording."""


def load(name: str) -> NDArray[np.float64]:
    """A corpus recording, ms."""
    if name == "systole_ppg":
        return np.loadtxt(PPG, dtype=np.float64)
    return load_rr(name)


def off_a_neighbour(rr: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Beats more than 20 % (PERCENT_FILTER) from the beat before or after them.

    The classic criterion of an abnormal interval, asked of either neighbour: what the
    resting recordings' corrected beats are checked against.
    """
    jump = np.abs(np.diff(rr))
    off = np.zeros(len(rr), dtype=bool)
    off[1:] |= jump > PERCENT_FILTER * rr[:-1]
    off[:-1] |= jump > PERCENT_FILTER * rr[1:]
    return off


def base_series(name: str, beats: int) -> NDArray[np.float64]:
    """A clean series of at least ``beats`` beats: the recording repeated end to end.

    A short recording (the PPG one has 245 beats) is repeated so that the corrector's
    91-beat windows see whole windows; the seam is one ordinary beat-to-beat change.
    """
    rr = load(name)
    return np.tile(rr, -(-beats // len(rr)))


def mitdb_100() -> tuple[NDArray[np.float64], tuple[Artifact, ...]]:
    """RR (ms) between consecutive beat labels of MIT-BIH record 100, and its ectopic beats.

    Conversion (data/README.md): RR_i = (sample_(i+1) - sample_i) / 360 Hz; an A or V label
    ends interval i and starts interval i+1, the pair a premature beat disturbs.
    """
    table = np.loadtxt(MITDB_100, delimiter=",", skiprows=1, dtype=str)
    samples = table[:, 0].astype(np.float64)
    rr = np.diff(samples) / MITDB_FS_HZ * 1000.0
    labels = table[1:, 1]
    truth = tuple(
        Artifact(Injected.ECTOPIC, (i, i + 1)) for i in np.flatnonzero(labels != "N").tolist()
    )
    return rr, truth


def normal_stretches(
    rr: NDArray[np.float64], truth: tuple[Artifact, ...], least: int = MITDB_STRETCH_BEATS
) -> list[NDArray[np.float64]]:
    """The runs of only normal intervals of at least ``least`` beats."""
    bad = np.zeros(len(rr), dtype=bool)
    for a in truth:
        bad[[i for i in a.indices if i < len(rr)]] = True
    edges = np.flatnonzero(np.diff(np.concatenate(([1], bad.astype(int), [1]))))
    runs = [(edges[k], edges[k + 1]) for k in range(0, len(edges) - 1, 2)]
    return [rr[a:b] for a, b in runs if b - a >= least]
