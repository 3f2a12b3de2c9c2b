"""Loops owned by one task group in one task: a loop that dies ends its owner, loudly.

Every loop (strap sessions, ticker, MQTT link, watchdog, a sink's writer, ...) is a named
task of one :class:`asyncio.TaskGroup`, and that group lives in one task of its own, as
aiomqtt runs its background tasks (``Client._run_background_tasks``). The owner (the
daemon, a replay, the demo) does its own work through :meth:`Loops.until`; a loop that
raises is logged with its traceback, the group cancels the others, and ``until`` raises
:class:`LoopCrashedError` at once: ``hrvd run`` exits 1 and systemd
(``Restart=on-failure``) starts it again, a replay ends with one line instead of waiting
for its drain timeout. A loop that can safely restart itself does so inside (the strap
sessions do, and log each crash with a count); nothing dies with nothing said, and
:meth:`Loops.healthy` tells the watchdog to stop pinging as soon as one loop is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Self, TypeVar

import structlog

from hrvd.daemon.ordered import cancel_and_wait
from hrvd.errors import HrvdError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Coroutine, Mapping

log = structlog.get_logger("hrvd.daemon")

T = TypeVar("T")


class LoopCrashedError(HrvdError):
    """A loop raised (a bug): it is in the log with its traceback."""


class Loops:
    """Named loops in one task group, owned by one task, until stopped or one of them fails.

    Args:
        owner: who runs them, for the log and the error: ``daemon``, ``replay``, ``demo``.
    """

    def __init__(self, owner: str = "daemon") -> None:
        self.owner = owner
        self._crash_event = f"loop crashed; the {owner} stops"
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._group: asyncio.TaskGroup | None = None
        self._runner: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self._closing = asyncio.Event()
        self._reported = False

    def healthy(self) -> bool:
        """Whether every loop is running, or has ended without an error (for the watchdog)."""
        return all(not t.done() or _ended_well(t) for t in self._tasks.values())

    @contextlib.asynccontextmanager
    async def running(self, loops: Mapping[str, Coroutine[Any, Any, None]]) -> AsyncIterator[Self]:
        """Run ``loops`` in the group's own task; on leaving, cancel them and wait for them.

        Raises:
            LoopCrashedError: on leaving, when a loop raised and :meth:`until` has not said
                so already (a loop that fails while being cancelled).
        """
        self._runner = asyncio.create_task(self._run(loops), name=f"{self.owner} loops")
        started = asyncio.create_task(self._started.wait())
        await asyncio.wait({self._runner, started}, return_when=asyncio.FIRST_COMPLETED)
        await cancel_and_wait(started)
        try:
            yield self
        finally:
            await self._stop()

    async def _run(self, loops: Mapping[str, Coroutine[Any, Any, None]]) -> None:
        """The owner task: the group lives here until :meth:`_stop` or a loop's crash."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            for name, coro in loops.items():
                self.start(name, coro)
            self._started.set()
            # The group's body waits here: a loop that raises makes the group cancel it.
            await self._closing.wait()

    def start(self, name: str, coro: Coroutine[Any, Any, None]) -> None:
        """One more loop in the group (a sink's writer, started after the link)."""
        if self._group is None:
            coro.close()
            msg = "Loops.start outside Loops.running"
            raise RuntimeError(msg)
        try:
            task = self._group.create_task(_logged(self._crash_event, name, coro), name=name)
        except RuntimeError:  # the group is shutting down after a crash: until() says so
            coro.close()
            return
        self._tasks[name] = task

    async def until(self, work: Awaitable[T]) -> T:
        """Await ``work`` while the loops run; a loop that crashes first ends it.

        Raises:
            LoopCrashedError: a loop raised; ``work`` is cancelled, and so is every loop.
        """
        runner = self._runner
        if runner is None:
            msg = "Loops.until outside Loops.running"
            raise RuntimeError(msg)
        job = asyncio.ensure_future(work)
        try:
            await asyncio.wait({job, runner}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not job.done():
                await cancel_and_wait(job)
        if runner.done() and not runner.cancelled() and runner.exception() is not None:
            raise self._crashed(runner.exception())
        return job.result()

    async def _stop(self) -> None:
        runner = self._runner
        if runner is None:
            return
        # Cancelled again and again: see cancel_and_wait (CPython gh-86296).
        await cancel_and_wait(*self._tasks.values())
        self._closing.set()
        await asyncio.wait({runner})
        failed = None if runner.cancelled() else runner.exception()
        if failed is not None and not self._reported:
            raise self._crashed(failed)

    def _crashed(self, exc: BaseException | None) -> LoopCrashedError:
        self._reported = True
        names = [n for n, t in self._tasks.items() if t.done() and not _ended_well(t)]
        what = ", ".join(names) or "loops"
        error = LoopCrashedError(f"the {self.owner}'s {what} loop crashed: see its traceback above")
        error.__cause__ = exc
        return error


def _ended_well(task: asyncio.Task[None]) -> bool:
    return task.cancelled() or task.exception() is None


async def _logged(event: str, name: str, coro: Coroutine[Any, Any, None]) -> None:
    try:
        await coro
    except Exception:
        log.exception(event, loop=name)
        raise
