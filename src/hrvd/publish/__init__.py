"""Publishing to MQTT and Home Assistant."""
