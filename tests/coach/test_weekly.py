"""The weekly view: the 7-day CV of lnRMSSD (Plews et al. 2012) and the 7-day trend."""

import statistics
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hrvd.coach.baseline import Morning, Posture
from hrvd.coach.weekly import (
    CV_MIN_MORNINGS,
    MEAN_MIN_MORNINGS,
    NO_WEEK,
    cv_pct,
    weekly,
    weekly_fields,
)

DAY = date(2026, 3, 14)
LYING = Posture.LYING


def mornings(values, end=DAY, posture=LYING):
    """One morning a day ending on ``end`` (the last value), None for a missed day."""
    out = []
    for back, ln in enumerate(reversed(values)):
        if ln is not None:
            out.append(Morning(end - timedelta(days=back), posture, ln))
    return out


def test_the_cv_is_the_sample_sd_over_the_mean_in_percent():
    # 3.9, 4.1 in turn around 4.0 with one 4.0: deviations 0.1 six times, SD sqrt(0.06/6).
    assert cv_pct([4.0, 4.1, 3.9, 4.1, 3.9, 4.1, 3.9]) == pytest.approx(2.5)
    assert cv_pct([4.0] * 7) == 0.0


def test_the_cv_needs_five_of_the_seven_mornings():
    assert CV_MIN_MORNINGS == 5
    four = weekly(mornings([4.0, None, 4.2, None, 3.8, None, 4.1]), DAY, LYING)
    assert four.cv_7d_pct is None
    five = weekly(mornings([4.0, None, 4.2, None, 3.8, 4.3, 4.1]), DAY, LYING)
    assert five.cv_7d_pct == pytest.approx(
        100
        * statistics.stdev([4.0, 4.2, 3.8, 4.3, 4.1])
        / statistics.mean([4.0, 4.2, 3.8, 4.3, 4.1])
    )


def test_a_falling_mean_with_a_rising_cv_shows_as_both():
    calm = [4.2, 4.25, 4.2, 4.15, 4.2, 4.25, 4.2]
    overload = [4.1, 3.8, 4.1, 3.7, 4.0, 3.6, 3.9]
    w = weekly(mornings(calm + overload), DAY, LYING)
    assert w.trend_7d == pytest.approx(statistics.mean(overload) - statistics.mean(calm))
    assert w.trend_7d < 0
    assert w.cv_7d_change_pct > 0
    assert w.ln_rmssd_7d_prev == pytest.approx(statistics.mean(calm))


def test_the_trend_needs_three_mornings_in_each_week():
    assert MEAN_MIN_MORNINGS == 3
    thin = [4.0, None, None, None, None, 4.1, None] + [4.0] * 7
    assert weekly(mornings(thin), DAY, LYING).trend_7d is None
    enough = [4.0, None, 4.2, None, None, 4.1, None] + [4.0] * 7
    assert weekly(mornings(enough), DAY, LYING).trend_7d == pytest.approx(4.0 - 4.1)


def test_other_postures_and_later_days_do_not_count():
    week = mornings([4.0, 4.1, 3.9, 4.1, 3.9, 4.1, 3.9])
    noise = mornings([2.0] * 7, posture=Posture.STANDING)
    later = mornings([9.0, 9.0], end=DAY + timedelta(days=2))
    assert weekly(week + noise + later, DAY, LYING) == weekly(week, DAY, LYING)


def test_the_fields_are_rounded_and_null_when_unknown():
    assert weekly_fields(NO_WEEK) == dict.fromkeys(weekly_fields(NO_WEEK))
    before = [4.1, 3.9, 4.1, 3.9, 4.1, 3.9, 4.1]  # mean 4.01429, SD 0.10690
    week = [3.9, 4.1, 3.9, 4.1, 3.9, 4.1, 4.0]  # mean 4.0, SD 0.1
    fields = weekly_fields(weekly(mornings(before + week), DAY, LYING))
    assert fields == {
        "cv_7d_pct": 2.5,
        "cv_7d_prev_pct": 2.7,
        "ln_rmssd_7d_prev": 4.014,
        "trend_7d": -0.014,
        "cv_7d_change_pct": -0.2,
    }


@given(st.lists(st.floats(min_value=1.0, max_value=6.0), min_size=5, max_size=7), st.randoms())
def test_the_cv_does_not_depend_on_the_order_and_is_never_negative(values, rnd):
    shuffled = values[:]
    rnd.shuffle(shuffled)
    assert cv_pct(values) == pytest.approx(cv_pct(shuffled))
    assert cv_pct(values) >= 0
