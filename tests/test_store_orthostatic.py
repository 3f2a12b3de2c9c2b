"""The store's orthostatic table: migrated in from the previous schema, kept, pruned."""

import asyncio
import sqlite3
from datetime import date

from hrvd.coach.orthostatic import OrthoOutcome, OrthoRecord
from hrvd.store import MIGRATIONS, open_store

ORTHO_SCHEMA = next(i + 1 for i, m in enumerate(MIGRATIONS) if "CREATE TABLE orthostatic" in m)
DAY = date(2026, 12, 4)
STOOD = OrthoRecord(DAY, OrthoOutcome.STOOD, 54.0, 50.0, 69.0, 15.0, 84.0, 16.0)


def old_store(path, version):
    """A store as an hrvd of schema ``version`` left it, with a morning in it."""
    with sqlite3.connect(path) as db:
        for script in MIGRATIONS[:version]:
            db.executescript(script)
        db.execute(f"PRAGMA user_version = {version}")
        db.execute(
            "INSERT INTO mornings VALUES ('2026-12-03', 'lying', 3.9, 55.0, 'measured', NULL, "
            "'[1000.0]')"
        )
    db.close()


def test_a_store_of_the_previous_schema_gains_the_table_and_keeps_its_mornings(tmp_path):
    path = tmp_path / "s.sqlite3"
    old_store(path, ORTHO_SCHEMA - 1)
    store = open_store(path)
    try:
        assert [m.day for m in store.mornings()] == [date(2026, 12, 3)]
        assert store.orthostatic_tests() == []
        assert asyncio.run(store.add_orthostatic(STOOD, raw_rr=[700.0, 690.0], replace=False)) == 1
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
    reader = open_store(path, readonly=True)
    try:
        (kept,) = reader.orthostatic_tests()
    finally:
        reader.close()
    assert kept == STOOD
    assert kept.hr_rise_bpm == 15.0


def test_only_a_repeat_replaces_the_days_test_and_old_raw_rr_is_pruned(tmp_path):
    store = open_store(tmp_path / "s.sqlite3")
    try:
        asyncio.run(store.add_orthostatic(STOOD, raw_rr=[700.0], replace=False))
        missed = OrthoRecord(DAY, OrthoOutcome.DID_NOT_STAND, 55.0, 48.0)
        assert asyncio.run(store.add_orthostatic(missed, raw_rr=[], replace=False)) == 0
        assert store.orthostatic_tests() == [STOOD]
        asyncio.run(store.add_orthostatic(missed, raw_rr=[1000.0], replace=True))
        assert store.orthostatic_tests() == [missed]
        pruned = store.prune(keep_raw_days=1, today=date(2026, 12, 10))
        assert pruned.morning_raw == 1
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "s.sqlite3") as db:
        outcome, raw = db.execute("SELECT outcome, raw_rr FROM orthostatic").fetchone()
    assert outcome == "did_not_stand"
    assert raw is None
