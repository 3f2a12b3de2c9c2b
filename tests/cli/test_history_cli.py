"""hrvd history and hrvd history import, through the CLI and a real SQLite store."""

import csv
import io
import json
import re
import statistics
from datetime import date, timedelta

from hrvd.cli import main
from hrvd.cli.history import COLUMNS
from support.terminal import on_a_terminal

STYLE = re.compile(r"\x1b\[[0-9;]*m")
"""A terminal's style codes (the table's bold header)."""


def _export(path, days=30, low_from=None, start=date(2026, 10, 1)):
    lines = ["Date;lnRMSSD;RHR"]
    for i in range(days):
        day = start + timedelta(days=i)
        ln = (
            4.0
            + (0.05 if i % 2 else -0.05)
            - (0.6 if low_from is not None and i >= low_from else 0)
        )
        lines.append(f"{day.isoformat()};{ln:.3f};50")
    path.write_text("\n".join(lines) + "\n")


def _config(tmp_path):
    f = tmp_path / "hrvd.toml"
    f.write_text(f'[store]\npath = "{tmp_path / "s.sqlite3"}"\n')
    return str(f)


def test_imported_days_are_scored_like_measured_ones(tmp_path, capsys, monkeypatch):
    cfg = _config(tmp_path)
    _export(tmp_path / "export.csv", days=30, low_from=27)
    assert main(["history", "import", str(tmp_path / "export.csv"), "--config", cfg]) == 0
    assert "imported 30 morning(s)" in capsys.readouterr().out
    assert main(["history", "--config", cfg, "--format", "json", "--days", "30"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 30
    assert [r["status"] for r in rows[:7]] == ["baseline"] * 7  # fewer than 7 earlier mornings
    assert rows[0]["score"] is None
    assert rows[20]["status"] == "green"
    assert rows[-1]["status"] == "red"  # three low days: the week is low and today too
    assert rows[-1]["recommendation"] == "walk"
    screen = on_a_terminal(monkeypatch)
    assert main(["history", "--config", cfg]) == 0
    table = screen.getvalue()
    assert "2026-10-30" in table
    assert "latest:" in table


def test_an_import_never_replaces_what_is_stored_and_names_bad_lines(tmp_path, capsys):
    cfg = _config(tmp_path)
    _export(tmp_path / "a.csv", days=10)
    assert main(["history", "import", str(tmp_path / "a.csv"), "--config", cfg]) == 0
    assert main(["history", "import", str(tmp_path / "a.csv"), "--config", cfg]) == 0
    assert "kept 10 already stored" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("date,rmssd\n2026-10-01,45\n2026-10-02,fast\n")
    assert main(["history", "import", str(bad), "--config", cfg]) == 2
    assert f"{bad}:3:" in capsys.readouterr().err


def test_dates_no_strap_could_have_measured_are_refused_with_their_line(tmp_path, capsys):
    cfg = _config(tmp_path)
    for day in ("0001-01-01", "9999-12-31"):
        bad = tmp_path / "odd.csv"
        bad.write_text(f"date,rmssd\n2026-10-01,45\n{day},50\n")
        assert main(["history", "import", str(bad), "--config", cfg]) == 2
        err = capsys.readouterr().err
        assert f"{bad}:3: {day} is not a day of a measurement: expected 1980-01-01" in err
        assert err.count("\n") == 1


def test_history_shows_a_store_holding_a_morning_of_year_one(tmp_path, capsys):
    import asyncio  # noqa: PLC0415

    from hrvd.coach.baseline import Morning, Posture  # noqa: PLC0415
    from hrvd.store import open_store  # noqa: PLC0415

    cfg = _config(tmp_path)
    _export(tmp_path / "a.csv", days=10)
    assert main(["history", "import", str(tmp_path / "a.csv"), "--config", cfg]) == 0
    store = open_store(tmp_path / "s.sqlite3")  # as an import before the check wrote it
    year_one = [Morning(date(1, 1, 1), Posture.LYING, 4.0, None, None)]
    asyncio.run(store.add_mornings(year_one, source="imported"))
    store.close()
    capsys.readouterr()
    assert main(["history", "--config", cfg, "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 10
    assert "left out 1 stored morning(s) dated outside 1980-01-01 to tomorrow" in captured.err
    assert "0001-01-01" in captured.err


def test_a_million_rows_or_an_endless_file_is_refused_with_the_limit(tmp_path, capsys):
    cfg = _config(tmp_path)
    huge = tmp_path / "huge.csv"
    huge.write_text("date,rmssd\n" + "2026-10-01,45\n" * 1_000_000)
    assert main(["history", "import", str(huge), "--config", cfg]) == 2
    err = capsys.readouterr().err
    assert f"{huge}: is larger than a morning history can be (16 MiB or 100000 lines" in err
    assert main(["history", "import", "/dev/zero", "--config", cfg]) == 2  # read up to a limit
    assert capsys.readouterr().err.count("\n") == 1


def test_the_last_days_score_the_same_as_when_the_whole_history_is_judged(tmp_path, capsys):
    cfg = _config(tmp_path)
    _export(tmp_path / "a.csv", days=150, low_from=140, start=date(2026, 5, 1))
    assert main(["history", "import", str(tmp_path / "a.csv"), "--config", cfg]) == 0
    capsys.readouterr()
    assert main(["history", "--config", cfg, "--format", "json", "--days", "1000"]) == 0
    everything = json.loads(capsys.readouterr().out)
    assert main(["history", "--config", cfg, "--format", "json", "--days", "12"]) == 0
    assert json.loads(capsys.readouterr().out) == everything[-12:]
    assert len(everything) == 150


def test_an_endless_history_file_stops_at_the_history_limit_in_its_own_words(
    tmp_path, monkeypatch, capsys
):
    # A text stream without end: read only up to the history's own limit, not the RR limit.
    monkeypatch.setattr("hrvd.cli.history.MAX_HISTORY_BYTES", 1 << 20)

    class Endless(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, b):
            b[:] = b"2026-01-01,4.1\n" * (len(b) // 15) + b"\n" * (len(b) % 15)
            return len(b)

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BufferedReader(Endless())))
    assert main(["history", "import", "-", "--config", _config(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("larger than 1 MiB: not a morning history hrvd reads"), err
    assert len(err.splitlines()) == 1


def test_history_shows_the_weekly_cv_and_trend_in_json_csv_and_the_table(
    tmp_path, capsys, monkeypatch
):
    cfg = _config(tmp_path)
    _export(tmp_path / "export.csv", days=30, low_from=27)
    assert main(["history", "import", str(tmp_path / "export.csv"), "--config", cfg]) == 0
    capsys.readouterr()
    assert main(["history", "--config", cfg, "--format", "json", "--days", "30"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ln = [r["ln_rmssd"] for r in rows]
    week, before = ln[-7:], ln[-14:-7]
    last = rows[-1]
    assert last["cv_7d_pct"] == round(100 * statistics.stdev(week) / statistics.mean(week), 1)
    assert last["cv_7d_prev_pct"] == round(
        100 * statistics.stdev(before) / statistics.mean(before), 1
    )
    assert last["trend_7d"] == round(statistics.mean(week) - statistics.mean(before), 3)
    assert last["trend_7d"] < 0 < last["cv_7d_change_pct"]  # three low days: fatigue's pattern
    assert rows[3]["cv_7d_pct"] is None  # 4 mornings: too few for a CV
    assert rows[4]["cv_7d_pct"] is not None
    assert main(["history", "--config", cfg, "--format", "csv", "--days", "30"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split(",")
    assert {"cv_7d_pct", "trend_7d", "ln_rmssd_7d_prev", "cv_7d_change_pct"} <= set(header)
    assert lines[1].split(",")[header.index("cv_7d_pct")] == ""  # the first morning
    screen = on_a_terminal(monkeypatch)
    assert main(["history", "--config", cfg, "--days", "30"]) == 0
    table = screen.getvalue().splitlines()
    assert "TREND" in table[0]
    assert "CV%" in table[0]
    last_row = next(line for line in table if line.startswith(last["date"]))
    assert f"{last['trend_7d']:+.2f}" in last_row
    assert f"{last['cv_7d_pct']:.1f}" in last_row
    spark = next(line for line in table if line.startswith("lnRMSSD "))
    band = next(line for line in table if line.startswith("band "))
    assert len(spark.split()[1]) == 30  # one block a day
    assert band.split()[1].endswith("vvv")  # the three low days sit below the band


def test_history_is_a_table_on_a_terminal_with_its_sparkline_below(tmp_path, monkeypatch):
    cfg = _config(tmp_path)
    _export(tmp_path / "export.csv", days=30, low_from=27)
    assert main(["history", "import", str(tmp_path / "export.csv"), "--config", cfg]) == 0
    terminal = on_a_terminal(monkeypatch)
    assert main(["history", "--config", cfg, "--days", "30"]) == 0
    lines = terminal.getvalue().splitlines()
    assert STYLE.sub(" ", lines[0]).split()[:4] == ["DATE", "lnRMSSD", "7-DAY", "TREND"]  # bold
    rows = lines[1:31]
    assert [row.split()[0] for row in rows] == [
        (date(2026, 10, 1) + timedelta(days=i)).isoformat() for i in range(30)
    ]
    assert max(len(row) for row in rows) > 80  # wider than a terminal's 80 columns: not wrapped
    assert rows[-1].split()[-4:] == ["red", "-", "-", "-"]  # no orthostatic test: STAND...
    assert all(not line.endswith(" ") for line in lines)
    assert lines[31] == ""
    assert lines[32].startswith("lnRMSSD ")
    assert lines[-1].startswith("latest: ")


def test_history_into_a_pipe_is_csv_with_a_header_and_nothing_else(tmp_path, capsys):
    cfg = _config(tmp_path)
    _export(tmp_path / "export.csv", days=30, low_from=27)
    assert main(["history", "import", str(tmp_path / "export.csv"), "--config", cfg]) == 0
    capsys.readouterr()
    assert main(["history", "--config", cfg, "--format", "json", "--days", "30"]) == 0
    as_json = json.loads(capsys.readouterr().out)
    assert main(["history", "--config", cfg, "--days", "30"]) == 0  # capsys: a pipe
    printed = capsys.readouterr().out
    reader = csv.DictReader(io.StringIO(printed))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    rows = list(reader)
    assert len(printed.splitlines()) == 1 + len(rows) == 31  # no wrapped line, no sparkline
    assert max(len(line) for line in printed.splitlines()) > 80  # and yet one line a row
    assert [r["date"] for r in rows] == [r["date"] for r in as_json]
    assert rows[-1]["status"] == as_json[-1]["status"] == "red"
    assert float(rows[-1]["trend_7d"]) == as_json[-1]["trend_7d"]
    assert rows[0]["score"] == ""  # None is an empty cell
    assert "latest" not in printed
    assert "lnRMSSD" not in printed
    assert main(["history", "--config", cfg, "--days", "30", "--format", "table"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[:2] == ["DATE", "lnRMSSD"]


def test_an_empty_history_is_a_header_in_a_pipe_and_a_sentenceon_a_terminal(
    tmp_path, capsys, monkeypatch
):
    cfg = _config(tmp_path)
    terminal = on_a_terminal(monkeypatch)
    assert main(["history", "--config", cfg]) == 0
    assert "no morning measurement yet" in terminal.getvalue()
    assert main(["history", "--config", cfg, "--format", "csv"]) == 0
    assert main(["history", "--config", cfg, "--format", "json"]) == 0
    assert capsys.readouterr().out == ""
    assert terminal.getvalue().splitlines()[1:] == [",".join(COLUMNS), "[]"]
