"""Time-domain metrics over a sliding time window, O(1) work per beat.

The window keeps running sums; each new beat adds its terms and each beat that falls out
of the window takes its terms back. Sums are rebuilt from the window now and then so that
floating-point drift cannot grow over a day of beats.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from hrvd.hrv.metrics import NN50_MS, TimeDomain, from_sums

RESYNC_EVERY_BEATS = 4096
"""Rebuild the running sums from the window after this many beats (amortised O(1))."""
_REF_MS = 1000.0
"""RR values are summed as deviations from this, ms, which keeps the squares small."""


@dataclass(slots=True)
class _Entry:
    t_s: float
    rr_ms: float
    diff_ms: float | None  # to the previous beat in the window; None across a gap
    corrected: bool


class RollingTimeDomain:
    """RMSSD, SDNN, pNN50, mean RR and HR over the last ``window_s`` seconds.

    Args:
        window_s: window length, s (e.g. 60, 120, 300).
    """

    def __init__(self, window_s: float) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.window_s = window_s
        self._entries: deque[_Entry] = deque()
        self._since_resync = 0
        self._zero()

    def _zero(self) -> None:
        self._sum = 0.0  # of rr - _REF_MS
        self._sum_sq = 0.0  # of (rr - _REF_MS)²
        self._n_diff = 0
        self._sum_diff_sq = 0.0
        self._n_nn50 = 0
        self._n_corrected = 0

    def _add(self, e: _Entry, sign: int) -> None:
        dev = e.rr_ms - _REF_MS
        self._sum += sign * dev
        self._sum_sq += sign * dev * dev
        self._n_corrected += sign * e.corrected
        self._add_diff(e.diff_ms, sign)

    def _add_diff(self, diff: float | None, sign: int) -> None:
        if diff is None:
            return
        self._n_diff += sign
        self._sum_diff_sq += sign * diff * diff
        self._n_nn50 += sign * (abs(diff) > NN50_MS)

    def push(
        self, rr_ms: float, t_s: float, *, gap_before: bool = False, corrected: bool = False
    ) -> None:
        """Add one (corrected) beat.

        Args:
            rr_ms: RR interval, ms.
            t_s: when it ended, s; beats must come in time order.
            gap_before: the series broke just before this beat: no difference across it.
            corrected: the artifact corrector changed this beat (counts in artifact_rate).
        """
        last = self._entries[-1] if self._entries and not gap_before else None
        entry = _Entry(t_s, rr_ms, None if last is None else rr_ms - last.rr_ms, corrected)
        self._entries.append(entry)
        self._add(entry, +1)
        self._evict(t_s)
        self._since_resync += 1
        if self._since_resync >= RESYNC_EVERY_BEATS:
            self._resync()

    def _evict(self, now_s: float) -> None:
        entries = self._entries
        evicted = False
        while entries and entries[0].t_s <= now_s - self.window_s:
            self._add(entries.popleft(), -1)
            evicted = True
            if entries:
                # The new oldest beat's difference reached back to the one just evicted.
                self._add_diff(entries[0].diff_ms, -1)
                entries[0].diff_ms = None
        if evicted and self._n_diff == 0:
            self._sum_diff_sq = 0.0  # exact, not the rounding left by the removals

    def _resync(self) -> None:
        self._zero()
        for e in self._entries:
            self._add(e, +1)
        self._since_resync = 0

    def clear(self) -> None:
        """Forget every beat (a new recording)."""
        self._entries.clear()
        self._zero()

    @property
    def artifact_rate(self) -> float | None:
        """Share of beats in the window that the corrector changed, 0-1."""
        n = len(self._entries)
        return self._n_corrected / n if n else None

    def metrics(self) -> TimeDomain:
        """The metrics of the beats now in the window."""
        n = len(self._entries)
        mean_dev = self._sum / n if n else 0.0
        return from_sums(
            n=n,
            sum_rr=self._sum + n * _REF_MS,
            sum_sq_dev=self._sum_sq - n * mean_dev * mean_dev,
            n_diff=self._n_diff,
            sum_diff_sq=self._sum_diff_sq,
            n_nn50=self._n_nn50,
        )
