"""The one TOML config file, loaded into frozen dataclasses and validated once at start.

This is the skeleton the daemon builds on: the sections and keys below are fixed names
that other tools write. Every error names the file, the key, the bad value and what was
expected (:class:`~hrvd.errors.ConfigError`). The values are in :mod:`hrvd.config_model`,
the sections' reading in :mod:`hrvd.config_sections` and :mod:`hrvd.config_athletes`;
every name is importable from here.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from hrvd.config_athletes import parse_athletes, parse_straps
from hrvd.config_model import DEFAULT_ATHLETE as DEFAULT_ATHLETE  # noqa: PLC0414
from hrvd.config_model import ROLES as ROLES  # noqa: PLC0414
from hrvd.config_model import AthleteConfig as AthleteConfig  # noqa: PLC0414
from hrvd.config_model import Config as Config  # noqa: PLC0414
from hrvd.config_model import MorningConfig as MorningConfig  # noqa: PLC0414
from hrvd.config_model import MqttConfig as MqttConfig  # noqa: PLC0414
from hrvd.config_model import RideConfig as RideConfig  # noqa: PLC0414
from hrvd.config_model import StoreConfig as StoreConfig  # noqa: PLC0414
from hrvd.config_model import StrapConfig as StrapConfig  # noqa: PLC0414
from hrvd.config_model import slug as slug  # noqa: PLC0414
from hrvd.config_sections import KEEP_RAW_DAYS as KEEP_RAW_DAYS  # noqa: PLC0414
from hrvd.config_sections import MAX_ARTIFACT_PCT as MAX_ARTIFACT_PCT  # noqa: PLC0414
from hrvd.config_sections import (
    Section,
    morning_section,
    mqtt_section,
    ride_section,
    store_section,
)
from hrvd.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

    import tomlkit.items

CONFIG_ENV = "HRVD_CONFIG"
CONFIG_NAME = "hrvd.toml"
SECTIONS = frozenset({"athlete", "strap", "mqtt", "store", "ride", "morning"})


def find_config(explicit: str | None) -> Path:
    """The config file to use.

    ``--config``, else ``$HRVD_CONFIG``, else ``hrvd.toml`` in ``$XDG_CONFIG_HOME/hrvd/``
    (default ``~/.config/hrvd/``), then in ``/etc/hrvd/``.

    Raises:
        ConfigError: none of them exists.
    """
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    candidates = [xdg / "hrvd" / CONFIG_NAME, Path("/etc/hrvd") / CONFIG_NAME]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise ConfigError(
        CONFIG_NAME, None, f"no config found (tried --config, ${CONFIG_ENV}, {tried})"
    )


def load_config(path: Path) -> Config:
    """Read and validate a config file.

    Raises:
        ConfigError: the file is missing, is not TOML, or holds an invalid value.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, None, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"is not valid TOML: {exc}") from None
    return parse_config(data, path)


def parse_config(data: Mapping[str, object], path: Path) -> Config:
    """Validate the parsed TOML of ``path``."""
    for key in data:
        if key not in SECTIONS:
            raise ConfigError(path, key, "is not a known section")
    mqtt = mqtt_section(Section(path, "mqtt", data.get("mqtt", {})))
    ride = ride_section(Section(path, "ride", data.get("ride", {})))
    morning = morning_section(Section(path, "morning", data.get("morning", {})))
    store = store_section(Section(path, "store", data.get("store", {})))
    athletes = parse_athletes(path, data)
    straps = parse_straps(path, data.get("strap", []), athletes)
    return Config(source=path, athlete=athletes[0], athletes=athletes, straps=straps,
                  mqtt=mqtt, ride=ride, morning=morning, store=store)  # fmt: skip


def effective_config(config: Config) -> str:
    """The config as TOML with every default filled in.

    The password itself never appears: a comment says where it comes from. A config of
    one athlete gives one ``[athlete]`` table, as it was written; a household one
    ``[[athlete]]`` table each.
    """
    import tomlkit  # noqa: PLC0415 - only `config check` writes TOML

    doc = tomlkit.document()
    mqtt = _table(asdict(config.mqtt))
    if config.mqtt.password_file:
        mqtt.add(tomlkit.comment(f"password: read from {config.mqtt.password_file} (not shown)"))
    elif os.environ.get("HRVD_MQTT_PASSWORD"):
        mqtt.add(tomlkit.comment("password: from $HRVD_MQTT_PASSWORD (not shown)"))
    doc.add("mqtt", mqtt)
    straps = tomlkit.aot()
    for strap in config.straps:
        values = asdict(strap)
        if not config.household:
            del values["athlete"]  # every strap is the one athlete's
        straps.append(_table(values))
    if config.straps:
        doc.add("strap", straps)
    if config.household:
        athletes = tomlkit.aot()
        for athlete in config.athletes:
            athletes.append(_athlete_table(config, athlete))
        doc.add("athlete", athletes)
    else:
        doc.add("athlete", _athlete_table(config, config.athlete))
    ride = _table(asdict(config.ride))
    if not config.household:
        _derived_ride(ride, config)
    doc.add("ride", ride)
    doc.add("morning", _table(asdict(config.morning)))
    doc.add("store", _table(asdict(config.store)))
    return tomlkit.dumps(doc)


def _athlete_table(config: Config, athlete: AthleteConfig) -> tomlkit.items.Table:
    values = asdict(athlete)
    own = {key: values.pop(key) for key in ("ride", "morning")}
    name = values.pop("name")
    if config.household or name != DEFAULT_ATHLETE:
        values = {"name": name, **values}
    table = _table(values)
    if config.household:  # the shared [ride] is no one's: each athlete's own numbers here
        _derived_ride(table, config.for_athlete(athlete.name), "ride.")
    if own["ride"] is not None:
        table.add("ride", _table(own["ride"]))
    if own["morning"] is not None:
        table.add("morning", _table(own["morning"]))
    return table


def _derived_ride(table: tomlkit.items.Table, config: Config, prefix: str = "") -> None:
    """Comments giving the ride defaults that come from the athlete, as they are now."""
    import tomlkit  # noqa: PLC0415

    if config.ride.ceiling_bpm is None:
        try:
            ceiling = config.athlete.heart_rate_zones().recovery_ceiling_bpm
        except ValueError:
            text = f"{prefix}ceiling_bpm: none yet (needs [athlete] hr_max or lthr)"
        else:
            text = f"{prefix}ceiling_bpm: {ceiling:.0f} (the top of zone 1)"
        table.add(tomlkit.comment(text))
    if config.ride.alpha1_min_hr_bpm is None:
        floor = config.alpha1().min_hr_bpm
        table.add(tomlkit.comment(f"{prefix}alpha1_min_hr_bpm: {floor:.0f} (derived)"))


def _table(values: Mapping[str, object]) -> tomlkit.items.Table:
    """A TOML table of the values that are set; enums and paths as their text."""
    import tomlkit  # noqa: PLC0415

    table = tomlkit.table()
    for key, value in values.items():
        if value is not None:
            table.add(key, _plain(value))
    return table


def _plain(value: object) -> object:
    """A path or an enum as its text, for the TOML writer."""
    if isinstance(value, Path):
        return str(value)
    return value.value if isinstance(value, Enum) else value
