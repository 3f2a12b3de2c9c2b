"""`hrvd thresholds` and `hrvd config check`: the personal HRVT1 and which ceiling holds."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta

from hrvd.cli import main
from hrvd.store import Store, open_store
from support.terminal import on_a_terminal


def _config(tmp_path, estimates, *, follow=True):
    """A config whose store holds rides with these HRVT1 estimates (bpm, or None).

    The commands run here, outside any event loop, as from a shell; the rides are added
    in a loop of their own, with the store opened and closed around it.
    """
    store_path = tmp_path / "s.sqlite3"
    store = open_store(store_path)
    try:
        asyncio.run(_add_rides(store, estimates))
    finally:
        store.close()
    config = tmp_path / "hrvd.toml"
    config.write_text(
        f"[athlete]\nhr_max = 190\nceiling_follows_hrvt1 = {'true' if follow else 'false'}\n"
        f'[store]\npath = "{store_path}"\n'
    )
    return config


async def _add_rides(store: Store, estimates: list[float | None]) -> None:
    for i, bpm in enumerate(estimates):
        started = (datetime.now(UTC) - timedelta(days=3 * (len(estimates) - i))).isoformat()
        await store.add_ride(
            {
                "id": f"H10@{i}",
                "strap": "H10",
                "started": started,
                "ended": started,
                "hrvt1_bpm": bpm,
            }
        )


def test_thresholds_shows_the_median_its_count_and_days_and_the_ceiling(tmp_path, capsys):
    config = _config(tmp_path, [128.0, None, 132.0, 125.0])
    assert main(["thresholds", "--config", str(config), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["hrvt1_bpm"], data["n"], len(data["dates"])) == (128.0, 3, 3)
    # 60 % of 190 = 114 bpm; 128 - 20 = 108 is lower, so it holds.
    assert (data["ceiling_bpm"], data["ceiling_source"]) == (108.0, "hrvt1")
    assert main(["thresholds", "--config", str(config), "--format", "table"]) == 0
    table = capsys.readouterr().out
    assert "personal HRVT1  128 bpm, the median of 3 ride(s)" in table
    assert "ride ceiling    108.0 bpm (hrvt1): HRVT1 128 bpm" in table
    assert main(["config", "check", "--config", str(config)]) == 0
    assert "# ride ceiling: 108 bpm (hrvt1): HRVT1 128 bpm" in capsys.readouterr().out


def test_without_following_the_formula_holds_and_says_so(tmp_path, capsys):
    config = _config(tmp_path, [128.0], follow=False)
    assert main(["config", "check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "# ride ceiling: 114 bpm (zones): the top of zone 1 (hrmax zones) 114 bpm" in out
    assert "does not follow HRVT1" in out


def test_no_store_and_no_heart_rates_are_one_line_each(tmp_path, capsys):
    config = tmp_path / "hrvd.toml"
    config.write_text(f'[athlete]\nhr_max = 190\n[store]\npath = "{tmp_path / "none.db"}"\n')
    assert main(["thresholds", "--config", str(config), "--format", "table"]) == 0
    out = capsys.readouterr().out
    assert "personal HRVT1  none: no ride crossed alpha1 0.75" in out
    assert "no store yet" in out
    config.write_text(f'[store]\npath = "{tmp_path / "none.db"}"\n')
    assert main(["thresholds", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hrvd: error: no ride ceiling")
    assert len(err.splitlines()) == 1


def test_thresholds_on_a_terminal_is_a_table_of_labels_never_wrapped(tmp_path, monkeypatch):
    config = _config(tmp_path, [128.0, 132.0, 125.0], follow=False)
    terminal = on_a_terminal(monkeypatch)
    assert main(["thresholds", "--config", str(config)]) == 0
    lines = terminal.getvalue().splitlines()
    assert [line[:16] for line in lines] == [
        "personal HRVT1  ",
        "ride ceiling    ",
        "follows HRVT1   ",
    ]
    assert lines[2] == "follows HRVT1   no ([athlete] ceiling_follows_hrvt1 = false)"  # no markup
    median, days = lines[0].split(": ")
    assert median == "personal HRVT1  128 bpm, the median of 3 ride(s)"
    assert len(days.split(", ")) == 3
    long_store = tmp_path / ("a directory with a long name, " * 3) / "s.sqlite3"
    long_store.parent.mkdir()
    long_store.write_bytes(b"not a store" * 100)
    config.write_text(f'[athlete]\nhr_max = 190\n[store]\npath = "{long_store}"\n')
    terminal.truncate(0)
    terminal.seek(0)
    assert main(["thresholds", "--config", str(config)]) == 0
    (note,) = [line for line in terminal.getvalue().splitlines() if line.startswith("note")]
    assert len(note) > 120  # wider than the terminal's 80 columns, on one line
    assert note.startswith(f"note            estimates not read: the store {long_store} is ")
    assert not note.endswith(" ")


def test_thresholds_into_a_pipe_is_one_csv_row_under_the_keys_of_its_json(tmp_path, capsys):
    config = _config(tmp_path, [128.0, None, 132.0, 125.0])
    assert main(["thresholds", "--config", str(config), "--format", "json"]) == 0
    as_json = json.loads(capsys.readouterr().out)
    assert main(["thresholds", "--config", str(config)]) == 0  # capsys: a pipe
    printed = capsys.readouterr().out
    reader = csv.DictReader(io.StringIO(printed))
    assert reader.fieldnames == list(as_json)
    (row,) = reader
    assert len(printed.splitlines()) == 2  # the header and the row, however long the why
    assert len(printed.splitlines()[1]) > 80
    assert row["dates"].split() == as_json["dates"]
    assert (
        (float(row["hrvt1_bpm"]), int(row["n"]))
        == (as_json["hrvt1_bpm"], as_json["n"])
        == (
            128.0,
            3,
        )
    )
    assert float(row["ceiling_bpm"]) == as_json["ceiling_bpm"] == 108.0
    assert row["ceiling_why"] == as_json["ceiling_why"]
    assert (row["ceiling_source"], row["follows_hrvt1"], row["note"]) == ("hrvt1", "true", "")
    assert main(["thresholds", "--config", str(config), "--format", "csv"]) == 0
    assert capsys.readouterr().out == printed
