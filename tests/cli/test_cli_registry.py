"""The command registry: light to ask for help, strict about words, one way to print."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from rich.console import Console

from hrvd.cli import COMMANDS, build_parser, load, main
from hrvd.cli.live import LiveView
from hrvd.cli.output import ride_summary, tabular_format, write_rows
from hrvd.cli.replay import ConsoleSink
from hrvd.publish.messages import SessionMessage
from support.fresh import fresh_json
from support.terminal import Terminal

HEAVY = ("numpy", "bleak", "dbus_fast", "aiomqtt", "rich", "structlog", "matplotlib")
SESSION = SessionMessage(
    id="r1",
    strap="H10",
    started="2026-11-27T17:00:00+00:00",
    ended="2026-11-27T17:45:01+00:00",
    end_reason="stopped",
    duration_s=2701.4,
    in_zone_pct=81,
    too_hard_s=130.0,
    mean_hr_bpm=108.2,
    max_hr_bpm=121.0,
    mean_rmssd_ms=21.5,
    mean_dfa_alpha1=1.1,
    artifact_rate=0.004,
    alerts=1,
    ceiling_bpm=111.0,
    hrvt1_bpm=None,
    hrvt1_reason="alpha1 never below 0.75",
).payload()


def _loaded_after(argv: list[str]) -> dict[str, list[str]]:
    """The heavy libraries and the hrvd.cli modules a fresh interpreter holds after ``argv``."""
    code = (
        "import json, sys\n"
        "from hrvd.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "cli = sorted(m for m in sys.modules if m.startswith('hrvd.cli'))\n"
        "print(json.dumps({'heavy': heavy, 'cli': cli}))\n"
    )
    return fresh_json(code)


def test_top_level_help_loads_no_command_and_no_heavy_library():
    loaded = _loaded_after(["--help"])
    assert loaded == {"heavy": [], "cli": ["hrvd.cli", "hrvd.cli.args"]}


def test_a_commands_help_loads_that_command_alone():
    loaded = _loaded_after(["sessions", "--help"])
    assert loaded["cli"] == ["hrvd.cli", "hrvd.cli.args", "hrvd.cli.output", "hrvd.cli.sessions"]
    assert loaded["heavy"] == []


NOT_IN_THE_DAEMON = ("rich", "pygments", "markdown_it", "tomlkit", "matplotlib", "numpy")
"""What only other commands need (tables, config edits, plots, whole-recording analysis):
issue 15's RSS budget."""


