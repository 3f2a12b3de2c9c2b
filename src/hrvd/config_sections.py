"""Typed reads of the config's TOML tables, each failure a ConfigError naming the key.

One function a section (``[mqtt]``, ``[ride]``, ``[morning]``, ``[store]``); the athletes
and straps, which refer to each other, are in :mod:`hrvd.config_athletes`.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from hrvd.coach.alpha1 import ALPHA1_LIMIT
from hrvd.config_model import MorningConfig, MqttConfig, RideConfig, StoreConfig
from hrvd.errors import ConfigError

MAX_ARTIFACT_PCT = RideConfig().alpha1_max_artifact_pct
KEEP_RAW_DAYS = StoreConfig().keep_raw_days
MQTT_TOPIC_MAX_BYTES = 65_535
"""A topic's UTF-8 length limit (MQTT 3.1.1 section 1.5.3, a two-byte length prefix)."""
RIDE_KEYS = frozenset(f.name for f in fields(RideConfig))
"""The keys of ``[ride]`` and ``[athlete.ride]``: the dataclass's fields, so the two never drift."""
MORNING_KEYS = frozenset(f.name for f in fields(MorningConfig))
"""The keys of ``[morning]`` and ``[athlete.morning]``, likewise."""


class Section:
    """Typed reads from one TOML table, each failure a ConfigError naming the key."""

    def __init__(self, path: Path, name: str, table: object) -> None:
        if not isinstance(table, dict):
            raise ConfigError(path, name, f"expected a table, got {table!r}")
        self.path, self.name, self.table = path, name, dict(table)

    def fail(self, key: str, message: str) -> ConfigError:
        """The error for ``key`` of this table."""
        return ConfigError(self.path, f"{self.name}.{key}", message)

    def text(self, key: str, default: str | None, what: str) -> str | None:
        """A string, or the default."""
        value = self.table.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.fail(key, f"{value!r} is not {what}")
        return value

    def number(self, key: str, default: int | None, what: str) -> int | None:
        """A whole number, or the default."""
        value = self.table.get(key, default)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise self.fail(key, f"{value!r} is not {what}")
        return value

    def seconds(
        self, key: str, default: float, *, low: float, high: float, unit: str = "s"
    ) -> float:
        """A number within [low, high] of ``unit`` (s, min, bpm; "" for none)."""
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"{value!r} is not a number" + (f" ({unit})" if unit else ""))
        if not low <= value <= high:
            raise self.fail(key, f"{value} is not within {low:g}-{high:g} {unit}".rstrip())
        return float(value)

    def flag(self, key: str, *, default: bool) -> bool:
        """A boolean, or the default."""
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"{value!r} is not true or false")
        return value

    def bpm(self, key: str) -> int | None:
        """A heart rate within 25-250 bpm, or None."""
        value = self.number(key, None, "a whole number of beats per minute")
        if value is not None and not 25 <= value <= 250:
            raise self.fail(key, f"{value} is not within 25-250 bpm")
        return value

    def unknown(self, known: set[str] | frozenset[str]) -> None:
        """Refuse a key not in ``known``."""
        extra = sorted(set(self.table) - known)
        if extra:
            raise ConfigError(self.path, f"{self.name}.{extra[0]}", "is not a known key")


def mqtt_section(sec: Section) -> MqttConfig:
    """``[mqtt]``."""
    sec.unknown(
        {
            "host",
            "port",
            "base_topic",
            "discovery_prefix",
            "username",
            "password_file",
            "tls_ca_file",
            "tls_cert_file",
            "tls_key_file",
            "client_id",
        }
    )
    mqtt = MqttConfig(
        host=sec.text("host", "localhost", "a host name") or "localhost",
        port=sec.number("port", 1883, "a port number") or 0,
        base_topic=_topic(sec, "base_topic", "hrvd"),
        discovery_prefix=_topic(sec, "discovery_prefix", "homeassistant"),
        username=sec.text("username", None, "a user name"),
        password_file=_opt_path(sec.text("password_file", None, "a file path")),
        tls_ca_file=_opt_path(sec.text("tls_ca_file", None, "a file path")),
        tls_cert_file=_opt_path(sec.text("tls_cert_file", None, "a file path")),
        tls_key_file=_opt_path(sec.text("tls_key_file", None, "a file path")),
        client_id=sec.text("client_id", None, "a client id"),
    )
    if not 0 < mqtt.port < 65536:
        raise sec.fail("port", f"{mqtt.port} is not within 1-65535")
    if (mqtt.tls_cert_file is None) != (mqtt.tls_key_file is None):
        raise sec.fail("tls_cert_file", "needs tls_key_file too (and the reverse)")
    return mqtt


