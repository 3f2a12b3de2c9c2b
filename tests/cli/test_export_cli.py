"""`hrvd export` and `hrvd backup`: what goes out is what hrvd reads back."""

import asyncio
import json
import sqlite3
from datetime import UTC, date, datetime

import pytest

from hrvd.cli import main
from hrvd.coach.baseline import Morning, Posture, Quality
from hrvd.store import StoredBeat, open_store

START = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)
RIDE = {
    "id": "H10@2026-11-27T17:00:00+00:00",
    "strap": "H10",
    "started": "2026-11-27T17:00:00+00:00",
    "ended": "2026-11-27T17:15:00+00:00",
    "alerts": 0,
}
RR_RAW = [1000 + (i * 37) % 90 for i in range(600)]  # about 10 minutes of beats


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "hrvd.toml"
    path.write_text(f'[store]\npath = "{tmp_path / "store.sqlite3"}"\n')
    return path


@pytest.fixture
async def stored(tmp_path, config):
    store = await asyncio.to_thread(open_store, tmp_path / "store.sqlite3")
    try:
        t, beats = START_MS, []
        for i, rr in enumerate(RR_RAW):
            t += round(rr * 1000 / 1024)
            beats.append(StoredBeat("H10", t, rr, gap=i in {0, 300}))
        before = StoredBeat("H10", START_MS - 5000, 900, gap=True)
        other = StoredBeat("Other", START_MS + 1000, 700, gap=True)
        await asyncio.to_thread(store.write_beats, [*beats, before, other])
        await store.add_ride(RIDE)
        await store.add_mornings(
            [
                Morning(
                    date(2026, 11, 26),
                    Posture.LYING,
                    4.123456789,
                    51.5,
                    Quality(artifact_rate=0.0125, beats=121, coverage=0.987654),
                )
            ],
            source="measured",
            raw_rr=[1001.5, 998.25, 1003.0] * 40,
        )
        await store.add_mornings(
            [
                Morning(date(2026, 11, 26), Posture.STANDING, 3.5, None),
                Morning(date(2026, 10, 1), Posture.LYING, 4.0, 55.0),
            ],
            source="imported",
        )
    finally:
        store.close()
    return config


def test_an_exported_ride_is_its_beats_and_analyze_and_replay_read_it(stored, tmp_path, capsys):
    out_file = tmp_path / "ride.csv"
    args = ["export", "ride", "H10@2026-11-27", "-o", str(out_file), "--config", str(stored)]
    assert main(args) == 0
    assert "wrote 600 beat(s)" in capsys.readouterr().out
    lines = [line for line in out_file.read_text().splitlines() if not line.startswith("#")]
    assert lines[0] == "time,rr_ms,gap"
    rows = [line.split(",") for line in lines[1:]]
    assert [float(r[1]) for r in rows] == [
        rr * 1000 / 1024 for r, rr in zip(rows, RR_RAW, strict=True)
    ]
    assert [i for i, r in enumerate(rows) if r[2] == "1"] == [0, 300]
    assert rows[0][0] == "2026-11-27T17:00:00.977+00:00"

    assert main(["analyze", str(out_file), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_beats"] == 600
    assert main(["replay", str(out_file), "--speed", "0"]) == 0
    assert "ended" in capsys.readouterr().out


def test_an_export_goes_to_stdout_by_default(stored, capsys):
    assert main(["export", "ride", "H10@", "--config", str(stored)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 2 + 1 + 600


def test_an_export_never_replaces_a_file_without_force(stored, tmp_path, capsys):
    target = tmp_path / "ride.csv"
    target.write_text("mine\n")
    assert main(["export", "ride", "H10@", "-o", str(target), "--config", str(stored)]) == 2
    assert "--force" in capsys.readouterr().err
    assert target.read_text() == "mine\n"
    args = ["export", "ride", "H10@", "-o", str(target), "--force", "--config", str(stored)]
    assert main(args) == 0
    assert "rr_ms" in target.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "ride", "nope"], "no ride 'nope'"),
        (["export", "morning", "27/11/2026"], "is not a date"),
        (["export", "morning", "2026-11-25"], "no morning measurement"),
        (["export", "morning", "2026-10-01"], "no morning measurement"),  # imported: no RR
    ],
)
def test_export_mistakes_are_one_line_and_exit_2(stored, capsys, args, message):
    assert main([*args, "--config", str(stored)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export"], "required: ACTION"),
        (["export", "ride"], "required: ID"),
        (["export", "history", "2026-10-01"], "unrecognized arguments: 2026-10-01"),
        (["export", "morning", "2026-11-25", "--format", "fit"], "unrecognized arguments"),
    ],
)
def test_a_missing_or_stray_export_argument_is_a_one_line_usage_error(capsys, args, message):
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_a_ride_whose_beats_were_pruned_says_so(stored, tmp_path, capsys):
    with sqlite3.connect(tmp_path / "store.sqlite3") as db:
        db.execute("DELETE FROM beats")
    assert main(["export", "ride", "H10@", "--config", str(stored)]) == 2
    assert "keep_raw_days" in capsys.readouterr().err


