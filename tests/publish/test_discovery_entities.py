"""Home Assistant discovery, entity by entity: what each device offers and how it reads it."""

import ast
import json
from pathlib import Path

import pytest

from hrvd.coach.weekly import WEEKLY_FIELDS
from hrvd.config import Config, StrapConfig
from hrvd.publish import discovery, topics
from hrvd.publish.discovery import (
    QUALITY_LEVELS,
    DiscoveryMessage,
    discovery_messages,
    removal_messages,
    stale_discovery_topics,
)
from support.discovery_payloads import (
    CONTRACT_KEYS,
    TOPIC_OPTIONS,
    VERSION,
    by_key,
    components,
    config,
    payloads,
)


def test_the_strap_device_has_the_issue_entities():
    garage = by_key(config(), "strap_h10_garage")
    assert garage["heart_rate"]["unit_of_measurement"] == "bpm"
    assert garage["rmssd"]["unit_of_measurement"] == "ms"
    assert garage["ln_rmssd"]["unit_of_measurement"] == "ln(ms)"  # issue 19: statistics
    assert garage["dfa_alpha1"]["value_template"] == "{{ value_json.dfa_alpha1 }}"
    assert garage["zone"]["value_template"] == "{{ value_json.zone }}"
    assert garage["battery"]["device_class"] == "battery"
    assert garage["battery"]["unit_of_measurement"] == "%"
    assert garage["link"]["options"] == list(discovery.LINK_STATES)
    assert garage["ride_phase"]["options"] == ["start", "warmup", "steady", "complete"]
    assert garage["ride_phase"]["json_attributes_topic"] == "hrvd/h10_garage/ride"
    assert "value_json.alpha1_guard" in garage["ride_phase"]["json_attributes_template"]
    assert garage["ride_elapsed"]["device_class"] == "duration"
    assert garage["ride_elapsed"]["unit_of_measurement"] == "s"


def test_artifact_rate_is_a_percentage_of_the_zero_to_one_value():
    art = by_key(config(), "strap_h10_garage")["artifact_rate"]
    assert art["unit_of_measurement"] == "%"
    assert "value_json.artifact_rate * 100" in art["value_template"]
    assert "is not none" in art["value_template"]  # null stays unknown, not a template error


def test_too_hard_is_a_problem_read_from_the_alert_json_with_the_alert_as_attributes():
    cfg = config()
    too_hard = by_key(cfg, "strap_h10_garage")["too_hard"]
    alert = topics.alert("hrvd", "h10_garage")
    assert too_hard["platform"] == "binary_sensor"
    assert too_hard["name"] == "Too hard for recovery"
    assert too_hard["device_class"] == "problem"
    assert too_hard["state_topic"] == too_hard["json_attributes_topic"] == alert
    assert too_hard["value_template"] == "{{ 'ON' if value_json.too_hard else 'OFF' }}"
    assert "expire_after" not in too_hard  # retained: it holds until the daemon clears it


def test_the_ride_switch_sends_json_naming_its_strap_to_the_ride_command_topic():
    ride = by_key(config(), "strap_h10_garage")["ride"]
    assert ride["platform"] == "switch"
    assert ride["command_topic"] == "hrvd/cmd/ride"
    assert json.loads(ride["payload_on"]) == {"strap": "h10_garage", "action": "start"}
    assert json.loads(ride["payload_off"]) == {"strap": "h10_garage", "action": "stop"}
    assert ride["state_topic"] == "hrvd/h10_garage/ride"
    assert (ride["state_on"], ride["state_off"]) == ("ON", "OFF")
    assert "value_json.active" in ride["value_template"]


