"""The streaming form of the artifact corrector, for the live daemon (:mod:`hrvd.hrv.artifacts`).

The rules are the batch form's. Each beat is decided once
:data:`~hrvd.hrv.rules.LOOKAHEAD_BEATS` more beats have arrived, so its local median is the
batch form's centred one; the thresholds come from the trailing 91 beats. It is released corrected
one beat later (an ectopic beat also moves the interval before it). The thresholds' windows
are kept sorted, so a beat costs O(log n), not a sort.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass

from hrvd.hrv.rules import (
    ALPHA,
    C1,
    C2,
    ECTOPIC_MIN_SHIFT,
    ECTOPIC_TOTAL_LIMIT,
    ITERATE_ABOVE_RATE,
    LOOKAHEAD_BEATS,
    MEDIAN_DEVIATION_LIMIT,
    MEDIAN_WINDOW_BEATS,
    MIN_THRESHOLD_MS,
    MISSED_MIN_RATIO,
    PERCENT_FILTER,
    SHAPE_MEDIAN_GUARD,
    STREAM_WARMUP_BEATS,
    THRESHOLD_WINDOW_BEATS,
    BeatClass,
)


class _SortedWindow:
    """The last ``size`` values, kept sorted: O(log n) search and a short memmove per add."""

    __slots__ = ("_order", "_size", "_sorted")

    def __init__(self, size: int) -> None:
        self._size = size
        self._order: deque[float] = deque()
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._order)

    def add(self, value: float) -> None:
        if len(self._order) == self._size:
            old = self._order.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        self._order.append(value)
        bisect.insort(self._sorted, value)

    def replace_recent(self, back: int, value: float) -> None:
        """Replace the value added ``back`` adds ago (0: the newest), if still held."""
        if back >= len(self._order):
            return
        old = self._order[-1 - back]
        self._order[-1 - back] = value
        del self._sorted[bisect.bisect_left(self._sorted, old)]
        bisect.insort(self._sorted, value)

    def quantile(self, q: float) -> float:
        """Quantile with numpy's linear interpolation."""
        s = self._sorted
        pos = q * (len(s) - 1)
        below = int(pos)
        frac = pos - below
        if frac == 0.0:
            return s[below]
        return s[below] + frac * (s[below + 1] - s[below])

    def threshold(self) -> float:
        return max(ALPHA * (self.quantile(0.75) - self.quantile(0.25)) / 2, MIN_THRESHOLD_MS)


@dataclass(frozen=True, slots=True)
class CorrectedBeat:
    """One beat leaving the streaming corrector.

    Attributes:
        rr_ms: the corrected RR interval, ms.
        t_s: when this interval ended, s, on the caller's clock.
        index: index of the input beat it came from (counted from the corrector's start).
        corrected: whether the correction changed it.
        gap_before: the series was broken (reconnect) just before this beat, so no
            successive difference may be taken across it.
    """

    rr_ms: float
    t_s: float
    index: int
    corrected: bool
    gap_before: bool = False


@dataclass(slots=True)
class _Pending:
    rr: float  # raw RR, ms
    t: float  # end time, s
    index: int
    d: float  # raw dRR, ms (0 for the first beat after a start or a gap)
    gap_before: bool
    out: float  # corrected value, ms (the raw one until a correction touches it)
    med: float | None = None  # local median RR, ms, once LOOKAHEAD_BEATS beats followed
    follow: bool = False  # evaluate as a long/short candidate (set by the beat before)
    decided: bool = False
    merged_away: bool = False  # an extra beat before this one swallowed it
    parts: int = 1
    changed: bool = False


