"""Strap sessions wired to fake straps and a recorder of their events, for the session tests.

Shared by tests/ble/test_session.py and test_session_straps.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import math

from harness.fake_bluez import FakeStrap
from hrvd.ble.events import LinkChange, LinkState, Notification, StrapEvent
from hrvd.ble.session import StrapSession, run_straps
from hrvd.config import StrapConfig

STALL_S = 0.6
"""Stall timeout in wall seconds."""
WAIT_S = 15.0
SCALE = 20.0
"""The fake hearts beat this many strap seconds per wall second, so that a test sees
many beats in little time; their RR sum then runs ahead of the receive clock, so the
sessions under test do not cut the series for drift (the timeline's own tests do)."""


def fake_strap(address: str, **kwargs) -> FakeStrap:
    return FakeStrap(address=address, time_scale=SCALE, **kwargs)


class Recorder:
    """Collects a session's events and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[StrapEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: StrapEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def states(self, strap: str | None = None) -> list[LinkState]:
        return [
            e.state
            for e in self.events
            if isinstance(e, LinkChange) and (strap is None or e.strap == strap)
        ]

    def beats(self, strap: str | None = None) -> list:
        return [
            b
            for e in self.events
            if isinstance(e, Notification) and (strap is None or e.strap == strap)
            for b in e.beats
        ]

    async def until(self, predicate, within_s: float = WAIT_S) -> None:
        async with asyncio.timeout(within_s):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


def strap_session(strap: FakeStrap, rec: Recorder, **kwargs) -> StrapSession:
    return StrapSession(
        StrapConfig(name=strap.name, address=strap.address),
        rec,
        stall_timeout_s=kwargs.pop("stall_timeout_s", STALL_S),
        scan_timeout_s=kwargs.pop("scan_timeout_s", 3.0),
        max_drift_s=math.inf,
        **kwargs,
    )


@contextlib.asynccontextmanager
async def running(*sessions: StrapSession):
    task = asyncio.create_task(run_straps(list(sessions)))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