def test_run_imports_the_daemon_and_none_of_what_only_other_commands_need(tmp_path):
    # A missing config ends `hrvd run` after its imports; stderr is a pipe, as under systemd.
    missing = str(tmp_path / "missing.toml")
    code = (
        "import json, sys\n"
        "from hrvd.cli import main\n"
        f"code = main(['run', '--config', {missing!r}])\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules})\n"
        "import rich.console\n"  # still importable by whatever else runs in the process
        "print(json.dumps({'code': code, 'loaded': loaded, 'daemon': 'hrvd.daemon.service' in"
        " sys.modules}))\n"
    )
    result = fresh_json(code)
    assert result["code"] == 2
    assert result["daemon"]
    assert {"structlog", "bleak", "bleak_retry_connector", "aiomqtt"} <= set(result["loaded"])
    assert sorted(set(NOT_IN_THE_DAEMON) & set(result["loaded"])) == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_registered_command_has_a_parser_with_help_and_a_run(name, capsys):
    module = load(name)
    assert callable(module.run)
    with pytest.raises(SystemExit) as done:
        build_parser([name]).parse_args([name, "--help"])
    assert done.value.code == 0
    assert f"usage: hrvd {name}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ride"], "required: ACTION"),
        (["ride", "pause"], "invalid choice: 'pause'"),
        (["ride", "stop", "now"], "unrecognized arguments: now"),
        (["config"], "required: ACTION"),
        (["config", "check", "hrvd.toml"], "unrecognized arguments: hrvd.toml"),
        (["plot"], "required: ACTION"),
        (["plot", "ride"], "required: ID|FILE"),
        (["plot", "history", "2026-11-27"], "unrecognized arguments: 2026-11-27"),
        (["plot", "history", "--days", "9", "--posture", "lying"], "unrecognized arguments"),
        (["morning", "now"], "unrecognized arguments: now"),
        (["nope"], "invalid choice: 'nope'"),
    ],
)
def test_a_missing_sub_command_or_a_stray_word_is_a_one_line_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sessions", "list", "H10@"], "'hrvd sessions list' takes no id"),
        (["sessions", "show"], "needs a ride id"),
        (["history", "show", "old.csv"], "'hrvd history show' takes no file"),
    ],
)
def test_a_word_the_action_does_not_take_is_a_usage_error_too(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_replay_and_the_live_view_print_the_one_ride_summary():
    lines = ride_summary(SESSION)
    assert lines == [
        (
            "ride summary: 45:01, 81 % in the recovery zone, 2:10 too hard, 1 alert(s), "
            "mean HR 108.2 bpm"
        ),
        "HRVT1 (alpha1 = 0.75): none from this ride (alpha1 never below 0.75)",
    ]
    printed = io.StringIO()
    ConsoleSink(printed, datetime(2026, 11, 27, 17, tzinfo=UTC)).durable(
        "hrvd/h10/session", SESSION
    )
    # hrvd replay
    assert printed.getvalue().splitlines() == lines
    start = datetime(2026, 11, 27, 17, tzinfo=UTC)
    with LiveView(Console(file=io.StringIO(), force_terminal=False), "H10", start) as view:
        view.durable("hrvd/h10/session", SESSION)  # demo and watch: the live view
    assert view.events[-2:] == lines


def test_a_table_on_a_terminal_and_csv_in_a_pipe_unless_asked():
    assert tabular_format(None, Terminal()) == "table"
    assert tabular_format(None, io.StringIO()) == "csv"
    assert tabular_format("json", Terminal()) == "json"


def test_a_table_wider_than_the_terminal_is_neither_wrapped_nor_cut():
    long_id = "H10 Garage strap with a long name@2026-11-27T17:00:00+00:00" * 2
    rows = [("2026-11-27T17:00:00+00:00", 45, None, long_id)]
    out = Terminal()
    write_rows(out, "table", ("STARTED", "MIN", "HRVT1_BPM", "ID"), rows)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # the header and the one row, each on one line
    assert long_id in lines[1]
    assert lines[1].split()[1:3] == ["45", "-"]
    piped = io.StringIO()
    write_rows(piped, "csv", ("STARTED", "MIN", "HRVT1_BPM", "ID"), rows)
    assert list(csv.reader(io.StringIO(piped.getvalue()))) == [
        ["STARTED", "MIN", "HRVT1_BPM", "ID"],
        ["2026-11-27T17:00:00+00:00", "45", "", long_id],
    ]


def test_config_check_as_json_is_the_effective_config(tmp_path, capsys):
    config = tmp_path / "hrvd.toml"
    config.write_text('[mqtt]\nhost = "broker.lan"\n')
    assert main(["config", "check", "--config", str(config), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is True
    assert result["path"] == str(config)
    assert result["config"]["mqtt"]["host"] == "broker.lan"
    assert result["config"]["mqtt"]["port"] == 1883  # the default, filled in


@pytest.mark.parametrize("term", ["xterm-256color", "dumb"])
def test_a_table_on_any_terminal_shows_every_cell_whole_as_written(term, monkeypatch):
    monkeypatch.setenv("TERM", term)  # rich keeps a dumb terminal at 80 columns unless told
    strap = ":smile: [garage] strap [/] " * 5 + "end"
    out = Terminal()
    write_rows(out, "table", ("STRAP", "MIN"), [(strap, 45), ("H10", None)])
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[1] == f"{strap}  45"  # no markup, no emoji, more than 80 columns
    assert lines[2] == "H10" + " " * (len(strap) - 1) + "-"  # no padding after the last cell


def test_the_live_path_and_the_threshold_estimate_run_without_numpy():
    # Ten minutes of beats through the live pipeline's HRV stream, and the ride's HRVT1
    # estimate from its alpha1 windows: what the daemon does for an hour of riding.
    code = (
        "import json, math, sys\n"
        "from hrvd.coach.hrvt1 import Hrvt1Tracker, window_of\n"
        "from hrvd.hrv.stream import HrvStream\n"
        "stream, tracker, t = HrvStream(), Hrvt1Tracker(), 0.0\n"
        "for i in range(1200):\n"
        "    rr = 600.0 + 40.0 * math.sin(i / 3.0) + (i % 7) * 3.0\n"
        "    t += rr / 1000.0\n"
        "    stream.push(rr, t)\n"
        "    w = window_of(stream.snapshot())\n"
        "    if w is not None:\n"
        "        tracker.add(w)\n"
        "snap = stream.snapshot()\n"
        "print(json.dumps({'alpha1': snap.dfa_alpha1, 'windows': len(tracker.windows),"
        " 'reason': tracker.estimate().reason, 'numpy': 'numpy' in sys.modules}))\n"
    )
    result = fresh_json(code)
    assert result["alpha1"] is not None
    assert result["windows"] > 0
    assert result["reason"] != "ok"  # a steady series crosses no threshold
    assert result["numpy"] is False