def test_an_exported_morning_is_its_raw_rr_and_analyze_reads_it(stored, tmp_path, capsys):
    target = tmp_path / "morning.csv"
    args = ["export", "morning", "2026-11-26", "-o", str(target), "--config", str(stored)]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["analyze", str(target), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_beats"] == 120
    assert result["mean_rr_ms"] == pytest.approx((1001.5 + 998.25 + 1003.0) / 3)


def test_the_exported_history_imports_into_a_new_store_as_the_same_mornings(
    stored, tmp_path, capsys
):
    target = tmp_path / "history.csv"
    assert main(["export", "history", "-o", str(target), "--config", str(stored)]) == 0
    assert "wrote 3 morning(s)" in capsys.readouterr().out
    fresh = tmp_path / "fresh.toml"
    fresh.write_text(f'[store]\npath = "{tmp_path / "fresh.sqlite3"}"\n')
    assert main(["history", "import", str(target), "--config", str(fresh)]) == 0
    assert "imported 3 morning(s)" in capsys.readouterr().out
    old, new = open_store(tmp_path / "store.sqlite3"), open_store(tmp_path / "fresh.sqlite3")
    try:
        assert new.mornings() == old.mornings()
    finally:
        old.close()
        new.close()


def test_backup_copies_the_store_and_refuses_to_overwrite(stored, tmp_path, capsys):
    target = tmp_path / "backup.sqlite3"
    assert main(["backup", str(target), "--config", str(stored)]) == 0
    assert "backed up" in capsys.readouterr().out
    with sqlite3.connect(target) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM beats").fetchone() == (602,)
    assert main(["backup", str(target), "--config", str(stored)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["backup", str(target), "--force", "--config", str(stored)]) == 0


def test_backup_into_a_directory_makes_a_dated_file(stored, tmp_path, capsys):
    folder = tmp_path / "backups"
    folder.mkdir()
    assert main(["backup", str(folder), "--config", str(stored)]) == 0
    capsys.readouterr()
    (copy,) = folder.iterdir()
    assert copy.name.startswith("hrvd-")
    assert copy.suffix == ".sqlite3"


def test_backup_and_export_without_a_store_say_so_in_one_line(config, tmp_path, capsys):
    assert main(["backup", str(tmp_path / "b.sqlite3"), "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "no store at" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "store.sqlite3").exists()


def test_export_and_backup_never_follow_a_planted_partial_symlink(stored, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    for name, args in (
        ("ride.csv", ["export", "ride", "H10@", "-o"]),
        ("copy.sqlite3", ["backup"]),
    ):
        (tmp_path / f".{name}.partial").symlink_to(victim)  # the name used before
        assert main([*args, str(tmp_path / name), "--config", str(stored)]) == 0
        assert victim.read_text() == "precious\n"
        assert (tmp_path / name).stat().st_size > 0
        assert not (tmp_path / name).is_symlink()
    assert sorted(p.name for p in tmp_path.glob(".*.partial*")) == [
        ".copy.sqlite3.partial",
        ".ride.csv.partial",
    ]  # the planted links only: no leftovers
