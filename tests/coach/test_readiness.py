import math
import statistics
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hrvd.coach.baseline import Baseline, Morning, Posture, Quality
from hrvd.coach.morning_day import local_day, select_mornings
from hrvd.coach.morning_values import InvalidReason, MorningResult
from hrvd.coach.readiness import (
    Recommendation,
    Signs,
    Status,
    assess,
    assess_all,
    normal_cdf,
    readiness_payload,
    recommendation_text,
    score_for,
    status_for,
)

TODAY = date(2025, 6, 1)
LYING = Posture.LYING


def day(days_ago):
    return TODAY - timedelta(days=days_ago)


def history(last6=None, hr_last6=None):
    """60 mornings before TODAY: lnRMSSD 3.9 and 4.1 and resting HR 49 and 51 in turn.

    ``last6`` replaces the lnRMSSD of the six days before today (they are in the 7-day
    mean and in the baseline, as in real life).
    """
    out = []
    for d in range(1, 61):
        ln = 4.0 + (0.1 if d % 2 else -0.1)
        hr = 50.0 + (1.0 if d % 2 else -1.0)
        if d <= 6 and last6 is not None:
            ln = last6
        if d <= 6 and hr_last6 is not None:
            hr = hr_last6
        out.append(Morning(day(d), LYING, ln, hr))
    return out


def today(ln, hr=50.0):
    return Morning(TODAY, LYING, ln, hr)


