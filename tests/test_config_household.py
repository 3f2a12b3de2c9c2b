"""A household: several athletes in one config, each strap worn by one of them."""

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from hrvd.config import (
    DEFAULT_ATHLETE,
    AthleteConfig,
    Config,
    StrapConfig,
    effective_config,
    load_config,
    parse_config,
)
from hrvd.errors import ConfigError, UsageError

HOUSEHOLD = """
[mqtt]
base_topic = "home/hrvd"

[[athlete]]
name = "Anna"
hr_max = 185
hr_rest = 48
timezone = "Europe/Brussels"
[athlete.ride]
ceiling_bpm = 120
[athlete.morning]
window = "06:00-09:00"

[[athlete]]
name = "Ben K"
lthr = 160
zones = "lthr"
language = "nl"

[[strap]]
name = "H10 Anna"
athlete = "Anna"
[[strap]]
name = "H9"
athlete = "ben_k"        # the slug names him too

[ride]
sustain_s = 20
"""


def _write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "hrvd.toml"
    f.write_text(text)
    return f


def test_each_strap_belongs_to_its_athlete_and_each_athlete_keeps_their_own_settings(tmp_path):
    cfg = load_config(_write(tmp_path, HOUSEHOLD))
    assert cfg.household
    assert [a.name for a in cfg.athletes] == ["Anna", "Ben K"]
    assert cfg.athlete is cfg.athletes[0]
    assert [(s.name, s.athlete) for s in cfg.straps] == [("H10 Anna", "Anna"), ("H9", "Ben K")]
    anna, ben = cfg.for_athlete("Anna"), cfg.for_athlete("ben_k")
    assert [s.name for s in anna.straps] == ["H10 Anna"]
    assert [s.name for s in ben.straps] == ["H9"]
    assert anna.athletes == (cfg.athletes[0],)
    assert anna.household  # a view of a household: ...
    assert anna.topic_base() == "home/hrvd/anna"  # ... its topics stay hers
    assert anna.for_athlete() == anna
    assert anna.ride_settings().ceiling_bpm == 120  # her own [athlete.ride] ...
    assert anna.ride.sustain_s == 20  # ... read over the shared [ride]
    assert anna.morning.window == "06:00-09:00"
    assert ben.ride.ceiling_bpm is None
    assert ben.ride_settings().ceiling_bpm == pytest.approx(0.69 * 160)  # his zones, not hers
    assert ben.morning.window == "05:00-10:00"
    assert ben.athlete.language == "nl"
    assert cfg.athlete_of("h9").name == "Ben K"
    assert cfg.topic_base("Anna") == "home/hrvd/anna"
    assert cfg.topic_base("Ben K") == "home/hrvd/ben_k"


def test_one_athlete_table_is_one_athlete_named_by_default_with_todays_topics(tmp_path):
    cfg = load_config(_write(tmp_path, "[athlete]\nhr_max = 190\n[[strap]]\nname = 'h10'\n"))
    assert not cfg.household
    assert cfg.athletes == (cfg.athlete,)
    assert cfg.athlete.name == DEFAULT_ATHLETE
    assert cfg.straps[0].athlete == DEFAULT_ATHLETE
    assert cfg.athlete_named(None) is cfg.athlete
    assert cfg.topic_base() == "hrvd"
    assert cfg.for_athlete() == cfg
    one = load_config(_write(tmp_path, "[[athlete]]\nname = 'Anna'\n[[strap]]\nname = 'h10'\n"))
    assert (one.household, one.topic_base(), one.straps[0].athlete) == (False, "hrvd", "Anna")


def test_a_config_built_in_code_names_its_athlete_once():
    a = AthleteConfig(hr_max=180, name="Anna")
    assert Config(athlete=a).athletes == (a,)
    assert Config(athletes=(a, AthleteConfig(name="Ben"))).athlete is a
    with pytest.raises(ValueError, match="athlete is not athletes"):
        Config(athlete=AthleteConfig(hr_max=170), athletes=(a,))
    assert replace(Config(athlete=a), athlete=a).athlete is a


