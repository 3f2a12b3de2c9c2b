"""Home Assistant discovery payloads of a test config, and the contract they must keep.

Shared by tests/publish/test_discovery.py and test_discovery_entities.py.
"""

import json
import re

from hrvd.config import Config, MqttConfig, StrapConfig
from hrvd.publish import discovery, topics
from hrvd.publish.discovery import discovery_messages

VERSION = "1.2.3"

# The payload keys of each topic, as issue 5's topic contract lists them.
CONTRACT_KEYS = {
    "state": {
        "ts",
        "hr_bpm",
        "rr_ms",
        "rmssd_ms",
        "ln_rmssd",
        "sdnn_ms",
        "dfa_alpha1",
        "artifact_rate",
        "quality",
        "quality_reasons",
        "zone",
        "contact",
        "battery_pct",
    },
    "alert": {"id", "too_hard", "reason", "since", "hr_bpm", "ceiling_bpm", "dfa_alpha1"},
    "ride": {"id", "active", "phase", "elapsed_s", "event", "alpha1_guard"},
    "morning": {"state", "remaining_s", "reason"},
    "readiness": {
        "id",
        "date",
        "score",
        "status",
        "ln_rmssd",
        "ln_rmssd_7d",
        "cv_7d_pct",
        "cv_7d_prev_pct",
        "ln_rmssd_7d_prev",
        "trend_7d",
        "cv_7d_change_pct",
        "rmssd_ms",
        "resting_hr_bpm",
        "baseline_ln_rmssd",
        "normal_low",
        "normal_high",
        "recommendation",
        "recommendation_text",
        "posture",
        "quality",
    },
    "session": {
        "id",
        "strap",
        "started",
        "ended",
        "hrvt1_bpm",
        "hrvt1_reason",
        "ceiling_bpm",
        "ceiling_source",
        "ceiling_why",
    },
    "thresholds": {
        "id",
        "hrvt1_bpm",
        "n",
        "dates",
        "ceiling_bpm",
        "ceiling_source",
        "ceiling_why",
        "follows_hrvt1",
        "margin_bpm",
    },
    "link": set(),  # a bare string, no JSON
}

# Home Assistant's discovery topic matcher (homeassistant/components/mqtt/discovery.py).
HA_TOPIC = re.compile(
    r"(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)?"
    r"(?P<object_id>[a-zA-Z0-9_-]+)/config"
)
# Keys Home Assistant accepts at the root of a device discovery payload (its schemas.py).
HA_ROOT_KEYS = {
    "device",
    "origin",
    "components",
    "availability",
    "availability_mode",
    "availability_topic",
    "availability_template",
    "payload_available",
    "payload_not_available",
    "state_topic",
    "command_topic",
    "qos",
    "encoding",
}
TOPIC_OPTIONS = ("state_topic", "command_topic", "json_attributes_topic")


def config(base: str = "hrvd", prefix: str = "homeassistant", *straps: StrapConfig) -> Config:
    straps = straps or (
        StrapConfig("H10 Garage", role="both"),
        StrapConfig("Verity", role="morning", stall_timeout_s=20.0),
    )
    return Config(straps=straps, mqtt=MqttConfig(base_topic=base, discovery_prefix=prefix))


def payloads(cfg: Config) -> dict[str, dict]:
    return {m.topic: json.loads(m.payload) for m in discovery_messages(cfg, VERSION)}


def components(cfg: Config) -> list[tuple[str, str, dict]]:
    """(discovery topic, component key, component) of every entity."""
    return [(t, k, c) for t, p in payloads(cfg).items() for k, c in p["components"].items()]


def by_key(cfg: Config, obj: str) -> dict[str, dict]:
    topic = discovery.config_topic(cfg, obj)
    return payloads(cfg)[topic]["components"]


def contract_topics(cfg: Config) -> dict[str, str]:
    """Every topic of topics.py for this config, with its name in the contract."""
    base = cfg.mqtt.base_topic
    named = {
        "status": topics.status(base),
        "morning": topics.morning(base),
        "readiness": topics.readiness(base),
        "thresholds": topics.thresholds(base),
        "cmd_morning": topics.cmd_morning(base),
        "cmd_ride": topics.cmd_ride(base),
    }
    out = {t: name for name, t in named.items()}
    for s in cfg.straps:
        for f in (
            topics.availability,
            topics.link,
            topics.state,
            topics.alert,
            topics.ride,
            topics.session,
        ):
            out[f(base, s.slug)] = f.__name__
    return out
