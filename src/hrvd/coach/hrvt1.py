"""The personal first threshold (HRVT1) from DFA alpha1, and the ceiling that may follow it.

Pure: windows, dates and numbers come in as arguments; nothing here reads a clock.

During rising intensity alpha1 falls from about 1 (well below the first threshold) through
0.75, where it meets the first ventilatory threshold (Rogers, Giles, Draper, Hoos, Gronwald
2021, Front. Physiol. 11:596567: VT1 152 bpm vs HRVT 154 bpm, r = 0.97 for HR), towards 0.5.
A ride that crosses 0.75 with enough quality gives an estimate: the heart rate at
alpha1 = 0.75 of a least-squares line of alpha1 on heart rate, over the 2-minute alpha1
windows of the crossing range. docs/thresholds.md gives the method, every gate and its
source, and the validation.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from typing import TYPE_CHECKING

from hrvd.coach.alpha1 import ALPHA1_MIN_HR_BPM
from hrvd.hrv.dfa import ALPHA1_MAX_ARTIFACT_RATE, ALPHA1_VT1
from hrvd.hrv.stream import HrvStream

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    import numpy as np
    from numpy.typing import NDArray

    from hrvd.hrv.stream import HrvSnapshot

WINDOW_EVERY_S = 20.0
"""One alpha1 window taken every 20 s: Rogers et al. 2021 recomputed the 2-minute alpha1
every 20 s (the live stream recomputes it every 5 s; four of those share most beats)."""
FIT_ALPHA1_HIGH = 1.0
FIT_ALPHA1_LOW = 0.5
"""The crossing range: windows with alpha1 in 0.5-1.0, symmetric about 0.75, from its level
well below the first threshold (about 1) to uncorrelated beats (0.5, near the second
threshold; Rogers & Gronwald 2022, Front. Physiol. doi:10.3389/fphys.2022.879071). Outside
it alpha1 no longer falls with intensity and would bend the line."""
MIN_WINDOWS_EACH_SIDE = 3
"""At least 3 windows (1 minute of 20-s windows) on each side of 0.75: one low window is a
wobble, not a crossing."""
MIN_SPAN_EACH_SIDE_BPM = 4.0
"""The fitted windows reach at least 4 bpm below and above the estimate: the line is
interpolated, never extrapolated, and a range of a few bpm (a 5-bpm step of a step test)
on each side is what a slope needs to stand above the beat-to-beat scatter of alpha1."""
MIN_R2 = 0.4
"""Coefficient of determination of the line at least 0.4: alpha1 must fall with heart
rate, not scatter around it. This project's choice (on synthetic step tests with alpha1's
own scatter the fit mostly gives r² 0.5-0.9; a ride without a trend gives near 0)."""
MAX_HR_SPREAD_BPM = 15.0
"""A window whose heart rate moved more than 15 bpm inside it (a sprint, a surge) is left
out: DFA assumes a steady series, and a step of that size inside 2 minutes dominates the
fluctuations. A 5-bpm step of a step test moves it well under this."""

PERSONAL_DAYS = 42
PERSONAL_LAST = 5
"""The personal value is the median of the last 5 estimates of the last 6 weeks. The
threshold moves with fitness over a training block of 3-6 weeks; the median of up to five
values ignores up to two odd ones. This project's choice."""
HRVT1_MARGIN_BPM = 20.0
"""Default distance of the recovery ceiling below the personal HRVT1, bpm. On Olympiatoppen's
five-zone scale zone 1 (recovery) is 60-72 % HRmax and zone 2 72-82 % (lactate 1.5-2.5
mmol/L), so the first threshold lies near 82 %: 10 % of HRmax, 18-20 bpm for an HRmax of
180-200 (Seiler, "Training Intensity Distribution", in Mujika (ed.), Endurance Training:
Science and Practice, 2012; Haugen et al. 2021, Sports Med, Table 4; docs/thresholds.md)."""


@dataclass(frozen=True, slots=True)
class Alpha1Window:
    """One 2-minute alpha1 window.

    When it ended (s), its mean heart rate (bpm), alpha1,
    its artifact rate (0-1) and how far its heart rate moved inside it (bpm).
    """

    t_s: float
    hr_bpm: float
    alpha1: float
    artifact_rate: float
    hr_spread_bpm: float = 0.0


@dataclass(frozen=True, slots=True)
class Hrvt1Estimate:
    """The estimate of one ride, or why there is none.

    Attributes:
        hrvt1_bpm: heart rate at alpha1 = 0.75, bpm; None when the ride gives none.
        reason: "ok", or which gate failed: "too_few_windows", "no_crossing",
            "not_falling", "poor_fit", "narrow_range".
        windows: windows in the crossing range that the line was fitted to.
        below, above: of those, how many have alpha1 below / at or above 0.75.
        slope_per_bpm: alpha1 per bpm of the line (negative when it falls).
        r2: coefficient of determination of the line.
        hr_low_bpm, hr_high_bpm: heart-rate range of the fitted windows.
    """

    hrvt1_bpm: float | None
    reason: str
    windows: int = 0
    below: int = 0
    above: int = 0
    slope_per_bpm: float | None = None
    r2: float | None = None
    hr_low_bpm: float | None = None
    hr_high_bpm: float | None = None


