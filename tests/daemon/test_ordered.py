"""Stopping tasks: a cancellation that Python 3.11's wait_for drops is repeated."""

import asyncio

from hrvd.daemon.ordered import cancel_and_wait


async def test_a_task_that_swallows_its_first_cancellation_is_still_stopped():
    swallowed = []

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            # What asyncio.wait_for does on 3.11 when its result and the cancel coincide.
            swallowed.append(True)
        await asyncio.Event().wait()  # ... and goes on waiting, as the publisher did

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await cancel_and_wait(task)
    assert swallowed == [True]
    assert task.cancelled()


async def test_tasks_that_ended_or_failed_are_taken_as_they_are():
    async def fails() -> None:
        raise RuntimeError("while stopping")

    done = asyncio.create_task(asyncio.sleep(0))
    failed = asyncio.create_task(fails())
    await asyncio.sleep(0.01)
    await cancel_and_wait(done, failed)  # no exception, no "never retrieved" warning
    assert done.done()
    assert isinstance(failed.exception(), RuntimeError)
