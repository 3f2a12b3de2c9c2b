"""Home Assistant discovery of a household: a device per athlete, straps below theirs."""

import json
import tomllib
from pathlib import Path

from hrvd.config import parse_config
from hrvd.publish.discovery import discovery_messages, stale_discovery_topics

HOUSEHOLD = """
[[athlete]]
name = "Anna"
hr_max = 185
[[athlete]]
name = "Ben"
hr_max = 190
[[strap]]
name = "H10"
athlete = "Anna"
role = "ride"
[[strap]]
name = "H9"
athlete = "Ben"
role = "morning"
"""


def _devices(text):
    config = parse_config(tomllib.loads(text), Path("hrvd.toml"))
    messages = discovery_messages(config, "1.0")
    return config, {m.topic.split("/")[-2]: json.loads(m.payload) for m in messages}


def test_each_athlete_has_a_device_on_their_own_topics_and_their_straps_hang_below_it():
    config, devices = _devices(HOUSEHOLD)
    assert list(devices) == ["strap_h10", "strap_h9", "athlete_anna", "athlete_ben"]
    anna, ben = devices["athlete_anna"], devices["athlete_ben"]
    assert anna["device"]["name"] == "hrvd Anna"
    assert anna["device"]["identifiers"] == ["hrvd-athlete_anna"]
    assert anna["components"]["readiness"]["state_topic"] == "hrvd/anna/readiness"
    assert anna["components"]["readiness"]["default_entity_id"] == "sensor.hrvd_anna_readiness"
    assert anna["components"]["start_morning"]["command_topic"] == "hrvd/anna/cmd/morning"
    assert ben["components"]["start_morning"]["command_topic"] == "hrvd/ben/cmd/morning"
    assert "ride_ceiling" in anna["components"]  # Anna rides ...
    assert "ride_ceiling" not in ben["components"]  # ... Ben only measures his mornings
    h10 = devices["strap_h10"]
    assert h10["device"]["via_device"] == "hrvd-athlete_anna"
    assert devices["strap_h9"]["device"]["via_device"] == "hrvd-athlete_ben"
    assert h10["components"]["heart_rate"]["state_topic"] == "hrvd/anna/h10/state"
    assert h10["components"]["heart_rate"]["availability"] == [
        {"topic": "hrvd/status"},  # one daemon for the house
        {"topic": "hrvd/anna/h10/availability"},
    ]
    assert h10["components"]["ride"]["command_topic"] == "hrvd/anna/cmd/ride"
    assert h10["components"]["heart_rate"]["unique_id"] == "hrvd-strap_h10-heart_rate"
    unique = [c["unique_id"] for d in devices.values() for c in d["components"].values()]
    assert len(unique) == len(set(unique))
    # The device of the one athlete before the household is now stale: it is cleared.
    old = "homeassistant/device/hrvd/athlete/config"
    kept = [f"homeassistant/device/hrvd/{obj}/config" for obj in devices]
    assert stale_discovery_topics([old, *kept], config) == [old]


def test_one_athlete_keeps_the_devices_ids_and_topics_of_before():
    single = HOUSEHOLD.replace('[[athlete]]\nname = "Ben"\nhr_max = 190\n', "").replace(
        'athlete = "Ben"', 'athlete = "Anna"'
    )
    _, devices = _devices(single)
    assert list(devices) == ["strap_h10", "strap_h9", "athlete"]
    athlete = devices["athlete"]
    assert athlete["device"]["name"] == "hrvd athlete"
    assert athlete["components"]["readiness"]["state_topic"] == "hrvd/readiness"
    assert "via_device" not in devices["strap_h10"]["device"]
    assert devices["strap_h10"]["components"]["heart_rate"]["state_topic"] == "hrvd/h10/state"


def test_the_dashboard_has_a_view_per_athlete_with_their_own_entities():
    from hrvd.publish.dashboard import dashboard  # noqa: PLC0415

    config = parse_config(tomllib.loads(HOUSEHOLD), Path("hrvd.toml"))
    views = dashboard(config)["views"]
    assert [(v["title"], v["path"]) for v in views] == [("Anna", "hrvd-anna"), ("Ben", "hrvd-ben")]
    anna, ben = (json.dumps(v["cards"]) for v in views)
    assert "sensor.hrvd_anna_readiness" in anna
    assert "sensor.hrvd_h10_heart_rate" in anna
    assert "hrvd_ben" not in anna
    assert "hrvd_h10" not in ben
    assert "sensor.hrvd_h9_heart_rate" in ben
    assert "sensor.hrvd_anna_recovery_ride_ceiling" in anna  # her ceiling beside her ride
