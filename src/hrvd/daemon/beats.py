"""Keep every beat received in the store, in batches, off the event loop.

Beats arrive about once a second per strap. Writing each at once would wear an SD card
and hold the write lock for nothing, so they are written every :data:`FLUSH_S` (or when
:data:`FLUSH_BEATS` wait) in one transaction. The price is stated: a ``kill -9`` or a power
cut loses at most the last batch of raw beats; the HRV, alerts and summaries derived from
them were already published and stored. A SIGTERM writes what waits.

A write that fails (a full disk) is logged once; the beats wait in memory, up to
:data:`MAX_WAITING_BEATS`, and go out with the next batch that can be written. When even
that is full the oldest waiting beats are dropped, logged once, and counted when writing
works again.

A beat's wall-clock time is taken when it is written, not when it arrived: a Pi that
boots without a clock battery and sets its clock a minute later files the beats of that
minute under the right time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TYPE_CHECKING, Self

import structlog

from hrvd.daemon.ordered import cancel_and_wait
from hrvd.store import StoredBeat, StoreError

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from types import TracebackType

    from hrvd.ble.timeline import TimedBeat
    from hrvd.store import Store

log = structlog.get_logger("hrvd.store")

FLUSH_S = 30.0
"""Beats wait at most this long before they are written, s (about 30 beats a strap)."""
FLUSH_BEATS = 500
"""... or until this many wait, whichever comes first."""
MAX_WAITING_BEATS = 100_000
"""Beats held in memory while the store cannot be written: a day of one strap (14 MB,
measured), after which the oldest are dropped."""


class BeatRecorder:
    """Writes the beats of every strap to the store; an async context manager.

    Args:
        store: the store.
        to_wall: maps a beat's time (s, on the receive clock) to wall-clock time.
    """

    def __init__(self, store: Store, to_wall: Callable[[float], datetime]) -> None:
        self.store = store
        self.to_wall = to_wall
        self.written = 0
        self.dropped = 0
        self._waiting: deque[tuple[str, float, int, bool]] = deque()
        """(strap, time s on the receive clock, RR in 1/1024 s, gap before)."""
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failing: str | None = None

    def listener(self, strap: str) -> Callable[[tuple[TimedBeat, ...], float], None]:
        """A beat listener for one strap's pipeline."""

        def on_beats(beats: tuple[TimedBeat, ...], _at_s: float) -> None:
            self._waiting.extend((strap, b.t_s, b.rr_raw, b.gap_before) for b in beats)
            if len(self._waiting) > MAX_WAITING_BEATS:
                if not self.dropped:
                    log.error(
                        "beats dropped: the store still cannot be written",
                        kept_in_memory=MAX_WAITING_BEATS,
                    )
                while len(self._waiting) > MAX_WAITING_BEATS:
                    self._waiting.popleft()
                    self.dropped += 1
            if len(self._waiting) >= FLUSH_BEATS:
                self._wake.set()

        return on_beats

    async def __aenter__(self) -> Self:
        """Start writing."""
        self._task = asyncio.create_task(self._run(), name="store.beats")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop, and write what waits."""
        if self._task is not None:
            await cancel_and_wait(self._task)
        await self.flush()

    async def wait(self) -> None:
        """Until the writing task ends (by a bug only): raises its error."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_S):
                    await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write the beats that wait, now."""
        if not self._waiting:
            return
        batch, self._waiting = self._waiting, deque()
        rows = [StoredBeat(strap, self._ms(t_s), rr, gap) for strap, t_s, rr, gap in batch]
        try:
            await asyncio.to_thread(self.store.write_beats, rows)
        except StoreError as exc:
            if self._failing is None:
                log.error(  # noqa: TRY400 - a full disk is a fault to report, not a bug
                    "beats not stored; they wait in memory", error=str(exc)
                )
            self._failing = str(exc)
            batch.extend(self._waiting)  # the older ones first, as they came
            self._waiting = batch
            return
        self.written += len(batch)
        if self._failing is not None:
            log.info("beats stored again", written=len(batch), dropped=self.dropped)
            self._failing = None

    def _ms(self, t_s: float) -> int:
        return round(self.to_wall(t_s).timestamp() * 1000)
