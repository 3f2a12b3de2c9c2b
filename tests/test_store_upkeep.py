"""The store over the years: beats, retention, full disk, backup; migrations are apart."""

import asyncio
import sqlite3
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import structlog

from hrvd import store as store_module
from hrvd.ble.timeline import TimedBeat
from hrvd.coach.baseline import Morning, Posture
from hrvd.daemon.beats import BeatRecorder
from hrvd.store import Store, StoredBeat, StoreError, open_store

T0 = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


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
