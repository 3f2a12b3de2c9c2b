"""Artifact detection and correction after Lipponen & Tarvainen (2019).

Lipponen J.A., Tarvainen M.P. (2019), "A robust algorithm for heart rate variability time
series artefact correction using novel beat classification", J. Med. Eng. Technol.
43(3):173-181, doi:10.1080/03091902.2019.1640306 (the "Kubios automatic correction").

Every RR interval gets a :class:`BeatClass`. The decision uses two normalised series:

* ``dRR_i = RR_i - RR_(i-1)``, divided by ``Th1 = 5.2 * QD(|dRR|)``;
* ``mRR_i = RR_i - median(RR, 11 beats)`` (negative values doubled), divided by
  ``Th2 = 5.2 * QD(|mRR|)``;

where QD is the quartile deviation ``(Q3 - Q1) / 2`` over 91 beats. The subspaces S12 and
S22 of the paper's Figure 1 separate an ectopic beat (a short-long or long-short pair)
from a single long or short beat, and a missed beat (one interval twice as long) from an
extra one (two intervals that add up to one).

This project adds to the paper's rule where its spread-relative thresholds judge by shape
alone. Two additions keep ordinary sinus variability from being corrected: a beat of the
long or short shape must stand out from the local median (``SHAPE_MEDIAN_GUARD``) or
differ from both neighbours by more than 20 % (``PERCENT_FILTER``, the classic criterion
of an abnormal interval), and an ectopic pair must be displaced by more than 15 % of its
mean interval (``ECTOPIC_MIN_SHIFT``, the level of Kubios' "strong" threshold) and keep
the total of its two intervals within Th2 of two cycles (``ECTOPIC_TOTAL_LIMIT``, the
paper's own test of a total for missed and extra beats). A beat more than 3 Th2 from the
local median is judged even when its change from the beat before is small
(``MEDIAN_DEVIATION_LIMIT``). A long
beat is a missed one only above 1.5 times the local median (``MISSED_MIN_RATIO``). These
values, with their sources, are in :mod:`hrvd.hrv.rules`.

Two forms share these rules:

* :func:`classify` / :func:`correct_batch`: centred windows, for a whole recording;
* :class:`~hrvd.hrv.artifacts_live.StreamingCorrector` (its own module, without numpy):
  for the live daemon. Each beat is decided once ``LOOKAHEAD_BEATS`` (5) more beats have
  arrived, so its local median is the same centred 11 beats; the thresholds' 91 beats
  trail. It is released corrected one beat later (an ectopic beat also moves the interval
  before it).

Correction: an ectopic beat means a misplaced R peak, so the peak goes back to the middle
of its neighbours (the two intervals it shares become their mean: total time is kept); a
long or short beat is replaced by interpolation from its normal neighbours; a missed beat
is split into equal parts; an extra beat is merged with the interval after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from hrvd.hrv.rules import (
    ALPHA,
    C1,
    C2,
    ECTOPIC_MIN_SHIFT,
    ECTOPIC_TOTAL_LIMIT,
    ITERATE_ABOVE_RATE,
    MAX_PASSES,
    MEDIAN_DEVIATION_LIMIT,
    MEDIAN_WINDOW_BEATS,
    MIN_THRESHOLD_MS,
    MISSED_MIN_RATIO,
    PERCENT_FILTER,
    SHAPE_MEDIAN_GUARD,
    THRESHOLD_WINDOW_BEATS,
    BeatClass,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Correction:
    """The result of :func:`correct_batch`.

    Attributes:
        rr_ms: the corrected RR series, ms (its length changes with missed and extra beats).
        classes: one :class:`BeatClass` value per input beat (``int8``).
        origin: for each corrected beat, the index of the input beat it came from.
        corrected: for each corrected beat, whether the correction changed it.
    """

    rr_ms: NDArray[np.float64]
    classes: NDArray[np.int8]
    origin: NDArray[np.intp]
    corrected: NDArray[np.bool_]

    @property
    def artifact_indices(self) -> NDArray[np.intp]:
        """0-based indices of the input beats judged artifacts."""
        return np.flatnonzero(self.classes != BeatClass.NORMAL)

    @property
    def artifact_rate(self) -> float:
        """Share of input beats judged artifacts, 0-1."""
        return float(np.count_nonzero(self.classes)) / max(len(self.classes), 1)


# --- batch form ---------------------------------------------------------------------------


WINDOW_CHUNK_ROWS = 16_384
"""Windows sorted at a time by the batch form: memory stays a few MB whatever the length
of the recording (all windows at once took 91 x 8 bytes a beat)."""
MAX_KEY_SCALE_BITS = 10
"""Finest quantum tried for integer sort keys: 2**-10 ms. Files hold whole ms, straps
1/1024 s, which is 125/128 ms."""


def _centred_quantiles(
    x: NDArray[np.float64], window: int, qs: tuple[float, ...]
) -> NDArray[np.float64]:
    """Quantiles of ``x`` over a centred window that shrinks at both ends.

    Returns an array of shape ``(len(qs), len(x))``; interpolation is linear, as numpy's.
    """
    n = len(x)
    half = window // 2
    out = np.empty((len(qs), n))
    lo, hi = (half, n - half) if n >= window else (n, n)
    if hi > lo:
        keys, step, scale = _sort_keys(x)
        windows = sliding_window_view(keys, window)
        for start in range(0, len(windows), WINDOW_CHUNK_ROWS):
            # Sorting each short row is several times faster in numpy than np.partition or
            # np.percentile along the axis, and gives every order statistic at once.
            ordered = np.sort(windows[start : start + WINDOW_CHUNK_ROWS], axis=1)
            if keys is not x:  # back to the very floats: integers below 2**53, times a
                ordered = ordered.astype(np.float64) * step / scale  # power of two
            end = lo + start + len(ordered)
            for row, q in enumerate(qs):
                rank = q * (window - 1)
                below = int(rank)
                value = ordered[:, below]
                if rank > below:
                    value = value + (rank - below) * (ordered[:, below + 1] - value)
                out[row, lo + start : end] = value
    for i in (*range(min(lo, n)), *range(max(hi, lo), n)):
        segment = x[max(0, i - half) : i + half + 1]
        out[:, i] = np.quantile(segment, qs)
    return out


def _sort_keys(x: NDArray[np.float64]) -> tuple[NDArray[np.generic], float, float]:
    """``x`` as the narrowest integers that hold it exactly: ``(keys, step, scale)``.

    ``x == keys * step / scale``, with ``scale`` a power of two and ``step`` an integer.
    RR values are quantised: whole ms in files; from a strap 1/1024 s, which is 125/128
    ms, so 125 steps of 1/128 ms. numpy sorts 16-bit integers about three times faster
    than floats, and every conversion here is exact, so the order statistics are the very
    same floats. Returns ``(x, 1.0, 1.0)`` when no scale up to 2**MAX_KEY_SCALE_BITS makes
    ``x`` integral or the integers do not fit 32 bits.
    """
    if not len(x) or not np.all(np.isfinite(x)):
        return x, 1.0, 1.0
    for bits in range(MAX_KEY_SCALE_BITS + 1):
        scale = float(2**bits)
        scaled = x * scale
        if np.array_equal(scaled, np.rint(scaled)):
            if float(np.max(np.abs(scaled))) > np.iinfo(np.int32).max:
                return x, 1.0, 1.0
            ints = scaled.astype(np.int64)
            step = int(np.gcd.reduce(ints)) or 1
            ints //= step
            top = int(np.max(np.abs(ints)))
            dtype = np.int16 if top <= np.iinfo(np.int16).max else np.int32
            return ints.astype(dtype), float(step), scale
    return x, 1.0, 1.0


def _thresholds(abs_x: NDArray[np.float64]) -> NDArray[np.float64]:
    quartiles = _centred_quantiles(abs_x, THRESHOLD_WINDOW_BEATS, (0.25, 0.75))
    threshold: NDArray[np.float64] = ALPHA * (quartiles[1] - quartiles[0]) / 2
    return np.maximum(threshold, MIN_THRESHOLD_MS)


def _centred_median(rr: NDArray[np.float64]) -> NDArray[np.float64]:
    median: NDArray[np.float64] = _centred_quantiles(rr, MEDIAN_WINDOW_BEATS, (0.5,))[0]
    return median


def classify(rr_ms: NDArray[np.float64]) -> NDArray[np.int8]:
    """Classify every beat of a whole recording (centred windows).

    Args:
        rr_ms: RR intervals, ms, all positive.

    Returns:
        One :class:`BeatClass` value per beat (``int8``).
    """
    return _classify(np.asarray(rr_ms, dtype=np.float64))[0]


def _classify(rr: NDArray[np.float64]) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    """Classes of every beat and the local median RR they were judged against."""
    n = len(rr)
    classes = np.zeros(n, dtype=np.int8)
    if n < 2:
        return classes, rr.copy()
    d_raw = np.diff(rr, prepend=rr[0])  # first beat: no predecessor, no change
    d = d_raw / _thresholds(np.abs(d_raw))
    med = _centred_median(rr)
    m = rr - med
    m[m < 0] *= 2
    th2 = _thresholds(np.abs(m))
    m /= th2
    rr_next = np.append(rr[1:], np.nan)
    _decide(classes=classes, d=d, m=m, rr=rr, rr_next=rr_next, med=med, th2=th2)
    return classes, med


def _decide(  # noqa: PLR0913 - the paper's rule takes these seven series
    *,
    classes: NDArray[np.int8],
    d: NDArray[np.float64],
    m: NDArray[np.float64],
    rr: NDArray[np.float64],
    rr_next: NDArray[np.float64],
    med: NDArray[np.float64],
    th2: NDArray[np.float64],
) -> None:
    """Apply Figure 1 of the paper to every beat at once; fills ``classes`` in place.

    ``d`` and ``m`` are the normalised dRR and mRR; a neighbour outside the series counts
    as no change (0), so the ends are judged on what is known.
    """
    dp = np.concatenate(([0.0], d, [0.0, 0.0]))
    d_prev, d_next1, d_next2 = dp[:-3], dp[2:-1], dp[3:]
    s12 = np.where(
        d > 0, np.maximum(d_prev, d_next1), np.where(d < 0, np.minimum(d_prev, d_next1), 0.0)
    )
    s22 = np.where(d >= 0, np.minimum(d_next1, d_next2), np.maximum(d_next1, d_next2))
    gate = np.abs(d) > 1
    ectopic = gate & (((d > 1) & (s12 < -C1 * d - C2)) | ((d < -1) & (s12 > -C1 * d + C2)))
    rr_prev = np.concatenate((rr[:1], rr[:-1]))
    ectopic &= np.abs(rr - rr_prev) > ECTOPIC_MIN_SHIFT * (rr + rr_prev)
    ectopic &= np.abs((rr + rr_prev) / 2 - med) < ECTOPIC_TOTAL_LIMIT * th2
    ectopic &= ~_second_of_pair(ectopic)
    own = gate & ~ectopic
    # The beat after a candidate is evaluated too when the next change is the larger one.
    follow = np.zeros_like(own)
    follow[1:] = own[:-1] & (np.abs(d_next1[:-1]) < np.abs(d_next2[:-1]))
    with np.errstate(invalid="ignore"):  # the last beat has no next one (NaN): no outlier
        up, down = rr - rr_prev, rr - rr_next  # above both neighbours, or below both
        outlier = (
            (np.abs(up) > PERCENT_FILTER * rr_prev)
            & (np.abs(down) > PERCENT_FILTER * rr_next)
            & (up * down > 0)
        )
    stands_out = (np.abs(m) > SHAPE_MEDIAN_GUARD) | outlier
    long_ = (d > 1) & (s22 < -1) & stands_out
    short = (d < -1) & (s22 > 1) & stands_out
    far = np.abs(m) > MEDIAN_DEVIATION_LIMIT  # judged without a large change, see the rule
    hit = (own | follow | far) & ~ectopic & (long_ | short | far)
    with np.errstate(invalid="ignore"):
        missed = hit & long_ & (np.abs(rr / 2 - med) < th2) & (rr > MISSED_MIN_RATIO * med)
        extra = hit & short & (np.abs(rr + rr_next - med) < th2) & ~missed
    classes[hit] = np.where(rr[hit] > med[hit], BeatClass.LONG, BeatClass.SHORT)
    classes[missed] = BeatClass.MISSED
    classes[extra] = BeatClass.EXTRA
    classes[ectopic] = BeatClass.ECTOPIC


def _second_of_pair(flags: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Every second flag of each run of consecutive flags (the 2nd, 4th, ...).

    One displaced R peak disturbs two intervals; once the first is judged ectopic, the
    pair is explained, and the interval after it must not count as a second ectopic.
    """
    idx = np.arange(len(flags))
    run_start = np.maximum.accumulate(np.where(~flags, idx + 1, 0))
    result: NDArray[np.bool_] = flags & ((idx - run_start) % 2 == 1)
    return result


