"""The store over the years: migrations, beats, retention, full disk, backup."""

import asyncio
import hashlib
import sqlite3
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import structlog

from hrvd import store as store_module
from hrvd.ble.timeline import TimedBeat
from hrvd.coach.baseline import Morning, Posture
from hrvd.config import DEFAULT_ATHLETE
from hrvd.daemon.beats import BeatRecorder
from hrvd.store import MIGRATIONS, Store, StoredBeat, StoreError, open_store

T0 = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)

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


def test_a_beat_is_never_stored_twice(tmp_path):
    store = open_store(tmp_path / "s.sqlite3")
    try:
        beats = [StoredBeat("H10", 1_000 * i, 1000, gap=i == 0) for i in range(10)]
        assert store.write_beats(beats) == 10
        assert store.write_beats([*beats[5:], StoredBeat("H10", 99000, 990, gap=False)]) == 1
        kept = store.beats("H10", 0, 10**12)
        assert [b.t_ms for b in kept] == [1_000 * i for i in range(10)] + [99_000]
        assert kept[0].gap
        assert kept[0].rr_ms == pytest.approx(976.5625)
        assert store.beats("other strap", 0, 10**12) == []
    finally:
        store.close()


def _ms(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp() * 1000)


async def _keep_day(store: Store, day: date) -> None:
    """A morning with its raw RR, a measurement and a ride on ``day``."""
    morning = Morning(day, Posture.LYING, 4.0, 50.0)
    await store.add_mornings([morning], source="measured", raw_rr=[1000.0] * 120)
    await store.add_measurement(day, "lying", valid=True, reason=None, raw_rr=[1000.0])
    await store.add_ride(
        {"id": f"H10@{day}", "strap": "H10", "started": f"{day}T17:00", "ended": f"{day}T18:00"}
    )


def test_a_year_and_more_of_data_is_pruned_to_keep_raw_days_and_summaries_stay(tmp_path):
    store = open_store(tmp_path / "s.sqlite3")
    today = date(2026, 11, 27)
    days = [today - timedelta(days=n) for n in range(400)]
    try:
        for day in days:
            # An hour of ride a day, and a morning with its raw RR.
            start = _ms(day) + 17 * 3_600_000
            store.write_beats(
                [StoredBeat("H10", start + 1000 * i, 1024, gap=i == 0) for i in range(3600)]
            )
            asyncio.run(_keep_day(store, day))  # the reads and the pruning: outside a loop
        pruned = store.prune(365, today)  # days 366 to 399 ago go; day 365 stays
        assert pruned.beats == 34 * 3600
        assert pruned.measurements == 34
        assert pruned.morning_raw == 34
        assert store.beats("H10", 0, _ms(today - timedelta(days=365)) - 1) == []
        assert len(store.beats("H10", 0, 10**13)) == 366 * 3600
        assert len(store.mornings()) == 400  # the values stay for the baseline
        assert len(store.rides(limit=1000)) == 400
        assert store.morning_raw(days[-1]) is None
        assert store.morning_raw(today) == ("lying", [1000.0] * 120)
        assert store.prune(365, today).beats == 0  # again: nothing more
    finally:
        store.close()


def _timed(n: int, start_s: float) -> tuple[TimedBeat, ...]:
    return tuple(TimedBeat(1024, 1000.0, start_s + i, start_s + i, i == 0) for i in range(n))


def _wall(t_s: float) -> datetime:
    return T0 + timedelta(seconds=t_s)


async def test_beats_are_written_in_batches_and_all_on_close(tmp_path):
    store = await asyncio.to_thread(open_store, tmp_path / "s.sqlite3")
    try:
        async with BeatRecorder(store, _wall) as recorder:
            on_beats = recorder.listener("H10")
            for n in range(3):
                on_beats(_timed(10, 10.0 * n + 1), 0.0)
            assert await asyncio.to_thread(store.beats, "H10", 0, 10**13) == []  # batched
        kept = await asyncio.to_thread(store.beats, "H10", 0, 10**13)
        assert len(kept) == 30
        assert kept[0].t_ms == round(_wall(1.0).timestamp() * 1000)
        assert recorder.written == 30
    finally:
        store.close()


@pytest.fixture
def events():
    with structlog.testing.capture_logs() as captured:
        yield captured


async def test_a_full_disk_is_reported_once_and_no_beat_is_lost_when_space_returns(
    tmp_path, events
):
    store = await asyncio.to_thread(open_store, tmp_path / "s.sqlite3")
    try:
        await asyncio.to_thread(store.write_beats, [StoredBeat("H10", 1, 1000, gap=True)])
        db = store._db  # noqa: SLF001 - the test makes the file unable to grow
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        db.execute(f"PRAGMA max_page_count = {pages}")
        async with BeatRecorder(store, _wall) as recorder:
            on_beats = recorder.listener("H10")
            for n in range(5):
                on_beats(_timed(200, 1000.0 * n + 10), 0.0)
                await recorder.flush()
            errors = [e for e in events if e["log_level"] == "error"]
            assert len(errors) == 1
            assert "full" in errors[0]["error"]
            db.execute("PRAGMA max_page_count = 1000000")
            await recorder.flush()
        assert recorder.written == 1000
        assert len(await asyncio.to_thread(store.beats, "H10", 0, 10**13)) == 1001
        assert any(e["event"] == "beats stored again" for e in events)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        store.close()


