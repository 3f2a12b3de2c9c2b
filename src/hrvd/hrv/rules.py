"""The artifact corrector's rules: thresholds and beat classes that both forms share.

The batch form (:mod:`hrvd.hrv.artifacts`, numpy) and the streaming form
(:mod:`hrvd.hrv.artifacts_live`, plain Python) judge beats by these values; the method and
its sources are in :mod:`hrvd.hrv.artifacts`. They live apart from the batch code so that
the live daemon, which needs only the streaming form, never loads numpy (12.7 MB of its
RSS, BENCHMARKS.md "Footprint on the Pi").
"""

from __future__ import annotations

from enum import IntEnum

ALPHA = 5.2
"""Threshold multiplier on the quartile deviation (Lipponen & Tarvainen 2019)."""
C1 = 0.13
"""Slope of the ectopic-beat boundary in subspace S11/S12 (ibid.)."""
C2 = 0.17
"""Offset of the ectopic-beat boundary in subspace S11/S12 (ibid.)."""
THRESHOLD_WINDOW_BEATS = 91
"""Beats over which the quartile deviation is taken (ibid.)."""
MEDIAN_WINDOW_BEATS = 11
"""Beats over which the local median RR is taken (ibid.)."""
MEDIAN_DEVIATION_LIMIT = 3.0
"""A beat more than 3 Th2 from the local median is long or short (ibid., Figure 1).

The paper asks this only of a beat whose change from the one before exceeds Th1. This
project asks it of every beat: an artifact can be reached in two steps, each below Th1
(an extra beat split 558 + 402 ms among 860-ms beats, 860 -> 558 -> 402 ms, on a series
whose own beats change by up to 23 %), and a recording's first beat has no change at all
(the first beat of the exercise recording in tests/data is 1589 ms among 700-ms beats).
The limit is the paper's. Measured in BENCHMARKS.md ("A beat far from the median"): in the
batch form it changes no flag of the recordings in tests/data but that first beat; the live
form also flags one beat of 4684 in pyhrv's long resting sample (734 ms in a breath that
falls 953 -> 719 ms and rises again), where its trailing spread is narrower."""
SHAPE_MEDIAN_GUARD = 1.5
"""A beat judged long or short by its shape alone (a jump, then a jump back within two
beats: subspace S22) must also lie more than 1.5 Th2 from the local median (or differ by
more than :data:`PERCENT_FILTER` from both neighbours). This
project's addition to the paper: at the crest of a deep, fast breath a real sinus beat
has that shape, but it rises and falls with its neighbours, so it stays near their
median, while a misdetected beat does not. Measured in BENCHMARKS.md: on resting
recordings (pyhrv's samples) it halves the RMSSD that correction removes, and on injected
artifacts it raises precision at equal recall."""
ECTOPIC_MIN_SHIFT = 0.15
"""An interval pair is judged ectopic (a displaced R peak) only when putting the peak back
moves it by more than 15 % of the pair's mean interval: ``|RR_i - RR_(i-1)| > 0.15
(RR_i + RR_(i-1))``, so the shorter interval lies more than 15 % below the pair's mean.
This project's addition to the paper. The paper's shape test divides each change by
``Th1 = 5.2 QD(|dRR|)``, which has no floor: on a calm recording (QD 11 ms, Th1 58 ms)
an ordinary breath, 783 -> 744 -> 831 ms, has the shape of an ectopic pair, and so has
plain beat-to-beat noise at 160 bpm (1.2 % of the beats of the synthetic HRVT1 step
tests). Physiology tells the two apart by size, not shape: a premature beat comes early by
a good part of a cycle, breathing moves a beat by a few per cent. The 15 % is the level
of Kubios' own threshold-based correction at its "strong" setting (0.15 s from the local
average at 60 bpm, scaled with the heart rate; Kubios HRV user's guide, levels as also
listed by the hrvester package), not a value fitted here. Checked on the corpus
(BENCHMARKS.md, "Validation corpus"): the 34 cardiologist-labelled premature beats of
MIT-BIH record 100 lie 16-36 % below their pair's mean, the breathing changes judged
ectopic on its clean stretches and on pyhrv's samples 0-12 %. A pair that
fails this test is still judged as a long or short beat on its own."""
ECTOPIC_TOTAL_LIMIT = 1.0
"""An interval pair is judged ectopic only when the mean of the two lies within 1 Th2 of
the local median: a displaced R peak moves time from one interval to the other and keeps
their total, so putting the peak back in the middle (the correction) gives two normal
intervals. This project's addition to the paper, with the paper's own tolerance: its
missed and extra beats are told apart by the same test of a total (``|RR/2 - median| <
Th2``, ``|RR_i + RR_(i+1) - median| < Th2``). Without it, a single long beat on a rising
series (953 -> 1373 -> 945 ms on a drifting PPG series) has the shape of an ectopic pair
with the beat before it, and the correction spreads 210 ms of false time over both
(RMSSD +5 % at 5 % injected artifacts, BENCHMARKS.md, "A displaced peak keeps the
total"). A pair that fails the test is judged beat by beat as long or short, so it is still
found: a premature atrial beat whose pause is not compensatory (the pair shorter than two
cycles) is then corrected towards the median, not to a mean that is itself short."""
PERCENT_FILTER = 0.20
"""A beat of the long or short shape that is more than 20 % longer than both of its
neighbours, or more than 20 % shorter than both, counts as long or short even inside
:data:`SHAPE_MEDIAN_GUARD`. 20 % is the classic percentage criterion of Holter HRV
analysis: an interval that differs by more than 20 % from the one before is no
normal-to-normal interval (Malik M., Farrell T., Cripps T., Camm A.J. (1989), Eur. Heart J.
10:1060-1074; limits of 10-50 % compared on 140 edited Holter recordings by Karlsson M. et
al. (2012), BioMed. Eng. OnLine 11:2, where the young, with the strongest breathing
arrhythmia, needed the higher ones). Here it is asked on both sides, in the same
direction, and only of a beat that already has the paper's long/short shape (a jump beyond
Th1 and back), so a breath that rises over several beats never meets it: the beat after
its crest is not 20 % below it. Why: on a drifting PPG series the local-median spread is
wide, and single long beats 30-60 % longer than both neighbours stayed inside the 1.5 Th2
guard (RMSSD +6 % with 3-5 % artifacts, BENCHMARKS.md, "Validation corpus")."""
MISSED_MIN_RATIO = 1.5
"""A long beat is split as a missed beat only when it is more than 1.5 times the local
median, halfway between one cycle and two. The paper's test alone, ``|RR/2 - median| <
Th2``, holds for a beat 1.4 times the median wherever Th2 is wide (a PPG series, deep
breathing), and splitting such a beat makes two false short ones. This project's
addition."""
MIN_THRESHOLD_MS = 1.0
"""Floor of Th1 and Th2, ms. Straps report RR in 1/1024 s, so smaller spreads are
quantisation noise; without a floor a perfectly regular series would divide by zero.
This project's choice."""
MAX_PASSES = 3
"""Detection-correction passes of the batch form at most (see :func:`correct_batch`)."""
ITERATE_ABOVE_RATE = 0.05
"""The batch form iterates only when its first pass flags more than this share of the
beats. Measured on injected artifacts (BENCHMARKS.md): extra passes lift recall only
from about 7 % artifacts up, and below that they flag normal beats next to corrected ones.
This project's choice."""
LOOKAHEAD_BEATS = MEDIAN_WINDOW_BEATS // 2
"""Beats the streaming form waits for before it decides a beat: five, so that its local
median is the batch form's, the 11 beats centred on the beat judged. The shape tests need
only two (S12 needs dRR(i+1), S22 dRR(i+2)), and with two the median held the 9 beats
before the beat and 2 after: on a series that drifts (a PPG series rises 700 -> 1100 ms in
six beats with each breath) it sat three beats behind, long beats were split as missed
ones against it and corrected to it, and the live RMSSD ended 10.8 % high with 5 %
injected artifacts (BENCHMARKS.md, "A displaced peak keeps the total"). The price is three
beats more before a corrected beat leaves the corrector, about 2-3 s; the live windows it
feeds are two minutes long."""
STREAM_WARMUP_BEATS = THRESHOLD_WINDOW_BEATS // 2 + 1
"""Beats the streaming form collects after it starts before it decides the first one: as
many as the batch form's centred window holds at a recording's first beat (46). With the
15 it had, four artifacts among the first beats made Q3 of |dRR| one of their own changes,
and the thresholds (1135 ms) hid them all: RMSSD +47 % on injected artifacts at 5 %
(BENCHMARKS.md, "validation corpus")."""


class BeatClass(IntEnum):
    """What the detector judged one RR interval to be."""

    NORMAL = 0
    ECTOPIC = 1
    MISSED = 2
    EXTRA = 3
    LONG = 4
    SHORT = 5
