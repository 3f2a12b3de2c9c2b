"""The weekly view of the mornings, pure: the 7-day CV of lnRMSSD and the 7-day trend.

Plews et al. (2012, 2013) follow two weekly numbers: the 7-day rolling mean of lnRMSSD and
its coefficient of variation, CV = SD / mean of the last 7 daily values. A CV that rises
while the mean falls marks accumulating fatigue (overload: Flatt, Hornikel & Esco 2017), a
CV that falls while the mean holds or rises marks adaptation (Flatt & Esco 2016; Plews et
al. 2013); a CV and a mean that fall together for weeks preceded non-functional
overreaching in Plews et al. (2012). docs/readiness.md, section 11, says how to read them.
Missing days are never filled in.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from hrvd.coach.baseline import ROLLING_DAYS, rolling_mornings

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import date

    from hrvd.coach.baseline import Morning, Posture

CV_MIN_MORNINGS = 5
"""A CV needs at least this many of the 7 mornings. Plews et al. (2014) tested only the
mean (3 mornings a week suffice); an SD is less stable than a mean: its relative standard
error is about 1/sqrt(2(n - 1)), 50 % from 3 values, 35 % from 5, 29 % from 7, so a CV
from fewer than 5 would move more with the missing days than with the athlete."""
MEAN_MIN_MORNINGS = 3
"""A 7-day mean for the trend needs at least this many mornings (Plews et al. 2014)."""


@dataclass(frozen=True, slots=True)
class Weekly:
    """The week ending on a morning, and the week before it.

    Attributes:
        cv_7d_pct: CV of lnRMSSD over the last 7 calendar days, today included, %, or None
            with fewer than :data:`CV_MIN_MORNINGS` mornings.
        cv_7d_prev_pct: the same for the 7 days before those, or None.
        ln_rmssd_7d_prev: mean lnRMSSD of the 7 days before, or None with fewer than
            :data:`MEAN_MIN_MORNINGS` mornings.
        trend_7d: this week's mean minus the week before's, lnRMSSD (ln ms), or None when
            either mean has fewer than :data:`MEAN_MIN_MORNINGS` mornings.
        cv_7d_change_pct: this week's CV minus the week before's, percentage points, or None.
    """

    cv_7d_pct: float | None
    cv_7d_prev_pct: float | None
    ln_rmssd_7d_prev: float | None
    trend_7d: float | None
    cv_7d_change_pct: float | None


def cv_pct(values: Sequence[float]) -> float | None:
    """SD / mean * 100 of lnRMSSD values (sample SD), or None with too few or a mean ≤ 0."""
    if len(values) < CV_MIN_MORNINGS:
        return None
    mean = math.fsum(values) / len(values)
    if mean <= 0:  # lnRMSSD ≤ 0 means RMSSD ≤ 1 ms: no heart, no CV
        return None
    return 100.0 * statistics.stdev(values) / mean


def mean_of(values: Sequence[float]) -> float | None:
    """The mean of at least :data:`MEAN_MIN_MORNINGS` values, else None."""
    return math.fsum(values) / len(values) if len(values) >= MEAN_MIN_MORNINGS else None


def weekly(mornings: Iterable[Morning], day: date, posture: Posture) -> Weekly:
    """The weekly view of ``day``: its week (7 calendar days, ``day`` included) and the one before.

    Only mornings of ``posture`` count, later days are ignored.

    Raises:
        ValueError: two different mornings of this posture share a day.
    """
    kept = list(mornings)
    week = [m.ln_rmssd for m in rolling_mornings(kept, day, posture, ROLLING_DAYS)]
    before = day - timedelta(days=ROLLING_DAYS)
    prev = [m.ln_rmssd for m in rolling_mornings(kept, before, posture, ROLLING_DAYS)]
    cv, cv_prev = cv_pct(week), cv_pct(prev)
    mean, mean_prev = mean_of(week), mean_of(prev)
    return Weekly(
        cv_7d_pct=cv,
        cv_7d_prev_pct=cv_prev,
        ln_rmssd_7d_prev=mean_prev,
        trend_7d=None if mean is None or mean_prev is None else mean - mean_prev,
        cv_7d_change_pct=None if cv is None or cv_prev is None else cv - cv_prev,
    )


NO_WEEK = Weekly(None, None, None, None, None)
"""The weekly view of a result made without mornings around it."""

WEEKLY_FIELDS = ("cv_7d_pct", "cv_7d_prev_pct", "ln_rmssd_7d_prev", "trend_7d", "cv_7d_change_pct")
"""The weekly view's keys in the readiness JSON, history's JSON and CSV."""


def weekly_fields(view: Weekly) -> dict[str, float | None]:
    """The weekly view as JSON fields: CVs in % to 0.1, lnRMSSD values to 0.001."""

    def rounded(value: float | None, digits: int) -> float | None:
        return None if value is None else round(value, digits)

    return {
        "cv_7d_pct": rounded(view.cv_7d_pct, 1),
        "cv_7d_prev_pct": rounded(view.cv_7d_prev_pct, 1),
        "ln_rmssd_7d_prev": rounded(view.ln_rmssd_7d_prev, 3),
        "trend_7d": rounded(view.trend_7d, 3),
        "cv_7d_change_pct": rounded(view.cv_7d_change_pct, 1),
    }
