"""Reading what a test's daemon or command kept, off the event loop.

An async test that opens the store on its loop is flagged by the blockbuster fixture
(tests/conftest.py) like the daemon would be: :func:`read_store` opens, reads and closes
it on a thread.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypeVar

from hrvd.store import Store, open_store

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

T = TypeVar("T")


async def read_store(path: Path, read: Callable[[Store], T], *, readonly: bool = False) -> T:
    """``read(store)`` with the store at ``path`` opened and closed around it, on a thread."""

    def run() -> T:
        store = open_store(path, readonly=readonly)
        try:
            return read(store)
        finally:
            store.close()

    return await asyncio.to_thread(run)
