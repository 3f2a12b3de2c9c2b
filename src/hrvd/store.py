"""The SQLite store: ride summaries and morning measurements, kept for good.

One file (``[store] path``), shared with the MQTT outbox, in WAL mode so that ``hrvd
sessions`` and ``hrvd history`` can read while the daemon writes. The schema carries its
version in ``PRAGMA user_version`` and is migrated forward at open (:mod:`hrvd.store_schema`).
Writes run on a worker thread (:func:`asyncio.to_thread`), never on the event loop, and each
is committed at once: a ride or a morning is on disk when the call returns. Rides, mornings
and tests are each an athlete's (:mod:`hrvd.store_mornings`); beats are a strap's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from hrvd.config_model import DEFAULT_ATHLETE

# Re-exported, so that callers keep importing the store's errors and schema from here.
from hrvd.store_files import StoreError as StoreError  # noqa: PLC0414
from hrvd.store_files import StoreNeedsHandsError as StoreNeedsHandsError  # noqa: PLC0414
from hrvd.store_files import connect, connect_readonly, take_lock
from hrvd.store_mornings import MorningStore
from hrvd.store_schema import MIGRATIONS as MIGRATIONS  # noqa: PLC0414
from hrvd.store_schema import check_schema

if TYPE_CHECKING:
    from hrvd.publish.messages import Payload


PRUNE_CHUNK = 10_000
"""Beats deleted per transaction when pruning (a few hundred ms on a Pi Zero 2 W)."""


@dataclass(frozen=True, slots=True)
class Ride:
    """One stored ride: its summary as published on ``<strap>/session``, and whose it is."""

    id: str
    strap: str
    started: str
    ended: str
    summary: dict[str, object]
    athlete: str = DEFAULT_ATHLETE


@dataclass(frozen=True, slots=True)
class StoredBeat:
    """One beat as kept: its strap, end time (Unix ms), RR (1/1024 s), gap before it."""

    strap: str
    t_ms: int
    rr_raw: int
    gap: bool

    @property
    def rr_ms(self) -> float:
        """The interval, ms."""
        return self.rr_raw * 1000.0 / 1024.0


@dataclass(frozen=True, slots=True)
class Pruned:
    """What :meth:`Store.prune` removed: beats, measurements, mornings' raw RR."""

    beats: int
    measurements: int
    morning_raw: int


