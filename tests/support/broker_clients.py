"""A subscriber on the test broker and hrvd's MQTT config for it, for the MQTT tests.

Shared by tests/publish/test_mqtt.py and test_mqtt_auth.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.subscriber import Subscriber
from hrvd.config import MqttConfig

if TYPE_CHECKING:
    from harness.mosquitto import Broker


WAIT_S = 15.0


def subscriber(broker: Broker, *topics: str, client_id: str | None = None, **options) -> Subscriber:
    """Subscribed when entered; with a ``client_id``, a persistent session."""
    return Subscriber(broker.port, topics, client_id=client_id, **options)


def cfg(broker: Broker, **kwargs) -> MqttConfig:
    return MqttConfig(host="127.0.0.1", port=broker.port, **kwargs)
