"""The typed messages: what the pipeline and the morning run send reads back as the same
message, a payload that is not the message is refused with its reason, and README's
table of fields is the one the classes make."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from hrvd.cli.replay import replay, wall_clock
from hrvd.coach.baseline import Morning, Posture
from hrvd.coach.hrvt1 import CeilingPolicy
from hrvd.coach.morning import MorningMeasurement
from hrvd.coach.morning_values import MorningSettings
from hrvd.coach.orthostatic_test import OrthostaticTest
from hrvd.coach.recovery import RideSettings
from hrvd.coach.rides import RideManager
from hrvd.daemon.morning import stored_readiness
from hrvd.daemon.pipeline import StrapPipeline
from hrvd.hrv.synthetic import ride_rr
from hrvd.hrv.zones import ZoneModel, zones_for
from hrvd.publish.contract import BEGIN, END, section
from hrvd.publish.messages import (
    ABSENT,
    AlertMessage,
    MalformedMessageError,
    MorningMessage,
    ReadinessMessage,
    RideMessage,
    SessionMessage,
    StateMessage,
    ThresholdsMessage,
    parse,
)

README = Path(__file__).resolve().parents[2] / "README.md"
RIDE = [(600, 100, 100, 0.7), (300, 106, 124, 0.5), (300, 124, 108, 0.5)]


class AllSink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, object]]] = []

    def state(self, topic: str, payload: dict[str, object]) -> None:
        self.sent.append((topic, payload))

    def retained(self, topic: str, payload: str) -> None:
        pass

    def durable(self, topic: str, payload: dict[str, object]) -> None:
        self.sent.append((topic, payload))


async def test_every_message_of_a_replayed_ride_reads_back_as_itself():
    sink = AllSink()
    zones = zones_for(ZoneModel.HRMAX, hr_max=190)
    rides = RideManager(RideSettings(zones.recovery_ceiling_bpm), None, auto_start=True)
    to_wall = wall_clock(datetime(2026, 12, 4, 17, tzinfo=UTC))
    p = StrapPipeline(
        strap_name="H10 Garage",
        base_topic="hrvd",
        zones=zones,
        rides=rides,
        sink=sink,
        to_wall=to_wall,
    )
    await replay(p, ride_rr(RIDE, np.random.default_rng(2)), speed=0)
    kinds: dict[type, int] = {}
    for topic, payload in sink.sent:
        message = parse(topic, payload)
        assert message is not None
        assert message.payload() == payload
        assert list(message.payload()) == list(payload)  # the same keys in the same order
        if isinstance(message, ThresholdsMessage):
            assert message.topic("hrvd") == topic
        else:
            assert message.topic("hrvd", "H10 Garage") == topic
        kinds[type(message)] = kinds.get(type(message), 0) + 1
    assert {StateMessage, AlertMessage, RideMessage, SessionMessage} <= set(kinds)
    (start, *_) = [RideMessage.from_payload(p) for t, p in sink.sent if t.endswith("/ride")]
    assert start.ceiling_source != ABSENT  # the start names its ceiling, the others do not


def test_readiness_thresholds_and_morning_progress_read_back_as_themselves():
    policy = CeilingPolicy(114.0, "zones", "zone 1", follow=True)
    policy.add(date(2026, 12, 3), 131.5)
    thresholds = policy.payload(date(2026, 12, 4))
    assert ThresholdsMessage.from_payload(thresholds).payload() == thresholds
    days = [Morning(date(2026, 11, d), Posture.LYING, 4.0 + d / 100, 50.0) for d in range(1, 21)]
    readiness = stored_readiness(days, "lying", "en")
    assert readiness is not None
    assert ReadinessMessage.from_payload(readiness.payload()) == readiness
    morning = MorningMeasurement(started_at_s=0.0, day=date(2026, 12, 4), posture=Posture.LYING)
    progress = morning.tick(10.0).payload()
    assert MorningMessage.from_payload(progress).payload() == progress
    test = OrthostaticTest(
        started_at_s=0.0, day=date(2026, 12, 4), settings=MorningSettings(hr_rest_bpm=55)
    )
    ortho = test.tick(30.0).payload()  # lying: no prompt yet, no outcome (both null)
    message = MorningMessage.from_payload(ortho)
    assert message.test == "orthostatic"
    assert message.payload() == ortho


ALERT = AlertMessage(
    id="H10@17:00:alert:1:on",
    ts="2026-11-27T17:20:00+00:00",
    too_hard=True,
    reason="hr_ceiling",
    since="2026-11-27T17:19:50+00:00",
    hr_bpm=121.0,
    ceiling_bpm=114,
    dfa_alpha1=None,
)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"id": None}, "alert message: id = None is not str"),
        ({"too_hard": 1}, "alert message: too_hard = 1 is not bool"),
        ({"hr_bpm": True}, "alert message: hr_bpm = True is not float or null"),
        ({"hr_bpm": "121"}, "alert message: hr_bpm = '121' is not float or null"),
    ],
)
def test_a_payload_with_a_wrong_value_is_refused_with_the_field_named(change, error):
    with pytest.raises(MalformedMessageError, match=f"^{error}$"):
        AlertMessage.from_payload({**ALERT.payload(), **change})


def test_a_missing_key_is_refused_and_an_unknown_one_ignored():
    payload = ALERT.payload()
    del payload["reason"]
    with pytest.raises(MalformedMessageError, match="alert message without 'reason'"):
        parse("hrvd/h10/alert", payload)
    assert parse("hrvd/h10/alert", {**ALERT.payload(), "new_field": 1}) == ALERT
    assert parse("hrvd/h10/link", {}) is None


def test_readmes_table_of_fields_is_the_one_the_message_classes_make():
    text = README.read_text(encoding="utf-8")
    assert BEGIN in text, "README lost its topic-contract section"
    current = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert current == section(), "README's topic contract is stale: run scripts/topic-contract"
