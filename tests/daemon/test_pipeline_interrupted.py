"""interrupted_messages: what ends a ride and an alert that a crash left active."""

from __future__ import annotations

from dataclasses import replace

from hrvd.daemon.interrupted import interrupted_messages
from hrvd.publish.messages import AlertMessage, RideMessage

NOW = "2026-11-27T19:00:00+00:00"
RIDE_MESSAGE = RideMessage(
    id="H10@2026-11-27T18:00:00+00:00:4:steady",
    active=True,
    phase="steady",
    elapsed_s=1260.0,
    event="steady",
    alpha1_guard="off",
)
ALERT_MESSAGE = AlertMessage(
    id="H10@2026-11-27T18:00:00+00:00:alert:2:on",
    ts="2026-11-27T18:20:00+00:00",
    too_hard=True,
    reason="hr_ceiling",
    since="2026-11-27T18:19:50+00:00",
    hr_bpm=131.0,
    ceiling_bpm=118.0,
    dfa_alpha1=0.71,
)
RIDE, ALERT_ON = RIDE_MESSAGE.payload(), ALERT_MESSAGE.payload()


def test_an_active_ride_and_an_alert_on_are_ended_alert_first():
    last = {"hrvd/h10/ride": RIDE, "hrvd/h10/alert": ALERT_ON}
    out = interrupted_messages(last, NOW)
    assert [t for t, _ in out] == ["hrvd/h10/alert", "hrvd/h10/ride"]
    alert, ride = out[0][1].payload(), out[1][1].payload()
    assert AlertMessage.from_payload(alert) == replace(
        ALERT_MESSAGE,
        id=f"{ALERT_MESSAGE.id}:interrupted",
        ts=NOW,
        too_hard=False,
        reason="interrupted",
        since=None,
        hr_bpm=None,
        dfa_alpha1=None,
    )
    assert RideMessage.from_payload(ride) == replace(
        RIDE_MESSAGE,
        id=f"{RIDE_MESSAGE.id}:interrupted",
        active=False,
        phase="complete",
        event="ended (interrupted)",
        alpha1_guard=None,
    )
    assert alert == {
        **ALERT_ON,
        "id": f"{ALERT_ON['id']}:interrupted",
        "ts": NOW,
        "too_hard": False,
        "reason": "interrupted",
        "since": None,
        "hr_bpm": None,
        "dfa_alpha1": None,
    }
    assert ride == {
        **RIDE,
        "id": f"{RIDE['id']}:interrupted",
        "active": False,
        "phase": "complete",
        "event": "ended (interrupted)",
        "alpha1_guard": None,
    }


def test_a_ride_that_ended_and_an_alert_off_need_nothing():
    last = {
        "hrvd/h10/ride": {**RIDE, "active": False, "phase": "complete"},
        "hrvd/h10/alert": {**ALERT_ON, "too_hard": False, "reason": "back_in_zone"},
    }
    assert interrupted_messages(last, NOW) == []


def test_each_strap_is_judged_on_its_own():
    last = {
        "hrvd/a/ride": RIDE,
        "hrvd/b/ride": {**RIDE, "active": False},
        "hrvd/b/alert": ALERT_ON,  # an alert on while the ride ended cannot stay on either
    }
    assert [t for t, _ in interrupted_messages(last, NOW)] == ["hrvd/a/ride", "hrvd/b/alert"]


def test_what_it_sends_needs_nothing_more_at_the_next_start():
    last = {"hrvd/h10/ride": RIDE, "hrvd/h10/alert": ALERT_ON}
    sent = {topic: message.payload() for topic, message in interrupted_messages(last, NOW)}
    assert interrupted_messages(sent, NOW) == []


def test_a_stored_message_this_version_cannot_read_is_left_and_the_others_ended():
    last = {"hrvd/a/ride": {"active": True}, "hrvd/b/ride": RIDE}  # "a": no id, no phase
    assert [t for t, _ in interrupted_messages(last, NOW)] == ["hrvd/b/ride"]