def thin(windows: Iterable[Alpha1Window], every_s: float = WINDOW_EVERY_S) -> list[Alpha1Window]:
    """One window every ``every_s`` seconds (windows in time order)."""
    kept: list[Alpha1Window] = []
    for w in windows:
        if not kept or w.t_s - kept[-1].t_s >= every_s:
            kept.append(w)
    return kept


def usable(w: Alpha1Window, min_hr_bpm: float = ALPHA1_MIN_HR_BPM) -> bool:
    """A window clean and steady enough to judge.

    Artifacts at most 3 % (alpha1 is biased upwards above that; Rogers & Gronwald 2022),
    heart rate steady inside it, and the rider exercising: below the ride coach's floor
    (90 bpm by default, :mod:`hrvd.coach.alpha1`) alpha1 is moved by breathing, not intensity.
    """
    return (
        w.artifact_rate <= ALPHA1_MAX_ARTIFACT_RATE
        and w.hr_spread_bpm <= MAX_HR_SPREAD_BPM
        and w.hr_bpm >= min_hr_bpm
    )


def estimate_hrvt1(  # noqa: PLR0911 - a gate a return
    windows: Sequence[Alpha1Window], min_hr_bpm: float = ALPHA1_MIN_HR_BPM
) -> Hrvt1Estimate:
    """The heart rate at alpha1 = 0.75 of one ride, or why there is none (see the module).

    ``min_hr_bpm``: the ride coach's exercise floor (``[ride] alpha1_min_hr_bpm``).
    """
    fit = [
        w
        for w in windows
        if usable(w, min_hr_bpm) and FIT_ALPHA1_LOW <= w.alpha1 <= FIT_ALPHA1_HIGH
    ]
    below = sum(w.alpha1 < ALPHA1_VT1 for w in fit)
    above = len(fit) - below
    if len(fit) < 2 * MIN_WINDOWS_EACH_SIDE:
        return Hrvt1Estimate(None, "too_few_windows", len(fit), below, above)
    if below < MIN_WINDOWS_EACH_SIDE or above < MIN_WINDOWS_EACH_SIDE:
        return Hrvt1Estimate(None, "no_crossing", len(fit), below, above)
    hr = [w.hr_bpm for w in fit]
    a1 = [w.alpha1 for w in fit]
    hr_mean, a1_mean = math.fsum(hr) / len(fit), math.fsum(a1) / len(fit)
    hr_c, a1_c = [v - hr_mean for v in hr], [v - a1_mean for v in a1]
    sxx, syy = math.fsum(v * v for v in hr_c), math.fsum(v * v for v in a1_c)
    low, high = min(hr), max(hr)
    if sxx == 0.0 or syy == 0.0:
        return Hrvt1Estimate(None, "narrow_range", len(fit), below, above, None, None, low, high)
    slope = math.fsum(h * a for h, a in zip(hr_c, a1_c, strict=True)) / sxx
    r2 = slope * slope * sxx / syy
    common = (len(fit), below, above, slope, r2, low, high)
    if slope >= 0.0:
        return Hrvt1Estimate(None, "not_falling", *common)
    if r2 < MIN_R2:
        return Hrvt1Estimate(None, "poor_fit", *common)
    hrvt1 = hr_mean + (ALPHA1_VT1 - a1_mean) / slope
    if hrvt1 - low < MIN_SPAN_EACH_SIDE_BPM or high - hrvt1 < MIN_SPAN_EACH_SIDE_BPM:
        return Hrvt1Estimate(None, "narrow_range", *common)
    return Hrvt1Estimate(hrvt1, "ok", *common)


def window_of(snap: HrvSnapshot) -> Alpha1Window | None:
    """The alpha1 window of a live snapshot, or None before alpha1 has one."""
    if (
        snap.dfa_alpha1 is None
        or snap.dfa_t_s is None
        or snap.dfa_hr_bpm is None
        or snap.dfa_artifact_rate is None
    ):
        return None
    return Alpha1Window(
        snap.dfa_t_s,
        snap.dfa_hr_bpm,
        snap.dfa_alpha1,
        snap.dfa_artifact_rate,
        snap.dfa_hr_spread_bpm or 0.0,
    )


def recording_windows(
    rr_ms: NDArray[np.float64], gaps: NDArray[np.bool_] | None = None
) -> list[Alpha1Window]:
    """A recording's alpha1 windows, one every 20 s, as the live pipeline computes them.

    Beats are timed by the running sum of the RR intervals; a gap starts a new series.
    """
    stream, tracker = HrvStream(), Hrvt1Tracker()
    rr_list = rr_ms.tolist()
    ends = [t / 1000.0 for t in accumulate(rr_list)]
    breaks = [False] * len(rr_list) if gaps is None else gaps.tolist()
    for rr, t, gap in zip(rr_list, ends, breaks, strict=True):
        if gap:
            stream.gap()
        stream.push(rr, t)
        window = window_of(stream.snapshot())
        if window is not None:
            tracker.add(window)
    return tracker.windows


