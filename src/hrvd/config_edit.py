"""The one TOML writer (tomlkit): values for a new config, and an athlete added to one.

Every piece of TOML hrvd writes goes through tomlkit: ``hrvd config check``'s effective
config (:func:`hrvd.config.effective_config`), the values of the file ``hrvd init`` renders
(:func:`toml_value`), and a second athlete added to an existing file (:func:`add_athlete`),
which keeps the file's comments and layout: a config is a file people annotate.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import tomlkit
from tomlkit.items import AoT, Table

from hrvd.config_model import DEFAULT_ATHLETE

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from tomlkit.toml_document import TOMLDocument

    from hrvd.config_model import AthleteConfig, Config


def toml_value(value: str | float | Path) -> str:
    """A TOML literal: a number as is, a text (or path) a basic string with escapes."""
    return tomlkit.item(str(value) if isinstance(value, Path) else value).as_string()


def athlete_names(text: str) -> list[str]:
    """The athletes' names in a config's text, as :mod:`hrvd.config` reads them."""
    doc = tomlkit.parse(text)
    athletes = doc.get("athlete")
    if isinstance(athletes, AoT):
        return [str(t.get("name", DEFAULT_ATHLETE)) for t in athletes.body]
    if isinstance(athletes, Table):
        return [str(athletes.get("name", DEFAULT_ATHLETE))]
    return [DEFAULT_ATHLETE]


def add_athlete(
    text: str,
    athlete: Mapping[str, object],
    *,
    first_name: str,
    straps: Sequence[Mapping[str, object]] = (),
) -> str:
    """The config ``text`` with one more athlete (a ``name`` and their keys) and their straps.

    A single ``[athlete]`` becomes the first ``[[athlete]]``, named ``first_name`` unless it
    has a name, and every strap already there becomes that athlete's (``athlete = ...``):
    they were all theirs. Comments, order and spacing of the rest are kept. The caller
    checks the result with :func:`hrvd.config.parse_config` before writing it.
    """
    doc = tomlkit.parse(text)
    athletes = _as_array(doc, first_name)
    first = str(athletes.body[0].get("name", first_name))
    for strap in _straps(doc):
        if "athlete" not in strap:
            strap["athlete"] = first
    athletes.append(_new_table(athlete))
    for values in straps:
        _strap_array(doc).append(_new_table({**values, "athlete": athlete["name"]}))
    return tomlkit.dumps(doc)


def _as_array(doc: TOMLDocument, first_name: str) -> AoT:
    """The ``[[athlete]]`` tables, made from ``[athlete]`` (or nothing) when needed."""
    current = doc.get("athlete")
    if isinstance(current, AoT):
        if len(current.body) == 1 and "name" not in current.body[0]:
            current.body[0]["name"] = first_name
        return current
    named = tomlkit.table()
    named.add("name", first_name)
    if isinstance(current, Table):
        named.trivia.comment_ws = current.trivia.comment_ws
        named.trivia.comment = current.trivia.comment
        for key, item in current.value.body:
            if key is not None and key.key == "name":
                named["name"] = item
            else:
                named.append(key, item)
    else:
        named.add(tomlkit.nl())
    array = tomlkit.aot()
    array.append(named)
    if current is None:
        doc.add("athlete", array)
    else:
        doc["athlete"] = array
    return array


def _strap_array(doc: TOMLDocument) -> AoT:
    """The ``[[strap]]`` tables, begun when there are none (or only ``strap = []``)."""
    tables = doc.get("strap")
    if isinstance(tables, AoT):
        return tables
    array = tomlkit.aot()
    if tables is None:
        doc.add("strap", array)
    else:
        doc["strap"] = array
    return array


def _straps(doc: TOMLDocument) -> list[Table]:
    tables = doc.get("strap")
    return list(tables.body) if isinstance(tables, AoT) else []


def _new_table(values: Mapping[str, object]) -> Table:
    """A table appended to a file: its values, then a blank line."""
    table = _table(values)
    table.add(tomlkit.nl())
    return table


def effective_config(config: Config) -> str:
    """The config as TOML with every default filled in.

    The password itself never appears: a comment says where it comes from. A config of
    one athlete gives one ``[athlete]`` table, as it was written; a household one
    ``[[athlete]]`` table each.
    """
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
