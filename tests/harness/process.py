"""Child processes of a test or a benchmark: they die with it and stop cleanly."""

from __future__ import annotations

import asyncio
import ctypes
import signal

PR_SET_PDEATHSIG = 1
"""prctl(2)'s option: the signal the kernel sends a child when its parent thread dies."""
STOP_TIMEOUT_S = 10.0


def die_with_parent() -> None:
    """Be a child's ``preexec_fn``: the kernel sends it SIGTERM if its parent dies first.

    So that a test run or a benchmark killed hard leaves no dbus-daemon, mosquitto or
    daemon behind. Runs in the forked child before exec.
    """
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


async def stop_process(
    proc: asyncio.subprocess.Process | None, timeout_s: float = STOP_TIMEOUT_S
) -> int | None:
    """SIGTERM, wait, SIGKILL if need be; the exit code (None if there was no process)."""
    if proc is None:
        return None
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    return proc.returncode
