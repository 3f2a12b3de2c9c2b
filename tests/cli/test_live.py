"""The live view's lines for ride events and alerts (not on a terminal: one line each)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from hrvd.cli.live import LiveView
from hrvd.publish.messages import AlertMessage, Payload, RideMessage, ride_id, ride_start

START = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)


def _alert(reason: str, hr: float, a1: float) -> Payload:
    return AlertMessage(
        id="H10@17:00:alert:1:on",
        ts="2026-11-27T17:20:00+00:00",
        too_hard=True,
        reason=reason,
        since="2026-11-27T17:19:50+00:00",
        hr_bpm=hr,
        ceiling_bpm=114.0,
        dfa_alpha1=a1,
    ).payload()


def test_an_alert_says_which_rule_holds_it():
    out = io.StringIO()
    with LiveView(Console(file=out, force_terminal=False), "H10", START) as view:
        view.durable("hrvd/h10/alert", _alert("hr_ceiling", 121.0, 0.9))
        view.durable("hrvd/h10/alert", _alert("dfa_alpha1", 108.0, 0.62))
    lines = out.getvalue().splitlines()
    assert lines[0] == "20:00  ALERT too hard for recovery (hr_ceiling): HR 121.0 > 114.0"
    # Under the ceiling: alpha1 is the reason, not a heart rate "above" it.
    assert lines[1] == "20:00  ALERT too hard for recovery (dfa_alpha1): alpha1 0.62, HR 108.0"


def test_alert_times_count_from_the_rides_start_not_from_when_the_view_opened():
    # `hrvd watch` opened 25 minutes into a ride (or watching a replay of another day):
    # the ride's id says when it started.
    out = io.StringIO()
    opened = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    ride = RideMessage(
        id="H10 Garage@2026-11-27T17:00:00+00:00#2:4:steady",
        active=True,
        phase="steady",
        elapsed_s=1500.0,
        event="phase",
        alpha1_guard="off",
    )
    alert = AlertMessage.from_payload(_alert("hr_ceiling", 121.0, 0.9))
    with LiveView(Console(file=out, force_terminal=False), "H10", opened) as view:
        view.durable("hrvd/h10/ride", ride.payload())
        view.durable("hrvd/h10/alert", {**alert.payload(), "id": f"{ride.id}:alert:1:on"})
    assert out.getvalue().splitlines()[-1].startswith("20:00  ALERT too hard for recovery")


def test_the_ride_start_is_read_from_ride_and_alert_ids():
    start = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert ride_start(f"{ride_id('H10', start.isoformat(), 2)}:5:phase") == start
    assert ride_start("H10@2026-11-27T17:00:00+00:00:1:start") == start
    assert ride_start("H10@2026-11-27T17:00:00+00:00#2:alert:3:off") == start
    assert ride_start("me@home@2026-11-27T18:00:00+01:00:2:phase") == start
    for unknown in ("H10@17:00:alert:1:on", "", "H10@2026-11-27T17:00:00:1:start"):
        assert ride_start(unknown) is None


def test_an_alert_with_an_unreadable_time_is_shown_without_one():
    out = io.StringIO()
    with LiveView(Console(file=out, force_terminal=False), "H10", START) as view:
        for ts in ("yesterday", "2026-11-27T17:20:00"):  # not a time; no offset
            view.durable("hrvd/h10/alert", {**_alert("hr_ceiling", 121.0, 0.9), "ts": ts})
    assert (
        out.getvalue().splitlines()
        == ["-  ALERT too hard for recovery (hr_ceiling): HR 121.0 > 114.0"] * 2
    )
