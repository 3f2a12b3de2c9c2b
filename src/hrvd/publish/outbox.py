"""An outbox that loses nothing: durable MQTT messages wait in SQLite until acknowledged.

Alerts, rides, sessions and readiness scores are written here before they are sent, and
removed only after the broker's PUBACK, so a broker outage or a daemon restart delays
them but never drops them; they leave in the order they came in. SQLite runs on one
worker thread, never on the event loop.

When the disk is full a message cannot be written: it is kept in memory, in order, and
said once in the log; it still goes out when the broker is reachable, but would not
survive a restart until the disk has room again.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

import structlog

from hrvd.errors import HrvdError

if TYPE_CHECKING:
    from pathlib import Path

log = structlog.get_logger("hrvd.outbox")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    topic    TEXT    NOT NULL,
    payload  BLOB    NOT NULL,
    qos      INTEGER NOT NULL,
    retain   INTEGER NOT NULL,
    created  REAL    NOT NULL DEFAULT (julianday('now'))  -- SQLite 3.40 (bookworm) has no unixepoch
)
"""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message waiting for the broker; ``seq`` orders them (negative: held in memory)."""

    seq: int
    topic: str
    payload: bytes
    qos: int
    retain: bool


def open_outbox(path: Path) -> Outbox:
    """The outbox in the store's file; a directory or file it cannot use is a one-line error.

    Raises:
        HrvdError: the file cannot be created or opened.
    """
    try:
        return Outbox(path)
    except (OSError, sqlite3.Error) as exc:
        msg = f"cannot open the store {path}: {exc}"
        raise HrvdError(msg) from None


class Outbox:
    """A FIFO of durable messages in an SQLite file.

    Args:
        path: the SQLite file (created when missing; shared with the store).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()  # one statement at a time on the shared connection
        self._memory: deque[OutboxMessage] = deque()  # held while the disk is full
        self._memory_seq = 0
        self.added = asyncio.Event()
        """Set whenever a message is added: the sender waits on it."""

    def close(self) -> None:
        """Close the database (pending messages stay in it)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        """The outbox itself; leaving the block closes it (see :meth:`close`)."""
        return self

    def __exit__(self, *_exc: object) -> None:
        """Close the database."""
        self.close()

    async def put(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = True) -> None:
        """Store a message durably; it is on disk when this returns (unless the disk is full)."""
        if not self._memory:
            try:
                await asyncio.to_thread(self._insert, topic, payload, qos, retain)
            except sqlite3.OperationalError as exc:
                log.error(  # noqa: TRY400 - a full disk is a fault to report, not a bug
                    "outbox write failed; holding messages in memory", error=str(exc)
                )
            else:
                self.added.set()
                return
        # Behind a message held in memory, every later one waits in memory too: order.
        self._memory_seq -= 1
        self._memory.append(OutboxMessage(self._memory_seq, topic, payload, qos, retain))
        self.added.set()

    def _insert(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO outbox (topic, payload, qos, retain) VALUES (?, ?, ?, ?)",
                (topic, payload, qos, int(retain)),
            )

    async def oldest(self, limit: int = 20) -> list[OutboxMessage]:
        """The oldest messages, stored ones first, then any held in memory."""
        stored = await asyncio.to_thread(self._select, limit)
        if len(stored) < limit:
            stored.extend(list(self._memory)[: limit - len(stored)])
        return stored

    def _select(self, limit: int) -> list[OutboxMessage]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, topic, payload, qos, retain FROM outbox ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [OutboxMessage(s, t, bytes(p), q, bool(r)) for s, t, p, q, r in rows]

    async def ack(self, message: OutboxMessage) -> None:
        """The broker acknowledged ``message``: forget it."""
        if message.seq < 0:
            if self._memory and self._memory[0].seq == message.seq:
                self._memory.popleft()
            return
        await asyncio.to_thread(self._delete, message.seq)

    def _delete(self, seq: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    async def count(self) -> int:
        """Messages waiting, on disk and in memory."""
        return await asyncio.to_thread(self._count) + len(self._memory)

    def _count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(n)