def correct_batch(rr_ms: NDArray[np.float64], max_passes: int = MAX_PASSES) -> Correction:
    """Detect and correct the artifacts of a whole recording.

    When the first pass flags more than :data:`~hrvd.hrv.rules.ITERATE_ABOVE_RATE` of the beats,
    detection runs again on the corrected series, as Kubios and NeuroKit2 do, while each
    pass finds fewer artifacts than the one before (at most ``max_passes``): many artifacts
    widen the thresholds of the first pass and hide each other until the worst are gone.
    Below that rate a second pass only judges corrected, normal variability.

    Args:
        rr_ms: RR intervals, ms, all positive.
        max_passes: detection-correction passes at most.

    Returns:
        The corrected series with the class of every input beat (the class of the pass
        that first flagged it).
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    n = len(rr)
    classes = np.zeros(n, dtype=np.int8)
    current, origin, corrected = rr, np.arange(n), np.zeros(n, dtype=bool)
    last_count = n + 1
    for pass_index in range(max_passes):
        found, med = _classify(current)
        flagged = np.flatnonzero(found)
        if not 0 < len(flagged) < last_count:
            break
        last_count = len(flagged)
        inputs = origin[flagged]
        fresh = classes[inputs] == BeatClass.NORMAL
        classes[inputs[fresh]] = found[flagged[fresh]]
        step = _apply(current, found, med)
        current = step.rr_ms
        origin = origin[step.origin]
        corrected = corrected[step.origin] | step.corrected
        if pass_index == 0 and last_count <= ITERATE_ABOVE_RATE * n:
            break
    return Correction(rr_ms=current, classes=classes, origin=origin, corrected=corrected)


def _apply(
    rr: NDArray[np.float64], classes: NDArray[np.int8], med: NDArray[np.float64]
) -> Correction:
    n = len(rr)
    out = rr.copy()
    changed = classes != BeatClass.NORMAL
    # Extra beats first (as the paper): the interval after one is swallowed whole, so no
    # other correction may touch it.
    keep = np.ones(n, dtype=bool)
    for j in np.flatnonzero(classes == BeatClass.EXTRA).tolist():
        if j + 1 < n and keep[j]:
            out[j] = rr[j] + rr[j + 1]
            keep[j + 1] = False
            changed[j + 1] = True
    normal = np.flatnonzero((classes == BeatClass.NORMAL) & keep)
    misplaced = (classes == BeatClass.LONG) | (classes == BeatClass.SHORT)
    ectopic = (classes == BeatClass.ECTOPIC) & keep
    # An ectopic beat's R peak sits between interval j-1 and j: put it back in the middle.
    pairs = np.flatnonzero(ectopic & np.roll(keep & (classes != BeatClass.EXTRA), 1))
    pairs = pairs[pairs > 0]
    lone = ectopic.copy()
    lone[pairs] = False
    bad = np.flatnonzero((misplaced | lone) & keep)
    if len(normal) and len(bad):
        out[bad] = np.interp(bad, normal, rr[normal])
    mean_pair = (rr[pairs - 1] + rr[pairs]) / 2
    out[pairs - 1] = mean_pair
    out[pairs] = mean_pair
    changed[pairs - 1] = True
    parts = np.ones(n, dtype=np.intp)
    missed = np.flatnonzero((classes == BeatClass.MISSED) & keep)
    parts[missed] = np.maximum(2, np.rint(rr[missed] / med[missed])).astype(np.intp)
    out /= parts
    origin = np.repeat(np.arange(n), parts * keep)
    return Correction(
        rr_ms=out[origin],
        classes=classes,
        origin=origin,
        corrected=changed[origin],
    )
