"""One task doing async work in the order it was handed over, from synchronous callers."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

T = TypeVar("T")


class OrderedWriter(Generic[T]):
    """Calls ``work(item)`` for each item put, one at a time, in order.

    The pipeline's sinks are called synchronously; their writes (outbox, store) are async.
    Each sink puts its items here, and :meth:`close` finishes what is queued first.

    Args:
        work: the async work for one item; it handles its own errors.
        name: the task's name.
    """

    def __init__(self, work: Callable[[T], Awaitable[None]], name: str) -> None:
        self._work = work
        self._queue: asyncio.Queue[T] = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name=name)

    def put(self, item: T) -> None:
        """Queue one item."""
        self._queue.put_nowait(item)

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._work(item)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until everything queued is done."""
        await self._queue.join()

    async def close(self, timeout_s: float) -> None:
        """Finish what is queued (for at most ``timeout_s``), then stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self.drain()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
