"""Synthetic RR series and artifacts injected at known positions.

Used to test the artifact corrector against a known truth, to benchmark it, and to feed
the demo's virtual strap. Pure: randomness comes from the generator passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray


class Injected(StrEnum):
    """The kinds of artifact :func:`inject` can add."""

    MISSED = "missed"  # a beat the strap did not see: two intervals become one
    EXTRA = "extra"  # a spurious beat: one interval split in two
    ECTOPIC = "ectopic"  # a premature beat: a short interval, then a compensatory long one
    LONG = "long"  # one interval too long
    SHORT = "short"  # one interval too short


@dataclass(frozen=True, slots=True)
class Artifact:
    """One injected artifact and the indices of the output beats it touches."""

    kind: Injected
    indices: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class InjectedSeries:
    """A series with artifacts; ``clean_ms`` is the series before injection."""

    rr_ms: NDArray[np.float64]
    clean_ms: NDArray[np.float64]
    artifacts: tuple[Artifact, ...]


def sinus_rr(
    n: int,
    rng: np.random.Generator,
    *,
    mean_ms: float = 900.0,
    rsa_ms: float = 35.0,
    noise_ms: float = 12.0,
) -> NDArray[np.float64]:
    """A plausible sinus-rhythm RR series, ms.

    Respiratory sinus arrhythmia (a breath every 4-5 beats), a slow 1/f-like wander and
    white noise; no artifacts.
    """
    k = np.arange(n)
    breath = rsa_ms * np.sin(2 * np.pi * k / rng.uniform(4.0, 5.5) + rng.uniform(0, 2 * np.pi))
    wander = np.cumsum(rng.normal(0.0, 3.0, n))
    width = max(1, min(101, n))
    wander -= np.convolve(wander, np.ones(width) / width, mode="same")  # keep it bounded
    return np.asarray(mean_ms + breath + wander + rng.normal(0.0, noise_ms, n), dtype=np.float64)


def inject(
    clean_ms: NDArray[np.float64],
    rate: float,
    rng: np.random.Generator,
    kinds: tuple[Injected, ...] = tuple(Injected),
    min_spacing: int = 6,
) -> InjectedSeries:
    """Add artifacts to about ``rate`` of the beats, at least ``min_spacing`` beats apart.

    Args:
        clean_ms: a clean RR series, ms.
        rate: share of beats to disturb, 0-1.
        rng: the random generator.
        kinds: which kinds to draw from, uniformly.
        min_spacing: fewest beats between two artifacts.
    """
    n = len(clean_ms)
    count = round(rate * n)
    slots = np.arange(2, n - 3, min_spacing)
    chosen = np.sort(rng.choice(slots, size=min(count, len(slots)), replace=False))
    out: list[float] = []
    artifacts: list[Artifact] = []
    i = 0
    for pos in chosen.tolist():
        out.extend(clean_ms[i:pos].tolist())
        i = pos
        kind = kinds[int(rng.integers(len(kinds)))]
        rr, nxt = float(clean_ms[pos]), float(clean_ms[pos + 1])
        at = len(out)
        if kind is Injected.MISSED:
            out.append(rr + nxt)
            artifacts.append(Artifact(kind, (at,)))
            i = pos + 2
            continue
        if kind is Injected.EXTRA:
            f = rng.uniform(0.3, 0.7)
            out += [f * rr, (1 - f) * rr]
            artifacts.append(Artifact(kind, (at, at + 1)))
        elif kind is Injected.ECTOPIC:
            shift = rng.uniform(0.2, 0.35) * rr
            out += [rr - shift, nxt + shift]
            artifacts.append(Artifact(kind, (at, at + 1)))
            i = pos + 1
        else:
            factor = rng.uniform(1.3, 1.6) if kind is Injected.LONG else rng.uniform(0.5, 0.7)
            out.append(rr * factor)
            artifacts.append(Artifact(kind, (at,)))
        i += 1
    out.extend(clean_ms[i:].tolist())
    return InjectedSeries(np.asarray(out), np.asarray(clean_ms, dtype=np.float64), tuple(artifacts))


def detection_scores(
    flagged: NDArray[np.intp], artifacts: tuple[Artifact, ...]
) -> tuple[float, float]:
    """Precision and recall of flagged beat indices against injected artifacts.

    A flagged index is right when it lies in the beats an artifact touches; an artifact
    is found when any of its beats is flagged.
    """
    touched = {i for a in artifacts for i in a.indices}
    flagged_set = set(flagged.tolist())
    right = len(flagged_set & touched)
    precision = right / len(flagged_set) if flagged_set else 1.0
    found = sum(1 for a in artifacts if flagged_set.intersection(a.indices))
    recall = found / len(artifacts) if artifacts else 1.0
    return precision, recall


def ride_rr(
    profile: list[tuple[float, float, float, float]], rng: np.random.Generator
) -> NDArray[np.float64]:
    """RR intervals (ms) of a ride whose heart rate follows ``profile``.

    Args:
        profile: segments of (duration s, heart rate at the start, heart rate at the end,
            correlation), joined end to end; heart rate (bpm) moves linearly within a
            segment. Correlation (0-1) is the memory of the beat-to-beat variation: about
            0.9 at easy intensity gives the DFA alpha1 near 1 of an easy ride, about 0.2
            the alpha1 near 0.6 of a ride above the first threshold.
        rng: the random generator.
    """
    ends = np.cumsum([segment[0] for segment in profile])
    out: list[float] = []
    t, wander = 0.0, 0.0
    while t < ends[-1]:
        k = int(np.searchsorted(ends, t, side="right"))
        duration, hr_a, hr_b, memory = profile[k]
        begin = float(ends[k]) - duration
        hr = hr_a + (hr_b - hr_a) * (t - begin) / duration
        wander = memory * wander + rng.normal(0.0, 6.0)
        rr = 60000.0 / hr + wander
        out.append(float(rr))
        t += rr / 1000.0
    return np.asarray(out)


def scaled_noise(n: int, alpha: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """``n`` samples of unit-variance noise whose DFA scaling exponent is about ``alpha``.

    Spectral synthesis: white noise shaped to a power spectrum 1/f^beta with
    beta = 2 alpha - 1 (alpha 0.5 white, 1.0 pink, 1.5 a random walk; Peng et al. 1995).
    """
    beta = 2.0 * alpha - 1.0
    freqs = np.fft.rfftfreq(n)
    gain = np.zeros_like(freqs)
    gain[1:] = freqs[1:] ** (-beta / 2.0)
    spectrum = gain * (rng.normal(size=len(freqs)) + 1j * rng.normal(size=len(freqs)))
    noise = np.fft.irfft(spectrum, n)
    return np.asarray((noise - noise.mean()) / (noise.std() or 1.0), dtype=np.float64)


HR_KINETICS_S = 30.0
"""Time constant of heart rate settling on a new step of a step test, s (heart-rate
kinetics after a moderate change of work rate are of the order of 30-60 s)."""


def exercise_alpha1(hr_bpm: float, threshold_bpm: float, slope_per_bpm: float) -> float:
    """The scaling exponent of a step at ``hr_bpm``.

    For an athlete whose alpha1 reaches 0.75
    at ``threshold_bpm``: falling linearly with heart rate, held within 0.5-1.5.
    """
    return float(np.clip(0.75 - slope_per_bpm * (hr_bpm - threshold_bpm), 0.5, 1.5))


def steps_rr(  # noqa: PLR0913 - the generator's knobs, keyword-only
    steps: list[tuple[float, float]],
    threshold_bpm: float,
    rng: np.random.Generator,
    *,
    slope_per_bpm: float = 0.015,
    rr_sd_ms: float = 8.0,
    white: float = 0.3,
) -> NDArray[np.float64]:
    """RR intervals (ms) of a ride made of steps of constant heart rate.

    Args:
        steps: (duration s, heart rate bpm) of each step, in order.
        threshold_bpm: heart rate at which the beat-to-beat noise's scaling exponent is 0.75.
        rng: the random generator.
        slope_per_bpm: how fast the exponent falls with heart rate (0.015: from about 1.2
            30 bpm below the threshold to 0.5 about 17 bpm above it).
        rr_sd_ms: the noise's standard deviation at 100 bpm, ms; it shrinks in proportion
            to the RR interval (variability falls as heart rate rises).
        white: share of uncorrelated beat-to-beat noise added to the shaped noise (its
            standard deviation relative to the shaped noise's): real RR carries some, and
            without it the smooth shaped noise looks to an artifact detector like outliers.
    """
    out: list[NDArray[np.float64]] = []
    hr_before = steps[0][1]
    for duration_s, hr in steps:
        n = max(2, round(duration_s * hr / 60.0))
        # Heart rate settles on a new step exponentially (time constant HR_KINETICS_S).
        t_s = np.arange(n) * 60.0 / hr
        hr_now = hr + (hr_before - hr) * np.exp(-t_s / HR_KINETICS_S)
        mean_ms = 60000.0 / hr_now
        sd = rr_sd_ms * mean_ms / 600.0
        alpha = exercise_alpha1(hr, threshold_bpm, slope_per_bpm)
        shaped = scaled_noise(n, alpha, rng) + white * rng.normal(size=n)
        out.append(mean_ms + sd * shaped / np.hypot(1.0, white))
        hr_before = hr
    return np.concatenate(out)


def step_test(
    threshold_bpm: float, *, step_s: float = 150.0, step_bpm: float = 5.0
) -> list[tuple[float, float]]:
    """A trainer step test around a threshold, (duration s, bpm) a step.

    5 min easy, then steps of ``step_bpm`` from
    30 bpm below the threshold to 20 above, each ``step_s`` long (durations s, bpm).
    """
    start = threshold_bpm - 30.0
    steps = [(300.0, start)]
    hr = start
    while hr < threshold_bpm + 20.0:
        hr += step_bpm
        steps.append((step_s, hr))
    return steps


def orthostatic_rr(  # noqa: PLR0913 - the shape of one test
    rng: np.random.Generator,
    *,
    lying_s: float,
    standing_s: float,
    supine_hr_bpm: float = 55.0,
    rise_bpm: float = 30.0,
    peak_after_s: float = 17.0,
    recovery: float = 0.5,
    stands: bool = True,
) -> NDArray[np.float64]:
    """RR intervals (ms) of a test that lies ``lying_s`` and then stands (or stays lying).

    Lying: the heart at ``supine_hr_bpm`` with a strong breathing swing (RSA). Standing:
    the heart rate climbs by ``rise_bpm`` to its peak ``peak_after_s`` after the stand,
    then falls back by ``recovery`` of the rise (time constant 15 s) and stays there, and
    the beat-to-beat swing shrinks to a third (vagal withdrawal: lower RMSSD standing).
    """
    out: list[float] = []
    t, k = 0.0, 0
    period = rng.uniform(4.0, 5.5)
    phase = rng.uniform(0, 2 * np.pi)
    while t < lying_s + standing_s:
        after = t - lying_s
        if not stands or after < 0:
            hr, swing = supine_hr_bpm, 1.0
        elif after < peak_after_s:
            hr = supine_hr_bpm + rise_bpm * 0.5 * (1 - np.cos(np.pi * after / peak_after_s))
            swing = 1.0 - 0.67 * after / peak_after_s
        else:
            hold = 1.0 - recovery * (1 - np.exp(-(after - peak_after_s) / 15.0))
            hr, swing = supine_hr_bpm + rise_bpm * hold, 0.33
        base = 60000.0 / hr
        rr = base + swing * (
            0.045 * base * np.sin(2 * np.pi * k / period + phase) + rng.normal(0.0, 12.0)
        )
        out.append(float(rr))
        t += rr / 1000.0
        k += 1
    return np.asarray(out)
