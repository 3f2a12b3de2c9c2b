"""`hrvd init` without Bluetooth: flags, questions, the files it writes and what it refuses.

Every test here gives --strap, so none scans; the scan paths are in tests/setup/test_init_ble.py.
"""

from __future__ import annotations

import dataclasses
import io
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hrvd.cli import main
from hrvd.config import (
    AthleteConfig,
    MorningConfig,
    MqttConfig,
    RideConfig,
    StoreConfig,
    StrapConfig,
    find_config,
    load_config,
)
from hrvd.errors import UsageError
from hrvd.hrv.zones import ZoneModel
from hrvd.setup.init_files import default_output
from hrvd.setup.install_service import DEFAULT_CONFIG
from hrvd.setup.questions import system_timezone
from support.init_answers import ADDRESS, FLAGS, Typist, init

pytestmark = pytest.mark.usefixtures("private_homes")


def test_flags_alone_write_a_config_that_loads_with_those_values(tmp_path, capsys):
    f = tmp_path / "etc" / "hrvd.toml"
    argv = [
        "init",
        "--yes",
        *FLAGS,
        "--output",
        str(f),
        "--strap-name",
        "H10 Garage",
        "--role",
        "ride",
        "--hr-rest",
        "48",
        "--lthr",
        "165",
        "--zones",
        "hrr",
        "--broker",
        "mqtt.lan:1884",
        "--username",
        "hrvd",
    ]
    assert main(argv) == 0
    config = load_config(f)
    assert config.straps == (StrapConfig("H10 Garage", ADDRESS, "ride"),)
    assert config.athlete == AthleteConfig(
        hr_max=185, hr_rest=48, lthr=165, zones=ZoneModel.HRR, timezone="Europe/Brussels"
    )
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.username) == ("mqtt.lan", 1884, "hrvd")
    assert config.mqtt.password_file is None
    assert config.store.path == tmp_path / "data" / "hrvd" / "hrvd.sqlite3"  # a user's own
    assert stat.S_IMODE(f.stat().st_mode) == 0o644
    out = capsys.readouterr().out
    assert f"wrote {f}" in out
    assert f"doctor --config {f}" in out
    assert f"run --config {f}" in out
    assert [p.name for p in f.parent.iterdir()] == ["hrvd.toml"]  # no temporary file left


def test_defaults_are_localhost_both_roles_and_the_advertised_name_or_strap(tmp_path):
    f = tmp_path / "hrvd.toml"
    assert init(["--yes", *FLAGS, "--output", str(f)]) == 0
    config = load_config(f)
    assert config.straps == (StrapConfig("strap", ADDRESS, "both"),)
    assert (config.mqtt.host, config.mqtt.port) == ("localhost", 1883)
    assert config.athlete.zones is ZoneModel.HRMAX


def test_the_written_file_names_every_key_of_every_section_with_a_comment(tmp_path):
    f = tmp_path / "hrvd.toml"
    assert init(["--yes", *FLAGS, "--output", str(f)]) == 0
    text = f.read_text()
    sections = (MqttConfig, StrapConfig, AthleteConfig, RideConfig, MorningConfig, StoreConfig)
    household = {"ride", "morning"}  # an athlete's own tables (docs/household.md), not keys
    for section in sections:
        for field in dataclasses.fields(section):
            if section in {AthleteConfig, StrapConfig} and field.name in household:
                continue
            lines = [line for line in text.splitlines() if f"{field.name} =" in line]
            assert lines, field.name
            assert all("  # " in line for line in lines), lines
    assert "# sustain_s = 30.0" in text  # a default, commented out
    assert "# ceiling_bpm = 111" in text  # the top of zone 1 for HRmax 185


def test_odd_names_are_escaped_and_load_back_unchanged(tmp_path):
    f = tmp_path / "hrvd.toml"
    name = 'Polar "H10" \\ garage é'
    assert init(["--yes", *FLAGS, "--output", str(f), "--strap-name", name]) == 0
    assert load_config(f).straps[0].name == name