def store_section(sec: Section) -> StoreConfig:
    """``[store]``."""
    sec.unknown({"path", "keep_raw_days"})
    default_store = str(StoreConfig().path)
    keep = sec.number("keep_raw_days", KEEP_RAW_DAYS, "a number of days") or 0
    if not 7 <= keep <= 36500:  # a week at least: the baseline looks back that far
        raise sec.fail("keep_raw_days", f"{keep} is not within 7-36500 days")
    return StoreConfig(
        Path(sec.text("path", default_store, "a file path") or default_store), keep_raw_days=keep
    )


def morning_section(sec: Section) -> MorningConfig:
    """``[morning]``, or an athlete's ``[athlete.morning]`` merged over it."""
    sec.unknown(MORNING_KEYS)
    posture = sec.text("posture", "lying", '"lying", "sitting" or "standing"') or "lying"
    if posture not in {"lying", "sitting", "standing"}:
        raise sec.fail("posture", f'{posture!r} is not "lying", "sitting" or "standing"')
    window = sec.text("window", "05:00-10:00", 'a window like "05:00-10:00"') or ""
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", window):
        raise sec.fail("window", f'{window!r} is not a window like "05:00-10:00"')
    return MorningConfig(
        stabilise_s=sec.seconds("stabilise_s", 60.0, low=0.0, high=300.0),
        measure_s=sec.seconds("measure_s", 120.0, low=60.0, high=300.0),
        posture=posture,
        auto_start=sec.flag("auto_start", default=False),
        window=window,
    )


def ride_section(sec: Section) -> RideConfig:
    """``[ride]``, or an athlete's ``[athlete.ride]`` merged over it."""
    sec.unknown(RIDE_KEYS)
    target = sec.seconds("target_min", 45.0, low=30.0, high=60.0, unit="min")
    warmup = sec.seconds("warmup_min", 15.0, low=5.0, high=30.0, unit="min")
    if warmup >= target:
        raise sec.fail("warmup_min", f"{warmup:g} is not shorter than target_min {target:g}")
    return RideConfig(
        ceiling_bpm=sec.bpm("ceiling_bpm"),
        sustain_s=sec.seconds("sustain_s", 30.0, low=5.0, high=300.0),
        hysteresis_bpm=sec.seconds("hysteresis_bpm", 3.0, low=0.0, high=20.0, unit="bpm"),
        warmup_min=warmup,
        target_min=target,
        auto_start=sec.flag("auto_start", default=False),
        # 0.5 is the second threshold, no recovery limit; above 1.0 is easy exercise.
        alpha1_limit=sec.seconds("alpha1_limit", ALPHA1_LIMIT, low=0.5, high=1.0, unit=""),
        alpha1_min_hr_bpm=sec.bpm("alpha1_min_hr_bpm"),
        # HRVT barely moves up to 6 % (Rogers & Gronwald 2022); 10 % is far past trust.
        alpha1_max_artifact_pct=sec.seconds(
            "alpha1_max_artifact_pct", MAX_ARTIFACT_PCT, low=0.0, high=10.0, unit="%"
        ),
    )


def _topic(sec: Section, key: str, default: str) -> str:
    """A topic prefix the daemon publishes under: levels joined by ``/``, no wildcards.

    MQTT 3.1.1 section 4.7: ``+`` and ``#`` are wildcards, valid only in subscriptions, and
    NUL is never allowed; a topic starting with ``$`` is the broker's own (``$SYS``). An
    empty level (``a//b``, a leading or trailing ``/``) is legal but never what was meant.
    """
    expected = 'a topic like "hrvd" or "home/hrvd" (no "+", "#", NUL or empty level)'
    value = sec.text(key, default, expected)
    if value is None or any(c in value for c in "+#\0") or "" in value.split("/"):
        raise sec.fail(key, f"{value!r} is not {expected}")
    if value.startswith("$"):
        raise sec.fail(key, f"{value!r} starts with $, kept for the broker's own topics")
    if len(value.encode()) > MQTT_TOPIC_MAX_BYTES:
        raise sec.fail(key, f"is {len(value.encode())} bytes long, over MQTT's 65535")
    return value


def _opt_path(value: str | None) -> Path | None:
    return None if value is None else Path(value)
