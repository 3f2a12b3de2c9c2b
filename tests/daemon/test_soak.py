"""The short soak (bench/soak.py's CI plan): `hrvd run` through every kind of fault.

About four minutes: 3 ride straps and a morning strap on the fake BlueZ, a real mosquitto,
the daemon as a subprocess; strap drops and stalls, malformed payloads, a broker restart,
kill -9 and a restart. Then every invariant of RELIABILITY.md is checked.
"""

from __future__ import annotations

import faulthandler
import sys
from typing import TYPE_CHECKING

import pytest

from soak import report, run_soak, short_plan

if TYPE_CHECKING:
    from pathlib import Path

    from harness.fake_bluez import FakeBluez
    from harness.mosquitto import Broker

SOAK_STACK_DUMP_S = 400
"""The plan lasts about 240 s: dump the stacks only if it runs far past that."""


@pytest.fixture
def _long_faulthandler_timeout() -> None:
    # pytest's faulthandler_timeout (120 s) only dumps stacks, it fails nothing; this
    # test is meant to take longer, so its one timer is moved further out. pytest
    # cancels it after the test.
    faulthandler.dump_traceback_later(SOAK_STACK_DUMP_S, file=sys.__stderr__)


@pytest.mark.slow
@pytest.mark.usefixtures("_long_faulthandler_timeout")
async def test_every_message_and_beat_survives_drops_stalls_garbage_broker_restart_and_kill_9(
    private_system_bus: str,
    fake_bluez: FakeBluez,
    broker: Broker,
    tmp_path: Path,
):
    result = await run_soak(
        short_plan(),
        bus_address=private_system_bus,
        bluez=fake_bluez,
        broker=broker,
        workdir=tmp_path,
    )
    shown = report(result)  # the Markdown report, as the failure message

    for kind in ("drop", "stall", "malformed", "broker", "kill"):
        assert result.faults.get(kind, 0) >= 1, shown
    assert result.daemon["stalls_seen"] >= 2
    assert result.daemon["malformed_logged_first_of_100"] >= 1
    # Durable messages: all of them delivered, in order, repeats only after a reconnect.
    assert result.violations == [], shown
    assert result.alerts["on"] >= 2, shown
    assert result.alerts["off"] >= 2, shown
    assert result.topics["alert"].delivered >= 4, shown
    assert result.rides["with_summary"] >= 4, shown
    assert result.rides["cut_by_kill_9"] == 2  # no ride state survives kill -9
    # ... but the next daemon ends both on the broker, and nothing is left active.
    assert result.rides["retained_ride_active_after_kill"] == 2
    assert result.rides["ended_interrupted"] == 2
    assert result.rides["left_active_at_end"] == 0
    assert result.topics["session"].delivered == result.rides["with_summary"]
    assert result.readiness["delivered"] >= 2
    # The store: intact, every beat once, losses only in the batch kill -9 took.
    assert result.store["integrity_check"] == "ok"
    assert result.store["outbox"] == 0
    for beats in result.beats:
        assert beats.stored_twice == 0
        assert beats.unmatched_stored == 0
        assert beats.lost_other == 0
        assert beats.stored > 0.7 * beats.sent