class Store(MorningStore):
    """The store in one SQLite file; open it with :func:`open_store`."""

    async def add_ride(self, summary: Payload, *, athlete: str = DEFAULT_ATHLETE) -> None:
        """Keep an athlete's ride summary (the session message); a repeated id replaces it."""
        hrvt1 = summary.get("hrvt1_bpm")
        await asyncio.to_thread(
            self._write,
            "INSERT OR REPLACE INTO rides (id, strap, started, ended, summary, hrvt1_bpm, "
            "athlete) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                str(summary["id"]),
                str(summary["strap"]),
                str(summary["started"]),
                str(summary["ended"]),
                json.dumps(summary),
                float(hrvt1) if isinstance(hrvt1, int | float) else None,
                athlete,
            ),
        )

    def hrvt1_estimates(self, athlete: str = DEFAULT_ATHLETE) -> list[tuple[date, float]]:
        """The HRVT1 estimates of an athlete's rides that gave one: (local day it started, bpm)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT started, hrvt1_bpm FROM rides WHERE hrvt1_bpm IS NOT NULL "
                "AND athlete = ? ORDER BY started",
                (athlete,),
            ).fetchall()
        return [(date.fromisoformat(started[:10]), float(bpm)) for started, bpm in rows]

    async def keep_ride_state(self, topic: str, payload: Payload) -> None:
        """Remember the last ride or alert message queued on ``topic``."""
        await asyncio.to_thread(
            self._write,
            "INSERT OR REPLACE INTO ride_state (topic, payload) VALUES (?, ?)",
            (topic, json.dumps(payload)),
        )

    def ride_state(self) -> dict[str, Payload]:
        """The last ride and alert message queued on each topic (blocking).

        A row that is not a JSON object (never written so by hrvd) is left out.
        """
        with self._lock:
            rows = self._db.execute("SELECT topic, payload FROM ride_state").fetchall()
        kept: dict[str, Payload] = {}
        for topic, text in rows:
            with contextlib.suppress(ValueError, TypeError):
                payload = json.loads(text)
                if isinstance(payload, dict):
                    kept[topic] = payload
        return kept

    def write_beats(self, beats: list[StoredBeat]) -> int:
        """Keep beats in one transaction (blocking: call it off the loop).

        Returns how many were new: a beat already kept (same strap and time) is not kept twice.
        """
        rows: list[tuple[object, ...]] = [(b.strap, b.t_ms, b.rr_raw, int(b.gap)) for b in beats]
        return self._write_many("INSERT OR IGNORE INTO beats VALUES (?, ?, ?, ?)", rows)

    def beats(self, strap: str, start_ms: int, end_ms: int) -> list[StoredBeat]:
        """The beats of one strap that ended in [start_ms, end_ms], oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT t_ms, rr_raw, gap FROM beats WHERE strap = ? AND t_ms BETWEEN ? AND ? "
                "ORDER BY t_ms",
                (strap, start_ms, end_ms),
            ).fetchall()
        return [StoredBeat(strap, t, rr, bool(g)) for t, rr, g in rows]

    def prune(self, keep_raw_days: int, today: date) -> Pruned:
        """Drop raw RR from before local midnight ``keep_raw_days`` before ``today`` (blocking).

        Ride summaries and the mornings' values stay for good. Beats go in chunks of
        :data:`PRUNE_CHUNK` rows, each its own transaction, so that the daemon's writes
        (and a SIGTERM's flush) never wait long behind a large clean-up.
        """
        cutoff = today - timedelta(days=keep_raw_days)
        cutoff_ms = int(datetime.combine(cutoff, time()).astimezone().timestamp() * 1000)
        day = cutoff.isoformat()
        try:
            beats = 0
            while n := self._change(
                "DELETE FROM beats WHERE (strap, t_ms) IN (SELECT strap, t_ms FROM beats "
                "WHERE t_ms < ? LIMIT ?)",
                (cutoff_ms, PRUNE_CHUNK),
            ):
                beats += n
            old = self._change("DELETE FROM measurements WHERE day < ?", (day,))
            raw = self._change(
                "UPDATE mornings SET raw_rr = NULL WHERE day < ? AND raw_rr IS NOT NULL", (day,)
            ) + self._change(
                "UPDATE orthostatic SET raw_rr = NULL WHERE day < ? AND raw_rr IS NOT NULL", (day,)
            )
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot prune the store {self.path}: {exc}") from None
        return Pruned(beats, old, raw)

    def _change(self, sql: str, params: tuple[object, ...]) -> int:
        with self._lock, self._db:
            return self._db.execute(sql, params).rowcount

    def backup(self, target: Path) -> None:
        """Copy the store to ``target`` (blocking).

        The copy is consistent even while the daemon writes (SQLite's online backup), is
        checked, and appears under its name only when complete.
        """
        partial: Path | None = None
        try:
            # mkstemp: a new name no one can have planted a symlink at (O_EXCL, mode 0600).
            fd, name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".partial", dir=target.parent
            )
            os.close(fd)
            partial = Path(name)
            copy = sqlite3.connect(partial)
            try:
                with self._lock:
                    self._db.backup(copy)
                (check,) = copy.execute("PRAGMA integrity_check").fetchone()
                partial.chmod(self.path.stat().st_mode & 0o666)  # health data: as private
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
            if check != "ok":
                msg = f"the copy failed its integrity check ({check})"
                raise StoreError(msg)  # noqa: TRY301 - the partial file is removed below
            partial.replace(target)
        except (OSError, sqlite3.Error, StoreError) as exc:
            if partial is not None:
                partial.unlink(missing_ok=True)
            raise StoreError(f"cannot back up the store to {target}: {exc}") from None

    def rides(self, limit: int = 50, *, athlete: str | None = None) -> list[Ride]:
        """The most recent rides of one athlete or (None) of all, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, strap, started, ended, summary, athlete FROM rides "
                "WHERE ?1 IS NULL OR athlete = ?1 ORDER BY started DESC LIMIT ?2",
                (athlete, limit),
            ).fetchall()
        return [Ride(i, s, b, e, json.loads(j), a) for i, s, b, e, j, a in rows]

    def ride(self, ride_id: str) -> Ride | None:
        """One ride by its id (or a unique start of it)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, strap, started, ended, summary, athlete FROM rides "
                "WHERE substr(id, 1, length(?1)) = ?1 ORDER BY started DESC LIMIT 2",
                (ride_id,),
            ).fetchall()
        if len(rows) != 1:
            return None
        i, s, b, e, j, a = rows[0]
        return Ride(i, s, b, e, json.loads(j), a)


def open_store(path: Path, *, readonly: bool = False, exclusive: bool = False) -> Store:
    """Open the store; create, check and migrate it unless ``readonly``.

    The daemon (and a command that writes) opens it writable: a new store is created, an
    older one migrated, and the file checked (``quick_check``). A command that only reads
    (``hrvd sessions``, ``history``, ``export``, ``backup``) opens it read-only, so that it
    works for a user who may only read the file and never changes its schema under a
    running daemon. The daemon opens it ``exclusive``: a second daemon on the same store
    is refused (an ``flock`` on ``<store>.lock``, given back when the process ends).

    Raises:
        StoreNeedsHandsError: the file is damaged, or another daemon holds it (exit 2).
        StoreError: the file cannot be opened, is not a database, is from a newer hrvd,
            or (read-only) does not exist or is from an older hrvd.
    """
    lock_fd = take_lock(path) if exclusive else None
    try:
        db = connect_readonly(path) if readonly else connect(path)
        try:
            check_schema(db, path, readonly=readonly)
        except BaseException:
            db.close()
            raise
    except BaseException as exc:
        if lock_fd is not None:
            os.close(lock_fd)
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            msg = f"the store {path} is damaged or not an hrvd store ({exc}): restore a backup"
            raise StoreNeedsHandsError(msg) from None
        if isinstance(exc, OSError | sqlite3.DatabaseError):
            raise StoreError(f"cannot open the store {path}: {exc}") from None
        raise
    return Store(db, path, lock_fd)
