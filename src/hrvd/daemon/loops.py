"""The daemon's loops, owned by one task group: a loop that dies ends the daemon, loudly.

Every loop (strap sessions, ticker, MQTT link, watchdog, ...) is a named task of one
:class:`asyncio.TaskGroup`. One that raises is logged with its traceback, the group cancels
the others, and :meth:`Loops.run` raises :class:`LoopCrashedError`: ``hrvd run`` exits 1 and
systemd (``Restart=on-failure``) starts it again. A loop that can safely restart itself
does so inside (the strap sessions do, and log each crash with a count); nothing dies with
nothing said, and :meth:`Loops.healthy` tells the watchdog to stop pinging as soon as one
loop is gone.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import structlog

from hrvd.daemon.ordered import cancel_and_wait
from hrvd.errors import HrvdError

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Mapping

log = structlog.get_logger("hrvd.daemon")


class LoopCrashedError(HrvdError):
    """A loop of the daemon raised (a bug): it is in the log with its traceback."""


class Loops:
    """Runs named loops until told to stop or until one of them fails."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def healthy(self) -> bool:
        """Whether every loop is running, or has ended without an error (for the watchdog)."""
        return all(not t.done() or _ended_well(t) for t in self._tasks.values())

    async def run(
        self,
        loops: Mapping[str, Coroutine[Any, Any, None]],
        stop: asyncio.Event,
        stopping: Callable[[], None],
    ) -> None:
        """Run ``loops`` until ``stop`` is set, then cancel them and wait for them to end.

        ``stopping`` is called once either way before the loops are cancelled (on a crash,
        after the others are cancelled): the daemon ends its rides there.

        Raises:
            LoopCrashedError: a loop raised (before or while stopping); every other loop has
                been cancelled by then.
        """
        try:
            async with asyncio.TaskGroup() as group:
                for name, coro in loops.items():
                    self._tasks[name] = group.create_task(_logged(name, coro), name=name)
                await stop.wait()
                stopping()
                # Cancelled again and again: see cancel_and_wait (CPython gh-86296).
                await cancel_and_wait(*self._tasks.values())
        except* Exception as crashed:
            stopping()
            names = [n for n, t in self._tasks.items() if t.done() and not _ended_well(t)]
            msg = (
                f"the daemon's {', '.join(names) or 'loops'} loop crashed: see its traceback above"
            )
            raise LoopCrashedError(msg) from crashed


def _ended_well(task: asyncio.Task[None]) -> bool:
    return task.cancelled() or task.exception() is None


async def _logged(name: str, coro: Coroutine[Any, Any, None]) -> None:
    try:
        await coro
    except Exception:
        log.exception("loop crashed; the daemon stops", loop=name)
        raise
