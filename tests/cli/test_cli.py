import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hrvd import __version__
from hrvd.cli import main
from hrvd.hrv.synthetic import sinus_rr

EXAMPLE = Path(__file__).parents[2] / "examples" / "resting.txt"
JSON_KEYS = {
    "n_beats",
    "duration_s",
    "artifact_rate",
    "artifacts",
    "mean_rr_ms",
    "mean_hr_bpm",
    "rmssd_ms",
    "ln_rmssd",
    "sdnn_ms",
    "pnn50",
    "dfa_alpha1",
}


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"hrvd {__version__}"


def test_analyze_prints_a_readable_table(capsys):
    assert main(["analyze", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    for label in ("beats", "artifacts", "RMSSD", "lnRMSSD", "SDNN", "pNN50", "DFA alpha1"):
        assert label in out
    assert "337 over 5 min 00 s" in out


def test_analyze_json_has_every_documented_key(capsys):
    assert main(["analyze", str(EXAMPLE), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= JSON_KEYS
    assert result["n_beats"] == 337
    assert result["duration_s"] == pytest.approx(299.578)
    assert 0 <= result["artifact_rate"] < 0.05
    assert result["artifacts"] == sorted(result["artifacts"])
    assert result["rmssd_ms"] > 0
    assert 0.3 < result["dfa_alpha1"] < 1.5


def test_rolling_prints_a_row_every_five_seconds_as_json_lines_or_csv(capsys):
    assert main(["analyze", str(EXAMPLE), "--rolling", "60"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    times = [r["t_s"] for r in rows]
    assert times[:3] == [5.0, 10.0, 15.0]
    assert len(rows) == 60
    assert rows[-1]["rmssd_ms"] is not None
    assert rows[-1]["dfa_alpha1"] is not None
    assert main(["analyze", str(EXAMPLE), "--rolling", "60", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("t_s,n_beats,mean_rr_ms")
    assert len(lines) == 61


def test_a_json_summary_short_recording_has_null_alpha1(tmp_path, capsys):
    f = tmp_path / "short.txt"
    f.write_text("\n".join(["800", "820"] * 10))
    assert main(["analyze", str(f), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["dfa_alpha1"] is None


def test_seconds_input_gets_a_note_on_stderr(tmp_path, capsys):
    f = tmp_path / "s.txt"
    f.write_text("0.8\n0.82\n0.81\n")
    assert main(["analyze", str(f), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "read as seconds" in captured.err
    assert json.loads(captured.out)["mean_rr_ms"] == pytest.approx(810.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "missing.txt"], "hrvd: error: missing.txt: no such file"),
        (["analyze", "EXAMPLE", "--rolling", "-5"], "is not a positive number of seconds"),
        (["analyze", "EXAMPLE", "--format", "xml"], "invalid choice"),
        (["analyze", "EXAMPLE", "--rolling", "60", "--format", "table"], "JSON lines or CSV"),
        (["analyze", "EXAMPLE", "EXAMPLE", "--rolling", "60"], "--rolling takes one file"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_code_2(args, message):
    args = [str(EXAMPLE) if a == "EXAMPLE" else a for a in args]
    run = subprocess.run(
        [sys.executable, "-m", "hrvd.cli", *args], capture_output=True, text=True, check=False
    )
    assert run.returncode == 2
    assert message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr


def test_a_bad_value_names_file_and_line_through_stdin():
    run = subprocess.run(
        [sys.executable, "-m", "hrvd.cli", "analyze", "-"],
        input="800\n810\n-3\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr == "hrvd: error: -:3: -3 ms is not an RR interval (100-4000 ms)\n"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (None, "no such file"),
        ("[athlete\n", "is not valid TOML"),
        ("[athlete]\nhr_max = 'high'\n", "athlete.hr_max: 'high' is not a whole number"),
        ("[[strap]]\nname = 'a'\n", "athlete: zones 'hrmax' need a positive hr_max"),
        (
            "[athlete]\nhr_max = 190\n[mqtt]\npassword_file = '/nonexistent/pw'\n",
            "mqtt.password_file: /nonexistent/pw: No such file",
        ),
        (
            "[athlete]\nhr_max = 190\n[store]\npath = '/proc/hrvd/x.sqlite3'\n",
            "cannot open the store",
        ),
        ("[athlete]\nhr_max = 190\ntimezone = 'Nowhere/Land'\n", "athlete.timezone"),
    ],
)
def test_run_reports_each_config_error_in_one_line(tmp_path, toml, message):
    config = tmp_path / "hrvd.toml"
    if toml is not None:
        config.write_text(toml)
    run = subprocess.run(
        [sys.executable, "-m", "hrvd.cli", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert run.returncode == (1 if "store" in message else 2)


def _with_a_gap(tmp_path: Path) -> tuple[Path, list[float]]:
    """An exported ride (time,rr_ms,gap) of two stretches, at 900 and then at 600 ms."""
    rng = np.random.default_rng(3)
    first = sinus_rr(200, rng, mean_ms=900.0).tolist()
    second = sinus_rr(200, rng, mean_ms=600.0).tolist()
    f = tmp_path / "ride.csv"
    rows = [f"{i},{rr:.1f},{int(i == len(first))}" for i, rr in enumerate(first + second)]
    f.write_text("time,rr_ms,gap\n" + "\n".join(rows) + "\n")
    return f, [round(rr, 1) for rr in first + second]


def test_analyze_keeps_the_stretches_of_an_exported_ride_apart_at_its_gaps(tmp_path, capsys):
    f, rr = _with_a_gap(tmp_path)
    assert main(["analyze", str(f), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # The 300 ms step at the gap is neither a successive difference nor an artifact.
    diffs = np.diff(rr)
    within = np.delete(diffs, 199)  # the difference across the gap
    assert result["gaps"] == 1
    assert result["artifacts"] == []
    assert result["rmssd_ms"] == pytest.approx(float(np.sqrt(np.mean(within**2))), rel=1e-6)
    assert result["n_beats"] == len(rr)
    (tmp_path / "plain.txt").write_text("\n".join(map(str, rr)) + "\n")
    assert main(["analyze", str(tmp_path / "plain.txt"), "--format", "json"]) == 0
    without = json.loads(capsys.readouterr().out)
    assert without["gaps"] == 0
    assert without["rmssd_ms"] > result["rmssd_ms"]  # read as one series, the step counts
    assert main(["analyze", str(f)]) == 0
    assert "1 gaps (each stretch corrected alone)" in capsys.readouterr().out


def test_rolling_starts_a_new_series_at_a_gap(tmp_path, capsys):
    f, rr = _with_a_gap(tmp_path)
    (tmp_path / "plain.txt").write_text("\n".join(map(str, rr)) + "\n")
    gap_s = sum(rr[:200]) / 1000

    def rows_after_the_gap(path: Path) -> list[dict[str, float]]:
        assert main(["analyze", str(path), "--rolling", "30"]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return [r for r in rows if gap_s < r["t_s"] < gap_s + 20]

    with_gap, without = rows_after_the_gap(f), rows_after_the_gap(tmp_path / "plain.txt")
    assert len(with_gap) == len(without) == 4
    # Live, a gap keeps the 300 ms step out of RMSSD and out of the artifact count.
    assert all(r["artifact_rate"] == 0 for r in with_gap)
    assert all(a["rmssd_ms"] < b["rmssd_ms"] / 1.5 for a, b in zip(with_gap, without, strict=True))


def test_analyze_gives_one_result_per_file_as_table_and_json_lines(tmp_path, capsys):
    polar = tmp_path / "polar_RR.txt"
    polar.write_text(
        "Phone timestamp;RR-interval [ms]\n"
        + "".join(
            f"2026-11-27T07:00:{i:02d}.000;{v:.0f}\n"
            for i, v in enumerate(sinus_rr(60, np.random.default_rng(1)))
        )
    )
    assert main(["analyze", str(EXAMPLE), str(polar)]) == 0
    out = capsys.readouterr().out
    assert out.count("(metrics after artifact correction)") == 2
    assert f"\n\n{polar}  (metrics" in out
    assert main(["analyze", str(EXAMPLE), str(polar), "--format", "json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["file"] for line in lines] == [str(EXAMPLE), str(polar)]
    assert [json.loads(line)["n_beats"] for line in lines] == [337, 60]


def test_a_bad_file_among_several_is_named_and_the_others_still_analysed(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("812\n1e308\n")
    assert main(["analyze", str(bad), str(EXAMPLE), "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"hrvd: error: {bad}:2: 1e+308 ms is not an RR interval (100-4000 ms)\n"
    assert json.loads(captured.out)["n_beats"] == 337


@pytest.mark.parametrize("command", [["analyze", "--rolling", "60"], ["replay", "--speed", "0"]])
def test_values_beyond_any_heart_end_rolling_and_replay_at_once(tmp_path, capsys, command):
    f = tmp_path / "epoch.txt"
    f.write_text("800\n1733300000000\n810\n")
    assert main([*command, str(f)]) == 2
    assert "a timestamp?" in capsys.readouterr().err


def test_no_json_output_holds_nan_or_infinity(tmp_path, capsys):
    f = tmp_path / "flat.txt"
    f.write_text("800\n" * 200)  # no variability at all: alpha1 has no scaling
    assert main(["analyze", str(f), "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "NaN" not in out
    assert "Infinity" not in out
    assert main(["analyze", str(f), "--rolling", "60"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows
    assert all(
        isinstance(v, (int, float, bool, str)) or v is None for r in rows for v in r.values()
    )


def test_analyze_of_stdin_from_dev_zero_ends_at_once_with_one_line():
    with open("/dev/zero", "rb") as zero:  # noqa: PTH123 - a device
        run = subprocess.run(
            [sys.executable, "-m", "hrvd.cli", "analyze", "-"],
            stdin=zero,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    assert run.returncode == 2
    assert run.stderr == "hrvd: error: -: not a text file (it holds NUL bytes)\n"
