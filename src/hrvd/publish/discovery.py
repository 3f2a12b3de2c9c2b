"""Home Assistant MQTT discovery payloads, pure: the config in, retained messages out.

One device-based discovery message per strap and one per athlete, on
``<discovery_prefix>/device/<node>/<object>/config``. ``<node>`` is the slug of the base
topic, so two daemons with different base topics share no discovery topic, device or
``unique_id``. Unique ids are ``<node>-<object>-<key>``: slugs hold no ``-``, so two entities
never share one, and they stay the same while the config does.

Entities follow Home Assistant's MQTT discovery documentation, with full option names. Live
entities need both ``<base>/status`` and the strap's availability (``availability_mode:
all``) and expire a little after the strap's stall timeout, so a dashboard never shows a stale
pulse. The link state, the alert and the ride need only the daemon: the link must still say
``disconnected`` when the strap is gone, and a short drop-out must not flap the alert. The
athlete device needs only the daemon.

In a household (docs/household.md) each athlete's device is ``athlete_<slug>``, named
after them, each strap's device hangs below its athlete's (``via_device``), and every
topic is that athlete's (:meth:`hrvd.config.Config.topic_base`); with one athlete the
devices, ids and topics are those hrvd always had.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hrvd.config import slug
from hrvd.publish.entities import (
    ALPHA1_UNIT,
    LINK_STATES,
    LIVE_EXPIRE_MARGIN_S,
    LN_MS,
    MORNING_STATES,
    QUALITY_LEVELS,
    READINESS_STATUSES,
    RECOMMENDATIONS,
    RIDE_PHASES,
    RIDE_ROLES,
    SCORE_UNIT,
    Component,
    athlete_components,
    strap_components,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from hrvd.config import AthleteConfig, Config

__all__ = [
    "ALPHA1_UNIT",
    "ATHLETE_OBJECT",
    "LINK_STATES",
    "LIVE_EXPIRE_MARGIN_S",
    "LN_MS",
    "MORNING_STATES",
    "QUALITY_LEVELS",
    "READINESS_STATUSES",
    "RECOMMENDATIONS",
    "RIDE_PHASES",
    "RIDE_ROLES",
    "SCORE_UNIT",
    "STRAP_OBJECT_PREFIX",
    "Component",
    "DiscoveryMessage",
    "athlete_device_name",
    "athlete_object",
    "config_topic",
    "discovery_messages",
    "entity_id",
    "node_id",
    "removal_messages",
    "stale_discovery_topics",
    "strap_object",
]

ATHLETE_OBJECT = "athlete"
STRAP_OBJECT_PREFIX = "strap_"
_ENTITY_ID_OUTSIDE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class DiscoveryMessage:
    """One discovery config: ``payload`` is compact JSON, or empty to remove the device.

    The caller publishes it retained (QoS 1), and again when Home Assistant says ``online``.
    """

    topic: str
    payload: str


def node_id(config: Config) -> str:
    """This daemon's id in discovery topics and unique ids: the slug of its base topic."""
    return slug(config.mqtt.base_topic)


def strap_object(strap: str) -> str:
    """The discovery object id of a strap (its name or slug)."""
    return f"{STRAP_OBJECT_PREFIX}{slug(strap)}"


def athlete_object(config: Config, athlete: AthleteConfig) -> str:
    """The discovery object id of an athlete: ``athlete``, in a household ``athlete_<slug>``."""
    return f"{ATHLETE_OBJECT}_{athlete.slug}" if config.household else ATHLETE_OBJECT


def athlete_device_name(config: Config, athlete: AthleteConfig) -> str:
    """``hrvd athlete``, in a household ``hrvd <name>``."""
    return f"hrvd {athlete.name}" if config.household else "hrvd athlete"


def entity_id(component: Component, device_name: str) -> str:
    """The entity id Home Assistant gives a discovered entity: ``<platform>.<object id>``.

    Without an object id Home Assistant slugifies the device name and the entity name
    together; ``default_entity_id`` (Home Assistant 2025.10 and later; older versions drop
    the key) pins that same id, so ids are predictable (``hrvd dashboard`` relies on them)
    and an existing installation keeps the ids it has.
    """
    text = f"{device_name} {component['name']}"
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    object_id = _ENTITY_ID_OUTSIDE.sub("_", ascii_text.lower()).strip("_")
    return f"{component['platform']}.{object_id}"


def config_topic(config: Config, obj: str) -> str:
    """The discovery topic of one device of this daemon."""
    return f"{config.mqtt.discovery_prefix}/device/{node_id(config)}/{obj}/config"


def discovery_messages(config: Config, version: str) -> list[DiscoveryMessage]:
    """The discovery configs of this daemon: one per strap, then one per athlete."""
    node = node_id(config)
    devices = []
    for s in config.straps:
        owner = config.athlete_of(s)
        via = f"{node}-{athlete_object(config, owner)}" if config.household else None
        devices.append(
            (
                strap_object(s.name),
                f"hrvd {s.name}",
                "Heart-rate strap",
                strap_components(config, s),
                via,
            )
        )
    devices.extend(
        (
            athlete_object(config, a),
            athlete_device_name(config, a),
            "Readiness",
            athlete_components(config, a),
            None,
        )
        for a in config.athletes
    )
    messages = []
    for obj, name, model, components, via in devices:
        for key, component in components.items():
            component["unique_id"] = f"{node}-{obj}-{key}"
            component["default_entity_id"] = entity_id(component, name)
        device = {
            "identifiers": [f"{node}-{obj}"],
            "name": name,
            "manufacturer": "hrvd",
            "model": model,
            "sw_version": version,
        }
        if via is not None:
            device["via_device"] = via
        payload = {
            "device": device,
            "origin": {"name": "hrvd", "sw_version": version},
            "components": components,
        }
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        messages.append(DiscoveryMessage(config_topic(config, obj), text))
    return messages


def removal_messages(old_straps: Iterable[str], config: Config) -> list[DiscoveryMessage]:
    """Empty configs that remove the devices of straps (names or slugs) no longer configured."""
    gone = sorted({slug(s) for s in old_straps} - {s.slug for s in config.straps})
    return [DiscoveryMessage(config_topic(config, strap_object(s)), "") for s in gone]


def stale_discovery_topics(retained_topics: Iterable[str], config: Config) -> list[str]:
    """Discovery topics seen retained that are this daemon's but no configured device's.

    The publisher clears each with an empty retained payload. Topics of other daemons (other
    nodes) and of other programs are left alone.
    """
    prefix = f"{config.mqtt.discovery_prefix}/device/{node_id(config)}/"
    objects = [strap_object(s.name) for s in config.straps]
    objects += [athlete_object(config, a) for a in config.athletes]
    wanted = {config_topic(config, obj) for obj in objects}
    depth = prefix.count("/") + 1
    ours = {t for t in retained_topics if t.startswith(prefix) and t.endswith("/config")}
    return sorted(t for t in ours - wanted if t.count("/") == depth)
