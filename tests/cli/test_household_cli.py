"""The commands in a household: --athlete picks whose mornings, rides and thresholds."""

import asyncio
import csv
import io
import json
from datetime import date, timedelta

import pytest

from hrvd.cli import main
from hrvd.coach.baseline import Morning, Posture
from hrvd.store import open_store

DAY = date(2026, 11, 1)


@pytest.fixture
def household(tmp_path):
    """A config of Anna and Ben, and a store with a fortnight of mornings and a ride each."""
    store_path = tmp_path / "s.sqlite3"
    f = tmp_path / "hrvd.toml"
    f.write_text(
        '[[athlete]]\nname = "Anna"\nhr_max = 185\n'
        '[[athlete]]\nname = "Ben"\nhr_max = 190\nceiling_follows_hrvt1 = true\n'
        '[[strap]]\nname = "H10"\nathlete = "Anna"\n[[strap]]\nname = "H9"\nathlete = "Ben"\n'
        f'[store]\npath = "{store_path}"\n'
    )
    store = open_store(store_path)
    try:
        for athlete, ln in (("Anna", 4.2), ("Ben", 3.1)):
            days = [Morning(DAY + timedelta(days=i), Posture.LYING, ln, 50.0) for i in range(14)]
            asyncio.run(store.add_mornings(days, source="measured", athlete=athlete))
        for athlete, strap, hrvt1 in (("Anna", "H10", 140.0), ("Ben", "H9", 150.0)):
            summary = {
                "id": f"{strap}@r",
                "strap": strap,
                "started": "2026-11-10T17:00:00+00:00",
                "ended": "2026-11-10T17:45:00+00:00",
                "hrvt1_bpm": hrvt1,
            }
            asyncio.run(store.add_ride(summary, athlete=athlete))
    finally:
        store.close()
    return str(f)


def test_each_athletes_history_is_their_own_and_none_named_is_a_clear_error(household, capsys):
    assert main(["history", "--config", household, "--athlete", "Ben", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["ln_rmssd"] for r in rows} == {3.1}
    assert main(["history", "--config", household, "--athlete", "anna", "--format", "json"]) == 0
    assert {r["ln_rmssd"] for r in json.loads(capsys.readouterr().out)} == {4.2}
    assert main(["history", "--config", household]) == 2
    err = capsys.readouterr().err
    assert err == (
        "hrvd: error: this config has several athletes (Anna, Ben): name one with --athlete\n"
    )
    assert main(["history", "--config", household, "--athlete", "Cleo"]) == 2
    assert "no athlete 'Cleo' in this config (there are: Anna, Ben)" in capsys.readouterr().err


def test_sessions_lists_everyones_rides_or_one_athletes(household, capsys):
    assert main(["sessions", "--config", household, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 2
    assert main(["sessions", "--config", household, "--format", "json", "--athlete", "Ben"]) == 0
    assert [r["strap"] for r in json.loads(capsys.readouterr().out)] == ["H9"]


def test_thresholds_and_exports_are_the_athletes_own(household, tmp_path, capsys):
    assert main(["thresholds", "--config", household, "--athlete", "Ben", "--format", "json"]) == 0
    ben = json.loads(capsys.readouterr().out)
    assert ben["hrvt1_bpm"] == 150.0
    assert main(["thresholds", "--config", household, "--athlete", "Anna", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["hrvt1_bpm"] == 140.0
    out = tmp_path / "anna.csv"
    assert (
        main(["export", "history", "--config", household, "--athlete", "Anna", "-o", str(out)]) == 0
    )
    assert "wrote 14 morning(s)" in capsys.readouterr().out
    assert main(["export", "history", "--config", household]) == 2
    assert "name one with --athlete" in capsys.readouterr().err


def test_config_check_gives_each_athletes_ceiling(household, capsys):
    assert main(["config", "check", "--config", household]) == 0
    out = capsys.readouterr().out
    assert "[[athlete]]" in out
    assert "# Anna: " in out
    assert "# Ben: " in out
    assert "150" in out.split("# Ben: ", 1)[1]  # his HRVT1 from his ride, not hers