# Known answers. The plain history: mean 4.0, SD 0.1 * sqrt(60/59) = 0.10084, so the normal
# range is 3.9496-4.0504 and B is below 3.8992; resting HR 50 ± 1.0084, so C is above 51.008.
# With the six days before today at 3.92: mean 3.992, SD 0.09868, range 3.9427-4.0413, B
# below 3.8933.
CASES = {
    # name: last6, today's lnRMSSD, today's HR, signs (A, B, C), status, recommendation
    "green": (None, 4.00, 50, (False, False, False), "green", "train"),
    "amber by A": (3.92, 3.95, 50, (True, False, False), "amber", "recovery_ride"),
    "amber by B": (None, 3.85, 50, (False, True, False), "amber", "recovery_ride"),
    "amber by C": (None, 4.00, 53, (False, False, True), "amber", "recovery_ride"),
    "amber by B+C": (None, 3.85, 53, (False, True, True), "amber", "recovery_ride"),
    "red by A+B": (3.92, 3.80, 50, (True, True, False), "red", "walk"),
    "red by A+C": (3.92, 3.95, 53, (True, False, True), "red", "walk"),
    "red by A+B+C": (3.92, 3.80, 53, (True, True, True), "red", "walk"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_60_day_history_gives_the_known_status(name):
    last6, ln, hr, signs, status, recommendation = CASES[name]
    r = assess(today(ln, hr), history(last6))
    assert (r.signs.week_low, r.signs.today_low, r.signs.resting_hr_high) == signs
    assert r.status == status
    assert r.recommendation == recommendation
    assert r.baseline.n_mornings == 60
    assert r.mornings_7d == 7
    assert 0 <= r.score <= 100


def test_known_numbers_of_the_plain_history():
    r = assess(today(4.0, 50), history())
    b = r.baseline
    assert b.ln_rmssd_mean == pytest.approx(4.0)
    assert b.ln_rmssd_sd == pytest.approx(0.100844, abs=1e-6)
    assert (b.normal_low, b.normal_high) == pytest.approx((3.949578, 4.050422), abs=1e-6)
    assert b.resting_hr_mean_bpm == pytest.approx(50.0)
    assert r.ln_rmssd_7d == pytest.approx(4.0)
    # z = z7 = 0, no HR sign: s = 0.5, score = round(100 * Φ(0.5)) = round(69.15)
    assert r.score == 69


def test_the_first_seven_mornings_build_the_baseline_and_the_eighth_gets_a_status():
    mornings = [Morning(day(20 - i), LYING, 4.0 + 0.05 * (i % 3), 50.0) for i in range(10)]
    results = assess_all(mornings)
    assert [r.status for r in results[:7]] == [Status.BASELINE] * 7
    assert all(r.score is None and r.recommendation is None for r in results[:7])
    assert all(r.signs is None for r in results[:7])
    assert "3 of 7" in recommendation_text(results[3])
    assert "3 van 7" in recommendation_text(results[3], "nl")
    assert results[7].status is not Status.BASELINE
    assert results[7].baseline.n_mornings == 7
    assert results[7].score is not None


def test_missing_days_are_never_filled_in():
    # Mornings only every third day: the baseline and the week hold only what was measured.
    mornings = [Morning(day(d), LYING, 4.0 + 0.01 * d, 50.0) for d in range(3, 61, 3)]
    r = assess(today(3.9), mornings)
    expected = [4.0 + 0.01 * d for d in range(3, 61, 3)]
    assert r.baseline.n_mornings == len(expected) == 20
    assert r.baseline.ln_rmssd_mean == pytest.approx(statistics.fmean(expected))
    assert r.baseline.ln_rmssd_sd == pytest.approx(statistics.stdev(expected))
    assert r.mornings_7d == 3  # days 6, 3 and today
    assert r.ln_rmssd_7d == pytest.approx((4.06 + 4.03 + 3.9) / 3)


def test_a_long_break_leaves_too_few_mornings_for_a_status():
    old = [Morning(day(d), LYING, 4.0, 50.0) for d in range(61, 90)]
    recent = [Morning(day(d), LYING, 4.0, 50.0) for d in range(1, 4)]
    r = assess(today(4.0), old + recent)
    assert r.status is Status.BASELINE
    assert r.baseline.n_mornings == 3


def test_only_mornings_of_the_same_posture_are_compared():
    standing = [Morning(day(d), Posture.STANDING, 3.0, 70.0) for d in range(1, 61)]
    r = assess(today(4.0, 50), history() + standing)
    assert r.baseline.ln_rmssd_mean == pytest.approx(4.0)
    assert r.status is Status.GREEN
    alone = assess(Morning(TODAY, Posture.SITTING, 4.0, 50.0), history())
    assert alone.status is Status.BASELINE
    assert alone.baseline is None


def test_later_days_and_a_second_morning_of_today_are_ignored():
    extra = [Morning(day(-1), LYING, 1.0, 90.0), Morning(TODAY, LYING, 1.0, 90.0)]
    assert assess(today(4.0), history() + extra) == assess(today(4.0), history())


def result(ln, *, valid=True, repeat=False):
    return MorningResult(
        day=TODAY,
        posture=LYING,
        repeat=repeat,
        valid=valid,
        reason=None if valid else InvalidReason.MOVEMENT,
        detail=None,
        ln_rmssd=ln,
        rmssd_ms=math.exp(ln),
        resting_hr_bpm=50.0,
        artifact_rate=0.01,
        beats=118,
        coverage=0.99,
        stabilise_s=60.0,
        measure_s=120.0,
        raw=(),
    )


def test_a_repeat_replaces_the_morning_that_is_scored():
    first = result(3.80)  # a poor reading: red
    invalid = result(4.30, valid=False, repeat=True)
    again = result(4.00, repeat=True)
    [counted] = select_mornings([first, invalid])
    assert assess(counted.morning(), history(3.92)).status is Status.RED
    [counted] = select_mornings([first, invalid, again])
    r = assess(counted.morning(), history(3.92))
    assert r.ln_rmssd == 4.0
    assert r.status is Status.AMBER
    assert r.quality == Quality(0.01, 118, 0.99)


BRUSSELS = ZoneInfo("Europe/Brussels")


def mornings_at_0630_local(first, last, ln=4.0):
    """A morning at 06:30 Brussels time every day, dated as the daemon dates it."""
    out = []
    d = first
    while d <= last:
        start = datetime.combine(d, time(6, 30), BRUSSELS).astimezone(UTC)
        out.append((start, Morning(local_day(start, BRUSSELS), LYING, ln, 50.0)))
        d += timedelta(days=1)
    return out


def test_the_23_hour_night_in_march_changes_no_window():
    # Summer time starts on Sunday 30 March 2025: that night lasts 23 hours.
    timed = mornings_at_0630_local(date(2025, 1, 1), date(2025, 4, 2))
    days = [m.day for _, m in timed]
    assert len(days) == len(set(days))  # one morning a date, none lost or doubled
    starts = {m.day: start for start, m in timed}
    target = date(2025, 4, 2)
    # The morning of 26 March is less than 7 x 24 hours before today's...
    assert starts[target] - starts[date(2025, 3, 26)] == timedelta(days=7, hours=-1)
    # ...yet it is eight dates back, so outside the 7-day mean.
    r = assess(Morning(target, LYING, 4.0, 50.0), [m for _, m in timed if m.day < target])
    assert r.mornings_7d == 7
    assert r.baseline.n_mornings == 60


def test_the_25_hour_night_in_october_changes_no_window():
    # Summer time ends on Sunday 26 October 2025: that night lasts 25 hours.
    timed = mornings_at_0630_local(date(2025, 8, 1), date(2025, 10, 30))
    starts = {m.day: start for start, m in timed}
    target = date(2025, 10, 30)
    first_in_window = target - timedelta(days=60)
    # The first morning of the window is more than 60 x 24 hours ago...
    assert starts[target] - starts[first_in_window] == timedelta(days=60, hours=1)
    # ...and counts: the window is 60 dates.
    r = assess(Morning(target, LYING, 4.0, 50.0), [m for _, m in timed if m.day < target])
    assert r.baseline.n_mornings == 60
    assert r.mornings_7d == 7
    after = [m for _, m in timed if m.day == date(2025, 10, 26)]
    assert len(after) == 1


def test_score_is_50_on_the_lower_edge_of_the_normal_range():
    b = Baseline(20, 4.0, 0.2, 20, 50.0, 2.0)
    assert score_for(3.9, 3.9, 50.0, b) == 50  # z = z7 = -0.5
    assert score_for(4.0, 4.0, 50.0, b) == 69  # Φ(0.5)
    assert score_for(4.2, 4.2, 50.0, b) == 93  # Φ(1.5)
    assert score_for(3.8, 3.8, 50.0, b) == 31  # Φ(-0.5)
    # The table of docs/readiness.md, z = z7 from -2 to +2:
    table = [score_for(4.0 + 0.2 * z, 4.0 + 0.2 * z, 50.0, b) for z in (-2, -1, -0.5, 0, 0.5, 1, 2)]
    assert table == [7, 31, 50, 69, 84, 93, 99]
    # Resting HR two SDs up costs 0.5 * 2 = 1 in s: Φ(-0.5)
    assert score_for(4.0, 4.0, 54.0, b) == 31
    # A low resting HR never raises the score, an unknown one does not count.
    assert score_for(4.0, 4.0, 44.0, b) == 69
    assert score_for(4.0, 4.0, None, b) == 69
    assert score_for(1.0, 1.0, 90.0, b) == 0
    assert score_for(6.0, 6.0, 40.0, b) == 100


def test_normal_cdf_known_values():
    assert normal_cdf(0.0) == 0.5
    assert normal_cdf(1.0) == pytest.approx(0.841345, abs=1e-6)
    assert normal_cdf(-1.96) == pytest.approx(0.025, abs=1e-4)


SEVERITY = {Status.GREEN: 0, Status.AMBER: 1, Status.RED: 2}


@given(
    past=st.lists(
        st.tuples(st.floats(2.0, 5.5), st.one_of(st.none(), st.floats(35.0, 80.0))),
        min_size=7,
        max_size=60,
    ),
    x=st.floats(1.0, 6.5),
    dx=st.floats(0.0, 2.0),
    hr=st.one_of(st.none(), st.floats(35.0, 90.0)),
)
def test_score_and_status_never_improve_as_todays_lnrmssd_falls(past, x, dx, hr):
    mornings = [Morning(day(i + 1), LYING, ln, h) for i, (ln, h) in enumerate(past)]
    low = assess(today(x, hr), mornings)
    high = assess(today(x + dx, hr), mornings)
    assert 0 <= low.score <= high.score <= 100
    assert SEVERITY[low.status] >= SEVERITY[high.status]


def test_status_rules():
    assert status_for(Signs(week_low=True, today_low=True, resting_hr_high=False)) is Status.RED
    assert status_for(Signs(week_low=True, today_low=False, resting_hr_high=True)) is Status.RED
    assert status_for(Signs(week_low=False, today_low=True, resting_hr_high=True)) is Status.AMBER
    assert status_for(Signs(week_low=False, today_low=False, resting_hr_high=False)) is Status.GREEN


def test_recommendation_texts_in_english_and_dutch():
    red = assess(today(3.80), history(3.92))
    amber = assess(today(3.85), history())
    green = assess(today(4.0), history())
    assert "walk" in recommendation_text(red, "en")
    assert "trees" in recommendation_text(red, "en")
    assert "No training" in recommendation_text(red, "en")
    assert "wandeling" in recommendation_text(red, "nl")
    assert "bomen" in recommendation_text(red, "nl")
    assert "30-60 minutes" in recommendation_text(amber, "en")
    assert "twenty minutes" in recommendation_text(amber, "en")
    assert "herstelrit" in recommendation_text(amber, "nl")
    assert "as planned" in recommendation_text(green, "en")
    assert "massage gun" in recommendation_text(green, "en")
    assert "massagepistool" in recommendation_text(green, "nl")
    with pytest.raises(ValueError, match="de"):
        recommendation_text(green, "de")


def test_readiness_payload_has_the_fields_of_the_topic_contract():
    quality = Quality(artifact_rate=0.0125, beats=117, coverage=0.9876)
    r = assess(Morning(TODAY, LYING, 4.0, 49.96, quality), history())
    payload = readiness_payload(r, "nl")
    assert payload == {
        "date": "2025-06-01",
        "score": 69,
        "status": "green",
        "ln_rmssd": 4.0,
        "ln_rmssd_7d": 4.0,
        "rmssd_ms": 54.6,
        "resting_hr_bpm": 50.0,
        "baseline_ln_rmssd": 4.0,
        "normal_low": 3.95,
        "normal_high": 4.05,
        "recommendation": "train",
        "recommendation_text": recommendation_text(r, "nl"),
        "posture": "lying",
        # This week 4.0 then 4.1/3.9 in turn: mean 4.0, SD 0.1, CV 2.5 %. The week before,
        # four 4.1 and three 3.9: mean 4.01429, SD 0.10690, CV 2.663 %.
        "cv_7d_pct": 2.5,
        "cv_7d_prev_pct": 2.7,
        "ln_rmssd_7d_prev": 4.014,
        "trend_7d": -0.014,
        "cv_7d_change_pct": -0.2,
        "quality": {"artifact_rate": 0.0125, "beats": 117, "coverage": 0.988},
    }


def test_readiness_payload_while_building_the_baseline_has_nulls():
    payload = readiness_payload(assess(today(4.0, None), []))
    assert payload["status"] == "baseline"
    assert payload["score"] is None
    assert payload["recommendation"] is None
    assert payload["baseline_ln_rmssd"] is None
    assert payload["normal_low"] is None
    assert payload["resting_hr_bpm"] is None
    assert payload["quality"] is None
    assert payload["cv_7d_pct"] is None  # one morning: no CV, no trend
    assert payload["trend_7d"] is None
    assert payload["recommendation_text"].startswith("Building your baseline: 0 of 7")


# The worked example of docs/readiness.md: 15 lying mornings in the three weeks before
# 2 April 2025 (days missed here and there), RMSSD in ms and resting HR in bpm.
EXAMPLE_DAY = date(2025, 4, 2)
EXAMPLE = [
    (20, 62, 48),
    (19, 48, 51),
    (17, 75, 47),
    (16, 55, 49),
    (15, 68, 48),
    (13, 58, 50),
    (12, 71, 47),
    (10, 52, 50),
    (9, 66, 48),
    (8, 60, 49),
    (6, 54, 50),
    (5, 57, 49),
    (3, 50, 50),
    (2, 53, 49),
    (1, 49, 50),
]


def example(rmssd_ms, hr):
    past = [
        Morning(EXAMPLE_DAY - timedelta(days=d), LYING, math.log(rmssd), hr_)
        for d, rmssd, hr_ in EXAMPLE
    ]
    return assess(Morning(EXAMPLE_DAY, LYING, math.log(rmssd_ms), hr), past)


def test_worked_example_of_the_docs():
    r = example(47, 49)
    b = r.baseline
    assert b.n_mornings == 15
    assert b.ln_rmssd_mean == pytest.approx(4.0605, abs=5e-5)
    assert b.ln_rmssd_sd == pytest.approx(0.1386, abs=5e-5)
    assert b.normal_low == pytest.approx(3.9912, abs=5e-5)
    assert b.normal_high == pytest.approx(4.1298, abs=5e-5)
    assert b.ln_rmssd_mean - b.ln_rmssd_sd == pytest.approx(3.9218, abs=5e-5)
    assert b.resting_hr_mean_bpm == pytest.approx(49.0)
    assert b.resting_hr_sd_bpm == pytest.approx(1.1952, abs=5e-5)
    assert r.ln_rmssd == pytest.approx(3.8501, abs=5e-5)
    assert r.mornings_7d == 6
    assert r.ln_rmssd_7d == pytest.approx(3.9427, abs=5e-5)
    assert r.signs == Signs(week_low=True, today_low=True, resting_hr_high=False)
    assert r.status is Status.RED
    assert r.recommendation is Recommendation.WALK
    z = (r.ln_rmssd - b.ln_rmssd_mean) / b.ln_rmssd_sd
    z7 = (r.ln_rmssd_7d - b.ln_rmssd_mean) / b.ln_rmssd_sd
    assert (z, z7) == pytest.approx((-1.517, -0.849), abs=5e-4)
    assert r.score == 25
    # With a resting HR of 51 bpm sign C shows too (above 50.20): zHR = 1.67, score 6.
    worse = example(47, 51)
    assert worse.signs.resting_hr_high
    assert worse.score == 6
    # A good night, 62 ms: today is above μ but the week is still below the range (A).
    better = example(62, 49)
    assert better.ln_rmssd_7d == pytest.approx(3.9889, abs=5e-5)
    assert better.signs == Signs(week_low=True, today_low=False, resting_hr_high=False)
    assert better.status is Status.AMBER
    assert better.score == 69
