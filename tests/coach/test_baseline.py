import math
import statistics
from datetime import date, timedelta

import pytest

from hrvd.coach.baseline import (
    MIN_SD_HR_BPM,
    MIN_SD_LN_RMSSD,
    Morning,
    Posture,
    baseline_for,
    rolling_mornings,
)

TODAY = date(2025, 6, 1)
LYING = Posture.LYING


def morning(days_ago, ln=4.0, hr=50.0, posture=LYING):
    return Morning(TODAY - timedelta(days=days_ago), posture, ln, hr)


def test_baseline_is_mean_and_sample_sd_of_the_previous_60_days():
    history = [morning(d, ln=4.0 + (0.1 if d % 2 else -0.1), hr=50 + d % 5) for d in range(1, 61)]
    b = baseline_for(history, TODAY, LYING)
    assert b is not None
    assert b.n_mornings == 60
    assert b.ln_rmssd_mean == pytest.approx(4.0)
    assert b.ln_rmssd_sd == pytest.approx(0.1 * math.sqrt(60 / 59))
    assert b.normal_low == pytest.approx(4.0 - 0.05 * math.sqrt(60 / 59))
    assert b.normal_high == pytest.approx(4.0 + 0.05 * math.sqrt(60 / 59))
    hrs = [50 + d % 5 for d in range(1, 61)]
    assert b.resting_hr_mean_bpm == pytest.approx(statistics.fmean(hrs))
    assert b.resting_hr_sd_bpm == pytest.approx(statistics.stdev(hrs))
    assert b.established


def test_the_window_is_60_calendar_days_before_today_and_never_today():
    history = [morning(0, ln=9.0), morning(60, ln=3.0), morning(61, ln=9.0), morning(1, ln=5.0)]
    b = baseline_for(history, TODAY, LYING)
    assert b is not None
    assert b.n_mornings == 2
    assert b.ln_rmssd_mean == pytest.approx(4.0)


def test_missing_days_are_not_filled_in():
    history = [morning(d, ln=3.0 + d / 100) for d in (1, 2, 30, 59)]
    b = baseline_for(history, TODAY, LYING)
    assert b is not None
    assert b.n_mornings == 4
    assert b.ln_rmssd_mean == pytest.approx(statistics.fmean([3.01, 3.02, 3.30, 3.59]))
    assert not b.established


def test_other_postures_are_never_compared():
    history = [morning(d, ln=4.0) for d in range(1, 8)]
    history += [morning(d, ln=2.0, posture=Posture.STANDING) for d in range(1, 8)]
    lying = baseline_for(history, TODAY, LYING)
    standing = baseline_for(history, TODAY, Posture.STANDING)
    assert lying is not None
    assert standing is not None
    assert lying.ln_rmssd_mean == pytest.approx(4.0)
    assert standing.ln_rmssd_mean == pytest.approx(2.0)


def test_no_morning_in_the_window_gives_no_baseline_and_one_gives_no_sd():
    assert baseline_for([morning(61)], TODAY, LYING) is None
    one = baseline_for([morning(3)], TODAY, LYING)
    assert one is not None
    assert one.ln_rmssd_sd is None
    assert one.normal_low is None
    assert one.normal_high is None


def test_sd_has_a_floor_so_copied_values_do_not_make_every_wobble_a_warning():
    b = baseline_for([morning(d, ln=4.0, hr=50) for d in range(1, 10)], TODAY, LYING)
    assert b is not None
    assert b.ln_rmssd_sd == MIN_SD_LN_RMSSD
    assert b.resting_hr_sd_bpm == MIN_SD_HR_BPM


def test_mornings_without_resting_hr_still_count_for_lnrmssd():
    history = [morning(d, hr=None) for d in range(1, 8)] + [morning(8, hr=52.0)]
    b = baseline_for(history, TODAY, LYING)
    assert b is not None
    assert b.n_mornings == 8
    assert b.n_resting_hr == 1
    assert b.resting_hr_mean_bpm == 52.0
    assert b.resting_hr_sd_bpm is None


def test_two_different_mornings_on_one_day_are_a_bug_of_the_caller():
    with pytest.raises(ValueError, match="select one a day"):
        baseline_for([morning(3, ln=4.0), morning(3, ln=4.1)], TODAY, LYING)
    # The same morning twice is harmless.
    assert baseline_for([morning(3), morning(3)], TODAY, LYING) is not None


def test_rolling_mornings_are_the_last_seven_dates_with_today_oldest_first():
    history = [morning(d) for d in (0, 1, 3, 6, 7, 10)]
    week = rolling_mornings(history, TODAY, LYING)
    assert [m.day for m in week] == [TODAY - timedelta(days=d) for d in (6, 3, 1, 0)]


def test_rmssd_is_the_exponential_of_lnrmssd():
    assert morning(1, ln=math.log(55.0)).rmssd_ms == pytest.approx(55.0)