def test_hrvt1_of_the_last_ride_and_the_personal_value_and_ceiling_are_sensors():
    garage, athlete = by_key(config(), "strap_h10_garage"), by_key(config(), "athlete")
    assert garage["hrvt1_ride"]["state_topic"] == "hrvd/h10_garage/session"
    assert garage["hrvt1_ride"]["value_template"] == "{{ value_json.hrvt1_bpm }}"
    assert athlete["hrvt1"]["state_topic"] == "hrvd/thresholds"
    assert athlete["hrvt1"]["unit_of_measurement"] == "bpm"
    assert athlete["hrvt1"]["json_attributes_topic"] == "hrvd/thresholds"  # n, dates, why
    assert athlete["ride_ceiling"]["value_template"] == "{{ value_json.ceiling_bpm }}"
    morning_only = config("hrvd", "homeassistant", StrapConfig("Verity", role="morning"))
    assert not {"hrvt1", "ride_ceiling"} & set(by_key(morning_only, "athlete"))


def test_a_morning_only_strap_has_no_ride_entities():
    verity = by_key(config(), "strap_verity")
    assert not {"too_hard", "ride_phase", "ride_elapsed", "ride", "hrvt1_ride"} & set(verity)
    assert {"heart_rate", "rmssd", "ln_rmssd", "battery", "link"} <= set(verity)


def test_live_entities_need_the_daemon_and_the_strap():
    cfg = config()
    live = {"hrvd/status", "hrvd/h10_garage/availability"}
    garage = by_key(cfg, "strap_h10_garage")
    for key in (
        "heart_rate",
        "rmssd",
        "ln_rmssd",
        "dfa_alpha1",
        "zone",
        "artifact_rate",
        "battery",
    ):
        assert {a["topic"] for a in garage[key]["availability"]} == live, key
        assert garage[key]["availability_mode"] == "all", key


def test_link_alert_and_ride_need_only_the_daemon():
    garage = by_key(config(), "strap_h10_garage")
    for key in ("link", "too_hard", "ride_phase", "ride_elapsed", "ride"):
        assert garage[key]["availability"] == [{"topic": "hrvd/status"}], key


def test_live_values_expire_a_little_after_the_strap_would_count_as_stalled():
    cfg = config()
    for obj, strap in (("strap_h10_garage", cfg.straps[0]), ("strap_verity", cfg.straps[1])):
        comps = by_key(cfg, obj)
        for key in ("heart_rate", "rmssd", "ln_rmssd", "dfa_alpha1", "zone", "artifact_rate"):
            expire = comps[key]["expire_after"]
            assert isinstance(expire, int), key
            assert strap.stall_timeout_s < expire <= strap.stall_timeout_s + 30, key


def test_measurements_have_a_state_class_and_enums_have_none():
    for _, key, c in components(config()):
        if c.get("device_class") == "enum":
            assert c["options"], key
            assert "state_class" not in c, key
            assert "unit_of_measurement" not in c, key
    garage = by_key(config(), "strap_h10_garage")
    for key in ("heart_rate", "rmssd", "ln_rmssd", "dfa_alpha1", "artifact_rate", "battery"):
        assert garage[key]["state_class"] == "measurement", key
    athlete = by_key(config(), "athlete")
    assert athlete["readiness"]["state_class"] == "measurement"
    assert athlete["ln_rmssd_7d"]["state_class"] == "measurement"


def test_battery_link_artifact_rate_and_quality_are_diagnostic():
    for _, key, c in components(config()):
        diagnostic = {"battery", "link", "artifact_rate", "quality"}
        expected = "diagnostic" if key in diagnostic else None
        assert c.get("entity_category") == expected, key


def test_the_athlete_device_needs_only_the_daemon():
    for key, c in by_key(config(), "athlete").items():
        assert c["availability"] == [{"topic": "hrvd/status"}], key
        assert "availability_mode" not in c


def test_the_athlete_device_has_readiness_and_the_morning_button():
    athlete = by_key(config(), "athlete")
    assert athlete["readiness"]["value_template"] == "{{ value_json.score }}"
    assert athlete["readiness_status"]["options"] == ["green", "amber", "red", "baseline"]
    assert athlete["recommendation"]["options"] == ["walk", "recovery_ride", "train"]
    assert "recommendation_text" in athlete["recommendation"]["json_attributes_template"]
    assert athlete["ln_rmssd_7d"]["value_template"] == "{{ value_json.ln_rmssd_7d }}"
    button = athlete["start_morning"]
    assert button["platform"] == "button"
    assert button["name"] == "Start morning measurement"
    assert button["command_topic"] == "hrvd/cmd/morning"
    assert button["payload_press"] == "start"


