"""The recovery-ride coach with scripted heart rates and injected time (1 sample a second)."""

from __future__ import annotations

import pytest

from hrvd.coach.alpha1 import GUARD_HOLD_S, GuardEvent
from hrvd.coach.recovery import (
    CHECK_IN_TEXT,
    AlertEvent,
    Phase,
    PhaseEvent,
    RecoveryRide,
    RideSettings,
)
from hrvd.coach.rides import RideEnded, RideManager, RideStarted

SETTINGS = RideSettings(ceiling_bpm=120)  # warm-up ceiling 110 until 15 min


def play(ride, script, **kwargs):
    """Feed (from_s, to_s, hr) segments, one sample a second; collect (t, event)."""
    events = []
    for start, stop, hr in script:
        for t in range(start, stop):
            events += ride.update(float(t), hr, **kwargs)
    return events


def alerts(events):
    return [(e.at_s, e.too_hard, e.reason) for e in events if isinstance(e, AlertEvent)]


def test_easy_then_above_the_ceiling_then_easy_gives_one_alert_at_the_sustain_times():
    ride = RecoveryRide(SETTINGS, 0.0)
    events = play(ride, [(0, 1000, 100), (1000, 1100, 125), (1100, 2800, 110)])
    assert alerts(events) == [(1030.0, True, "hr_ceiling"), (1130.0, False, "back_in_zone")]
    phases = [(e.at_s, e.phase, e.event) for e in events if isinstance(e, PhaseEvent)]
    assert phases == [
        (180.0, Phase.WARMUP, "phase"),
        (900.0, Phase.STEADY, "phase"),
        (900.0, Phase.STEADY, "check_in"),
        (2700.0, Phase.COMPLETE, "complete"),
    ]
    check_in = next(e for e in events if isinstance(e, PhaseEvent) and e.event == "check_in")
    assert check_in.text == CHECK_IN_TEXT
    on = next(e for e in events if isinstance(e, AlertEvent) and e.too_hard)
    assert (on.hr_bpm, on.ceiling_bpm, on.since_s) == (125, 120, 1030.0)


def test_short_spikes_never_fire():
    ride = RecoveryRide(SETTINGS, 0.0)
    script = [(0, 900, 100)]
    for k in range(20):  # 29 s above, 5 s below, over and over
        base = 900 + k * 34
        script += [(base, base + 29, 135), (base + 29, base + 34, 105)]
    assert alerts(play(ride, script)) == []


def test_no_flapping_around_the_ceiling():
    ride = RecoveryRide(SETTINGS, 0.0)
    wobble = [(t, t + 1, 118 if t % 2 else 121) for t in range(1040, 1400)]
    events = play(ride, [(0, 1000, 100), (1000, 1040, 125), *wobble, (1400, 1500, 110)])
    # On after 30 s above; 118-121 is never below 117, so it stays on until 1430.
    assert alerts(events) == [(1030.0, True, "hr_ceiling"), (1430.0, False, "back_in_zone")]


def test_the_start_overshoot_does_not_alert_but_the_lowered_warmup_ceiling_does():
    ride = RecoveryRide(SETTINGS, 0.0)
    events = play(ride, [(0, 300, 115)])
    # 115 is above the warm-up ceiling of 110: alerts 30 s into the warm-up, not before.
    assert alerts(events) == [(210.0, True, "hr_ceiling")]
    assert ride.ceiling_bpm() == 110


def test_alpha1_guard_fires_on_its_own_when_the_window_is_clean():
    ride = RecoveryRide(SETTINGS, 0.0)
    play(ride, [(0, 1000, 100)], dfa_alpha1=1.1, dfa_artifact_rate=0.01)
    events = play(ride, [(1000, 1100, 105)], dfa_alpha1=0.6, dfa_artifact_rate=0.01)
    assert alerts(events) == [(1060.0, True, "dfa_alpha1")]
    events = play(ride, [(1100, 1200, 105)], dfa_alpha1=0.9, dfa_artifact_rate=0.01)
    assert alerts(events) == [(1160.0, False, "back_in_zone")]