@dataclass
class Hrvt1Tracker:
    """Collects one ride's alpha1 windows (one every 20 s); O(1) per call."""

    windows: list[Alpha1Window] = field(default_factory=list)

    def add(self, window: Alpha1Window) -> None:
        """Take the latest window (repeats and windows closer than 20 s are skipped)."""
        if not self.windows or window.t_s - self.windows[-1].t_s >= WINDOW_EVERY_S:
            self.windows.append(window)

    def estimate(self, min_hr_bpm: float = ALPHA1_MIN_HR_BPM) -> Hrvt1Estimate:
        """The ride's estimate so far (``min_hr_bpm``: the exercise floor)."""
        return estimate_hrvt1(self.windows, min_hr_bpm)


@dataclass(frozen=True, slots=True)
class PersonalHrvt1:
    """The athlete's HRVT1: the median of ``n`` recent estimates, of the given days."""

    hrvt1_bpm: float
    n: int
    dates: tuple[date, ...]


def personal_hrvt1(
    estimates: Iterable[tuple[date, float]],
    today: date,
    *,
    days: int = PERSONAL_DAYS,
    last: int = PERSONAL_LAST,
) -> PersonalHrvt1 | None:
    """The median of the last ``last`` estimates (day, bpm) within ``days`` days of today."""
    since = today - timedelta(days=days)
    recent = sorted((d, bpm) for d, bpm in estimates if since <= d <= today)[-last:]
    if not recent:
        return None
    return PersonalHrvt1(
        statistics.median(bpm for _, bpm in recent), len(recent), tuple(d for d, _ in recent)
    )


@dataclass(frozen=True, slots=True)
class Ceiling:
    """The recovery ceiling in force, where it comes from and why.

    ``source``: "ride.ceiling_bpm" (set in the config), "zones" (the top of zone 1) or
    "hrvt1" (the personal HRVT1 minus the margin).
    """

    bpm: float
    source: str
    why: str


def choose_ceiling(  # noqa: PLR0913 - the inputs of the choice, each named
    formula_bpm: float,
    formula_source: str,
    formula_why: str,
    personal: PersonalHrvt1 | None,
    *,
    follow: bool,
    margin_bpm: float = HRVT1_MARGIN_BPM,
) -> Ceiling:
    """The lower of the formula's ceiling and, when following, personal HRVT1 - margin."""
    formula = Ceiling(formula_bpm, formula_source, formula_why)
    if not follow:
        return formula
    if personal is None:
        why = f"{formula_why}; no HRVT1 estimate in the last {PERSONAL_DAYS} days"
        return Ceiling(formula_bpm, formula_source, why)
    own = personal.hrvt1_bpm - margin_bpm
    told = (
        f"HRVT1 {personal.hrvt1_bpm:.0f} bpm (median of {personal.n} ride(s)) "
        f"- {margin_bpm:g} = {own:.0f} bpm"
    )
    if own < formula_bpm:
        return Ceiling(own, "hrvt1", f"{told}, below {formula_why}")
    return Ceiling(formula_bpm, formula_source, f"{formula_why}, below {told}")


@dataclass
class CeilingPolicy:
    """The athlete's ceiling: the formula's, or personal HRVT1 - margin when following and lower.

    Attributes:
        formula_bpm, formula_source, formula_why: the configured or zone-1 ceiling.
        follow: ``[athlete] ceiling_follows_hrvt1``.
        margin_bpm: ``[athlete] hrvt1_margin_bpm``.
        estimates: (day, bpm) of the stored valid estimates; new ones are added.
    """

    formula_bpm: float
    formula_source: str
    formula_why: str
    follow: bool = False
    margin_bpm: float = HRVT1_MARGIN_BPM
    estimates: list[tuple[date, float]] = field(default_factory=list)

    def personal(self, today: date) -> PersonalHrvt1 | None:
        """The personal HRVT1 on ``today``."""
        return personal_hrvt1(self.estimates, today)

    def ceiling(self, today: date) -> Ceiling:
        """The ceiling in force on ``today``."""
        return choose_ceiling(
            self.formula_bpm,
            self.formula_source,
            self.formula_why,
            self.personal(today),
            follow=self.follow,
            margin_bpm=self.margin_bpm,
        )

    def add(self, day: date, hrvt1_bpm: float) -> None:
        """A ride of ``day`` gave an estimate."""
        self.estimates.append((day, hrvt1_bpm))

    def payload(self, today: date) -> dict[str, object]:
        """The personal value and the ceiling, as JSON.

        As ``hrvd thresholds --format json`` and the retained ``<base>/thresholds`` give them.
        """
        personal, ceiling = self.personal(today), self.ceiling(today)
        return {
            "hrvt1_bpm": None if personal is None else round(personal.hrvt1_bpm, 1),
            "n": 0 if personal is None else personal.n,
            "dates": [] if personal is None else [d.isoformat() for d in personal.dates],
            "ceiling_bpm": round(ceiling.bpm, 1),
            "ceiling_source": ceiling.source,
            "ceiling_why": ceiling.why,
            "follows_hrvt1": self.follow,
            "margin_bpm": self.margin_bpm,
        }
