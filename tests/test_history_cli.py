"""hrvd history and hrvd history import, through the CLI and a real SQLite store."""

import json
from datetime import date, timedelta

from hrvd.cli import main


def _export(path, days=30, low_from=None):
    lines = ["Date;lnRMSSD;RHR"]
    for i in range(days):
        day = date(2026, 10, 1) + timedelta(days=i)
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


def test_imported_days_are_scored_like_measured_ones(tmp_path, capsys):
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
    assert main(["history", "--config", cfg]) == 0
    table = capsys.readouterr().out
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
