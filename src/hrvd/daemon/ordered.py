"""Async work kept off the way: done in order from synchronous callers, or on a thread.

:class:`OrderedWriter` does async work in the order it was handed over; and
:func:`opened_on_thread` opens and closes a file off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

T = TypeVar("T")


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)

CANCEL_RETRY_S = 0.1
"""How long to wait for a cancelled task before cancelling it again, s."""


async def opened_on_thread(
    stack: contextlib.AsyncExitStack, open_: Callable[..., C], *args: object, **kwargs: object
) -> C:
    """``open_(*args, **kwargs)`` on a thread, closed on a thread when ``stack`` unwinds.

    For the store and the outbox: opening and closing a SQLite file (and its lock) is disk
    I/O, which must not hold the event loop.
    """
    opened = await asyncio.to_thread(open_, *args, **kwargs)
    stack.push_async_callback(asyncio.to_thread, opened.close)
    return opened


async def cancel_and_wait(*tasks: asyncio.Task[object]) -> None:
    """Cancel ``tasks`` and wait until they have ended, however often that takes.

    On Python 3.11, ``asyncio.wait_for`` (which aiomqtt's publish and subscribe use) can
    return its result and drop a cancellation that arrives in the same loop iteration
    (CPython gh-86296, fixed in 3.12). A task cancelled once may then go on waiting for
    ever: a daemon that never stops. The cancellation is repeated until each task ends.
    """
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=CANCEL_RETRY_S)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: a task that failed while stopping is not news


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

    async def wait(self) -> None:
        """Until the writer's task ends, which only a bug in ``work`` does: raises its error.

        The daemon runs this among its loops (:mod:`hrvd.daemon.loops`), so a dead writer is seen.
        """
        await asyncio.shield(self._task)

    async def drain(self) -> None:
        """Wait until everything queued is done."""
        await self._queue.join()

    async def close(self, timeout_s: float) -> None:
        """Finish what is queued (for at most ``timeout_s``), then stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self.drain()
        await cancel_and_wait(self._task)
