import asyncio
import csv
import io
import json
import sqlite3

import pytest

from hrvd.cli import main
from hrvd.store import MIGRATIONS, StoreError, open_store

SUMMARY = {
    "id": "H10@2026-11-27T17:00:00+00:00",
    "strap": "H10",
    "started": "2026-11-27T17:00:00+00:00",
    "ended": "2026-11-27T17:45:00+00:00",
    "duration_s": 2700.0,
    "in_zone_pct": 81.3,
    "too_hard_s": 540.0,
    "alerts": 1,
    "end_reason": "command",
    "ceiling_bpm": 114.0,
    "mean_hr_bpm": 106.7,
}


def test_a_ride_is_kept_and_found_by_a_prefix_of_its_id(tmp_path):
    store = open_store(tmp_path / "s.sqlite3")
    try:
        asyncio.run(store.add_ride(SUMMARY))
        asyncio.run(store.add_ride({**SUMMARY, "alerts": 2}))  # the same ride again: replaced
        assert [r.summary["alerts"] for r in store.rides()] == [2]
        ride = store.ride("H10@2026-11-27")
        assert ride is not None
        assert ride.summary["in_zone_pct"] == 81.3
        assert store.ride("nope") is None
    finally:
        store.close()


def test_the_schema_version_is_kept_and_migrations_run_once(tmp_path):
    path = tmp_path / "s.sqlite3"
    open_store(path).close()
    open_store(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_file_that_is_not_a_database_is_one_clear_error(tmp_path):
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="is damaged or not an hrvd store") as err:
        open_store(path)
    assert err.value.exit_code == 2  # the unit's RestartPreventExitStatus=2: not restarted


def test_sessions_lists_and_shows_rides(tmp_path, capsys):
    store_path = tmp_path / "s.sqlite3"
    store = open_store(store_path)
    asyncio.run(store.add_ride(SUMMARY))
    store.close()
    config = tmp_path / "hrvd.toml"
    config.write_text(f'[store]\npath = "{store_path}"\n')
    assert main(["sessions", "--config", str(config)]) == 0  # into a pipe: CSV
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert row["ID"] == "H10@2026-11-27T17:00:00+00:00"
    assert row["IN_ZONE_PCT"] == "81"
    assert main(["sessions", "--config", str(config), "--format", "table"]) == 0
    out = capsys.readouterr().out
    assert "H10@2026-11-27T17:00:00+00:00" in out
    assert out.splitlines()[0].split()[:3] == ["STARTED", "STRAP", "MIN"]
    assert main(["sessions", "show", "H10@", "--config", str(config), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["alerts"] == 1
    assert main(["sessions", "show", "zzz", "--config", str(config)]) == 2
    assert "no single ride" in capsys.readouterr().err


def test_each_ride_keeps_its_hrvt1_and_the_estimates_come_back_by_day(tmp_path, capsys):
    path = tmp_path / "s.sqlite3"
    # A store of schema 3 holding a ride whose summary already named an estimate.
    db = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[:3], start=1):
        db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    old = {**SUMMARY, "id": "H10@old", "started": "2026-11-20T17:00:00+01:00", "hrvt1_bpm": 151.5}
    db.execute(
        "INSERT INTO rides VALUES (?, ?, ?, ?, ?)",
        ("H10@old", "H10", old["started"], old["ended"], json.dumps(old)),
    )
    db.commit()
    db.close()
    store = open_store(path)  # migrated: the column is filled from the summary
    try:
        asyncio.run(store.add_ride({**SUMMARY, "hrvt1_bpm": 148.0}))
        asyncio.run(store.add_ride({**SUMMARY, "id": "H10@none", "hrvt1_bpm": None}))
        assert [(d.isoformat(), bpm) for d, bpm in store.hrvt1_estimates()] == [
            ("2026-11-20", 151.5),
            ("2026-11-27", 148.0),
        ]
    finally:
        store.close()
    config = tmp_path / "hrvd.toml"
    config.write_text(f'[store]\npath = "{path}"\n')
    assert main(["sessions", "--config", str(config)]) == 0
    rows = {row["ID"]: row for row in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows[SUMMARY["id"]]["HRVT1_BPM"] == "148"
    assert rows["H10@none"]["HRVT1_BPM"] == ""
