"""The athletes of a config and the straps they wear: one ``[athlete]``, or a household.

One ``[athlete]`` table is one athlete, named :data:`~hrvd.config_model.DEFAULT_ATHLETE`
unless it says otherwise, and every strap is theirs. ``[[athlete]]`` tables are a
household: each needs a ``name`` (unique, also as a slug) as soon as there are two, and
each strap then says whose it is (``athlete = "<name>"``). An athlete may carry its own
``[athlete.ride]`` and ``[athlete.morning]`` keys, read over the shared sections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hrvd.ble.policy import STALL_TIMEOUT_S
from hrvd.config_model import DEFAULT_ATHLETE, ROLES, AthleteConfig, StrapConfig
from hrvd.config_sections import Section, morning_section, ride_section
from hrvd.errors import ConfigError
from hrvd.hrv.zones import ZoneModel

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

RESERVED_SLUGS = frozenset({"status", "cmd"})
"""Topic levels the daemon itself uses right below the base topic (``hrvd/status``)."""
_ATHLETE_KEYS = {
    "name",
    "hr_max",
    "hr_rest",
    "lthr",
    "zones",
    "timezone",
    "language",
    "ceiling_follows_hrvt1",
    "hrvt1_margin_bpm",
    "ride",
    "morning",
}


def parse_athletes(path: Path, data: Mapping[str, object]) -> tuple[AthleteConfig, ...]:
    """The ``[athlete]`` table or the ``[[athlete]]`` tables (none: one default athlete)."""
    raw = data.get("athlete", {})
    if isinstance(raw, dict):
        sections = [Section(path, "athlete", raw)]
    elif isinstance(raw, list) and raw:
        sections = [Section(path, f"athlete[{i}]", table) for i, table in enumerate(raw)]
    else:
        raise ConfigError(
            path, "athlete", f"expected an [athlete] or [[athlete]] tables, got {raw!r}"
        )
    shared = {k: data.get(k, {}) for k in ("ride", "morning")}
    athletes: list[AthleteConfig] = []
    seen: dict[str, str] = {}
    for sec in sections:
        athlete = _athlete(sec, shared, named=len(sections) > 1)
        if athlete.slug in seen:
            clash = f"{athlete.name!r} has the slug {athlete.slug!r} of {seen[athlete.slug]!r}"
            raise sec.fail("name", clash)
        if len(sections) > 1 and athlete.slug in RESERVED_SLUGS:
            raise sec.fail("name", f"{athlete.name!r} is a topic hrvd keeps for itself")
        seen[athlete.slug] = athlete.name
        athletes.append(athlete)
    return tuple(athletes)


def parse_straps(
    path: Path, tables: object, athletes: tuple[AthleteConfig, ...]
) -> tuple[StrapConfig, ...]:
    """The ``[[strap]]`` tables, each given to its athlete."""
    if not isinstance(tables, list):
        raise ConfigError(path, "strap", "expected [[strap]] tables")
    names = ", ".join(repr(a.name) for a in athletes)
    straps: list[StrapConfig] = []
    seen: dict[str, str] = {}
    for i, table in enumerate(tables):
        sec = Section(path, f"strap[{i}]", table)
        sec.unknown({"name", "address", "role", "stall_timeout_s", "athlete"})
        name = sec.text("name", "", "a name")
        if not name:
            raise sec.fail("name", "is missing (every strap needs a name)")
        role = sec.text("role", "both", '"ride", "morning" or "both"') or "both"
        if role not in ROLES:
            raise sec.fail("role", f'{role!r} is not "ride", "morning" or "both"')
        stall = sec.seconds("stall_timeout_s", STALL_TIMEOUT_S, low=2.0, high=120.0)
        wearer = sec.text("athlete", None, f"the name of an athlete ({names})")
        if wearer is None and len(athletes) > 1:
            raise sec.fail("athlete", f"is missing (with several athletes, say whose: {names})")
        owner = athletes[0] if wearer is None else _named(athletes, wearer)
        if owner is None:
            raise sec.fail("athlete", f"{wearer!r} is not an athlete of this file ({names})")
        strap = StrapConfig(
            name, sec.text("address", None, "a BLE address"), role, stall, athlete=owner.name
        )
        if strap.slug in seen:
            clash = f"{name!r} has the topic slug {strap.slug!r} of {seen[strap.slug]!r}"
            raise sec.fail("name", clash)
        seen[strap.slug] = name
        straps.append(strap)
    return tuple(straps)


def _named(athletes: tuple[AthleteConfig, ...], name: str) -> AthleteConfig | None:
    return next((a for a in athletes if name in {a.name, a.slug}), None)


def _athlete(sec: Section, shared: Mapping[str, object], *, named: bool) -> AthleteConfig:
    sec.unknown(_ATHLETE_KEYS)
    name = sec.text("name", None, "a name")
    if named and name is None:
        raise sec.fail("name", "is missing (with several athletes, each needs a name)")
    if name is not None and not name.strip(" _"):
        raise sec.fail("name", f"{name!r} is not a name")
    zones = sec.text("zones", "hrmax", '"hrmax", "hrr" or "lthr"')
    if zones not in {m.value for m in ZoneModel}:
        raise sec.fail("zones", f'{zones!r} is not "hrmax", "hrr" or "lthr"')
    language = sec.text("language", "en", '"en" or "nl"') or "en"
    if language not in {"en", "nl"}:
        raise sec.fail("language", f'{language!r} is not "en" or "nl"')
    athlete = AthleteConfig(
        hr_max=sec.bpm("hr_max"),
        hr_rest=sec.bpm("hr_rest"),
        lthr=sec.bpm("lthr"),
        zones=ZoneModel(zones),
        timezone=sec.text("timezone", "UTC", "a time zone name") or "UTC",
        language=language,
        ceiling_follows_hrvt1=sec.flag("ceiling_follows_hrvt1", default=False),
        hrvt1_margin_bpm=sec.seconds("hrvt1_margin_bpm", 20.0, low=0.0, high=60.0, unit="bpm"),
        name=DEFAULT_ATHLETE if name is None else name,
        ride=ride_section(_own(sec, "ride", shared)) if "ride" in sec.table else None,
        morning=morning_section(_own(sec, "morning", shared)) if "morning" in sec.table else None,
    )
    try:
        ZoneInfo(athlete.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise sec.fail(
            "timezone", f'{athlete.timezone!r} is not a time zone like "Europe/Brussels"'
        ) from None
    if athlete.hr_max is None and athlete.lthr is None:
        return athlete  # no zones yet: commands that need them say so when they run
    try:
        athlete.heart_rate_zones()
    except ValueError as exc:
        raise sec.fail("zones", str(exc)) from None
    return athlete


def _own(sec: Section, key: str, shared: Mapping[str, object]) -> Section:
    """The athlete's ``[athlete.<key>]`` read over the shared ``[<key>]`` table."""
    own = Section(sec.path, f"{sec.name}.{key}", sec.table[key])
    base = shared.get(key, {})
    return Section(sec.path, own.name, {**(base if isinstance(base, dict) else {}), **own.table})