class StreamingCorrector:
    """Causal Lipponen-Tarvainen correction, one beat at a time.

    Thresholds come from the trailing 91 beats, so nothing waits for their centred
    window. A beat is classified once :data:`LOOKAHEAD_BEATS` beats have followed it,
    against the median of the 11 beats centred on it, and released one beat after that.
    Work per beat is O(log 91), independent of the recording's length.

    Args:
        keep_classes: record every beat's class in :attr:`classes` (for tests and
            benchmarks). The daemon's streams run for months and keep none: the list would
            grow by a beat's worth forever.
    """

    def __init__(self, *, keep_classes: bool = False) -> None:
        self._abs_d = _SortedWindow(THRESHOLD_WINDOW_BEATS)
        self._abs_m = _SortedWindow(THRESHOLD_WINDOW_BEATS)
        self._rr = _SortedWindow(MEDIAN_WINDOW_BEATS)
        self._pending: deque[_Pending] = deque()
        self._count = 0
        self._last_rr: float | None = None
        self._gap_next = False
        self._last_cls = BeatClass.NORMAL
        # Whether each of the last 91 beats decided was flagged (see _respread).
        self._flags: deque[bool] = deque(maxlen=THRESHOLD_WINDOW_BEATS)
        self._flag_count = 0  # sum(self._flags), kept as they come and go
        self._keep_classes = keep_classes
        self.classes: list[BeatClass] = []
        """With ``keep_classes``, the class of every input beat decided so far, in order."""

    @property
    def beats_in(self) -> int:
        """Input beats received so far."""
        return self._count

    def push(self, rr_ms: float, t_s: float) -> list[CorrectedBeat]:
        """Take one RR interval; return the beats that became final.

        Args:
            rr_ms: the RR interval, ms (> 0).
            t_s: when it ended, s, on the caller's clock.
        """
        d = 0.0 if self._last_rr is None else rr_ms - self._last_rr
        self._last_rr = rr_ms
        self._abs_d.add(abs(d))
        self._rr.add(rr_ms)
        if self._count < STREAM_WARMUP_BEATS:
            # The warm-up's mRR fill the spread before the first decision; after it, each
            # beat's mRR joins when the beat is judged (see _decide).
            self._abs_m.add(abs(_median_deviation(rr_ms, self._rr.quantile(0.5))))
        self._pending.append(
            _Pending(rr_ms, t_s, self._count, d, gap_before=self._gap_next, out=rr_ms)
        )
        self._gap_next = False
        self._count += 1
        if len(self._pending) > LOOKAHEAD_BEATS:
            # The median of the 11 beats centred on this one (it ends LOOKAHEAD_BEATS
            # later), the window the beat would have if it were decided now. Kept with the
            # beat, because a beat is decided later than that in the warm-up (the first 41
            # at once, when the 46th arrives) and at a gap or flush: judged against the
            # median at that moment, the first beats of a recording met that of beats 35-45.
            self._pending[-1 - LOOKAHEAD_BEATS].med = self._rr.quantile(0.5)
        if self._count < STREAM_WARMUP_BEATS:
            return []
        return self._advance(final=False)

    def gap(self) -> list[CorrectedBeat]:
        """Mark a break in the series (a reconnect): decide and release what is pending.

        Thresholds are kept (the heart did not change), but no dRR is taken across the gap.
        """
        released = self._advance(final=True)
        self._last_rr = None
        self._gap_next = True
        return released

    def flush(self) -> list[CorrectedBeat]:
        """Decide and release every pending beat (end of a recording)."""
        return self._advance(final=True)

    def _advance(self, *, final: bool) -> list[CorrectedBeat]:
        released: list[CorrectedBeat] = []
        pending = self._pending
        for k, beat in enumerate(pending):
            if beat.decided:
                continue
            if not final and len(pending) - 1 - k < LOOKAHEAD_BEATS:
                break
            self._decide(k)
        # Release every decided beat whose successor is decided too (an ectopic successor
        # would still move it), or all of them at the end.
        while pending and self._releasable(final=final):
            released.extend(self._release(pending.popleft()))
        return released

    def _releasable(self, *, final: bool) -> bool:
        pending = self._pending
        if not pending[0].decided:
            return False
        return final or (len(pending) > 1 and pending[1].decided)

    def _d_norm(self, k: int, th1: float) -> float:
        """Normalised dRR of pending beat ``k``; 0 outside what is known or across a gap."""
        pending = self._pending
        if not 0 <= k < len(pending):
            return 0.0
        return pending[k].d / th1

    def _decide(self, k: int) -> None:
        pending = self._pending
        beat = pending[k]
        beat.decided = True
        th1 = self._abs_d.threshold()
        # The first beat after a start or a gap carries d = 0, so nothing reaches across.
        d_prev = self._d_norm(k - 1, th1)
        d = beat.d / th1
        nxt = pending[k + 1] if k + 1 < len(pending) else None
        d1 = self._d_norm(k + 1, th1)
        d2 = self._d_norm(k + 2, th1)
        med = self._rr.quantile(0.5) if beat.med is None else beat.med
        th2 = self._abs_m.threshold()
        m = _median_deviation(beat.rr, med) / th2
        cls = _classify_one(
            d_prev=d_prev,
            d=d,
            d1=d1,
            d2=d2,
            m=m,
            beat=beat,
            med=med,
            th2=th2,
            prev_rr=pending[k - 1].rr if k > 0 and not beat.gap_before else beat.rr,
            nxt=nxt,
            after_ectopic=self._last_cls is BeatClass.ECTOPIC,
        )
        own = abs(d) > 1 and cls is not BeatClass.ECTOPIC
        if own and nxt is not None and abs(d1) < abs(d2):
            nxt.follow = True
        if beat.index >= STREAM_WARMUP_BEATS:
            # mRR against the median the beat was judged by, which holds the beats after
            # it: a beat's distance to its past alone is twice as wide on a drifting PPG
            # series (BENCHMARKS.md). An artifact adds the typical value, not its own: its
            # distance is no part of the spread of normal beats.
            normal_m = abs(m) * th2
            self._abs_m.add(normal_m if cls is BeatClass.NORMAL else self._abs_m.quantile(0.5))
        if cls is not BeatClass.NORMAL and not beat.merged_away:
            self._correct(k, cls, med)
        flagged = cls is not BeatClass.NORMAL
        if len(self._flags) == self._flags.maxlen:
            self._flag_count -= self._flags[0]  # the oldest leaves as this one joins
        self._flags.append(flagged)
        self._flag_count += flagged
        # The batch form judges again only when its first pass flags more than
        # ITERATE_ABOVE_RATE of the beats; live, the same share over the threshold window.
        busy = self._flag_count > ITERATE_ABOVE_RATE * len(self._flags)
        if busy and cls is not BeatClass.NORMAL and not beat.merged_away:
            self._respread(k, cls)
        if self._keep_classes:
            self.classes.append(cls)
        self._last_cls = cls

    def _respread(self, k: int, cls: BeatClass) -> None:
        """Put the corrected series' changes in place of a corrected beat's raw ones.

        Th1 stands for the spread of normal beat-to-beat change, and the batch form
        (like Kubios and NeuroKit2) gets it free of artifacts by judging the corrected
        series again. Live, the |dRR| of the beats a correction touched are replaced by the
        |dRR| of the corrected series around them as soon as the correction is made, so a
        burst of artifacts cannot widen Th1 until they hide each other. Unlike the window's
        median (the earlier 'forget', BENCHMARKS.md), these are what a second pass would
        see: a false flag on an irregular rhythm leaves a large change in, and the spread
        does not narrow with every flag. Done only while more than ITERATE_ABOVE_RATE of
        the last 91 beats decided were flagged, the batch form's own condition for a
        second pass: on clean and ordinary recordings the thresholds stay the paper's.
        """
        pending = self._pending
        back = len(pending) - 1 - k  # adds since beat k's |dRR| joined the window

        def value(j: int) -> float:
            return pending[j].out / pending[j].parts

        def linked(j: int) -> bool:  # beat j has a predecessor in this stretch
            return 0 < j < len(pending) and not pending[j].gap_before

        if cls is BeatClass.ECTOPIC and linked(k - 1) and linked(k):
            self._abs_d.replace_recent(back + 1, abs(value(k - 1) - value(k - 2)))
        if linked(k):
            self._abs_d.replace_recent(back, abs(value(k) - value(k - 1)))
        nxt = k + 1
        if linked(nxt) and pending[nxt].merged_away:
            # The swallowed interval has no change of its own in the corrected series.
            self._abs_d.replace_recent(back - 1, self._abs_d.quantile(0.5))
            nxt += 1
        if linked(nxt):
            self._abs_d.replace_recent(back - (nxt - k), abs(value(nxt) - value(k)))

    def _correct(self, k: int, cls: BeatClass, med: float) -> None:
        pending = self._pending
        beat = pending[k]
        beat.changed = True
        prev = pending[k - 1] if k > 0 and not beat.gap_before else None
        if cls is BeatClass.ECTOPIC and prev is not None and not prev.merged_away:
            # From the raw values: the interval before may have been judged short on
            # its own, but it is half of this displaced pair.
            mean_pair = (prev.rr + beat.rr) / 2
            prev.out = beat.out = mean_pair
            prev.parts = 1
            prev.changed = True
        elif cls is BeatClass.MISSED:
            beat.parts = max(2, round(beat.rr / med))
        elif cls is BeatClass.EXTRA and k + 1 < len(pending):
            nxt = pending[k + 1]
            beat.out = beat.rr + nxt.rr
            beat.t = nxt.t
            nxt.merged_away = True
        else:
            beat.out = med

    @staticmethod
    def _release(beat: _Pending) -> list[CorrectedBeat]:
        if beat.merged_away:
            return []
        part = beat.out / beat.parts
        return [
            CorrectedBeat(
                rr_ms=part,
                t_s=beat.t - (beat.parts - 1 - p) * part / 1000.0,
                index=beat.index,
                corrected=beat.changed,
                gap_before=beat.gap_before and p == 0,
            )
            for p in range(beat.parts)
        ]


