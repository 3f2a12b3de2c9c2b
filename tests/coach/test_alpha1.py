"""The alpha1 rule: evidence of intensity only while exercising, and a guard that holds still."""

from __future__ import annotations

import numpy as np
import pytest

from hrvd.coach.alpha1 import (
    ALPHA1_EVERY_S,
    ALPHA1_SUSTAIN_S,
    ALPHA1_WINDOW_S,
    EXERCISE_S,
    GUARD_HOLD_S,
    Alpha1Rule,
    Alpha1Settings,
    GuardEvent,
)
from hrvd.coach.recovery import AlertEvent, RecoveryRide, RideSettings
from hrvd.hrv import stream
from hrvd.hrv.dfa import dfa_alpha1
from hrvd.hrv.synthetic import sinus_rr

SETTINGS = RideSettings(ceiling_bpm=120)


def feed(rule, start, stop, *, hr, alpha1, artifacts=0.01):
    events = []
    for t in range(start, stop):
        events += rule.update(float(t), hr, alpha1, artifacts)
    return events


def test_the_window_constants_are_the_live_streams():
    assert ALPHA1_WINDOW_S == stream.DFA_WINDOW_S
    assert ALPHA1_EVERY_S == stream.DFA_EVERY_S


def test_a_low_alpha1_at_rest_is_no_evidence():
    rule = Alpha1Rule()
    feed(rule, 0, 3600, hr=55.0, alpha1=0.25)  # an hour sitting still, strong sinus arrhythmia
    assert not rule.exercising
    assert not rule.on


def test_alpha1_counts_once_a_whole_window_was_above_the_floor():
    rule = Alpha1Rule()
    feed(rule, 0, 600, hr=60.0, alpha1=0.3)
    # Pedalling from 600 s: alpha1 counts from 720 s, and raises the rule 60 s later.
    feed(rule, 600, 600 + int(EXERCISE_S + ALPHA1_SUSTAIN_S) - 1, hr=100.0, alpha1=0.6)
    assert rule.exercising
    assert not rule.on
    feed(rule, 779, 781, hr=100.0, alpha1=0.6)
    assert rule.on


def test_the_rule_clears_when_the_rider_stops_exercising():
    rule = Alpha1Rule()
    feed(rule, 0, 400, hr=110.0, alpha1=0.6)
    assert rule.on
    feed(rule, 400, 400 + int(EXERCISE_S) - 1, hr=70.0, alpha1=0.3)
    assert rule.on  # the window still holds exercise beats
    feed(rule, 519, 521, hr=70.0, alpha1=0.3)
    assert not rule.exercising
    assert not rule.on


def test_a_guard_that_flickers_publishes_nothing_and_holds_the_rule():
    rule = Alpha1Rule()
    feed(rule, 0, 400, hr=110.0, alpha1=0.6)
    assert rule.on
    events = []
    for k in range(40):  # the window's rate wobbles around 3 %: 40 s above, 40 s below
        rate = 0.035 if k % 2 == 0 else 0.025
        events += feed(rule, 400 + 40 * k, 440 + 40 * k, hr=110.0, alpha1=0.6, artifacts=rate)
    assert events == []
    assert rule.guard_active
    assert rule.on


def test_a_lasting_stand_down_is_one_event_each_way_and_drops_the_rule():
    rule = Alpha1Rule()
    feed(rule, 0, 400, hr=110.0, alpha1=0.6)
    off = feed(rule, 400, 1000, hr=110.0, alpha1=0.6, artifacts=0.06)
    assert off == [GuardEvent(400.0 + GUARD_HOLD_S, active=False, artifact_rate=0.06)]
    assert not rule.on  # nothing it may judge by any more
    back = feed(rule, 1000, 1400, hr=110.0, alpha1=0.6, artifacts=0.01)
    assert back == [GuardEvent(1000.0 + GUARD_HOLD_S, active=True, artifact_rate=0.01)]
    assert rule.on  # 60 s of clean low alpha1 raised it again, before the event


def test_the_settings_are_the_rules():
    rule = Alpha1Rule(Alpha1Settings(limit=0.85, min_hr_bpm=70.0, max_artifact_rate=0.06))
    feed(rule, 0, 400, hr=75.0, alpha1=0.8, artifacts=0.05)
    assert rule.on
    assert rule.settings.clear == pytest.approx(0.90)


def _rest_alerts(hr: int, settings: RideSettings) -> tuple[list[AlertEvent], float]:
    """Play 45 minutes of a resting athlete (alpha1 every 5 beats); alerts and max alpha1."""
    rng = np.random.default_rng(hr)
    rr = sinus_rr(hr * 45, rng, mean_ms=60000 / hr, rsa_ms=90.0)  # a breath every 4-5.5 beats
    ride = RecoveryRide(settings, 0.0)
    t, events, seen = 0.0, [], [0.0]
    window = int(hr * ALPHA1_WINDOW_S / 60)
    for i in range(window, len(rr), 5):
        a1 = dfa_alpha1(rr[i - window : i])
        seen.append(a1 or 0.0)
        t += float(np.sum(rr[i - 5 : i])) / 1000
        events += ride.update(
            t, 60000 / float(np.mean(rr[i - 5 : i])), dfa_alpha1=a1, dfa_artifact_rate=0.0
        )
    return [e for e in events if isinstance(e, AlertEvent)], max(seen)


@pytest.mark.parametrize("hr", [50, 55, 60])
def test_a_resting_athlete_with_strong_sinus_arrhythmia_never_alerts(hr):
    alerts, highest = _rest_alerts(hr, SETTINGS)
    assert highest < 0.5  # alpha1 as low as a fit athlete's at rest
    assert alerts == []
    # Without the floor the same beats would have raised the alpha1 alert.
    no_floor = RideSettings(ceiling_bpm=120, alpha1=Alpha1Settings(min_hr_bpm=40.0))
    assert [a.reason for a in _rest_alerts(hr, no_floor)[0]][:1] == ["dfa_alpha1"]
