"""The store's schema: one migration script a version, and the check at open.

The schema carries its version in ``PRAGMA user_version``; a writable open migrates an
older store forward, each script in its own transaction, and refuses a newer one. A
store from before a script is tested against every later one (tests/test_store_upkeep.py).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from hrvd.store_files import StoreError, StoreNeedsHandsError

if TYPE_CHECKING:
    from pathlib import Path

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
    # 6: a household: every ride, morning, measurement and orthostatic test is an athlete's
    #    (the config's name; beats stay the strap's). Rows kept before are the one athlete's
    #    of the config then, whose default name is "me" (hrvd.config_model.DEFAULT_ATHLETE).
    #    Mornings and orthostatic tests are one a day per athlete: a new primary key.
    """
    ALTER TABLE rides ADD COLUMN athlete TEXT NOT NULL DEFAULT 'me';
    CREATE INDEX rides_athlete_started ON rides (athlete, started);
    ALTER TABLE measurements ADD COLUMN athlete TEXT NOT NULL DEFAULT 'me';
    CREATE TABLE mornings_6 (
        athlete         TEXT NOT NULL,
        day             TEXT NOT NULL,
        posture         TEXT NOT NULL,
        ln_rmssd        REAL NOT NULL,
        resting_hr_bpm  REAL,
        source          TEXT NOT NULL,
        quality         TEXT,
        raw_rr          TEXT,
        PRIMARY KEY (athlete, day, posture)
    );
    INSERT INTO mornings_6 SELECT 'me', day, posture, ln_rmssd, resting_hr_bpm, source, quality,
        raw_rr FROM mornings;
    DROP TABLE mornings;
    ALTER TABLE mornings_6 RENAME TO mornings;
    CREATE TABLE orthostatic_6 (
        athlete            TEXT NOT NULL,
        day                TEXT NOT NULL,
        outcome            TEXT NOT NULL,
        reason             TEXT,
        supine_hr_bpm      REAL,
        supine_rmssd_ms    REAL,
        standing_hr_bpm    REAL,
        standing_rmssd_ms  REAL,
        peak_hr_bpm        REAL,
        peak_after_s       REAL,
        raw_rr             TEXT,
        PRIMARY KEY (athlete, day)
    );
    INSERT INTO orthostatic_6 SELECT 'me', day, outcome, reason, supine_hr_bpm, supine_rmssd_ms,
        standing_hr_bpm, standing_rmssd_ms, peak_hr_bpm, peak_after_s, raw_rr FROM orthostatic;
    DROP TABLE orthostatic;
    ALTER TABLE orthostatic_6 RENAME TO orthostatic;
    """,
)
"""The schema, one script a version: ``MIGRATIONS[n]`` takes a store from version n to
n + 1. Scripts are only ever appended; a released one is never edited."""


def check_schema(db: sqlite3.Connection, path: Path, *, readonly: bool) -> None:
    """Refuse a store of another schema or a damaged one; migrate an older one."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version > len(MIGRATIONS):
        raise StoreError(
            f"the store {path} was written by a newer hrvd (schema {version}, "
            f"this one knows {len(MIGRATIONS)}): upgrade hrvd"
        )
    if readonly and version < len(MIGRATIONS):
        raise StoreError(
            f"the store {path} is from an older hrvd (schema {version}): "
            "restart the daemon (hrvd run) to upgrade it"
        )
    if not readonly:
        (check,) = db.execute("PRAGMA quick_check").fetchone()
        if check != "ok":
            raise StoreNeedsHandsError(
                f"the store {path} is damaged ({check}): restore a backup (see docs/upkeep.md)"
            )
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
