"""The HRVT1 estimator on synthetic step tests with a known crossing, and its gates."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from hrvd.coach.hrvt1 import (
    Alpha1Window,
    choose_ceiling,
    estimate_hrvt1,
    personal_hrvt1,
    recording_windows,
)
from hrvd.hrv.synthetic import step_test, steps_rr
from hrvt1_ref import quantise, reference_hrvt1

VALIDATED_ERROR_BPM = 5.0
"""The issue's target; BENCHMARKS.md has the sweep over many seeds (bench/bench_hrvt1.py)."""


@pytest.mark.parametrize("threshold", [120.0, 140.0, 160.0])
def test_a_step_test_gives_the_reference_threshold_within_5_bpm(threshold):
    # The seed is the threshold, fixed before looking; the sweep over seeds is in bench/.
    rr = steps_rr(step_test(threshold), threshold, np.random.default_rng(int(threshold)))
    truth = reference_hrvt1(rr)
    assert truth == pytest.approx(threshold, abs=5.0)  # the generator does what it says
    estimate = estimate_hrvt1(recording_windows(quantise(rr)))
    assert estimate.reason == "ok"
    assert estimate.hrvt1_bpm == pytest.approx(truth, abs=VALIDATED_ERROR_BPM)


def test_a_recovery_ride_never_crosses_and_gives_none():
    threshold = 140.0
    ride = [(600.0, 100.0), (1800.0, 105.0), (600.0, 110.0)]
    rr = steps_rr(ride, threshold, np.random.default_rng(11))
    estimate = estimate_hrvt1(recording_windows(quantise(rr)))
    assert estimate.hrvt1_bpm is None
    assert estimate.reason in {"too_few_windows", "no_crossing"}


def test_short_spikes_above_the_threshold_give_none():
    threshold = 140.0
    ride: list[tuple[float, float]] = [(300.0, 105.0)]
    for _ in range(8):  # 30-s sprints to 20 bpm above the threshold, 4.5 min easy between
        ride += [(30.0, threshold + 20.0), (270.0, 105.0)]
    rr = steps_rr(ride, threshold, np.random.default_rng(12))
    assert estimate_hrvt1(recording_windows(quantise(rr))).hrvt1_bpm is None


def _line(hrs, slope=-0.015, at=140.0, **kw):
    return [
        Alpha1Window(10.0 * i, hr, 0.75 + slope * (hr - at), 0.0, **kw) for i, hr in enumerate(hrs)
    ]


def test_a_clean_line_crossing_gives_its_crossing_exactly():
    estimate = estimate_hrvt1(_line(np.arange(125.0, 156.0, 1.0)))
    assert estimate.hrvt1_bpm == pytest.approx(140.0)
    assert (estimate.r2, estimate.slope_per_bpm) == pytest.approx((1.0, -0.015))


def test_a_few_low_windows_are_a_wobble_not_a_crossing():
    windows = _line(np.arange(110.0, 130.0, 1.0)) + _line([141.0, 142.0])
    assert estimate_hrvt1(windows).reason == "no_crossing"


def test_alpha1_at_rest_is_not_a_threshold():
    # Low alpha1 at low heart rate is breathing at rest, not intensity: below the coach's
    # exercise floor (90 bpm) the windows do not count, and even with no floor alpha1
    # rising with heart rate is no crossing.
    rest = _line(np.arange(60.0, 90.0), slope=0.015, at=75.0)
    assert estimate_hrvt1(rest).reason == "too_few_windows"
    assert estimate_hrvt1(rest, min_hr_bpm=0.0).reason == "not_falling"


def test_a_crossing_at_the_edge_of_the_range_is_not_extrapolated():
    windows = _line(np.arange(138.0, 160.0, 1.0), at=140.0)
    assert estimate_hrvt1(windows).reason == "narrow_range"


def test_scatter_without_a_trend_is_a_poor_fit():
    rng = np.random.default_rng(5)
    windows = [
        Alpha1Window(float(i), hr, 0.75 + rng.normal(0, 0.12), 0.0)
        for i, hr in enumerate(rng.uniform(120, 160, 40))
    ]
    assert estimate_hrvt1(windows).reason in {"poor_fit", "not_falling"}


def test_windows_with_artifacts_or_a_surge_inside_are_left_out():
    good = _line(np.arange(125.0, 156.0, 1.0))
    dirty = [Alpha1Window(w.t_s, w.hr_bpm, 1.0, 0.05) for w in good]  # 5 % artifacts
    surged = [Alpha1Window(w.t_s, w.hr_bpm, 0.5, 0.0, hr_spread_bpm=40.0) for w in good]
    assert estimate_hrvt1(good + dirty + surged).hrvt1_bpm == pytest.approx(140.0)
    assert estimate_hrvt1(dirty).reason == "too_few_windows"


def test_the_personal_value_is_the_median_of_the_last_five_in_six_weeks():
    today = date(2026, 12, 4)
    estimates = [
        (date(2026, 9, 1), 120.0),  # too old
        (date(2026, 11, 1), 150.0),
        (date(2026, 11, 8), 148.0),
        (date(2026, 11, 15), 151.0),
        (date(2026, 11, 22), 170.0),
        (date(2026, 11, 29), 147.0),
        (date(2026, 12, 3), 149.0),
    ]
    personal = personal_hrvt1(estimates, today)
    assert personal is not None
    assert personal.n == 5
    assert personal.dates[0] == date(2026, 11, 8)
    assert personal.hrvt1_bpm == 149.0
    assert personal_hrvt1(estimates[:1], today) is None


def test_the_ceiling_follows_the_personal_value_only_when_it_is_lower():
    personal = personal_hrvt1([(date(2026, 12, 1), 130.0)], date(2026, 12, 4))
    low = choose_ceiling(114.0, "zones", "zone 1 top", personal, follow=True, margin_bpm=20)
    assert (low.bpm, low.source) == (110.0, "hrvt1")
    assert "HRVT1 130 bpm" in low.why
    high = choose_ceiling(105.0, "zones", "zone 1 top", personal, follow=True, margin_bpm=20)
    assert (high.bpm, high.source) == (105.0, "zones")
    off = choose_ceiling(114.0, "zones", "zone 1 top", personal, follow=False)
    assert (off.bpm, off.source) == (114.0, "zones")
    none = choose_ceiling(114.0, "zones", "zone 1 top", None, follow=True)
    assert none.bpm == 114.0
    assert "no HRVT1 estimate" in none.why
