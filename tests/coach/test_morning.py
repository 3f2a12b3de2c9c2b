import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from hrvd.ble.timeline import BeatTimeline
from hrvd.coach.baseline import Posture
from hrvd.coach.morning import MorningMeasurement, measure
from hrvd.coach.morning_day import local_day, may_auto_start, replaces, select_mornings
from hrvd.coach.morning_quality import invalid_advice
from hrvd.coach.morning_values import InvalidReason, MorningResult, MorningSettings, MorningState
from hrvd.hrv.metrics import time_domain
from recordings import load_rr

DAY = date(2025, 3, 30)
SETTINGS = MorningSettings(hr_rest_bpm=55)


@dataclass(frozen=True, slots=True)
class Beat:
    t_s: float
    rr_ms: float
    gap_before: bool = False


def rr_series(n, seed=1, mean_rr=1000.0):
    """Calm resting RR: respiratory sinus arrhythmia (5 s breaths) and a little noise, ms."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(np.full(n, mean_rr / 1000.0))
    return mean_rr + 40.0 * np.sin(2 * np.pi * t / 5.0) + rng.normal(0.0, 8.0, n)


def timed(rr_ms, start_s=0.0, gaps=()):
    """Beats ending one after another from ``start_s``; ``gaps`` = (before index, seconds)."""
    skip = dict(gaps)
    beats, t = [], start_s
    for i, rr in enumerate(rr_ms):
        t += skip.get(i, 0.0)
        t += rr / 1000.0
        beats.append(Beat(t, float(rr), gap_before=i == 0 or i in skip))
    return beats


def calm(duration_s=185.0, seed=1, start_s=0.0):
    return timed(rr_series(int(duration_s) + 5, seed), start_s)


def in_window(beats, start_s=60.0, end_s=180.0):
    return [b for b in beats if b.t_s - b.rr_ms / 1000 >= start_s and b.t_s <= end_s]


def run(beats, settings=SETTINGS, **kwargs):
    return measure(
        beats, started_at_s=0.0, day=DAY, posture=Posture.LYING, settings=settings, **kwargs
    )


def test_a_calm_recording_is_done_with_the_metrics_of_the_measured_window_only():
    # The settling minute is fast and erratic; only the two minutes after it count.
    settle = timed(np.tile([700.0, 760.0, 720.0], 27))
    assert 58 < settle[-1].t_s < 60
    rest = timed(rr_series(130), start_s=settle[-1].t_s)
    rest[0] = Beat(rest[0].t_s, rest[0].rr_ms)  # one continuous recording
    result = run([*settle, *rest])
    assert result.valid
    assert result.reason is None
    window = in_window(rest)
    td = time_domain(np.array([b.rr_ms for b in window]))
    assert result.beats == len(window)
    assert result.artifact_rate == 0.0
    assert result.rmssd_ms == pytest.approx(td.rmssd_ms)
    assert result.ln_rmssd == pytest.approx(math.log(td.rmssd_ms))
    assert result.resting_hr_bpm == pytest.approx(td.mean_hr_bpm)
    assert 59 < result.resting_hr_bpm < 61
    assert result.coverage > 0.98
    assert result.day == DAY
    assert result.posture is Posture.LYING
    assert (result.stabilise_s, result.measure_s) == (60.0, 120.0)


def test_raw_rr_of_the_whole_measurement_is_kept():
    beats = calm()
    result = run(beats)
    kept = [b for b in beats if 0 < b.t_s <= 180.0]
    assert [r.rr_ms for r in result.raw] == [b.rr_ms for b in kept]
    assert result.raw[0].t_s == pytest.approx(kept[0].t_s)
    assert result.raw[0].gap_before


def test_progress_counts_down_through_stabilising_and_measuring_to_done():
    m = MorningMeasurement(started_at_s=1000.0, day=DAY, posture=Posture.LYING, settings=SETTINGS)
    assert m.progress.state is MorningState.STABILISING
    assert m.progress.remaining_s == 180
    beats = calm(start_s=1000.0)
    seen = {}
    for b in beats:
        p = m.add([b], b.t_s)
        seen.setdefault(p.state, p)
        if p.state is MorningState.DONE:
            break
    assert list(seen) == [MorningState.STABILISING, MorningState.MEASURING, MorningState.DONE]
    assert 119 < seen[MorningState.STABILISING].remaining_s <= 180
    assert 119 <= seen[MorningState.MEASURING].remaining_s <= 120
    assert seen[MorningState.DONE].payload() == {"state": "done", "remaining_s": 0, "reason": None}
    assert m.result is not None
    assert m.result.valid
    # A finished measurement ignores what comes after.
    assert m.tick(5000.0).state is MorningState.DONE


def test_a_measurement_time_between_60_and_300_s_is_accepted():
    for measure_s in (60, 300):
        settings = MorningSettings(measure_s=measure_s, hr_rest_bpm=55)
        result = run(calm(60 + measure_s + 5), settings)
        assert result.valid
        assert result.measure_s == measure_s
        assert result.beats == pytest.approx(measure_s, abs=2)
    for bad in (59.0, 301.0):
        with pytest.raises(ValueError, match="measure_s"):
            MorningSettings(measure_s=bad)


def test_settings_reject_values_out_of_range():
    with pytest.raises(ValueError, match="max_artifact_rate"):
        MorningSettings(max_artifact_rate=1.5)
    with pytest.raises(ValueError, match="stabilise_s"):
        MorningSettings(stabilise_s=-1)


def with_extra_beats(rr, every):
    """Split every ``every``-th beat in two (a misdetected extra beat)."""
    out = []
    for i, r in enumerate(rr):
        out.extend([r * 0.45, r * 0.55] if i % every == every // 2 else [r])
    return np.array(out)


def test_too_many_artifacts_make_the_measurement_invalid():
    result = run(timed(with_extra_beats(rr_series(190), every=12)))
    assert not result.valid
    assert result.reason is InvalidReason.ARTIFACTS
    assert result.artifact_rate > 0.05
    assert "artifact rate" in result.detail


def test_a_few_artifacts_are_corrected_and_the_measurement_stays_valid():
    clean = run(calm())
    result = run(timed(with_extra_beats(rr_series(190), every=40)))
    assert result.valid
    assert 0 < result.artifact_rate <= 0.05
    assert result.ln_rmssd == pytest.approx(clean.ln_rmssd, abs=0.1)


@pytest.mark.parametrize(("edge_s", "offset"), [(60.0, 1), (60.0, 0), (180.0, -1), (180.0, 0)])
def test_an_extra_beat_at_the_edge_of_the_window_is_still_corrected(edge_s, offset):
    # The detector judges a beat by its neighbours: at the start of the window they come
    # from the settling time.
    rr = rr_series(190)
    ends = np.cumsum(rr) / 1000
    i = int(np.searchsorted(ends, edge_s)) + offset
    split = np.concatenate([rr[:i], [0.45 * rr[i], 0.55 * rr[i]], rr[i + 1 :]])
    clean, result = run(timed(rr)), run(timed(split))
    assert result.valid
    assert result.ln_rmssd == pytest.approx(clean.ln_rmssd, abs=0.02)


def test_a_short_reconnect_is_tolerated_and_no_difference_is_taken_across_it():
    rr = rr_series(190)
    rr[110:] += 60.0  # the heart settled a little lower while the strap reconnected
    beats = timed(rr, gaps=[(110, 6.0)])
    result = run(beats)
    assert result.valid
    assert result.coverage == pytest.approx(1 - 6.0 / 120, abs=0.01)  # the gap is not covered
    window = in_window(beats)
    rr_w = np.array([b.rr_ms for b in window])
    flags = np.array([b.gap_before for b in window])
    assert flags.sum() == 1
    across = time_domain(rr_w)
    apart = time_domain(rr_w, flags)
    assert result.rmssd_ms == pytest.approx(apart.rmssd_ms)
    assert result.rmssd_ms != pytest.approx(across.rmssd_ms)


def test_a_reconnect_of_ten_seconds_or_more_makes_it_invalid():
    result = run(timed(rr_series(190), gaps=[(110, 10.5)]))
    assert not result.valid
    assert result.reason is InvalidReason.GAP
    assert "10.5 s" in result.detail


def test_a_strap_that_goes_quiet_ends_the_measurement_after_ten_seconds_not_at_the_end():
    m = MorningMeasurement(started_at_s=0.0, day=DAY, posture=Posture.LYING, settings=SETTINGS)
    beats = [b for b in calm() if b.t_s <= 100.0]
    m.add(beats, 100.0)
    assert m.tick(109.0).state is MorningState.MEASURING
    p = m.tick(110.5)
    assert p.state is MorningState.INVALID
    assert p.reason is InvalidReason.GAP
    assert p.payload() == {"state": "invalid", "remaining_s": 0, "reason": "gap"}
    assert m.result is not None
    assert not m.result.valid
    assert m.result.morning() is None


def test_gaps_that_add_up_to_more_than_a_tenth_fail_coverage():
    result = run(timed(rr_series(190), gaps=[(90, 7.0), (130, 7.0)]))
    assert result.reason is InvalidReason.COVERAGE
    assert result.coverage == pytest.approx(106 / 120, abs=0.01)


def test_a_long_gap_while_settling_does_not_matter():
    result = run(timed(rr_series(190), gaps=[(20, 15.0)]))
    assert result.valid


def test_heart_rate_above_rest_plus_25_means_movement():
    rr = rr_series(200)
    rr[100:130] = 650.0 + rr[100:130] - 1000.0  # sat up: about 92 bpm > 55 + 25
    result = run(timed(rr))
    assert not result.valid
    assert result.reason is InvalidReason.MOVEMENT
    assert "movement" in result.detail


def test_movement_is_judged_against_the_settling_heart_rate_when_hr_rest_is_unknown():
    rr = rr_series(200)
    rr[100:130] = 650.0 + rr[100:130] - 1000.0
    m = MorningMeasurement(started_at_s=0.0, day=DAY, posture=Posture.LYING)
    for b in timed(rr):
        if m.add([b], b.t_s).state is MorningState.INVALID:
            break
    assert m.reference_bpm == pytest.approx(60, abs=2)
    assert m.progress.reason is InvalidReason.MOVEMENT
    assert m.progress.remaining_s == 0


def test_one_misdetected_short_beat_is_not_movement():
    rr = rr_series(190)
    rr[120] = 350.0
    result = run(timed(rr))
    assert result.reason is not InvalidReason.MOVEMENT


def test_stopping_early_gives_an_invalid_result_with_the_beats_so_far():
    m = MorningMeasurement(started_at_s=0.0, day=DAY, posture=Posture.SITTING, settings=SETTINGS)
    m.add([b for b in calm() if b.t_s < 90], 90.0)
    p = m.abort()
    assert p.state is MorningState.INVALID
    assert p.reason is InvalidReason.ABORTED
    assert m.result is not None
    assert m.result.raw
    assert m.result.posture is Posture.SITTING


def test_no_beats_at_all_is_invalid():
    result = run([])
    assert not result.valid
    assert result.beats == 0
    assert result.ln_rmssd is None


def test_works_with_the_beat_timeline_of_a_strap():
    timeline = BeatTimeline()
    m = MorningMeasurement(started_at_s=500.0, day=DAY, posture=Posture.LYING, settings=SETTINGS)
    rr = rr_series(200)
    now = 500.0
    for pair in zip(rr[0::2], rr[1::2], strict=True):
        raw = tuple(round(r * 1.024) for r in pair)
        now += sum(raw) / 1024
        if m.add(timeline.add(now, raw), now).state is MorningState.DONE:
            break
    assert m.result is not None
    assert m.result.valid, m.result.detail


def test_a_valid_result_becomes_a_morning_with_its_quality():
    result = run(calm())
    morning = result.morning()
    assert morning is not None
    assert morning.day == DAY
    assert morning.ln_rmssd == result.ln_rmssd
    assert morning.resting_hr_bpm == result.resting_hr_bpm
    assert morning.quality == result.quality
    assert morning.quality.beats == result.beats


def fake(*, valid, repeat=False, day=DAY, ln=4.0):
    return MorningResult(
        day=day,
        posture=Posture.LYING,
        repeat=repeat,
        valid=valid,
        reason=None if valid else InvalidReason.ARTIFACTS,
        detail=None,
        ln_rmssd=ln,
        rmssd_ms=math.exp(ln),
        resting_hr_bpm=50.0,
        artifact_rate=0.0,
        beats=120,
        coverage=1.0,
        stabilise_s=60.0,
        measure_s=120.0,
        raw=(),
    )


def test_the_first_valid_morning_of_a_day_counts():
    first, second = fake(valid=True, ln=4.0), fake(valid=True, ln=4.2)
    assert select_mornings([first, second]) == [first]
    assert not replaces(first, second)


def test_a_repeat_replaces_the_days_valid_morning():
    first, again = fake(valid=True, ln=4.0), fake(valid=True, repeat=True, ln=4.2)
    assert select_mornings([first, again]) == [again]


def test_an_invalid_result_never_replaces_a_valid_one_even_as_a_repeat():
    first, bad = fake(valid=True), fake(valid=False, repeat=True)
    assert select_mornings([first, bad]) == [first]
    assert not replaces(first, bad)


def test_a_valid_result_after_an_invalid_one_counts_without_repeat():
    bad, good = fake(valid=False), fake(valid=True, ln=3.9)
    assert select_mornings([bad, good]) == [good]


def test_one_morning_per_day_oldest_first_and_none_for_an_invalid_only_day():
    d1, d2, d3 = date(2025, 3, 29), date(2025, 3, 30), date(2025, 3, 31)
    results = [
        fake(valid=True, day=d3),
        fake(valid=False, day=d2),
        fake(valid=True, day=d1),
        fake(valid=True, day=d1),
    ]
    assert [r.day for r in select_mornings(results)] == [d1, d3]


BRUSSELS = ZoneInfo("Europe/Brussels")


@pytest.mark.parametrize(
    ("utc", "local_date"),
    [
        # 06:30 after the 23-hour night of 30 March 2025 (CET -> CEST) is still 30 March.
        (datetime(2025, 3, 30, 4, 30, tzinfo=UTC), date(2025, 3, 30)),
        (datetime(2025, 3, 29, 5, 30, tzinfo=UTC), date(2025, 3, 29)),
        # 06:30 after the 25-hour night of 26 October 2025 (CEST -> CET).
        (datetime(2025, 10, 26, 5, 30, tzinfo=UTC), date(2025, 10, 26)),
        # 00:30 local on 31 March is 22:30 UTC the day before.
        (datetime(2025, 3, 30, 22, 30, tzinfo=UTC), date(2025, 3, 31)),
    ],
)
def test_the_day_is_the_local_date_at_the_start(utc, local_date):
    assert local_day(utc, BRUSSELS) == local_date


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError, match="aware"):
        local_day(datetime(2025, 3, 30, 6, 30), BRUSSELS)  # noqa: DTZ001 - the point of the test


def test_auto_start_needs_the_morning_window_a_calm_heart_and_no_ride():
    assert may_auto_start(time(6, 30), 62, 50, ride_active=False)
    assert may_auto_start(time(5, 0), 65, 50, ride_active=False)
    assert not may_auto_start(time(10, 0), 60, 50, ride_active=False)
    assert not may_auto_start(time(4, 59), 60, 50, ride_active=False)
    assert not may_auto_start(time(6, 30), 66, 50, ride_active=False)
    assert not may_auto_start(time(6, 30), 60, 50, ride_active=True)
    assert not may_auto_start(time(6, 30), 60, None, ride_active=False)


def test_invalid_advice_in_english_and_dutch():
    assert "Lie still" in invalid_advice(InvalidReason.MOVEMENT, "en")
    assert "Lig stil" in invalid_advice(InvalidReason.MOVEMENT, "nl")
    for reason in InvalidReason:
        assert invalid_advice(reason, "nl") != invalid_advice(reason, "en")
    with pytest.raises(ValueError, match="fr"):
        invalid_advice(InvalidReason.GAP, "fr")


def test_a_run_of_ectopic_beats_is_refused_with_its_reason():
    # kbroman's Polar H10 recording: trigeminy-like premature beats. The adaptive
    # corrector flags ~2 % of them, so only the quality verdict's fixed count refuses it.
    rr = load_rr("polar_h10")
    result = run(timed(rr[rr.cumsum() < 200_000]), settings=MorningSettings())
    assert not result.valid
    assert result.reason is InvalidReason.ECTOPIC_BURDEN
    assert "irregular beats" in result.detail
    assert "doctor" in invalid_advice(result.reason)
