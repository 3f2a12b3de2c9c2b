"""Home Assistant discovery: the contract every payload keeps (devices, ids, topics, templates)."""

import json
import re

from hrvd.config import StrapConfig
from hrvd.publish.discovery import discovery_messages
from support.discovery_payloads import (
    CONTRACT_KEYS,
    HA_ROOT_KEYS,
    HA_TOPIC,
    TOPIC_OPTIONS,
    VERSION,
    by_key,
    components,
    config,
    contract_topics,
    payloads,
)


def test_there_is_one_device_per_strap_and_one_for_the_athlete():
    cfg = config()
    assert list(payloads(cfg)) == [
        "homeassistant/device/hrvd/strap_h10_garage/config",
        "homeassistant/device/hrvd/strap_verity/config",
        "homeassistant/device/hrvd/athlete/config",
    ]
    names = [p["device"]["name"] for p in payloads(cfg).values()]
    assert names == ["hrvd H10 Garage", "hrvd Verity", "hrvd athlete"]


def test_every_payload_is_compact_json_home_assistant_accepts():
    for m in discovery_messages(config(), VERSION):
        payload = json.loads(m.payload)
        assert m.payload == json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        assert set(payload) <= HA_ROOT_KEYS
        assert payload["device"]["identifiers"]
        assert payload["device"]["sw_version"] == VERSION
        assert payload["origin"] == {"name": "hrvd", "sw_version": VERSION}
        assert payload["components"]
        match = HA_TOPIC.fullmatch(m.topic.removeprefix("homeassistant/"))
        assert match
        assert match["component"] == "device"


def test_every_component_has_a_platform_a_name_and_a_unique_id():
    for _, key, c in components(config()):
        assert c["platform"] in {"sensor", "binary_sensor", "switch", "button"}, key
        assert c["name"]
        assert c["unique_id"]
        assert " " not in key


def test_unique_ids_are_unique():
    ids = [c["unique_id"] for _, _, c in components(config())]
    assert len(ids) == len(set(ids))


def test_unique_ids_are_stable():
    assert discovery_messages(config(), VERSION) == discovery_messages(config(), VERSION)
    garage = by_key(config(), "strap_h10_garage")
    assert garage["heart_rate"]["unique_id"] == "hrvd-strap_h10_garage-heart_rate"
    assert by_key(config(), "athlete")["readiness"]["unique_id"] == "hrvd-athlete-readiness"


def test_unique_ids_do_not_depend_on_the_version_or_the_other_straps():
    alone = config("hrvd", "homeassistant", StrapConfig("H10 Garage"))
    ids_alone = {c["unique_id"] for _, _, c in components(alone)}
    ids_newer = {
        c["unique_id"]
        for m in discovery_messages(config(), "9.9")
        for c in json.loads(m.payload)["components"].values()
    }
    assert ids_alone <= ids_newer


def test_a_strap_called_athlete_does_not_collide_with_the_athlete_device():
    cfg = config("hrvd", "homeassistant", StrapConfig("Athlete"))
    assert len(payloads(cfg)) == 2
    ids = [c["unique_id"] for _, _, c in components(cfg)]
    assert len(ids) == len(set(ids))


def test_every_topic_an_entity_uses_is_one_of_the_contract():
    cfg = config()
    contract = contract_topics(cfg)
    for _, key, c in components(cfg):
        used = [c[o] for o in TOPIC_OPTIONS if o in c] + [a["topic"] for a in c["availability"]]
        for topic in used:
            assert topic in contract, (key, topic)
        if "command_topic" in c:
            assert contract[c["command_topic"]].startswith("cmd_"), key


def test_every_template_reads_a_key_the_contract_lists_for_its_topic():
    cfg = config()
    contract = contract_topics(cfg)
    for _, key, c in components(cfg):
        for option, topic_option in (
            ("value_template", "state_topic"),
            ("json_attributes_template", "json_attributes_topic"),
        ):
            if option not in c:
                continue
            allowed = CONTRACT_KEYS[contract[c[topic_option]]]
            used = set(re.findall(r"value_json\.(\w+)", c[option]))
            assert used, (key, c[option])
            assert used <= allowed, (key, used - allowed)
            assert "value_json[" not in c[option]


def test_the_link_state_is_read_bare_and_the_state_json_is_never_read_bare():
    cfg = config()
    contract = contract_topics(cfg)
    for _, key, c in components(cfg):
        if "state_topic" in c and contract[c["state_topic"]] != "link":
            assert "value_template" in c, key
    assert "value_template" not in by_key(cfg, "strap_h10_garage")["link"]