def _median_deviation(rr: float, med: float) -> float:
    """The paper's mRR: distance to the local median, doubled below it, ms."""
    m = rr - med
    return 2 * m if m < 0 else m


def _classify_one(  # noqa: PLR0913 - the paper's rule for one beat takes these values
    *,
    d_prev: float,
    d: float,
    d1: float,
    d2: float,
    m: float,
    beat: _Pending,
    med: float,
    th2: float,
    prev_rr: float,
    nxt: _Pending | None,
    after_ectopic: bool,
) -> BeatClass:
    """Figure 1 of the paper for one beat, with normalised dRR around it and its mRR."""
    own = abs(d) > 1
    displaced = abs(beat.rr - prev_rr) > ECTOPIC_MIN_SHIFT * (beat.rr + prev_rr)
    kept_total = abs((beat.rr + prev_rr) / 2 - med) < ECTOPIC_TOTAL_LIMIT * th2
    if own and displaced and kept_total and not after_ectopic:  # after_ectopic: see _second_of_pair
        s12 = max(d_prev, d1) if d > 0 else min(d_prev, d1) if d < 0 else 0.0
        if (d > 1 and s12 < -C1 * d - C2) or (d < -1 and s12 > -C1 * d + C2):
            return BeatClass.ECTOPIC
    far = abs(m) > MEDIAN_DEVIATION_LIMIT  # judged without a large change, see the rule
    if not (own or beat.follow or far):
        return BeatClass.NORMAL
    s22 = min(d1, d2) if d >= 0 else max(d1, d2)
    up, down = beat.rr - prev_rr, (0.0 if nxt is None else beat.rr - nxt.rr)
    outlier = (  # above both neighbours, or below both (see PERCENT_FILTER)
        abs(up) > PERCENT_FILTER * prev_rr
        and nxt is not None
        and abs(down) > PERCENT_FILTER * nxt.rr
        and up * down > 0
    )
    stands_out = abs(m) > SHAPE_MEDIAN_GUARD or outlier
    long_ = d > 1 and s22 < -1 and stands_out
    short = d < -1 and s22 > 1 and stands_out
    if not (long_ or short or far):
        return BeatClass.NORMAL
    if long_ and abs(beat.rr / 2 - med) < th2 and beat.rr > MISSED_MIN_RATIO * med:
        return BeatClass.MISSED
    if short and nxt is not None and abs(beat.rr + nxt.rr - med) < th2:
        return BeatClass.EXTRA
    return BeatClass.LONG if beat.rr > med else BeatClass.SHORT