def test_a_backup_taken_while_beats_are_written_is_consistent(tmp_path):
    store = open_store(tmp_path / "s.sqlite3")
    writer = open_store(tmp_path / "s.sqlite3")  # the daemon, in another connection
    stop = threading.Event()

    def write() -> None:
        t = 0
        while not stop.is_set():
            writer.write_beats([StoredBeat("H10", t + i, 1000, gap=False) for i in range(50)])
            t += 50

    thread = threading.Thread(target=write)
    thread.start()
    try:
        store.write_beats([StoredBeat("H10", -1, 1000, gap=True)])
        store.backup(tmp_path / "copy.sqlite3")
    finally:
        stop.set()
        thread.join()
        writer.close()
        store.close()
    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (n,) = copy.execute("SELECT count(*) FROM beats").fetchone()
        assert n >= 1
        assert n % 50 == 1  # whole transactions only
    finally:
        copy.close()
    assert not list(tmp_path.glob(".*partial"))


def test_a_backup_that_cannot_be_written_is_one_error_and_leaves_nothing(tmp_path):
    store = open_store(tmp_path / "s.sqlite3")
    try:
        with pytest.raises(StoreError, match="cannot back up the store"):
            store.backup(tmp_path / "no such dir" / "copy.sqlite3")
    finally:
        store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite3"]


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


def test_pruning_goes_in_small_transactions_and_misses_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "PRUNE_CHUNK", 7)
    store = open_store(tmp_path / "s.sqlite3")
    today = date(2026, 11, 27)
    old = _ms(today - timedelta(days=400))
    try:
        for strap in ("A", "B"):
            store.write_beats([StoredBeat(strap, old + i, 1000, gap=False) for i in range(50)])
            store.write_beats(
                [StoredBeat(strap, _ms(today) + i, 1000, gap=False) for i in range(5)]
            )
        assert store.prune(365, today).beats == 100
        assert len(store.beats("A", 0, 10**13)) == len(store.beats("B", 0, 10**13)) == 5
    finally:
        store.close()


def test_a_ride_id_is_matched_by_its_start_not_as_a_pattern(tmp_path):
    store = open_store(tmp_path / "s.sqlite3")
    try:
        asyncio.run(
            store.add_ride(
                {
                    "id": "H10@2026-11-27T17:00",
                    "strap": "H10",
                    "started": "2026-11-27T17:00",
                    "ended": "x",
                }
            )
        )
        assert store.ride("H10@2026") is not None
        assert store.ride("%") is None
        assert store.ride("_10") is None
        assert store.ride("h10@") is None
    finally:
        store.close()


async def test_a_beat_gets_its_wall_time_when_written_so_a_clock_set_late_is_right(tmp_path):
    offset = [timedelta(0)]

    def wall(t_s: float) -> datetime:
        return T0 + offset[0] + timedelta(seconds=t_s)

    store = await asyncio.to_thread(open_store, tmp_path / "s.sqlite3")
    try:
        async with BeatRecorder(store, wall) as recorder:
            recorder.listener("H10")(_timed(3, 1.0), 0.0)
            offset[0] = timedelta(days=400)  # the time server answered
        kept = await asyncio.to_thread(store.beats, "H10", 0, 10**14)
        assert kept[0].t_ms == round(wall(1.0).timestamp() * 1000)
    finally:
        store.close()


def test_a_backup_is_as_private_as_the_store(tmp_path):
    path = tmp_path / "s.sqlite3"
    open_store(path).close()
    path.chmod(0o640)
    store = open_store(path, readonly=True)
    try:
        store.backup(tmp_path / "copy.sqlite3")
    finally:
        store.close()
    assert (tmp_path / "copy.sqlite3").stat().st_mode & 0o777 == 0o640


def test_the_last_ride_and_alert_message_per_topic_is_kept_and_replaced(tmp_path):
    store = open_store(tmp_path / "s.sqlite3")
    kept = [
        ("hrvd/h10/ride", {"id": "r:1:start", "active": True}),
        ("hrvd/h10/alert", {"id": "r:alert:1:on", "too_hard": True}),
        ("hrvd/h10/ride", {"id": "r:2:steady", "active": True}),
    ]
    try:
        assert store.ride_state() == {}
        for topic, payload in kept:
            asyncio.run(store.keep_ride_state(topic, payload))
    finally:
        store.close()
    store = open_store(tmp_path / "s.sqlite3", readonly=True)
    try:
        assert store.ride_state() == {
            "hrvd/h10/ride": {"id": "r:2:steady", "active": True},
            "hrvd/h10/alert": {"id": "r:alert:1:on", "too_hard": True},
        }
    finally:
        store.close()


def test_a_ride_state_row_that_is_not_a_json_object_is_left_out(tmp_path):
    open_store(tmp_path / "s.sqlite3").close()
    with sqlite3.connect(tmp_path / "s.sqlite3") as db:
        db.executemany(
            "INSERT INTO ride_state VALUES (?, ?)",
            [("hrvd/a/ride", "{not json"), ("hrvd/b/ride", "[1, 2]"), ("hrvd/c/ride", '{"x": 1}')],
        )
    store = open_store(tmp_path / "s.sqlite3")
    try:
        assert store.ride_state() == {"hrvd/c/ride": {"x": 1}}
    finally:
        store.close()
