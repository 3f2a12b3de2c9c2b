"""The store's connection and the athletes' mornings: measurements, orthostatic tests.

Every row is one athlete's (the config's name, :data:`~hrvd.config_model.DEFAULT_ATHLETE`
for the athlete of a config that names none); a baseline is built from one athlete's
mornings only. :class:`hrvd.store.Store` adds the rides, the beats and the upkeep.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Self

from hrvd.coach.baseline import Morning, Posture, Quality
from hrvd.coach.orthostatic import OrthoOutcome, OrthoRecord
from hrvd.config_model import DEFAULT_ATHLETE
from hrvd.store_files import StoreError

if TYPE_CHECKING:
    from pathlib import Path

ATHLETE_TABLES = ("rides", "mornings", "measurements", "orthostatic")
"""The tables whose rows are an athlete's (schema 6)."""


class MorningStore:
    """The SQLite connection, its writes, and the mornings of each athlete."""

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

    def __enter__(self) -> Self:
        """The store itself; leaving the block closes it (see :meth:`close`)."""
        return self

    def __exit__(self, *_exc: object) -> None:
        """Close the store."""
        self.close()

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        self._write_many(sql, [params])

    def _write_many(self, sql: str, rows: list[tuple[object, ...]]) -> int:
        with self._lock:
            try:
                with self._db:
                    before = self._db.total_changes
                    self._db.executemany(sql, rows)
                    return self._db.total_changes - before
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot write to the store {self.path}: {exc}") from None

    def athletes(self) -> list[str]:
        """The names of the athletes with anything stored, sorted."""
        union = " UNION ".join(f"SELECT athlete FROM {t}" for t in ATHLETE_TABLES)  # noqa: S608 - fixed names
        with self._lock:
            rows = self._db.execute(f"{union} ORDER BY athlete").fetchall()
        return [name for (name,) in rows]

    def rename_athlete(self, old: str, new: str) -> int:
        """Give everything stored for ``old`` to ``new`` (blocking); return the rows moved.

        For a config whose athlete gets a name (or another one): their history follows.

        Raises:
            StoreError: ``new`` already has rows, or the store cannot be written.
        """
        if new != old and new in self.athletes():
            msg = f"the store {self.path} already holds rows of {new!r}: not merged into them"
            raise StoreError(msg)
        with self._lock:
            try:
                with self._db:
                    return sum(
                        self._db.execute(
                            f"UPDATE {t} SET athlete = ? WHERE athlete = ?",  # noqa: S608 - fixed names
                            (new, old),
                        ).rowcount
                        for t in ATHLETE_TABLES
                    )
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot write to the store {self.path}: {exc}") from None

    async def add_mornings(
        self,
        mornings: list[Morning],
        *,
        source: str,
        raw_rr: list[float] | None = None,
        replace: bool = True,
        athlete: str = DEFAULT_ATHLETE,
    ) -> int:
        """Keep an athlete's mornings (one per day and posture); return how many were written.

        ``replace`` false keeps a morning already stored for that day (an import never
        overwrites a measurement).
        """
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        rows = [_morning_row(athlete, m, source, raw_rr) for m in mornings]
        sql = (
            f"{verb} INTO mornings (athlete, day, posture, ln_rmssd, resting_hr_bpm, source, "
            "quality, raw_rr) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        return await asyncio.to_thread(self._write_many, sql, rows)

    async def add_measurement(  # noqa: PLR0913 - one measurement's columns, each named
        self,
        day: date,
        posture: str,
        *,
        valid: bool,
        reason: str | None,
        raw_rr: list[float],
        athlete: str = DEFAULT_ATHLETE,
    ) -> None:
        """Keep one morning measurement's raw RR, valid or not."""
        await asyncio.to_thread(
            self._write,
            "INSERT INTO measurements (athlete, day, posture, valid, reason, raw_rr) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (athlete, day.isoformat(), posture, int(valid), reason, json.dumps(raw_rr)),
        )

    async def add_orthostatic(
        self,
        record: OrthoRecord,
        *,
        raw_rr: list[float],
        replace: bool,
        athlete: str = DEFAULT_ATHLETE,
    ) -> int:
        """Keep an orthostatic test (one a day); return 1 when written, 0 when one was kept.

        ``replace`` false keeps a test already stored for that day (as for mornings, only
        a repeat replaces the day's).
        """
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        r = record
        row = (
            athlete,
            r.day.isoformat(),
            r.outcome.value,
            r.reason,
            r.supine_hr_bpm,
            r.supine_rmssd_ms,
            r.standing_hr_bpm,
            r.standing_rmssd_ms,
            r.peak_hr_bpm,
            r.peak_after_s,
            json.dumps(raw_rr),
        )
        sql = (
            f"{verb} INTO orthostatic (athlete, day, outcome, reason, supine_hr_bpm, "
            "supine_rmssd_ms, standing_hr_bpm, standing_rmssd_ms, peak_hr_bpm, peak_after_s, "
            "raw_rr) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        return await asyncio.to_thread(self._write_many, sql, [row])

    def orthostatic_tests(self, athlete: str = DEFAULT_ATHLETE) -> list[OrthoRecord]:
        """Every stored orthostatic test of an athlete, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT day, outcome, supine_hr_bpm, supine_rmssd_ms, standing_hr_bpm, "
                "standing_rmssd_ms, peak_hr_bpm, peak_after_s, reason FROM orthostatic "
                "WHERE athlete = ? ORDER BY day",
                (athlete,),
            ).fetchall()
        return [
            OrthoRecord(date.fromisoformat(d), OrthoOutcome(o), *values) for d, o, *values in rows
        ]

    def measurement_count(self, athlete: str | None = None) -> int:
        """Measurements kept (valid or not), of one athlete or (None) of all."""
        with self._lock:
            (n,) = self._db.execute(
                "SELECT count(*) FROM measurements WHERE ?1 IS NULL OR athlete = ?1", (athlete,)
            ).fetchone()
        return int(n)

    def morning_raw(
        self, day: date, posture: str | None = None, *, athlete: str = DEFAULT_ATHLETE
    ) -> tuple[str, list[float]] | None:
        """The raw RR (ms) of the athlete's morning of ``day`` (and posture), with its posture."""
        with self._lock:
            row = self._db.execute(
                "SELECT posture, raw_rr FROM mornings WHERE athlete = ? AND day = ? "
                "AND raw_rr IS NOT NULL AND (? IS NULL OR posture = ?) ORDER BY posture LIMIT 1",
                (athlete, day.isoformat(), posture, posture),
            ).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    def mornings(self, athlete: str = DEFAULT_ATHLETE) -> list[Morning]:
        """Every stored morning of an athlete, oldest first: what their baseline is built of."""
        return [m for m, _ in self.mornings_with_source(athlete)]

    def mornings_with_source(self, athlete: str = DEFAULT_ATHLETE) -> list[tuple[Morning, str]]:
        """An athlete's mornings with their source ("measured" or "imported"), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT day, posture, ln_rmssd, resting_hr_bpm, quality, source FROM mornings "
                "WHERE athlete = ? ORDER BY day, posture",
                (athlete,),
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


def _morning_row(
    athlete: str, m: Morning, source: str, raw_rr: list[float] | None
) -> tuple[object, ...]:
    quality = None if m.quality is None else json.dumps(asdict(m.quality))
    return (
        athlete,
        m.day.isoformat(),
        m.posture.value,
        m.ln_rmssd,
        m.resting_hr_bpm,
        source,
        quality,
        None if raw_rr is None else json.dumps(raw_rr),
    )
