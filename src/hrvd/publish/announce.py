"""Announce hrvd to Home Assistant through a publisher: discovery, kept and cleaned."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from hrvd import __version__
from hrvd.publish.discovery import discovery_messages, node_id, stale_discovery_topics

if TYPE_CHECKING:
    from hrvd.config import Config
    from hrvd.publish.mqtt import MqttPublisher


def announce(publisher: MqttPublisher, config: Config) -> None:
    """Keep Home Assistant's discovery configs on the broker.

    They are published retained, again after every reconnect and every Home Assistant
    restart; those of straps taken out of the config are cleared on connect.
    """
    for message in discovery_messages(config, __version__):
        publisher.set_retained(message.topic, message.payload)
    pattern = f"{config.mqtt.discovery_prefix}/device/{node_id(config)}/+/config"
    publisher.clear_stale_retained(pattern, partial(_stale, config=config))


def _stale(topics: list[str], *, config: Config) -> list[str]:
    return stale_discovery_topics(topics, config)
