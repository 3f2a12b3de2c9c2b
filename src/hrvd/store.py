"""The SQLite store: ride summaries and morning measurements, kept for good.

One file (``[store] path``), shared with the MQTT outbox, in WAL mode so that ``hrvd
sessions`` and ``hrvd history`` can read while the daemon writes. The schema carries its
version in ``PRAGMA user_version`` and is migrated forward at open. Writes run on a worker
thread (:func:`asyncio.to_thread`), never on the event loop, and each is committed at once:
a ride or a morning is on disk when the call returns.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING

from hrvd.coach.baseline import Morning, Posture, Quality
from hrvd.errors import HrvdError

if TYPE_CHECKING:
    from pathlib import Path

    from hrvd.pipeline import Payload

MIGRATIONS = (
    # 1: ride summaries (the session message, as published) and mornings.
    """
    CREATE TABLE rides (
        id       TEXT PRIMARY KEY,
        strap    TEXT NOT NULL,
        started  TEXT NOT NULL,
        ended    TEXT NOT NULL,
        summary  TEXT NOT NULL
    );
    CREATE INDEX rides_started ON rides (started);
    CREATE TABLE mornings (
        day             TEXT NOT NULL,
        posture         TEXT NOT NULL,
        ln_rmssd        REAL NOT NULL,
        resting_hr_bpm  REAL,
        source          TEXT NOT NULL,          -- "measured" or "imported"
        quality         TEXT,                   -- JSON: artifact_rate, beats, coverage
        raw_rr          TEXT,                   -- JSON list of RR (ms) of a measurement
        PRIMARY KEY (day, posture)
    );
    CREATE TABLE measurements (               -- every morning measurement, valid or not
        day       TEXT NOT NULL,
        posture   TEXT NOT NULL,
        valid     INTEGER NOT NULL,
        reason    TEXT,
        raw_rr    TEXT NOT NULL               -- JSON list of RR (ms), as received
    );
    """,
)


class StoreError(HrvdError):
    """The store cannot be opened or written (a full disk, no permission, corruption)."""


@dataclass(frozen=True, slots=True)
class Ride:
    """One stored ride: its summary as published on ``<strap>/session``."""

    id: str
    strap: str
    started: str
    ended: str
    summary: dict[str, object]


class Store:
    """The store in one SQLite file; open it with :func:`open_store`."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        with self._lock:
            try:
                with self._db:
                    self._db.execute(sql, params)
            except sqlite3.OperationalError as exc:
                raise StoreError(f"cannot write to the store {self.path}: {exc}") from None

    async def add_ride(self, summary: Payload) -> None:
        """Keep a ride's summary (the session message); a repeated id replaces it."""
        await asyncio.to_thread(
            self._write,
            "INSERT OR REPLACE INTO rides (id, strap, started, ended, summary) "
            "VALUES (?, ?, ?, ?, ?)",
            (str(summary["id"]), str(summary["strap"]), str(summary["started"]),
             str(summary["ended"]), json.dumps(summary)),
        )  # fmt: skip

    async def add_mornings(
        self, mornings: list[Morning], *, source: str, raw_rr: list[float] | None = None,
        replace: bool = True,
    ) -> int:  # fmt: skip
        """Keep mornings (one per day and posture); return how many were written.

        ``replace`` false keeps a morning already stored for that day (an import never
        overwrites a measurement).
        """
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        rows = [_morning_row(m, source, raw_rr) for m in mornings]
        return await asyncio.to_thread(self._write_many, f"{verb} INTO mornings VALUES "
                                       "(?, ?, ?, ?, ?, ?, ?)", rows)  # fmt: skip

    async def add_measurement(
        self, day: date, posture: str, *, valid: bool, reason: str | None, raw_rr: list[float]
    ) -> None:
        """Keep one morning measurement's raw RR, valid or not."""
        await asyncio.to_thread(
            self._write,
            "INSERT INTO measurements (day, posture, valid, reason, raw_rr) VALUES (?, ?, ?, ?, ?)",
            (day.isoformat(), posture, int(valid), reason, json.dumps(raw_rr)),
        )

    def measurement_count(self) -> int:
        """Measurements kept (valid or not)."""
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM measurements").fetchone()
        return int(n)

    def _write_many(self, sql: str, rows: list[tuple[object, ...]]) -> int:
        with self._lock:
            try:
                with self._db:
                    before = self._db.total_changes
                    self._db.executemany(sql, rows)
                    return self._db.total_changes - before
            except sqlite3.OperationalError as exc:
                raise StoreError(f"cannot write to the store {self.path}: {exc}") from None

    def mornings(self) -> list[Morning]:
        """Every stored morning, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT day, posture, ln_rmssd, resting_hr_bpm, quality FROM mornings ORDER BY day"
            ).fetchall()
        return [
            Morning(
                date.fromisoformat(d),
                Posture(p),
                ln,
                hr,
                None if q is None else Quality(**json.loads(q)),
            )
            for d, p, ln, hr, q in rows
        ]

    def rides(self, limit: int = 50) -> list[Ride]:
        """The most recent rides, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, strap, started, ended, summary FROM rides "
                "ORDER BY started DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [Ride(i, s, b, e, json.loads(j)) for i, s, b, e, j in rows]

    def ride(self, ride_id: str) -> Ride | None:
        """One ride by its id (or a unique start of it)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, strap, started, ended, summary FROM rides WHERE id LIKE ? || '%' "
                "ORDER BY started DESC LIMIT 2",
                (ride_id,),
            ).fetchall()
        if len(rows) != 1:
            return None
        i, s, b, e, j = rows[0]
        return Ride(i, s, b, e, json.loads(j))


def _morning_row(m: Morning, source: str, raw_rr: list[float] | None) -> tuple[object, ...]:
    quality = None if m.quality is None else json.dumps(asdict(m.quality))
    return (m.day.isoformat(), m.posture.value, m.ln_rmssd, m.resting_hr_bpm, source, quality,
            None if raw_rr is None else json.dumps(raw_rr))  # fmt: skip


def open_store(path: Path) -> Store:
    """Open (and create or migrate) the store.

    Raises:
        StoreError: the file cannot be opened, is not a database, or fails its check.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        (check,) = db.execute("PRAGMA quick_check").fetchone()
        if check != "ok":
            db.close()
            raise StoreError(f"the store {path} is damaged ({check}): restore a backup")
        _migrate(db)
    except (OSError, sqlite3.DatabaseError) as exc:
        raise StoreError(f"cannot open the store {path}: {exc}") from None
    return Store(db, path)


def _migrate(db: sqlite3.Connection) -> None:
    (version,) = db.execute("PRAGMA user_version").fetchone()
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        with db:
            db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
