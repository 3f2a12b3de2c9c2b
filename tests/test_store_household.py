"""A household's store: each athlete's rides, mornings and tests kept apart."""

import asyncio
import sqlite3
from datetime import date

import pytest

from hrvd.coach.baseline import Morning, Posture
from hrvd.coach.orthostatic import OrthoOutcome, OrthoRecord
from hrvd.config import DEFAULT_ATHLETE
from hrvd.store import MIGRATIONS, StoreError, open_store

DAY = date(2026, 12, 4)


def _ride(ride_id, strap, started, hrvt1):
    return {
        "id": ride_id,
        "strap": strap,
        "started": started,
        "ended": started,
        "alerts": 0,
        "hrvt1_bpm": hrvt1,
    }


def test_two_athletes_on_the_same_day_keep_their_own_mornings_rides_and_tests(tmp_path):
    store = open_store(tmp_path / "s.sqlite3")
    try:
        asyncio.run(
            store.add_mornings(
                [Morning(DAY, Posture.LYING, 4.2, 50.0)],
                source="measured",
                raw_rr=[1100.0],
                athlete="Anna",
            )
        )
        asyncio.run(
            store.add_mornings(
                [Morning(DAY, Posture.LYING, 3.1, 64.0)],
                source="measured",
                raw_rr=[900.0],
                athlete="Ben",
            )
        )
        asyncio.run(
            store.add_measurement(
                DAY, "lying", valid=True, reason=None, raw_rr=[1.0], athlete="Anna"
            )
        )
        asyncio.run(
            store.add_ride(_ride("a@1", "h10", "2026-12-04T17:00:00+01:00", 141.0), athlete="Anna")
        )
        asyncio.run(
            store.add_ride(_ride("b@1", "h9", "2026-12-04T18:00:00+01:00", 152.0), athlete="Ben")
        )
        stood = OrthoRecord(DAY, OrthoOutcome.STOOD, 54.0, 50.0, 69.0, 15.0, 84.0, 16.0)
        missed = OrthoRecord(DAY, OrthoOutcome.DID_NOT_STAND, 60.0, 30.0)
        assert (
            asyncio.run(store.add_orthostatic(stood, raw_rr=[], replace=False, athlete="Anna")) == 1
        )
        assert (
            asyncio.run(store.add_orthostatic(missed, raw_rr=[], replace=False, athlete="Ben")) == 1
        )

        assert [m.ln_rmssd for m in store.mornings("Anna")] == [4.2]
        assert [m.ln_rmssd for m in store.mornings("Ben")] == [3.1]
        assert store.mornings(DEFAULT_ATHLETE) == []
        assert store.morning_raw(DAY, athlete="Ben") == ("lying", [900.0])
        assert (store.measurement_count("Anna"), store.measurement_count("Ben")) == (1, 0)
        assert store.measurement_count() == 1
        assert [r.id for r in store.rides(athlete="Anna")] == ["a@1"]
        assert [(r.id, r.athlete) for r in store.rides()] == [("b@1", "Ben"), ("a@1", "Anna")]
        assert [bpm for _, bpm in store.hrvt1_estimates("Ben")] == [152.0]
        assert store.orthostatic_tests("Anna") == [stood]
        assert store.orthostatic_tests("Ben") == [missed]
        assert store.athletes() == ["Anna", "Ben"]
    finally:
        store.close()


def test_an_athlete_given_a_name_keeps_their_history_and_no_two_are_merged(tmp_path):
    store = open_store(tmp_path / "s.sqlite3")
    try:
        asyncio.run(store.add_mornings([Morning(DAY, Posture.LYING, 4.2, 50.0)], source="measured"))
        asyncio.run(store.add_ride(_ride("r@1", "h10", "2026-12-04T17:00:00+01:00", None)))
        asyncio.run(
            store.add_mornings(
                [Morning(DAY, Posture.LYING, 3.0, 60.0)], source="measured", athlete="Ben"
            )
        )
        with pytest.raises(StoreError, match="already holds rows of 'Ben': not merged"):
            store.rename_athlete(DEFAULT_ATHLETE, "Ben")
        assert store.rename_athlete(DEFAULT_ATHLETE, "Anna") == 2
        assert [m.ln_rmssd for m in store.mornings("Anna")] == [4.2]
        assert store.rides()[0].athlete == "Anna"
        assert store.athletes() == ["Anna", "Ben"]
    finally:
        store.close()


def test_the_migration_gives_old_rows_the_default_athletes_name():
    # The name is in a released script, so the config's default can never change.
    assert f"DEFAULT '{DEFAULT_ATHLETE}'" in MIGRATIONS[5]
    assert f"SELECT '{DEFAULT_ATHLETE}', day" in MIGRATIONS[5]


def test_a_store_of_schema_5_becomes_one_morning_a_day_per_athlete(tmp_path):
    path = tmp_path / "s.sqlite3"
    db = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[:5], start=1):
        db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    db.execute(
        "INSERT INTO mornings VALUES ('2026-12-04', 'lying', 4.0, 52.0, 'measured', NULL, NULL)"
    )
    db.commit()
    db.close()
    open_store(path).close()
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT athlete, day, ln_rmssd FROM mornings").fetchall()
        assert rows == [(DEFAULT_ATHLETE, "2026-12-04", 4.0)]
        db.execute(
            "INSERT INTO mornings (athlete, day, posture, ln_rmssd, source) "
            "VALUES ('Ben', '2026-12-04', 'lying', 3.0, 'measured')"
        )
        with pytest.raises(sqlite3.IntegrityError):  # still one a day for each of them
            db.execute(
                "INSERT INTO mornings (athlete, day, posture, ln_rmssd, source) "
                "VALUES ('Ben', '2026-12-04', 'lying', 3.5, 'measured')"
            )
    db.close()
