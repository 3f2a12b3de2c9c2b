"""The live HRV pipeline of one strap: correction, rolling metrics and DFA alpha1.

Raw RR intervals go in one at a time; :meth:`HrvStream.snapshot` gives the latest
:class:`HrvSnapshot`. Time is passed in by the caller, never read here. Plain Python
throughout: the daemon that runs it never loads numpy (BENCHMARKS.md, "Footprint on the Pi").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from hrvd.hrv.artifacts_live import CorrectedBeat, StreamingCorrector
from hrvd.hrv.dfa import ALPHA1_MAX_ARTIFACT_RATE, window_alpha1
from hrvd.hrv.quality import TrailingIrregular, Verdict, judge
from hrvd.hrv.rolling import RollingTimeDomain

DEFAULT_WINDOW_S = 60.0
"""Window of the live time-domain metrics, s: 60 s is the shortest window in which
lnRMSSD agrees with a 5-minute recording (Esco & Flatt 2014, J Sports Sci Med 13:535)."""
DFA_WINDOW_S = 120.0
"""Window of the live alpha1, s (Rogers et al. 2021; FatMaxxer's default)."""
DFA_EVERY_S = 5.0
"""How often alpha1 is recomputed while streaming, s."""
SPREAD_PARTS = 4
"""The alpha1 window's heart-rate spread is that of its quarters (30 s of a 2-min window)."""
GAP_MIN_S = 0.5
"""Missing time before a beat from which it counts as a gap in the verdict, s: less is
the jitter of the receive clock."""


@dataclass(frozen=True, slots=True)
class HrvSnapshot:
    """The HRV of one strap at one moment.

    Attributes:
        t_s: time of the newest beat in it, s.
        n_beats: beats in the time-domain window.
        mean_rr_ms, mean_hr_bpm, rmssd_ms, ln_rmssd, sdnn_ms, pnn50: as in
            :class:`hrvd.hrv.metrics.TimeDomain`, over the time-domain window.
        artifact_rate: share of corrected beats in the time-domain window, 0-1.
        dfa_alpha1: alpha1 over the last DFA window, or None before it has enough beats.
        dfa_artifact_rate: share of corrected beats in that DFA window, 0-1.
        dfa_reliable: alpha1 exists, its window is below the 3 % artifact limit, and the
            verdict trusts it (no rejection, few irregular beats).
        quality: the verdict on the time-domain window (and alpha1's window).
        dfa_t_s: when alpha1 was last computed, s (None before).
        dfa_hr_bpm: mean heart rate of alpha1's window, bpm.
        dfa_hr_spread_bpm: highest minus lowest mean heart rate of the window's quarters,
            bpm: how far heart rate moved inside it.
    """

    t_s: float
    n_beats: int
    mean_rr_ms: float | None
    mean_hr_bpm: float | None
    rmssd_ms: float | None
    ln_rmssd: float | None
    sdnn_ms: float | None
    pnn50: float | None
    artifact_rate: float | None
    dfa_alpha1: float | None
    dfa_artifact_rate: float | None
    dfa_reliable: bool
    quality: Verdict
    dfa_t_s: float | None = None
    dfa_hr_bpm: float | None = None
    dfa_hr_spread_bpm: float | None = None


class HrvStream:
    """Correct each beat, keep rolling metrics, recompute alpha1 every few seconds.

    Args:
        window_s: time-domain window, s.
        dfa_window_s: alpha1 window, s.
        dfa_every_s: alpha1 recompute period, s.
    """

    def __init__(
        self,
        window_s: float = DEFAULT_WINDOW_S,
        dfa_window_s: float = DFA_WINDOW_S,
        dfa_every_s: float = DFA_EVERY_S,
    ) -> None:
        self.corrector = StreamingCorrector()
        self.rolling = RollingTimeDomain(window_s)
        self._dfa_window_s = dfa_window_s
        self._dfa_every_s = dfa_every_s
        self._dfa_beats: deque[tuple[float, float, bool]] = deque()  # (t_s, rr_ms, corrected)
        self._dfa_at: float | None = None
        self._alpha1: float | None = None
        self._alpha1_artifacts: float | None = None
        self._alpha1_hr: tuple[float, float] | None = None  # mean HR, spread, bpm
        self._t_s = 0.0
        self._irregular = TrailingIrregular(window_s)
        self._start_s: float | None = None
        self._last_end_s: float | None = None
        self._gaps: deque[tuple[float, float]] = deque()  # (t_s, missing s before it)

    def push(self, rr_ms: float, t_s: float) -> list[CorrectedBeat]:
        """Take one raw RR interval (ms) that ended at ``t_s`` (s); return released beats."""
        if self._start_s is None:
            self._start_s = t_s - rr_ms / 1000.0
        self._irregular.push(rr_ms, t_s)
        released = self.corrector.push(rr_ms, t_s)
        self._take(released)
        return released

    def gap(self) -> list[CorrectedBeat]:
        """The series broke (reconnect): no window will bridge this point."""
        released = self.corrector.gap()
        self._irregular.gap()
        self._take(released)
        return released

    def flush(self) -> list[CorrectedBeat]:
        """End of a recording: release every pending beat."""
        released = self.corrector.flush()
        self._take(released)
        return released

    def _take(self, beats: list[CorrectedBeat]) -> None:
        for b in beats:
            self.rolling.push(b.rr_ms, b.t_s, gap_before=b.gap_before, corrected=b.corrected)
            if b.gap_before:
                # alpha1 integrates the series: it cannot span a break.
                self._dfa_beats.clear()
            self._dfa_beats.append((b.t_s, b.rr_ms, b.corrected))
            self._note_gap(b)
            while self._dfa_beats[0][0] <= b.t_s - self._dfa_window_s:
                self._dfa_beats.popleft()
            self._t_s = b.t_s
            if self._dfa_at is None or b.t_s - self._dfa_at >= self._dfa_every_s:
                self._recompute_alpha1(b.t_s)

    def _note_gap(self, b: CorrectedBeat) -> None:
        begin_s = b.t_s - b.rr_ms / 1000.0
        if self._last_end_s is not None and begin_s - self._last_end_s >= GAP_MIN_S:
            self._gaps.append((b.t_s, begin_s - self._last_end_s))
        self._last_end_s = b.t_s
        while self._gaps and self._gaps[0][0] <= b.t_s - self.rolling.window_s:
            self._gaps.popleft()

    def _recompute_alpha1(self, now_s: float) -> None:
        self._dfa_at = now_s
        rr = [rr for _, rr, _ in self._dfa_beats]
        n = len(rr)
        self._alpha1 = window_alpha1(rr)
        self._alpha1_artifacts = sum(c for _, _, c in self._dfa_beats) / n if n else None
        self._alpha1_hr = None
        if n >= SPREAD_PARTS:
            parts = [60000.0 / (sum(p) / len(p)) for p in _split(rr, SPREAD_PARTS)]
            self._alpha1_hr = (60000.0 / (sum(rr) / n), max(parts) - min(parts))

    def snapshot(self) -> HrvSnapshot:
        """The latest metrics."""
        td = self.rolling.metrics()
        reliable = (
            self._alpha1 is not None
            and self._alpha1_artifacts is not None
            and self._alpha1_artifacts <= ALPHA1_MAX_ARTIFACT_RATE
        )
        covered_s = 0.0 if self._start_s is None else self._t_s - self._start_s
        quality = judge(
            duration_s=min(covered_s, self.rolling.window_s),
            artifact_rate=self.rolling.artifact_rate or 0.0,
            ectopic_burden=self._irregular.rate,
            longest_gap_s=max((g for _, g in self._gaps), default=0.0),
            alpha1=self._alpha1,
            alpha1_artifact_rate=self._alpha1_artifacts,
        )
        return HrvSnapshot(
            t_s=self._t_s,
            n_beats=td.n_beats,
            mean_rr_ms=td.mean_rr_ms,
            mean_hr_bpm=td.mean_hr_bpm,
            rmssd_ms=td.rmssd_ms,
            ln_rmssd=td.ln_rmssd,
            sdnn_ms=td.sdnn_ms,
            pnn50=td.pnn50,
            artifact_rate=self.rolling.artifact_rate,
            dfa_alpha1=self._alpha1,
            dfa_artifact_rate=self._alpha1_artifacts,
            dfa_reliable=reliable and quality.alpha1_trusted,
            quality=quality,
            dfa_t_s=self._dfa_at,
            dfa_hr_bpm=None if self._alpha1_hr is None else self._alpha1_hr[0],
            dfa_hr_spread_bpm=None if self._alpha1_hr is None else self._alpha1_hr[1],
        )


def _split(values: list[float], parts: int) -> list[list[float]]:
    """``values`` in ``parts`` runs as even as can be, the longer ones first."""
    size, longer = divmod(len(values), parts)
    runs, start = [], 0
    for i in range(parts):
        end = start + size + (i < longer)
        runs.append(values[start:end])
        start = end
    return runs
