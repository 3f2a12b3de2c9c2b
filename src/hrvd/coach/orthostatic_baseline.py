"""The orthostatic test against the athlete's own normal, and how it is shown. Pure.

The normal is the mean and SD of the tests that stood in the previous 60 days, once there
are six (Polar); each sign is a value beyond 1 SD of it. Method and sources:
``docs/readiness.md``, section 10.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from hrvd.coach.baseline import BASELINE_DAYS, MIN_SD_HR_BPM, MIN_SD_LN_RMSSD
from hrvd.coach.orthostatic import OrthoOutcome, OrthoRecord

if TYPE_CHECKING:
    from collections.abc import Iterable

MIN_BASELINE_TESTS = 6
"""Earlier tests (that stood) before the test is compared with its normal: Polar's manual
(M450, "Before the test"): "six baseline tests should be conducted over a period of two
weeks"."""
HIGH_SD = 1.0
"""A value beyond its mean by this many SDs is a sign, as sign C of the readiness
(:data:`hrvd.coach.readiness.HIGH_RESTING_HR_SD`)."""


@dataclass(frozen=True, slots=True)
class OrthoBaseline:
    """Mean and SD of the earlier tests that stood (previous 60 days).

    Attributes:
        n_tests: tests in the window.
        standing_hr_mean_bpm, standing_hr_sd_bpm: standing heart rate, bpm.
        hr_rise_mean_bpm, hr_rise_sd_bpm: rise on standing, bpm.
        standing_ln_rmssd_mean, standing_ln_rmssd_sd: lnRMSSD standing.
    """

    n_tests: int
    standing_hr_mean_bpm: float
    standing_hr_sd_bpm: float
    hr_rise_mean_bpm: float
    hr_rise_sd_bpm: float
    standing_ln_rmssd_mean: float
    standing_ln_rmssd_sd: float


class OrthoStatus(StrEnum):
    """The test against its own normal."""

    BASELINE = "baseline"  # fewer than six earlier tests
    NORMAL = "normal"
    ELEVATED = "elevated"  # a sign shows: the autonomic system is under load


@dataclass(frozen=True, slots=True)
class OrthoAssessment:
    """One test that stood, judged against the earlier ones.

    Attributes:
        status: see :class:`OrthoStatus`.
        baseline: the earlier tests' normal, or None while fewer than six.
        standing_hr_z, hr_rise_z, standing_ln_rmssd_z: today against it, in SDs.
        signs: the names of the signs that show (``standing_hr_high``, ``hr_rise_high``,
            ``standing_hrv_low``).
    """

    status: OrthoStatus
    baseline: OrthoBaseline | None
    standing_hr_z: float | None = None
    hr_rise_z: float | None = None
    standing_ln_rmssd_z: float | None = None
    signs: tuple[str, ...] = ()


def _stood(r: OrthoRecord) -> bool:
    return (
        r.outcome is OrthoOutcome.STOOD
        and r.standing_hr_bpm is not None
        and r.hr_rise_bpm is not None
        and r.standing_ln_rmssd is not None
    )


def ortho_baseline(
    history: Iterable[OrthoRecord], day: date, days: int = BASELINE_DAYS
) -> OrthoBaseline | None:
    """The normal of the tests that stood in the ``days`` calendar days before ``day``.

    None while they are fewer than :data:`MIN_BASELINE_TESTS`. SDs are sample SDs with
    the floors of the morning baseline (1 bpm, 0.05 lnRMSSD).
    """
    first = day - timedelta(days=days)
    window = [r for r in history if first <= r.day < day and _stood(r)]
    if len(window) < MIN_BASELINE_TESTS:
        return None
    hr = [r.standing_hr_bpm for r in window if r.standing_hr_bpm is not None]
    rise = [r.hr_rise_bpm for r in window if r.hr_rise_bpm is not None]
    ln = [r.standing_ln_rmssd for r in window if r.standing_ln_rmssd is not None]
    return OrthoBaseline(
        n_tests=len(window),
        standing_hr_mean_bpm=statistics.fmean(hr),
        standing_hr_sd_bpm=max(statistics.stdev(hr), MIN_SD_HR_BPM),
        hr_rise_mean_bpm=statistics.fmean(rise),
        hr_rise_sd_bpm=max(statistics.stdev(rise), MIN_SD_HR_BPM),
        standing_ln_rmssd_mean=statistics.fmean(ln),
        standing_ln_rmssd_sd=max(statistics.stdev(ln), MIN_SD_LN_RMSSD),
    )


