"""The one TOML writer: an athlete added to a commented config, values escaped."""

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from hrvd.config import DEFAULT_ATHLETE, load_config, parse_config
from hrvd.config_edit import add_athlete, athlete_names, toml_value

EXAMPLE = Path(__file__).parent.parent / "config" / "hrvd.example.toml"
BEN = {"name": "Ben", "hr_max": 182, "hr_rest": 58, "timezone": "Europe/Brussels"}
BEN_STRAP = {"name": "H9 Ben", "address": "AA:BB:CC:DD:EE:99", "role": "morning"}


def _comments(text: str) -> list[str]:
    return [line[line.index("#") :].strip() for line in text.splitlines() if "#" in line]


def test_a_second_athlete_joins_the_commented_example_and_every_comment_stays(tmp_path):
    text = EXAMPLE.read_text()
    new = add_athlete(text, BEN, first_name="Anna", straps=[BEN_STRAP])
    assert _comments(new) == _comments(text)  # each one, in the same order
    f = tmp_path / "hrvd.toml"
    f.write_text(new)
    cfg = load_config(f)
    assert [a.name for a in cfg.athletes] == ["Anna", "Ben"]
    before = load_config(EXAMPLE)
    assert cfg.athletes[0] == replace(before.athlete, name="Anna")  # nothing else changed
    assert cfg.athletes[1].hr_rest == 58
    assert [(s.name, s.athlete, s.role) for s in cfg.straps] == [
        ("h10", "Anna", "both"),
        ("H9 Ben", "Ben", "morning"),
    ]
    assert athlete_names(new) == ["Anna", "Ben"]


def test_a_third_athlete_is_appended_and_a_named_first_athlete_keeps_their_name():
    one = '[athlete]  # me\nname = "Anna"\nhr_max = 180\n[[strap]]\nname = "a"\n'
    two = add_athlete(one, BEN, first_name="ignored")
    assert athlete_names(two) == ["Anna", "Ben"]
    assert "# me" in two
    three = add_athlete(
        two, {"name": "Cleo", "lthr": 150, "zones": "lthr"}, first_name="x", straps=[{"name": "c"}]
    )
    cfg = parse_config(tomllib.loads(three), Path("h.toml"))
    assert [a.name for a in cfg.athletes] == ["Anna", "Ben", "Cleo"]
    assert [(s.name, s.athlete) for s in cfg.straps] == [("a", "Anna"), ("c", "Cleo")]


def test_a_config_with_no_athlete_yet_gets_the_default_one_named_and_the_new_one():
    text = add_athlete('[mqtt]\nhost = "b"\n', BEN, first_name=DEFAULT_ATHLETE, straps=[BEN_STRAP])
    assert (
        add_athlete("strap = []\n", BEN, first_name="A", straps=[BEN_STRAP]).count("[[strap]]") == 1
    )
    cfg = parse_config(tomllib.loads(text), Path("h.toml"))
    assert [a.name for a in cfg.athletes] == [DEFAULT_ATHLETE, "Ben"]
    assert cfg.mqtt.host == "b"
    assert cfg.straps[0].athlete == "Ben"


@pytest.mark.parametrize("value", ['say "hi"\\', "tab\there", "bell\x07 del\x7f", "é ☃", "a\nb"])
def test_every_text_is_escaped_and_reads_back_unchanged(value):
    assert tomllib.loads(f"k = {toml_value(value)}")["k"] == value


def test_numbers_and_paths_are_written_as_toml_reads_them():
    assert toml_value(3) == "3"
    assert toml_value(2.5) == "2.5"
    assert tomllib.loads(f"k = {toml_value(Path('/var/lib/hrvd'))}")["k"] == "/var/lib/hrvd"
