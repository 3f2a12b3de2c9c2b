"""The orthostatic test: the stand detector, the standing numbers, the state machine, the normal."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hrvd.coach.morning_values import InvalidReason, MorningSettings, MorningState
from hrvd.coach.orthostatic import STAND_RISE_BPM, OrthoOutcome, OrthoRecord, detect_stand
from hrvd.coach.orthostatic_baseline import (
    MIN_BASELINE_TESTS,
    OrthoStatus,
    assess_ortho,
    ortho_line,
    ortho_payload,
)
from hrvd.coach.orthostatic_test import OrthoPhase, OrthoSettings, OrthostaticTest, run_test
from hrvd.hrv.synthetic import orthostatic_rr

DAY = date(2026, 12, 4)
SETTINGS = MorningSettings(hr_rest_bpm=55)
PROMPT_S = SETTINGS.stabilise_s + SETTINGS.measure_s


@dataclass(frozen=True, slots=True)
class Beat:
    t_s: float
    rr_ms: float
    gap_before: bool = False


def beats_of(rr_ms: np.ndarray) -> list[Beat]:
    t = np.cumsum(rr_ms) / 1000.0
    return [Beat(float(x), float(r), i == 0) for i, (x, r) in enumerate(zip(t, rr_ms, strict=True))]


def a_test(seed: int = 0, *, delay_s: float = 5.0, **shape: float | bool) -> OrthostaticTest:
    """A recording that stands ``delay_s`` after the prompt, run to its end."""
    rng = np.random.default_rng(seed)
    rr = orthostatic_rr(rng, lying_s=PROMPT_S + delay_s, standing_s=150.0, **shape)  # type: ignore[arg-type]
    return run_test(beats_of(rr), started_at_s=0.0, day=DAY, settings=SETTINGS)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    supine=st.floats(45.0, 75.0),
    rise=st.floats(25.0, 35.0),
    peak_after=st.floats(15.0, 20.0),
    delay=st.floats(2.0, 20.0),
)
def test_a_stand_is_found_with_its_peak_and_a_lower_standing_rmssd(
    seed, supine, rise, peak_after, delay
):
    test = a_test(seed, delay_s=delay, supine_hr_bpm=supine, rise_bpm=rise, peak_after_s=peak_after)
    record = test.record
    assert test.state is MorningState.DONE
    assert record is not None
    assert record.outcome is OrthoOutcome.STOOD
    stood_s = PROMPT_S + delay
    # The jump is seen within 10 s of standing, the peak within 5 s of its true time.
    assert record.peak_after_s is not None
    assert record.peak_hr_bpm is not None
    assert record.supine_hr_bpm == pytest.approx(supine, abs=1.5)
    assert abs(record.peak_hr_bpm - (supine + rise)) < 5.0
    assert test.stand_s is not None
    assert stood_s < test.stand_s < stood_s + 15.0  # measured: 7.3 to 12.3 s late
    # Timed from the start of the rise, the peak comes when it came.
    assert abs(record.peak_after_s - peak_after) < 7.0  # measured: -5.3 to +1.5 s
    # Standing from 60 s on: half the rise has gone (the generator's recovery 0.5).
    assert record.hr_rise_bpm is not None
    assert 0.4 * rise < record.hr_rise_bpm < 0.7 * rise
    assert record.hr_recovery_bpm is not None
    assert record.hr_recovery_bpm > 0.25 * rise
    assert record.standing_rmssd_ms is not None
    assert record.supine_rmssd_ms is not None
    assert record.standing_rmssd_ms < 0.6 * record.supine_rmssd_ms


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    supine=st.floats(45.0, 75.0),
    shift=st.floats(0.0, STAND_RISE_BPM - 4.0),
)
def test_lying_on_or_only_shifting_in_bed_is_not_a_stand(seed, supine, shift):
    rng = np.random.default_rng(seed)
    # A small sustained rise (sitting up, shifting): below the threshold, minus breathing.
    rr = orthostatic_rr(
        rng, lying_s=PROMPT_S, standing_s=90.0, supine_hr_bpm=supine, rise_bpm=shift, recovery=0.0
    )
    beats = beats_of(rr)
    after = [b for b in beats if b.t_s > PROMPT_S]
    lying = [b for b in beats if PROMPT_S - 120 < b.t_s <= PROMPT_S]
    supine_hr = 60000.0 / np.mean([b.rr_ms for b in lying])
    found = detect_stand([b.t_s for b in after], [b.rr_ms for b in after], supine_hr)
    assert found is None


def test_staying_in_bed_ends_as_did_not_stand_and_the_lying_part_still_counts():
    test = a_test(3, stands=False)
    assert test.state is MorningState.DONE
    assert test.progress.outcome is OrthoOutcome.DID_NOT_STAND
    assert test.progress.payload()["outcome"] == "did_not_stand"
    assert test.record is not None
    assert test.record.standing_hr_bpm is None
    result = test.result
    assert result is not None
    assert result.valid
    assert result.morning() is not None
    # It ended STAND_DETECT_S after the prompt, not at the end of a standing part.
    assert test.standing_raw[-1].t_s < PROMPT_S + 62.0


def test_the_prompt_to_stand_comes_when_the_lying_part_is_done():
    rng = np.random.default_rng(4)
    rr = orthostatic_rr(rng, lying_s=PROMPT_S + 8, standing_s=150.0)
    test = OrthostaticTest(started_at_s=0.0, day=DAY, settings=SETTINGS, language="nl")
    phases = []
    for beat in beats_of(rr):
        progress = test.add((beat,), beat.t_s)
        if not phases or phases[-1][0] is not progress.phase:
            phases.append((progress.phase, progress.payload()))
    assert [p for p, _ in phases] == [
        OrthoPhase.LYING,
        OrthoPhase.STAND_UP,
        OrthoPhase.STANDING,
        OrthoPhase.DONE,
    ]
    stand_up = phases[1][1]
    assert stand_up["state"] == "measuring"
    assert stand_up["test"] == "orthostatic"
    assert stand_up["prompt"] == "Sta nu rustig op en blijf stil staan."
    assert 0 < int(stand_up["remaining_s"]) <= 180  # type: ignore[call-overload]


def test_an_invalid_lying_part_ends_the_test_without_a_prompt():
    # 110 bpm lying: movement, by the morning measurement's own check.
    test = run_test(beats_of(np.full(400, 545.0)), started_at_s=0.0, day=DAY, settings=SETTINGS)
    assert test.state is MorningState.INVALID
    assert test.progress.payload()["reason"] == "movement"
    assert test.record is None
    assert test.standing_raw == ()


def test_a_strap_gone_quiet_while_standing_leaves_the_lying_part_valid():
    rng = np.random.default_rng(5)
    rr = orthostatic_rr(rng, lying_s=PROMPT_S + 5, standing_s=150.0)
    beats = [b for b in beats_of(rr) if b.t_s < PROMPT_S + 40]  # the strap falls off
    test = run_test(beats, started_at_s=0.0, day=DAY, settings=SETTINGS)
    assert test.record is not None
    assert test.record.outcome is OrthoOutcome.INVALID
    assert test.record.reason == InvalidReason.GAP
    assert test.result is not None
    assert test.result.valid


def test_stopping_while_standing_keeps_the_lying_part():
    rng = np.random.default_rng(6)
    test = OrthostaticTest(started_at_s=0.0, day=DAY, settings=SETTINGS)
    for beat in beats_of(orthostatic_rr(rng, lying_s=PROMPT_S + 5, standing_s=30.0)):
        test.add((beat,), beat.t_s)
    assert test.progress.phase is OrthoPhase.STANDING
    test.abort()
    assert test.record is not None
    assert test.record.reason == "aborted"
    assert test.result is not None
    assert test.result.valid


def test_settings_refuse_a_standing_part_too_short_to_measure():
    with pytest.raises(ValueError, match="standing_s"):
        OrthoSettings(standing_s=70.0, settle_s=60.0)


def stood(day: date, standing_hr: float, supine_hr: float = 55.0, rmssd: float = 15.0):
    return OrthoRecord(day, OrthoOutcome.STOOD, supine_hr, 50.0, standing_hr, rmssd, 90.0, 12.0)


def normal_history(n: int) -> list[OrthoRecord]:
    return [stood(DAY - timedelta(days=k), 70.0 + (k % 3) - 1) for k in range(1, n + 1)]


def test_the_test_is_compared_only_once_six_earlier_tests_stood():
    today = stood(DAY, 90.0)
    too_few = normal_history(MIN_BASELINE_TESTS - 1)
    assert assess_ortho(today, too_few).status is OrthoStatus.BASELINE  # type: ignore[union-attr]
    not_standing = [
        OrthoRecord(DAY - timedelta(days=20 + k), OrthoOutcome.DID_NOT_STAND, 55.0, 50.0)
        for k in range(5)
    ]
    still_few = assess_ortho(today, [*too_few, *not_standing])
    assert still_few is not None
    assert still_few.status is OrthoStatus.BASELINE


@settings(max_examples=50, deadline=None)
@given(delta=st.floats(-15.0, 15.0))
def test_a_standing_heart_rate_above_its_normal_is_a_sign(delta):
    history = normal_history(10)
    result = assess_ortho(stood(DAY, 70.0 + delta), history)
    assert result is not None
    assert result.baseline is not None
    assert result.standing_hr_z is not None
    sd = result.baseline.standing_hr_sd_bpm
    high = delta > sd  # the mean is 70 (the pattern -1, 0, +1 around it)
    assert ("standing_hr_high" in result.signs) == high
    assert (result.status is OrthoStatus.ELEVATED) == bool(result.signs)
    assert ("hr_rise_high" in result.signs) == high  # the same supine HR every day


def test_a_low_standing_rmssd_is_a_sign():
    result = assess_ortho(stood(DAY, 70.0, rmssd=8.0), normal_history(10))
    assert result is not None
    assert result.signs == ("standing_hrv_low",)


def test_a_test_that_did_not_stand_is_not_judged_but_reported():
    record = OrthoRecord(DAY, OrthoOutcome.DID_NOT_STAND, 55.0, 50.0)
    assert assess_ortho(record, normal_history(10)) is None
    payload = ortho_payload(record, None)
    assert payload["outcome"] == "did_not_stand"
    assert payload["hr_rise_bpm"] is None
    assert ortho_line(payload) == "orthostatic test: did_not_stand"


def test_the_payload_names_every_value_and_its_normal():
    history = normal_history(8)
    record = stood(DAY, 80.0)
    payload = ortho_payload(record, assess_ortho(record, history))
    assert payload["hr_rise_bpm"] == 25.0
    assert payload["hr_recovery_bpm"] == 10.0
    assert payload["status"] == "elevated"
    assert payload["baseline_tests"] == 8
    assert payload["baseline_standing_hr_bpm"] == pytest.approx(70.0, abs=0.5)
    assert "rise 25.0 bpm" in ortho_line(payload)
    assert math.isclose(record.standing_ln_rmssd or 0.0, math.log(15.0))
