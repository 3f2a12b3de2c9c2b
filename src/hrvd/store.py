"""The SQLite store: ride summaries and morning measurements, kept for good.

One file (``[store] path``), shared with the MQTT outbox, in WAL mode so that ``hrvd
sessions`` and ``hrvd history`` can read while the daemon writes. The schema carries its
version in ``PRAGMA user_version`` and is migrated forward at open. Writes run on a worker
thread (:func:`asyncio.to_thread`), never on the event loop, and each is committed at once:
a ride or a morning is on disk when the call returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from hrvd.coach.baseline import Morning, Posture, Quality
from hrvd.coach.orthostatic import OrthoOutcome, OrthoRecord

# Re-exported, so that callers keep importing the store's errors from here.
from hrvd.store_files import StoreError as StoreError  # noqa: PLC0414
from hrvd.store_files import StoreNeedsHandsError as StoreNeedsHandsError  # noqa: PLC0414
from hrvd.store_files import connect, connect_readonly, take_lock

if TYPE_CHECKING:
    from hrvd.publish.messages import Payload

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
    # 2: every beat received, for [store] keep_raw_days (export, replay, re-analysis).
    """
    CREATE TABLE beats (
        strap   TEXT NOT NULL,      -- the strap's configured name
        t_ms    INTEGER NOT NULL,   -- end of the interval, Unix time in ms
        rr_raw  INTEGER NOT NULL,   -- the interval in 1/1024 s, as the strap sent it
        gap     INTEGER NOT NULL,   -- 1: beats before this one are missing
        PRIMARY KEY (strap, t_ms)
    ) WITHOUT ROWID;
    """,
    # 3: the last ride and alert message of each strap, as queued for the broker, so that a
    #    start after a crash can end a ride the broker still shows as active.
    """
    CREATE TABLE ride_state (
        topic    TEXT PRIMARY KEY,  -- <base>/<strap>/ride or <base>/<strap>/alert
        payload  TEXT NOT NULL      -- the message's JSON
    );
    """,
    # 4: each ride's HRVT1 estimate (bpm, NULL when the ride gave none), for the personal
    #    value; rides kept before it have none.
    """
    ALTER TABLE rides ADD COLUMN hrvt1_bpm REAL;
    UPDATE rides SET hrvt1_bpm = json_extract(summary, '$.hrvt1_bpm');
    """,
    # 5: orthostatic tests (lie, then stand), one a day; the lying part is also a morning.
    """
    CREATE TABLE orthostatic (
        day                TEXT PRIMARY KEY,
        outcome            TEXT NOT NULL,   -- "stood", "did_not_stand" or "invalid"
        reason             TEXT,            -- why the standing part is invalid
        supine_hr_bpm      REAL,
        supine_rmssd_ms    REAL,
        standing_hr_bpm    REAL,
        standing_rmssd_ms  REAL,
        peak_hr_bpm        REAL,
        peak_after_s       REAL,            -- after the stand was seen
        raw_rr             TEXT             -- JSON list of RR (ms) after the prompt to stand
    );
    """,
)
"""The schema, one script a version: ``MIGRATIONS[n]`` takes a store from version n to
n + 1. Scripts are only ever appended; a released one is never edited."""


PRUNE_CHUNK = 10_000
"""Beats deleted per transaction when pruning (a few hundred ms on a Pi Zero 2 W)."""


@dataclass(frozen=True, slots=True)
class Ride:
    """One stored ride: its summary as published on ``<strap>/session``."""

    id: str
    strap: str
    started: str
    ended: str
    summary: dict[str, object]


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


class Store:
    """The store in one SQLite file; open it with :func:`open_store`."""

    def __init__(self, db: sqlite3.Connection, path: Path, lock_fd: int | None = None) -> None:
        self._db = db
        self.path = path
        self._lock = threading.Lock()
        self._lock_fd = lock_fd

    def close(self) -> None:
        """Close the file (and give back the daemon's lock on it)."""
        with self._lock:
            self._db.close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        with self._lock:
            try:
                with self._db:
                    self._db.execute(sql, params)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot write to the store {self.path}: {exc}") from None

    async def add_ride(self, summary: Payload) -> None:
        """Keep a ride's summary (the session message); a repeated id replaces it."""
        hrvt1 = summary.get("hrvt1_bpm")
        await asyncio.to_thread(
            self._write,
            "INSERT OR REPLACE INTO rides (id, strap, started, ended, summary, hrvt1_bpm) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (str(summary["id"]), str(summary["strap"]), str(summary["started"]),
             str(summary["ended"]), json.dumps(summary),
             float(hrvt1) if isinstance(hrvt1, int | float) else None),
        )  # fmt: skip

    def hrvt1_estimates(self) -> list[tuple[date, float]]:
        """The HRVT1 estimates of every ride that gave one: (local day it started, bpm)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT started, hrvt1_bpm FROM rides WHERE hrvt1_bpm IS NOT NULL ORDER BY started"
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

    async def add_orthostatic(
        self, record: OrthoRecord, *, raw_rr: list[float], replace: bool
    ) -> int:
        """Keep an orthostatic test (one a day); return 1 when written, 0 when one was kept.

        ``replace`` false keeps a test already stored for that day (as for mornings, only
        a repeat replaces the day's).
        """
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        r = record
        row = (r.day.isoformat(), r.outcome.value, r.reason, r.supine_hr_bpm, r.supine_rmssd_ms,
               r.standing_hr_bpm, r.standing_rmssd_ms, r.peak_hr_bpm, r.peak_after_s,
               json.dumps(raw_rr))  # fmt: skip
        sql = f"{verb} INTO orthostatic VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        return await asyncio.to_thread(self._write_many, sql, [row])

    def orthostatic_tests(self) -> list[OrthoRecord]:
        """Every stored orthostatic test, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT day, outcome, supine_hr_bpm, supine_rmssd_ms, standing_hr_bpm, "
                "standing_rmssd_ms, peak_hr_bpm, peak_after_s, reason FROM orthostatic "
                "ORDER BY day"
            ).fetchall()
        return [
            OrthoRecord(date.fromisoformat(d), OrthoOutcome(o), *values) for d, o, *values in rows
        ]

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
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot write to the store {self.path}: {exc}") from None

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

    def morning_raw(self, day: date, posture: str | None = None) -> tuple[str, list[float]] | None:
        """The raw RR (ms) of the morning kept for ``day`` (and posture), with its posture."""
        with self._lock:
            row = self._db.execute(
                "SELECT posture, raw_rr FROM mornings WHERE day = ? AND raw_rr IS NOT NULL "
                "AND (? IS NULL OR posture = ?) ORDER BY posture LIMIT 1",
                (day.isoformat(), posture, posture),
            ).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

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
                "WHERE t_ms < ? LIMIT ?)", (cutoff_ms, PRUNE_CHUNK)
            ):  # fmt: skip
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
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                                        dir=target.parent)  # fmt: skip
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

    def mornings(self) -> list[Morning]:
        """Every stored morning, oldest first."""
        return [m for m, _ in self.mornings_with_source()]

    def mornings_with_source(self) -> list[tuple[Morning, str]]:
        """Every stored morning with its source ("measured" or "imported"), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT day, posture, ln_rmssd, resting_hr_bpm, quality, source FROM mornings "
                "ORDER BY day, posture"
            ).fetchall()
        return [
            (
                Morning(
                    date.fromisoformat(d),
                    Posture(p),
                    ln,
                    hr,
                    None if q is None else Quality(**json.loads(q)),
                ),
                source,
            )
            for d, p, ln, hr, q, source in rows
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
                "SELECT id, strap, started, ended, summary FROM rides "
                "WHERE substr(id, 1, length(?1)) = ?1 ORDER BY started DESC LIMIT 2",
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
            _check(db, path, readonly=readonly)
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


def _check(db: sqlite3.Connection, path: Path, *, readonly: bool) -> None:
    """Refuse a store of another schema or a damaged one; migrate an older one."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version > len(MIGRATIONS):
        raise StoreError(f"the store {path} was written by a newer hrvd (schema {version}, "
                         f"this one knows {len(MIGRATIONS)}): upgrade hrvd")  # fmt: skip
    if readonly and version < len(MIGRATIONS):
        raise StoreError(f"the store {path} is from an older hrvd (schema {version}): "
                         "restart the daemon (hrvd run) to upgrade it")  # fmt: skip
    if not readonly:
        (check,) = db.execute("PRAGMA quick_check").fetchone()
        if check != "ok":
            raise StoreNeedsHandsError(f"the store {path} is damaged ({check}): "
                                       "restore a backup (see docs/upkeep.md)")  # fmt: skip
        _migrate(db)


def _migrate(db: sqlite3.Connection) -> None:
    (version,) = db.execute("PRAGMA user_version").fetchone()
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        try:
            with db:
                db.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
                )
        except sqlite3.OperationalError:
            # Two processes opened the old store at once: the other one migrated it.
            db.rollback()
            (now,) = db.execute("PRAGMA user_version").fetchone()
            if now < number:
                raise
