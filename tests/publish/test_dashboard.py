"""hrvd dashboard: the YAML names exactly the entities discovery creates, with HA's ids."""

import json
import re

import pytest
import yaml

from hrvd.cli import main
from hrvd.config import Config, StrapConfig
from hrvd.publish.dashboard import dashboard, entity_ids, to_yaml
from hrvd.publish.discovery import discovery_messages

# Home Assistant's valid_entity_id (homeassistant/core.py): no leading, trailing or double "_".
HA_ENTITY_ID = re.compile(r"(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)")


def config(*straps: StrapConfig) -> Config:
    return Config(
        straps=straps
        or (StrapConfig(name="H10 Garage", role="ride"), StrapConfig(name="Verity", role="morning"))
    )


def discovered(cfg: Config) -> dict[str, dict]:
    """Every discovered entity by its default_entity_id, with its device's name."""
    out = {}
    for m in discovery_messages(cfg, "1"):
        payload = json.loads(m.payload)
        for c in payload["components"].values():
            out[c["default_entity_id"]] = {**c, "device_name": payload["device"]["name"]}
    return out


ENTITY_KEYS = {"entity", "entities", "entity_id"}


def referenced(node: object, *, named: bool = False) -> list[str]:
    """Every entity id a dashboard card names (entity, entities, target.entity_id)."""
    if isinstance(node, dict):
        return [i for k, v in node.items() for i in referenced(v, named=k in ENTITY_KEYS)]
    if isinstance(node, list):
        return [i for v in node for i in referenced(v, named=named)]
    return [node] if named and isinstance(node, str) else []


def cards(cfg: Config) -> list[dict]:
    return yaml.safe_load(to_yaml(dashboard(cfg)))["views"][0]["cards"]


def test_every_entity_id_is_home_assistants_slug_of_device_and_entity_name():
    # Without an object id Home Assistant names an entity <platform>.<slug of "device name"
    # + " " + "entity name">; default_entity_id pins the same id.
    entities = discovered(config())
    assert len(entities) == sum(
        len(json.loads(m.payload)["components"]) for m in discovery_messages(config(), "1")
    )
    for eid, c in entities.items():
        words = re.sub(r"[^a-z0-9]+", "_", f"{c['device_name']} {c['name']}".lower()).strip("_")
        assert eid == f"{c['platform']}.{words}"
        assert HA_ENTITY_ID.fullmatch(eid), eid
    assert "binary_sensor.hrvd_h10_garage_too_hard_for_recovery" in entities
    assert "sensor.hrvd_athlete_readiness" in entities


def test_every_entity_the_dashboard_names_is_discovered():
    cfg = config()
    names = referenced(yaml.safe_load(to_yaml(dashboard(cfg))))
    assert names
    assert set(names) <= set(discovered(cfg))


def test_the_dashboard_has_the_live_readiness_graph_alert_ride_and_morning_cards():
    got = cards(config())
    by_type: dict[str, list[dict]] = {}
    for card in got:
        by_type.setdefault(card["type"], []).append(card)
    (gauge,) = by_type["gauge"]
    assert gauge["entity"] == "sensor.hrvd_athlete_readiness"
    assert (gauge["min"], gauge["max"]) == (0, 100)
    tiles = {c["entity"] for c in by_type["tile"]}
    for strap in ("h10_garage", "verity"):
        assert {f"sensor.hrvd_{strap}_heart_rate", f"sensor.hrvd_{strap}_heart_rate_zone"} <= tiles
    (history,) = by_type["history-graph"]
    assert history["entities"] == [
        "sensor.hrvd_h10_garage_heart_rate",
        "sensor.hrvd_athlete_recovery_ride_ceiling",
        "sensor.hrvd_h10_garage_dfa_alpha1",
    ]
    stats, week = by_type["statistics-graph"]
    assert stats["entities"] == [
        "sensor.hrvd_athlete_lnrmssd_this_morning",
        "sensor.hrvd_athlete_lnrmssd_7_day",
    ]
    assert week["entities"] == ["sensor.hrvd_athlete_lnrmssd_7_day_cv"]
    assert "sensor.hrvd_athlete_lnrmssd_7_day_trend" in referenced(by_type["entities"])
    red = [c for c in by_type["conditional"] if c["conditions"][0]["state"] == "on"]
    assert (
        red[0]["conditions"][0]["entity"] == "binary_sensor.hrvd_h10_garage_too_hard_for_recovery"
    )
    assert red[0]["card"]["color"] == "red"
    buttons = {c["entity"]: c for c in by_type["button"]}
    assert buttons["switch.hrvd_h10_garage_ride"]["tap_action"] == {"action": "toggle"}
    press = buttons["button.hrvd_athlete_start_morning_measurement"]["tap_action"]
    assert press["perform_action"] == "button.press"
    assert press["target"] == {"entity_id": "button.hrvd_athlete_start_morning_measurement"}


def test_a_morning_only_setup_gets_no_ride_cards():
    got = cards(config(StrapConfig(name="h10", role="morning")))
    assert {c["type"] for c in got}.isdisjoint({"history-graph", "conditional"})
    assert all("switch." not in str(c) and "ceiling" not in str(c) for c in got)
    assert "sensor.hrvd_h10_heart_rate" in referenced(got)


def test_entity_ids_are_read_from_the_discovery_payloads():
    ids = entity_ids(config())
    assert ids["strap_h10_garage"]["ride"] == "switch.hrvd_h10_garage_ride"
    assert ids["athlete"]["start_morning"] == "button.hrvd_athlete_start_morning_measurement"


@pytest.mark.parametrize(
    "value",
    [
        {"a": "on", "b": "off", "c": "0.75", "d": "yes: no", "e": "\u03b11 — ü", "f": None},
        {"list": [[1, 2.5], {"x": True}, [], {}], "empty": {}, "key with space": "#x"},
    ],
)
def test_the_yaml_reads_back_as_the_same_values(value):
    assert yaml.safe_load(to_yaml(value)) == value


def test_numeric_sensors_keep_statistics_with_a_unit():
    # Home Assistant keeps long-term statistics only for a state class; history and
    # statistics graphs group by unit. The ride timer counts up: no statistics for it.
    for eid, c in discovered(config()).items():
        if c["platform"] != "sensor" or c.get("device_class") in {"enum", "duration"}:
            continue
        assert c.get("state_class") == "measurement", eid
        assert c.get("unit_of_measurement"), eid


def test_hrvd_dashboard_prints_it_for_the_config_file(tmp_path, capsys):
    f = tmp_path / "hrvd.toml"
    f.write_text('[[strap]]\nname = "Kickr H10"\nrole = "both"\n')
    assert main(["dashboard", "--config", str(f)]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert "switch.hrvd_kickr_h10_ride" in referenced(printed)
    assert main(["dashboard", "--config", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "missing.toml" in err