def test_the_weekly_cv_and_trend_are_sensors_of_the_readiness_json():
    athlete = by_key(config(), "athlete")
    assert athlete["cv_7d"]["value_template"] == "{{ value_json.cv_7d_pct }}"
    assert athlete["cv_7d"]["unit_of_measurement"] == "%"
    assert athlete["trend_7d"]["value_template"] == "{{ value_json.trend_7d }}"
    assert athlete["trend_7d"]["unit_of_measurement"] == "ln(ms)"
    assert {c["state_topic"] for c in (athlete["cv_7d"], athlete["trend_7d"])} == {"hrvd/readiness"}
    assert set(WEEKLY_FIELDS) <= CONTRACT_KEYS["readiness"]


def test_a_strap_removed_from_the_config_gets_an_empty_retained_config():
    cfg = config("hrvd", "homeassistant", StrapConfig("H10 Garage"))
    gone = removal_messages(["H10 Garage", "Verity", "old_strap"], cfg)
    assert gone == [
        DiscoveryMessage("homeassistant/device/hrvd/strap_old_strap/config", ""),
        DiscoveryMessage("homeassistant/device/hrvd/strap_verity/config", ""),
    ]
    assert removal_messages(["h10_garage"], cfg) == []


def test_stale_discovery_topics_are_this_nodes_unconfigured_devices_only():
    cfg = config("hrvd", "homeassistant", StrapConfig("H10 Garage"))
    retained = [
        "homeassistant/device/hrvd/strap_h10_garage/config",  # configured
        "homeassistant/device/hrvd/athlete/config",  # configured
        "homeassistant/device/hrvd/strap_verity/config",  # taken out of the config
        "homeassistant/device/hrvd/strap_old/config",  # taken out of the config
        "homeassistant/device/garage_hrvd/strap_verity/config",  # another daemon
        "homeassistant/device/hrvd_other/config",  # another program
        "homeassistant/sensor/hrvd/strap_old/config",  # not device discovery
        "homeassistant/device/hrvd/strap_old/extra/config",  # not a discovery topic
        "hrvd/h10_garage/state",
    ]
    assert stale_discovery_topics(retained, cfg) == [
        "homeassistant/device/hrvd/strap_old/config",
        "homeassistant/device/hrvd/strap_verity/config",
    ]
    for stale in stale_discovery_topics(retained, cfg):
        assert stale not in {m.topic for m in discovery_messages(cfg, VERSION)}


def test_two_daemons_with_different_base_topics_share_no_id_or_topic():
    a, b = config("hrvd"), config("garage/hrvd")

    def used(cfg: Config) -> tuple[set[str], set[str], set[str]]:
        ids = {c["unique_id"] for _, _, c in components(cfg)}
        devices = {d for p in payloads(cfg).values() for d in p["device"]["identifiers"]}
        state = {c[o] for _, _, c in components(cfg) for o in TOPIC_OPTIONS if o in c}
        return ids | devices, set(payloads(cfg)), state

    for mine, theirs in zip(used(a), used(b), strict=True):
        assert not mine & theirs
    assert stale_discovery_topics(payloads(b), a) == []


def test_the_discovery_prefix_is_configurable():
    cfg = config("hrvd", "ha")
    assert all(t.startswith("ha/device/hrvd/") for t in payloads(cfg))
    assert removal_messages(["x"], cfg)[0].topic == "ha/device/hrvd/strap_x/config"


@pytest.mark.parametrize("module", ["discovery", "entities", "topics", "dashboard"])
def test_the_module_is_sans_io(module):
    source = Path(discovery.__file__).with_name(f"{module}.py").read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"asyncio", "aiomqtt", "paho", "socket", "time", "datetime"}


def test_the_signal_quality_sensor_offers_exactly_the_verdict_words():
    from hrvd.hrv.quality import Level  # noqa: PLC0415 - discovery itself must not need numpy

    assert list(QUALITY_LEVELS) == [level.value for level in Level]
