"""The one TOML config file, loaded into frozen dataclasses and validated once at start.

This is the skeleton the daemon builds on: the sections and keys below are fixed names
that other tools write. Every error names the file, the key, the bad value and what was
expected (:class:`~hrvd.errors.ConfigError`). The values are in :mod:`hrvd.config_model`,
the sections' reading in :mod:`hrvd.config_sections` and :mod:`hrvd.config_athletes`,
the writing in :mod:`hrvd.config_edit`; every name is importable from here.
"""

from __future__ import annotations

import os
import tomllib
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
    return Config(
        source=path,
        athlete=athletes[0],
        athletes=athletes,
        straps=straps,
        mqtt=mqtt,
        ride=ride,
        morning=morning,
        store=store,
    )


def effective_config(config: Config) -> str:
    """The config as TOML with every default filled in (see :mod:`hrvd.config_edit`)."""
    from hrvd.config_edit import effective_config as write  # noqa: PLC0415 - tomlkit when used

    return write(config)