def test_alpha1_guard_stands_down_above_three_percent_artifacts_and_says_so_once_it_lasts():
    ride = RecoveryRide(SETTINGS, 0.0)
    play(ride, [(0, 1000, 100)], dfa_alpha1=1.1, dfa_artifact_rate=0.01)
    events = play(ride, [(1000, 1200, 105)], dfa_alpha1=0.6, dfa_artifact_rate=0.05)
    assert alerts(events) == []
    guard = [e for e in events if isinstance(e, GuardEvent)]
    assert [(g.at_s, g.active) for g in guard] == [(1000.0 + GUARD_HOLD_S, False)]
    assert not ride.alpha1.guard_active


def test_both_rules_name_themselves_in_the_reason():
    ride = RecoveryRide(SETTINGS, 0.0)
    play(ride, [(0, 1000, 100)], dfa_alpha1=1.1, dfa_artifact_rate=0.0)
    events = play(ride, [(1000, 1100, 130)], dfa_alpha1=0.6, dfa_artifact_rate=0.0)
    assert alerts(events) == [(1030.0, True, "hr_ceiling"), (1060.0, True, "hr_ceiling+dfa_alpha1")]


def test_ending_a_ride_turns_the_alert_off_and_sums_it_up():
    ride = RecoveryRide(SETTINGS, 0.0)
    play(ride, [(0, 1000, 100), (1000, 1200, 130)], rmssd_ms=20.0)
    events, summary = ride.end(1200.0, "command")
    assert alerts(events) == [(1200.0, False, "ride_end")]
    assert summary.duration_s == 1200
    assert summary.alerts == 1
    assert summary.too_hard_s == pytest.approx(170, abs=1)
    assert summary.max_hr_bpm == 130
    assert summary.in_zone_pct == pytest.approx(100 * 1000 / 1199, abs=0.2)
    assert summary.mean_rmssd_ms == 20.0


def test_a_ride_starts_by_itself_when_the_rider_pedals_and_ends_when_they_stop():
    rides = RideManager(SETTINGS, hr_rest=50, auto_start=True)
    events = []
    for t in range(400):
        events += rides.update(float(t), 60.0 if t < 100 else 75.0)
    started = [e for e in events if isinstance(e, RideStarted)]
    assert [(e.at_s, e.how) for e in started] == [(220.0, "auto")]
    for t in range(400, 1100):
        events += rides.update(float(t), 55.0)
    ended = [e for e in events if isinstance(e, RideEnded)]
    assert [(e.at_s, e.summary.end_reason) for e in ended] == [(1000.0, "off_bike")]


def test_a_strap_gone_for_five_minutes_ends_the_ride_and_the_alert():
    rides = RideManager(SETTINGS, hr_rest=50, auto_start=False)
    rides.start(0.0)
    events = []
    for t in range(1100):
        events += rides.update(float(t), 100.0 if t < 1000 else 130.0)
    assert rides.ride is not None
    assert rides.ride.too_hard
    rides.gone(1100.0)
    assert rides.tick(1399.0) == []
    end = rides.tick(1400.0)
    assert alerts(end) == [(1400.0, False, "ride_end")]
    assert [e.summary.end_reason for e in end if isinstance(e, RideEnded)] == ["strap_gone"]


def test_a_strap_back_in_time_keeps_the_ride():
    rides = RideManager(SETTINGS, hr_rest=50, auto_start=False)
    rides.start(0.0)
    rides.update(10.0, 100.0)
    rides.gone(20.0)
    rides.update(250.0, 100.0)  # back after 230 s
    assert rides.tick(400.0) == []
    assert rides.ride is not None


def test_a_ride_ends_after_three_hours():
    rides = RideManager(SETTINGS, hr_rest=None, auto_start=False)
    rides.start(0.0)
    assert not any(isinstance(e, RideEnded) for e in rides.update(10_799.0, 100.0))
    end = rides.update(10_800.0, 100.0)
    assert [e.summary.end_reason for e in end if isinstance(e, RideEnded)] == ["max_duration"]


def test_commands_start_and_stop_once():
    rides = RideManager(SETTINGS, hr_rest=50, auto_start=False)
    assert [type(e) for e in rides.start(5.0)] == [RideStarted]
    assert rides.start(6.0) == []
    assert [type(e) for e in rides.stop(7.0)] == [RideEnded]
    assert rides.stop(8.0) == []
