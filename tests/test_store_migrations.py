"""The store's schema over the years: every version migrates, once, safely; readers never."""

import asyncio
import hashlib
import sqlite3
import threading
from datetime import date

import pytest

from hrvd.config import DEFAULT_ATHLETE
from hrvd.store import MIGRATIONS, StoredBeat, StoreError, open_store

# What each released schema version held, written as that version's hrvd wrote it.
ROWS_AT_VERSION = {
    1: [
        (
            "INSERT INTO rides VALUES ('H10@x', 'H10', '2026-01-01T17:00:00+00:00', "
            '\'2026-01-01T17:45:00+00:00\', \'{"id": "H10@x", "alerts": 2}\')'
        ),
        (
            "INSERT INTO mornings VALUES ('2026-01-02', 'lying', 4.1, 52.0, 'measured', NULL, "
            "'[1000.0, 1010.0]')"
        ),
        "INSERT INTO measurements VALUES ('2026-01-02', 'lying', 1, NULL, '[1000.0, 1010.0]')",
    ],
    4: [
        (
            "INSERT INTO rides VALUES ('H10@y', 'H10', '2026-01-03T17:00:00+00:00', "
            '\'2026-01-03T17:45:00+00:00\', \'{"id": "H10@y", "alerts": 0}\', 148.5)'
        ),
    ],
    5: [
        (
            "INSERT INTO orthostatic VALUES ('2026-01-04', 'stood', NULL, 54.0, 50.0, 69.0, 15.0, "
            "84.0, 16.0, '[700.0]')"
        ),
    ],
}


def _store_at_version(path, version):
    db = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[:version], start=1):
        db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        for row in ROWS_AT_VERSION.get(number, []):
            db.execute(row)
        db.commit()
    db.close()


@pytest.mark.parametrize("version", range(len(MIGRATIONS)))
def test_a_store_of_every_earlier_version_is_migrated_and_keeps_its_data(tmp_path, version):
    assert set(ROWS_AT_VERSION) <= set(range(1, len(MIGRATIONS) + 1))
    path = tmp_path / "s.sqlite3"
    _store_at_version(path, version)
    store = open_store(path)
    try:
        assert store.write_beats([StoredBeat("H10", 1, 1024, gap=True)]) == 1
        # Whatever the version, every row is now the one athlete's, under the default name.
        rides = {r.id: r for r in store.rides()}
        assert {r.athlete for r in rides.values()} <= {DEFAULT_ATHLETE}
        assert store.athletes() == ([DEFAULT_ATHLETE] if version >= 1 else [])
        if version >= 1:
            assert rides["H10@x"].summary["alerts"] == 2
            assert [m.ln_rmssd for m in store.mornings(DEFAULT_ATHLETE)] == [4.1]
            assert store.morning_raw(date(2026, 1, 2), athlete=DEFAULT_ATHLETE) == (
                "lying",
                [1000.0, 1010.0],
            )
            assert store.measurement_count(DEFAULT_ATHLETE) == 1
        if version >= 4:
            assert [bpm for _, bpm in store.hrvt1_estimates(DEFAULT_ATHLETE)] == [148.5]
        if version >= 5:
            (test,) = store.orthostatic_tests(DEFAULT_ATHLETE)
            assert (test.day, test.peak_hr_bpm) == (date(2026, 1, 4), 84.0)
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_store_from_a_newer_hrvd_is_refused_not_damaged(tmp_path):
    path = tmp_path / "s.sqlite3"
    open_store(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="written by a newer hrvd"):
        open_store(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS) + 1,)


RELEASED_MIGRATIONS = (
    "2e96af1b06cf9a0df2139791380af56bd3976e5432f122bf09874ce5e848e746",
    "fc606106a68763c3ce75b98d8826de766e1a4343c1fe0cbd6c0ad06eca7181f4",
    "0b663344bc843129ab625bfe0a0a468442d2e1ebb28f79d7cd75e6041fc6abd5",
)


def test_a_released_migration_is_never_edited():
    # Stores in the field were made by these exact scripts; a change goes in a new one.
    released = [hashlib.sha256(m.encode()).hexdigest() for m in MIGRATIONS]
    assert released[: len(RELEASED_MIGRATIONS)] == list(RELEASED_MIGRATIONS)


def test_two_processes_opening_an_old_store_at_once_both_migrate_it_safely(tmp_path):
    path = tmp_path / "s.sqlite3"
    _store_at_version(path, 1)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            open_store(path).close()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)


def test_a_reader_never_migrates_or_writes_the_store(tmp_path):
    path = tmp_path / "s.sqlite3"
    with pytest.raises(StoreError, match="no store at"):
        open_store(path, readonly=True)
    assert not path.exists()
    _store_at_version(path, 1)
    with pytest.raises(StoreError, match=r"older hrvd.*restart the daemon"):
        open_store(path, readonly=True)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (1,)
    open_store(path).close()
    reader = open_store(path, readonly=True)
    try:
        assert [r.id for r in reader.rides()] == ["H10@x"]
        with pytest.raises(StoreError, match="cannot write"):
            reader.write_beats([StoredBeat("H10", 1, 1000, gap=True)])
    finally:
        reader.close()


def test_a_reader_of_a_stopped_daemons_store_needs_no_shared_memory_file(tmp_path):
    path = tmp_path / "s.sqlite3"
    store = open_store(path)
    asyncio.run(store.add_ride({"id": "H10@x", "strap": "H10", "started": "a", "ended": "b"}))
    store.close()  # the daemon stopped: its -wal and -shm files are gone
    assert not path.with_name("s.sqlite3-wal").exists()
    # A reader who may not create files beside the store cannot make the -shm file; as
    # root (the tests) that is shown by a directory in its place.
    path.with_name("s.sqlite3-shm").mkdir()
    reader = open_store(path, readonly=True)
    try:
        assert [r.id for r in reader.rides()] == ["H10@x"]
    finally:
        reader.close()