def test_the_athlete_asked_for_is_found_or_the_error_names_those_there_are(tmp_path):
    cfg = load_config(_write(tmp_path, HOUSEHOLD))
    with pytest.raises(
        UsageError, match=r"several athletes \(Anna, Ben K\): name one with --athlete"
    ):
        cfg.athlete_named(None)
    with pytest.raises(
        UsageError, match=r"--athlete: no athlete 'Carl' .*\(there are: Anna, Ben K\)"
    ):
        cfg.for_athlete("Carl")
    assert cfg.athlete_named("anna").name == "Anna"
    assert cfg.for_command(None, strap="h9").athlete.name == "Ben K"  # whoever wears it
    assert cfg.for_command("Anna", strap="h9").athlete.name == "Anna"  # as asked
    with pytest.raises(UsageError, match="name one with --athlete"):
        cfg.for_command(None, strap="no such strap")


TWO = "[[athlete]]\nname = 'Anna'\n[[athlete]]\nname = 'Ben'\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[[athlete]]\nname = 'Anna'\n[[athlete]]\nhr_max = 180\n",
            "athlete[1].name: is missing (with several athletes, each needs a name)",
        ),
        (
            "[[athlete]]\nname = 'Ann A'\n[[athlete]]\nname = 'ann_a'\n",
            "athlete[1].name: 'ann_a' has the slug 'ann_a' of 'Ann A'",
        ),
        (TWO.replace("'Ben'", "'Status'"), "athlete[1].name: 'Status' is a topic hrvd keeps"),
        ("[[athlete]]\nname = ' '\n", "athlete[0].name: ' ' is not a name"),
        (
            TWO + "[[strap]]\nname = 'h10'\n",
            "strap[0].athlete: is missing (with several athletes, say whose: 'Anna', 'Ben')",
        ),
        (
            TWO + "[[strap]]\nname = 'h10'\nathlete = 'Carl'\n",
            "strap[0].athlete: 'Carl' is not an athlete of this file ('Anna', 'Ben')",
        ),
        (
            TWO + "[[strap]]\nname = 'h10'\nathlete = 3\n",
            "strap[0].athlete: 3 is not the name of an athlete",
        ),
        (
            "[athlete]\nname = 'Anna'\n[[strap]]\nname = 'h10'\nathlete = 'Ben'\n",
            "strap[0].athlete: 'Ben' is not an athlete of this file ('Anna')",
        ),
        (TWO + "[athlete.ride]\nceiling = 120\n", "athlete[1].ride.ceiling: is not a known key"),
        (
            TWO + "[athlete.ride]\nwarmup_min = 30\n[ride]\ntarget_min = 30\n",
            "athlete[1].ride.warmup_min: 30 is not shorter than target_min 30",
        ),
        (
            TWO + "[athlete.morning]\nwindow = 'dawn'\n",
            "athlete[1].morning.window: 'dawn' is not a window",
        ),
        (
            "[[athlete]]\nname = 'A'\nzones = 'lthr'\nhr_max = 180\n",
            "athlete[0].zones: zones 'lthr' need a positive lthr",
        ),
        ("athlete = []\n", "athlete: expected an [athlete] or [[athlete]] tables, got []"),
        ("athlete = 3\n", "athlete: expected an [athlete] or [[athlete]] tables, got 3"),
    ],
)
def test_a_bad_household_names_the_file_the_key_and_the_value(tmp_path, text, message):
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text))
    assert str(err.value).startswith(f"{tmp_path / 'hrvd.toml'}: {message}")


def test_the_effective_config_of_a_household_loads_back_to_the_same_config(tmp_path):
    cfg = load_config(_write(tmp_path, HOUSEHOLD))
    text = effective_config(cfg)
    assert "[[athlete]]" in text
    assert "[athlete.ride]" in text
    assert "# ride.ceiling_bpm: 110 (the top of zone 1)" in text  # Ben's: 69 % of LTHR 160
    assert parse_config(tomllib.loads(text), cfg.source or Path()) == cfg


def test_odd_names_are_escaped_by_the_one_writer_and_load_back_unchanged():
    odd = 'Anna "the\tfast" \\ \x01\x7f é'
    cfg = Config(
        athletes=(AthleteConfig(name=odd), AthleteConfig(name="Ben")),
        straps=(StrapConfig('s\n"1"', athlete=odd), StrapConfig("s2", athlete="Ben")),
    )
    back = parse_config(tomllib.loads(effective_config(cfg)), Path("x.toml"))
    assert back.athletes == cfg.athletes
    assert back.straps == cfg.straps