def test_an_existing_file_is_kept_without_force_and_replaced_with_it(tmp_path, capsys):
    f = tmp_path / "hrvd.toml"
    f.write_text("# mine\n")
    assert main(["init", "--yes", *FLAGS, "--output", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(f) in err
    assert "--force" in err
    assert f.read_text() == "# mine\n"
    assert main(["init", "--yes", *FLAGS, "--output", str(f), "--force"]) == 0
    assert load_config(f).athlete.hr_max == 185
    assert [p.name for p in tmp_path.iterdir()] == ["hrvd.toml"]


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["--strap", ADDRESS], "--hr-max"),
        (["--strap", ADDRESS, "--hr-max", "185", "--zones", "hrr"], "--hr-rest"),
        (["--strap", ADDRESS, "--hr-max", "185", "--zones", "lthr"], "--lthr"),
    ],
)
def test_without_questions_a_missing_value_fails_in_one_line_naming_its_flag(
    tmp_path, capsys, extra, flag
):
    f = tmp_path / "hrvd.toml"
    assert main(["init", "--yes", "--output", str(f), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{flag} is needed" in err
    assert not f.exists()


def test_heart_rates_that_contradict_each_other_fail_naming_the_flags(tmp_path, capsys):
    f = tmp_path / "hrvd.toml"
    assert main(["init", "--yes", *FLAGS, "--output", str(f), "--lthr", "190"]) == 2
    err = capsys.readouterr().err
    assert "LTHR 190 must be below HRmax 185" in err
    assert "--lthr" in err
    assert not f.exists()


@pytest.mark.parametrize(
    ("flag", "value", "reason"),
    [
        ("--strap", "AA:BB:CC", "is not a Bluetooth address"),
        ("--hr-max", "60", "is not within 100-250 bpm"),
        ("--broker", "mqtt.lan:99999", "is not a port number"),
        ("--timezone", "Mars/Olympus", "is not a time zone"),
        ("--strap-name", "!!!", "is not a name with a letter or digit"),
    ],
)
def test_a_bad_flag_value_is_one_line_with_the_reason(tmp_path, capsys, flag, value, reason):
    argv = ["init", "--yes", *FLAGS, "--output", str(tmp_path / "hrvd.toml"), flag, value]
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert flag in err
    assert reason in err


def test_questions_are_asked_again_with_the_reason_until_the_answer_is_valid(tmp_path):
    f = tmp_path / "hrvd.toml"
    typist = Typist(
        "H10 Garage",  # the strap's name
        "bike",
        "ride",  # role: not one of the three, then right
        "",
        "abc",
        "185",  # HRmax: no answer, not a number, then right
        "130",
        "50",  # HRrest: out of range, then right
        "190",
        "",  # LTHR: above HRmax, then skipped
        "Mars/Olympus",
        "Europe/Brussels",  # time zone
        "mqtt.lan:99999",
        "mqtt.lan:1884",  # broker
        "",  # no user name, so no password question
    )
    out = io.StringIO()
    assert init(["--strap", ADDRESS, "--output", str(f)], out, ask=typist) == 0
    assert typist.answers == []
    shown = out.getvalue()
    assert '\'bike\' is not "ride", "morning" or "both"; try again' in shown
    assert "an answer is needed" in shown
    assert "'abc' is not a whole number of bpm" in shown
    assert "130 is not within 25-120 bpm; try again" in shown
    assert "LTHR 190 must be below HRmax 185; try again" in shown
    assert "'Mars/Olympus' is not a time zone" in shown
    assert "'99999' is not a port number" in shown
    config = load_config(f)
    assert config.straps == (StrapConfig("H10 Garage", ADDRESS, "ride"),)
    assert (config.athlete.hr_max, config.athlete.hr_rest, config.athlete.lthr) == (185, 50, None)
    assert config.athlete.timezone == "Europe/Brussels"
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.username) == ("mqtt.lan", 1884, None)
    assert any("[both]" in p for p in typist.prompts)  # the default is shown
    assert any("220 minus age" in p for p in typist.prompts)  # HRmax: a measured one


def test_flags_given_are_not_asked_again(tmp_path):
    typist = Typist("")  # only the user name is left to ask
    argv = [
        *FLAGS,
        "--output",
        str(tmp_path / "hrvd.toml"),
        "--strap-name",
        "h10",
        "--role",
        "both",
        "--hr-rest",
        "50",
        "--lthr",
        "170",
        "--broker",
        "localhost",
    ]
    assert init(argv, ask=typist) == 0
    assert len(typist.prompts) == 1
    assert "user name" in typist.prompts[0]


def test_input_that_ends_names_the_flag_to_give_instead_and_writes_nothing(tmp_path):
    f = tmp_path / "hrvd.toml"
    with pytest.raises(UsageError, match=r"no answer for --hr-max .*give it as --hr-max"):
        init(["--strap", ADDRESS, "--output", str(f)], ask=Typist("h10", "both"))
    assert not f.exists()


def test_the_default_file_is_the_services_for_root_and_the_one_find_config_finds_otherwise(
    tmp_path,
):
    assert default_output(euid=0) == Path(DEFAULT_CONFIG)
    mine = default_output(euid=1000)
    assert mine == tmp_path / "config" / "hrvd" / "hrvd.toml"
    assert init(["--yes", *FLAGS, "--output", str(mine)]) == 0
    assert find_config(None) == mine
    assert stat.S_IMODE(mine.parent.stat().st_mode) == 0o700


def test_the_default_time_zone_is_the_systems(monkeypatch):
    monkeypatch.setenv("TZ", ":Europe/Brussels")
    assert system_timezone() == "Europe/Brussels"
    monkeypatch.setenv("TZ", "/usr/share/zoneinfo/America/New_York")
    assert system_timezone() == "America/New_York"


def test_without_a_terminal_it_never_asks_and_says_which_flag_is_missing(tmp_path):
    # A real pipe for stdin: not a terminal, so no question, even without --yes.
    f = tmp_path / "hrvd.toml"
    done = subprocess.run(
        [sys.executable, "-m", "hrvd.cli", "init", "--strap", ADDRESS, "--output", str(f)],
        input="185\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "--hr-max is needed" in done.stderr
    assert done.stdout == ""
    assert not f.exists()


def test_init_then_config_check_passes(tmp_path, capsys):
    f = tmp_path / "hrvd.toml"
    assert main(["init", "--yes", *FLAGS, "--output", str(f), "--username", "hrvd"]) == 0
    capsys.readouterr()
    assert main(["config", "check", "--config", str(f)]) == 0
    assert "valid" in capsys.readouterr().out
    tomllib.loads(f.read_text())  # plain TOML too, for other tools
    assert os.access(f, os.R_OK)
