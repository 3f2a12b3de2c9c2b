"""A ready Home Assistant dashboard for the configured straps, pure: the config in, YAML out.

Built-in cards only (tile, gauge, history-graph, statistics-graph, conditional, button,
entities), so it works on a plain Home Assistant. Every entity id is read from the
``default_entity_id`` of hrvd's own discovery payloads, so the dashboard names exactly the
entities discovery creates. ``hrvd dashboard`` prints it; docs/home-assistant.md says where
to paste it.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING

from hrvd.publish.discovery import (
    RIDE_ROLES,
    athlete_object,
    discovery_messages,
    strap_object,
)

if TYPE_CHECKING:
    from hrvd.config import AthleteConfig, Config

Card = dict[str, object]

LIVE_HOURS = 3
"""The history graph's span, h: a recovery ride and a margin either side."""
STATISTICS_DAYS = 60
"""The statistics graph's span, days: the readiness baseline's window (BASELINE_DAYS)."""
READINESS_GREEN_FROM = 50
"""Score 50 is the lower edge of the normal range (coach/readiness.py, SCORE_SHIFT_SD)."""
READINESS_RED_BELOW = 16
"""Score 16 = 100·Φ(-1): one SD below the normal range's lower edge."""
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def entity_ids(config: Config) -> dict[str, dict[str, str]]:
    """``{device object: {component key: entity id}}``, from the discovery payloads."""
    ids: dict[str, dict[str, str]] = {}
    for message in discovery_messages(config, "0"):
        obj = message.topic.rsplit("/", 2)[-2]
        components = json.loads(message.payload)["components"]
        ids[obj] = {key: c["default_entity_id"] for key, c in components.items()}
    return ids


def dashboard(config: Config) -> dict[str, object]:
    """The dashboard's raw configuration: a view per athlete (one: ``hrvd``).

    Each view holds the athlete's cards, then those of each of their straps.
    """
    ids = entity_ids(config)
    views = [_view(config, a, ids) for a in config.athletes]
    return {"title": "hrvd", "views": views}


def _view(config: Config, who: AthleteConfig, ids: dict[str, dict[str, str]]) -> Card:
    """One athlete's view: titled ``hrvd`` alone, their name in a household."""
    athlete = ids[athlete_object(config, who)]
    cards: list[Card] = [
        {
            "type": "gauge",
            "name": "Readiness",
            "entity": athlete["readiness"],
            "min": 0,
            "max": 100,
            "needle": True,
            "severity": {"green": READINESS_GREEN_FROM, "yellow": READINESS_RED_BELOW, "red": 0},
        },
        {
            "type": "entities",
            "title": "This morning",
            "entities": [
                athlete["readiness_status"],
                athlete["recommendation"],
                athlete["morning"],
            ],
        },
        {
            "type": "button",
            "name": "Start morning measurement",
            "icon": "mdi:play",
            "entity": athlete["start_morning"],
            "show_state": False,
            "tap_action": _press(athlete["start_morning"]),
        },
        {
            "type": "statistics-graph",
            "title": "lnRMSSD and its 7-day mean",
            "entities": [athlete["ln_rmssd_morning"], athlete["ln_rmssd_7d"]],
            "stat_types": ["mean"],
            "period": "day",
            "days_to_show": STATISTICS_DAYS,
            "chart_type": "line",
        },
        {
            "type": "statistics-graph",
            "title": "The week: CV of lnRMSSD",
            "entities": [athlete["cv_7d"]],
            "stat_types": ["mean"],
            "period": "day",
            "days_to_show": STATISTICS_DAYS,
            "chart_type": "line",
        },
        {
            "type": "entities",
            "title": "The week",
            "entities": [athlete["ln_rmssd_7d"], athlete["trend_7d"], athlete["cv_7d"]],
        },
    ]
    for strap in config.straps_of(who.name):
        cards.extend(_strap_cards(strap.name, strap.role, ids, athlete))
    title, path = (who.name, f"hrvd-{who.slug}") if config.household else ("hrvd", "hrvd")
    return {"title": title, "path": path, "icon": "mdi:heart-pulse", "cards": cards}


def _strap_cards(
    name: str, role: str, ids: dict[str, dict[str, str]], athlete: dict[str, str]
) -> list[Card]:
    own = ids[strap_object(name)]
    cards: list[Card] = [
        {"type": "tile", "entity": own["heart_rate"], "name": f"{name} heart rate", "color": "red"},
        {"type": "tile", "entity": own["zone"], "name": f"{name} zone"},
    ]
    if role not in RIDE_ROLES:
        return cards
    ceiling = athlete.get("ride_ceiling")
    graphed = [own["heart_rate"], *([ceiling] if ceiling else []), own["dfa_alpha1"]]
    too_hard = own["too_hard"]
    return [
        *cards,
        # Home Assistant draws one chart per unit: heart rate with the ceiling (bpm), alpha1
        # below it (the 0.75 line of docs/thresholds.md is the coach's, not drawn).
        {
            "type": "history-graph",
            "title": f"{name}: heart rate, ceiling and alpha1",
            "hours_to_show": LIVE_HOURS,
            "entities": graphed,
        },
        _when(
            too_hard,
            "on",
            {
                "type": "tile",
                "entity": too_hard,
                "color": "red",
                "name": "Too hard for recovery: ease off",
                "icon": "mdi:heart-off",
            },
        ),
        _when(
            too_hard,
            "off",
            {
                "type": "tile",
                "entity": too_hard,
                "color": "green",
                "name": "Easy enough for recovery",
                "icon": "mdi:heart",
            },
        ),
        {
            "type": "button",
            "entity": own["ride"],
            "name": f"{name} ride",
            "show_state": True,
            "tap_action": {"action": "toggle"},
        },
    ]


def _when(entity: str, state: str, card: Card) -> Card:
    return {
        "type": "conditional",
        "conditions": [{"condition": "state", "entity": entity, "state": state}],
        "card": card,
    }


def _press(button: str) -> Card:
    return {
        "action": "perform-action",
        "perform_action": "button.press",
        "target": {"entity_id": button},
    }


def to_yaml(value: object, indent: int = 0) -> str:
    """Block YAML of dicts, lists, strings, numbers and booleans; strings are JSON-quoted.

    JSON's double-quoted strings are valid YAML, so no value can be misread (``on``, ``off``
    and ``0.75`` stay strings where they are strings).
    """
    return "".join(f"{line}\n" for line in _lines(value, indent))


def _lines(value: object, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [f"{pad}{{}}"]
        out: list[str] = []
        for key, item in value.items():
            text = key if _PLAIN_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)
            if _is_scalar(item) or not item:
                out.append(f"{pad}{text}: {_scalar(item)}")
            else:
                out.append(f"{pad}{text}:")
                out.extend(_lines(item, indent + 2))
        return out
    if isinstance(value, list):
        out = []
        for item in value:
            if _is_scalar(item) or not item:
                out.append(f"{pad}- {_scalar(item)}")
            else:
                nested = _lines(item, indent + 2)
                out.append(f"{pad}- {nested[0].lstrip()}")
                out.extend(nested[1:])
        return out
    return [f"{pad}{_scalar(value)}"]


def _is_scalar(value: object) -> bool:
    return not isinstance(value, dict | list)


def _scalar(value: object) -> str:
    if value in ({}, []):
        return json.dumps(value)
    if isinstance(value, float) and not math.isfinite(value):
        msg = f"no YAML for {value!r}"
        raise ValueError(msg)
    return json.dumps(value, ensure_ascii=False)
