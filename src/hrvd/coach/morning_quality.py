"""The morning measurement's quality gate (issue 7): the window's numbers and the verdict. Pure.

:func:`analyse` corrects the beats (:func:`~hrvd.hrv.artifacts.correct_batch`) and
measures those inside the measurement window, never across a gap; :func:`verdict` decides
at the end of the window whether the result is valid, and if not, why;
:func:`invalid_advice` says what to tell the athlete then. numpy and the batch corrector
load in :func:`analyse`, when a measurement ends: a daemon waiting for the morning does not
hold them (BENCHMARKS.md, "Footprint on the Pi").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hrvd.coach.morning_values import InvalidReason
from hrvd.hrv.metrics import time_domain
from hrvd.hrv.quality import MAX_ECTOPIC_BURDEN, irregular

if TYPE_CHECKING:
    from hrvd.coach.morning_values import MorningSettings


@dataclass(frozen=True, slots=True)
class Window:
    """Every beat so far, which of them lie inside the measurement window, and coverage."""

    rr_ms: tuple[float, ...]
    gap_before: tuple[bool, ...]
    inside: tuple[bool, ...]
    coverage: float
    longest_gap_s: float


@dataclass(frozen=True, slots=True)
class Metrics:
    """The numbers of the beats inside the window (see :func:`analyse`)."""

    beats: int
    ln_rmssd: float | None
    rmssd_ms: float | None
    resting_hr_bpm: float | None
    artifact_rate: float
    ectopic_burden: float


def analyse(window: Window) -> Metrics:
    """Correct every beat, then measure those inside the window, never across a gap.

    The detector sees the settling beats too: an artifact early in the window is judged
    with neighbours on both sides and thresholds from a full window of beats, as in a
    longer recording. The artifact rate is that of the beats inside.
    """
    import numpy as np  # noqa: PLC0415 - loaded when a measurement ends, not before

    from hrvd.hrv.artifacts import correct_batch  # noqa: PLC0415 - the same: numpy

    rr_ms = np.array(window.rr_ms, dtype=np.float64)
    inside = np.array(window.inside, dtype=bool)
    correction = correct_batch(rr_ms)
    beats = int(np.count_nonzero(inside))
    flagged = int(np.count_nonzero(correction.classes[inside]))
    irregular_inside = int(np.count_nonzero(irregular(rr_ms)[inside]))
    # A corrected beat starts a segment when a gap lies between its input beat and the
    # input beat of the corrected beat before it (an extra beat merged over a gap keeps it).
    gaps_so_far = np.cumsum(np.array(window.gap_before, dtype=bool))
    at_origin = gaps_so_far[correction.origin]
    gap_before = np.diff(at_origin, prepend=-1) > 0
    keep = inside[correction.origin]
    td = time_domain(correction.rr_ms[keep], gap_before[keep])
    return Metrics(
        beats=beats,
        ln_rmssd=td.ln_rmssd,
        rmssd_ms=td.rmssd_ms if td.ln_rmssd is not None else None,
        resting_hr_bpm=td.mean_hr_bpm,
        artifact_rate=flagged / beats if beats else 0.0,
        ectopic_burden=irregular_inside / beats if beats else 0.0,
    )


def verdict(
    window: Window, metrics: Metrics, reference_bpm: float | None, settings: MorningSettings
) -> tuple[InvalidReason | None, str | None]:
    """Why the measurement that ended with ``window`` is invalid, and the numbers of it.

    The first check that fails decides: a gap, too few beats, movement (above
    ``reference_bpm`` + the margin, when a reference is known), coverage, artifacts,
    ectopic burden.

    Returns:
        The reason and its detail in English, or ``(None, None)`` when it is valid.
    """
    s = settings
    reason: InvalidReason | None = None
    detail: str | None = None
    hr = metrics.resting_hr_bpm
    ref = reference_bpm
    if window.longest_gap_s >= s.max_gap_s:
        reason, detail = InvalidReason.GAP, gap_detail(window.longest_gap_s, s.max_gap_s)
    elif metrics.ln_rmssd is None or hr is None:
        reason, detail = InvalidReason.TOO_FEW_BEATS, f"{metrics.beats} beats"
    elif ref is not None and hr > ref + s.movement_margin_bpm:
        reason = InvalidReason.MOVEMENT
        detail = movement_detail(hr, ref, s.movement_margin_bpm)
    elif window.coverage < s.min_coverage:
        reason = InvalidReason.COVERAGE
        detail = (
            f"beats cover {window.coverage:.1%} of the measurement, less than {s.min_coverage:.0%}"
        )
    elif metrics.artifact_rate > s.max_artifact_rate:
        reason = InvalidReason.ARTIFACTS
        detail = f"artifact rate {metrics.artifact_rate:.1%} is above {s.max_artifact_rate:.0%}"
    elif metrics.ectopic_burden > MAX_ECTOPIC_BURDEN:
        # The adaptive thresholds widen in a run of ectopic beats and flag few of them:
        # the quality verdict's fixed count catches what the artifact rate misses.
        reason = InvalidReason.ECTOPIC_BURDEN
        detail = (
            f"{metrics.ectopic_burden:.1%} irregular beats (ectopic or misdetected), "
            f"above {MAX_ECTOPIC_BURDEN:.0%}"
        )
    return reason, detail


def movement_detail(hr_bpm: float, reference_bpm: float, margin_bpm: float) -> str:
    """The movement reason with its numbers, in English (for logs)."""
    return (
        f"heart rate {hr_bpm:.0f} bpm is above {reference_bpm:.0f} + {margin_bpm:.0f} bpm: movement"
    )


def gap_detail(gap_s: float, max_gap_s: float) -> str:
    """The gap reason with its numbers, in English (for logs)."""
    return f"no beats for {gap_s:.1f} s (a break must stay under {max_gap_s:g} s)"


_ADVICE: dict[str, dict[InvalidReason, str]] = {
    "en": {
        InvalidReason.GAP: "The strap lost contact for too long. Moisten the electrodes, "
        "check the fit, and repeat.",
        InvalidReason.MOVEMENT: "Your heart rate rose as if you moved. Lie still and repeat.",
        InvalidReason.COVERAGE: "Too many beats were missed. Moisten the electrodes, check "
        "the fit, and repeat.",
        InvalidReason.ARTIFACTS: "Too many irregular beats. Moisten the electrodes, keep still, "
        "breathe calmly, and repeat.",
        InvalidReason.ECTOPIC_BURDEN: "Many beats came early or late (ectopic beats or a "
        "strap misreading them): HRV cannot be read from them. Moisten the electrodes and "
        "repeat; if it happens every morning, ask a doctor.",
        InvalidReason.TOO_FEW_BEATS: "Too few beats arrived. Check the strap and repeat.",
        InvalidReason.ABORTED: "The measurement was stopped. Repeat when you are ready.",
    },
    "nl": {
        InvalidReason.GAP: "De borstband verloor te lang contact. Maak de elektroden vochtig, "
        "controleer de pasvorm en herhaal.",
        InvalidReason.MOVEMENT: "Je hartslag steeg alsof je bewoog. Lig stil en herhaal.",
        InvalidReason.COVERAGE: "Te veel slagen gemist. Maak de elektroden vochtig, "
        "controleer de pasvorm en herhaal.",
        InvalidReason.ARTIFACTS: "Te veel onregelmatige slagen. Maak de elektroden vochtig, "
        "lig stil, adem rustig en herhaal.",
        InvalidReason.ECTOPIC_BURDEN: "Veel slagen kwamen te vroeg of te laat (extra "
        "slagen of een borstband die ze verkeerd leest): daaruit valt geen HRV te lezen. "
        "Maak de elektroden vochtig en herhaal; gebeurt het elke ochtend, vraag een arts.",
        InvalidReason.TOO_FEW_BEATS: "Te weinig slagen ontvangen. Controleer de borstband "
        "en herhaal.",
        InvalidReason.ABORTED: "De meting werd gestopt. Herhaal wanneer je klaar bent.",
    },
}


def invalid_advice(reason: InvalidReason, language: str = "en") -> str:
    """What to tell the athlete about an invalid measurement, in ``en`` or ``nl``.

    Raises:
        ValueError: an unknown language.
    """
    if language not in _ADVICE:
        msg = f"{language!r} is not one of {', '.join(_ADVICE)}"
        raise ValueError(msg)
    return _ADVICE[language][reason]
