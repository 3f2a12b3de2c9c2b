"""The quality verdict of an HRV analysis: may these numbers be read at all? Pure.

Artifact correction hides small faults, but a recording full of ectopic beats, dropouts
or artifacts gives numbers that mean nothing (a strap in a run of premature beats reads an
RMSSD of 400 ms and an alpha1 of 0.1). Every analysis, live window and morning measurement
gets a :class:`Verdict`: its measures, reason codes, and one of three words:

* ``good``: nothing to say;
* ``caution``: the time-domain metrics stand, but DFA alpha1 is not to be trusted;
* ``reject``: the recording is not fit for HRV.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from hrvd.hrv.dfa import ALPHA1_MAX_ARTIFACT_RATE

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MAX_ARTIFACT_RATE = 0.05
"""Most beats the corrector may change before the recording is rejected, 0-1. Kubios'
rule of thumb (at most 5 % corrected beats), the morning gate of issue 7, and AI
Endurance's "acceptably clean" limit."""
IRREGULAR_DEVIATION = 0.30
"""A raw beat further than this share from the median of the 11 beats around it is
irregular, 0-1: beyond the beat-to-beat range of sinus rhythm. Between the limits of
Kamath & Fallen 1995 (an interval 24.5 % longer or 32.5 % shorter than the one before
is not sinus); Malik's 20 % limit (1989) also catches the deep breathing of a rested
athlete (7 % of pyhrv's short resting sample), 30 % does not (1.5 %)."""
MAX_ECTOPIC_BURDEN = MAX_ARTIFACT_RATE
"""Most irregular beats before the recording is rejected, 0-1: every irregular beat is
one the corrector would have to replace, so Kubios' 5 % applies. Adaptive thresholds
widen in a run of ectopic beats and flag few of them; this count does not adapt."""
MAX_GAP_S = 10.0
"""A stretch without beats this long or longer rejects the recording, s (issue 7)."""
MIN_DURATION_S = 60.0
"""Shortest recording whose RMSSD means something, s (Esco & Flatt 2014, J Sports Sci
Med 13:535: lnRMSSD of 60 s agrees with 5 minutes)."""
MEDIAN_BEATS = 11
"""Beats of the local median (as the corrector's, Lipponen & Tarvainen 2019)."""


class Level(StrEnum):
    """The verdict in one word."""

    GOOD = "good"
    CAUTION = "caution"
    REJECT = "reject"


class Reason(StrEnum):
    """Why a verdict is not ``good``: stable codes."""

    TOO_SHORT = "too_short"
    ARTIFACTS = "artifacts"
    ECTOPIC_BURDEN = "ectopic_burden"
    GAP = "gap"
    ALPHA1_ARTIFACTS = "alpha1_artifacts"
    ALPHA1_MISSING = "alpha1_missing"


_REJECTS = frozenset({Reason.TOO_SHORT, Reason.ARTIFACTS, Reason.ECTOPIC_BURDEN, Reason.GAP})


@dataclass(frozen=True, slots=True)
class Verdict:
    """The quality of one analysis.

    Attributes:
        level: good, caution or reject.
        reasons: reason codes, in a fixed order.
        artifact_rate: share of beats the corrector changed, 0-1.
        ectopic_burden: share of irregular raw beats (:data:`IRREGULAR_DEVIATION`), 0-1.
        longest_gap_s: the longest stretch without a beat, s.
        alpha1_trusted: DFA alpha1 exists and may be read.
    """

    level: Level
    reasons: tuple[Reason, ...]
    artifact_rate: float
    ectopic_burden: float
    longest_gap_s: float
    alpha1_trusted: bool

    def payload(self) -> dict[str, object]:
        """The verdict as JSON-ready values."""
        return {
            "verdict": self.level.value,
            "reasons": [r.value for r in self.reasons],
            "artifact_rate": round(self.artifact_rate, 4),
            "ectopic_burden": round(self.ectopic_burden, 4),
            "longest_gap_s": round(self.longest_gap_s, 1),
            "alpha1_trusted": self.alpha1_trusted,
        }

    def words(self) -> str:
        """The verdict and its reasons, in English, for a table or a log."""
        if not self.reasons:
            return self.level.value
        return f"{self.level.value}: " + "; ".join(self._say(r) for r in self.reasons)

    def _say(self, reason: Reason) -> str:
        said = {
            Reason.TOO_SHORT: f"shorter than {MIN_DURATION_S:g} s",
            Reason.ARTIFACTS: f"{self.artifact_rate:.1%} artifacts (limit {MAX_ARTIFACT_RATE:.0%})",
            Reason.ECTOPIC_BURDEN: f"{self.ectopic_burden:.1%} irregular beats, ectopic or "
            f"misdetected (limit {MAX_ECTOPIC_BURDEN:.0%})",
            Reason.GAP: f"no beats for {self.longest_gap_s:.1f} s (limit {MAX_GAP_S:g} s)",
            Reason.ALPHA1_ARTIFACTS: "DFA alpha1 not trustworthy above "
            f"{ALPHA1_MAX_ARTIFACT_RATE:.0%} artifacts",
            Reason.ALPHA1_MISSING: "too few beats for DFA alpha1",
        }
        return said[reason]