def assess_ortho(today: OrthoRecord, history: Iterable[OrthoRecord]) -> OrthoAssessment | None:
    """Judge a test that stood against the earlier ones; None when it did not stand.

    Signs (each beyond 1 SD of its own normal): the standing heart rate is high, the rise
    on standing is high, the standing lnRMSSD is low.
    """
    if not _stood(today):
        return None
    base = ortho_baseline(history, today.day)
    if base is None:
        return OrthoAssessment(OrthoStatus.BASELINE, None)
    hr, rise, ln = today.standing_hr_bpm, today.hr_rise_bpm, today.standing_ln_rmssd
    if hr is None or rise is None or ln is None:  # pragma: no cover - _stood checked them
        return None
    z_hr = (hr - base.standing_hr_mean_bpm) / base.standing_hr_sd_bpm
    z_rise = (rise - base.hr_rise_mean_bpm) / base.hr_rise_sd_bpm
    z_ln = (ln - base.standing_ln_rmssd_mean) / base.standing_ln_rmssd_sd
    signs = tuple(
        name
        for name, shows in (
            ("standing_hr_high", z_hr > HIGH_SD),
            ("hr_rise_high", z_rise > HIGH_SD),
            ("standing_hrv_low", z_ln < -HIGH_SD),
        )
        if shows
    )
    status = OrthoStatus.ELEVATED if signs else OrthoStatus.NORMAL
    return OrthoAssessment(status, base, z_hr, z_rise, z_ln, signs)


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


def ortho_payload(record: OrthoRecord, assessment: OrthoAssessment | None) -> dict[str, object]:
    """The ``orthostatic`` object of the readiness message."""
    base = assessment.baseline if assessment else None
    return {
        "outcome": record.outcome.value,
        "reason": record.reason,
        "supine_hr_bpm": _r(record.supine_hr_bpm, 1),
        "supine_rmssd_ms": _r(record.supine_rmssd_ms, 1),
        "standing_hr_bpm": _r(record.standing_hr_bpm, 1),
        "standing_rmssd_ms": _r(record.standing_rmssd_ms, 1),
        "peak_hr_bpm": _r(record.peak_hr_bpm, 1),
        "peak_after_s": _r(record.peak_after_s, 1),
        "hr_rise_bpm": _r(record.hr_rise_bpm, 1),
        "hr_recovery_bpm": _r(record.hr_recovery_bpm, 1),
        "status": assessment.status.value if assessment else None,
        "signs": list(assessment.signs) if assessment else [],
        "baseline_tests": base.n_tests if base else None,
        "baseline_standing_hr_bpm": _r(base.standing_hr_mean_bpm if base else None, 1),
        "baseline_hr_rise_bpm": _r(base.hr_rise_mean_bpm if base else None, 1),
    }


def judged_payload(record: OrthoRecord, tests: Iterable[OrthoRecord]) -> dict[str, object]:
    """The ``orthostatic`` object of ``record``, judged against the ``tests`` of earlier days.

    ``tests`` may hold any of the athlete's tests: those of ``record``'s day and later are
    left out, so the judgement is the one made on the day, whenever it is made again.
    """
    earlier = [t for t in tests if t.day < record.day]
    return ortho_payload(record, assess_ortho(record, earlier))


def ortho_line(payload: dict[str, object]) -> str:
    """The ``orthostatic`` object of a readiness message as one line for a terminal."""
    if payload.get("outcome") != OrthoOutcome.STOOD:
        why = payload.get("reason")
        return f"orthostatic test: {payload.get('outcome')}" + (f" ({why})" if why else "")
    status = payload.get("status")
    signs = payload.get("signs")
    shown = ", ".join(str(s) for s in signs) if isinstance(signs, list) and signs else ""
    return (
        f"orthostatic test: lying {payload.get('supine_hr_bpm')} bpm / RMSSD "
        f"{payload.get('supine_rmssd_ms')} ms, standing {payload.get('standing_hr_bpm')} bpm / "
        f"RMSSD {payload.get('standing_rmssd_ms')} ms, rise {payload.get('hr_rise_bpm')} bpm, "
        f"peak {payload.get('peak_hr_bpm')} bpm after {payload.get('peak_after_s')} s; "
        f"{status}" + (f" ({shown})" if shown else "")
    )


ORTHO_COLUMNS = (
    "ortho_outcome",
    "standing_hr_bpm",
    "standing_rmssd_ms",
    "peak_hr_bpm",
    "hr_rise_bpm",
    "hr_recovery_bpm",
    "ortho_status",
)
"""The orthostatic columns of ``hrvd history`` (empty on a day without a test)."""


def ortho_columns(tests: Iterable[OrthoRecord]) -> dict[tuple[date, str], dict[str, object]]:
    """The history's orthostatic columns of each day's lying morning.

    Each test is judged against the tests before it, as the day itself was.
    """
    ordered = sorted(tests, key=lambda r: r.day)
    out: dict[tuple[date, str], dict[str, object]] = {}
    for i, r in enumerate(ordered):
        p = ortho_payload(r, assess_ortho(r, ordered[:i]))
        values = [r.outcome.value, *(p[k] for k in ORTHO_COLUMNS[1:-1]), p["status"]]
        out[r.day, "lying"] = dict(zip(ORTHO_COLUMNS, values, strict=True))
    return out