def judge(  # noqa: PLR0913 - the measures of one analysis
    *,
    duration_s: float,
    artifact_rate: float,
    ectopic_burden: float,
    longest_gap_s: float,
    alpha1: float | None,
    alpha1_artifact_rate: float | None = None,
) -> Verdict:
    """The verdict of one analysis from its measures.

    Args:
        duration_s: time the beats cover, s.
        artifact_rate: share of beats the corrector changed, 0-1.
        ectopic_burden: share of irregular raw beats, 0-1 (:func:`irregular`).
        longest_gap_s: the longest stretch without a beat, s.
        alpha1: DFA alpha1, or None when it could not be computed.
        alpha1_artifact_rate: artifact share of alpha1's own window, 0-1, when it differs
            from the analysis' (the live 2-minute window); default ``artifact_rate``.
    """
    reasons: list[Reason] = []
    if duration_s < MIN_DURATION_S:
        reasons.append(Reason.TOO_SHORT)
    if artifact_rate > MAX_ARTIFACT_RATE:
        reasons.append(Reason.ARTIFACTS)
    if ectopic_burden > MAX_ECTOPIC_BURDEN:
        reasons.append(Reason.ECTOPIC_BURDEN)
    if longest_gap_s >= MAX_GAP_S:
        reasons.append(Reason.GAP)
    a1_rate = artifact_rate if alpha1_artifact_rate is None else alpha1_artifact_rate
    # Rogers et al. 2021 (Sensors 21:821) and the 2022 review: alpha1 is biased upwards
    # above ~3 % artifacts; irregular beats are beats to correct, so they count too.
    if alpha1 is None:
        reasons.append(Reason.ALPHA1_MISSING)
    elif max(a1_rate, ectopic_burden) > ALPHA1_MAX_ARTIFACT_RATE:
        reasons.append(Reason.ALPHA1_ARTIFACTS)
    rejected = any(r in _REJECTS for r in reasons)
    level = Level.REJECT if rejected else Level.CAUTION if reasons else Level.GOOD
    return Verdict(
        level=level,
        reasons=tuple(reasons),
        artifact_rate=artifact_rate,
        ectopic_burden=ectopic_burden,
        longest_gap_s=longest_gap_s,
        alpha1_trusted=not reasons,
    )


def irregular(rr_ms: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Per raw beat: further than :data:`IRREGULAR_DEVIATION` from its local median.

    The median is taken over the :data:`MEDIAN_BEATS` beats centred on each (the ends
    repeat the first and last beat).
    """
    import numpy as np  # noqa: PLC0415 - a whole series; the live path stays without numpy
    from numpy.lib.stride_tricks import sliding_window_view  # noqa: PLC0415

    rr = np.asarray(rr_ms, dtype=np.float64)
    if len(rr) == 0:
        return np.zeros(0, dtype=bool)
    half = MEDIAN_BEATS // 2
    windows = sliding_window_view(np.pad(rr, half, mode="edge"), MEDIAN_BEATS)
    # The window is odd, so its median is its middle value: np.partition finds it three
    # times faster than np.median (11 of the 155 ms of `hrvd analyze` on a 24-hour file).
    med = np.partition(windows, half, axis=1)[:, half]
    flags: NDArray[np.bool_] = np.abs(rr - med) > IRREGULAR_DEVIATION * med
    return flags


class TrailingIrregular:
    """Irregular beats over the last ``window_s`` seconds, for the live stream.

    The median is that of the trailing :data:`MEDIAN_BEATS` raw beats (nothing waits for
    beats to come); O(MEDIAN_BEATS) work per beat.
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._recent: deque[float] = deque(maxlen=MEDIAN_BEATS)
        self._flags: deque[tuple[float, bool]] = deque()
        self._count = 0

    def push(self, rr_ms: float, t_s: float) -> None:
        """One raw beat (ms) that ended at ``t_s`` (s)."""
        self._recent.append(rr_ms)
        med = sorted(self._recent)[len(self._recent) // 2]
        flag = abs(rr_ms - med) > IRREGULAR_DEVIATION * med
        self._flags.append((t_s, flag))
        self._count += flag
        while self._flags and self._flags[0][0] <= t_s - self.window_s:
            self._count -= self._flags.popleft()[1]

    def gap(self) -> None:
        """A break in the series: the median starts afresh."""
        self._recent.clear()

    @property
    def rate(self) -> float:
        """Share of irregular beats in the window, 0-1 (0 when empty)."""
        return self._count / len(self._flags) if self._flags else 0.0
