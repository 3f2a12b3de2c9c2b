"""The entities of hrvd's Home Assistant devices, as discovery components (pure).

Each table maps an entity key to its component: platform, name, state topic, template,
unit, availability. :mod:`hrvd.publish.discovery` names the devices, gives each component
its ``unique_id`` and ``default_entity_id`` and wraps them into discovery messages; the
module docstring there says which availability each kind of entity needs, and why.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hrvd.publish import topics

if TYPE_CHECKING:
    from hrvd.config import AthleteConfig, Config, StrapConfig

Component = dict[str, object]

LIVE_EXPIRE_MARGIN_S = 10
"""Slack beyond a strap's stall timeout before a live value counts as stale, s."""
RIDE_ROLES = frozenset({"ride", "both"})
"""Straps with these roles get the ride entities (alert, phase, elapsed time, ride switch)."""
LINK_STATES = ("connecting", "streaming", "stalled", "no_contact", "disconnected")
RIDE_PHASES = ("start", "warmup", "steady", "complete")
READINESS_STATUSES = ("green", "amber", "red", "baseline")
RECOMMENDATIONS = ("walk", "recovery_ride", "train")
MORNING_STATES = ("stabilising", "measuring", "done", "invalid")
QUALITY_LEVELS = ("good", "caution", "reject")
"""The verdict words of hrvd.hrv.quality.Level (not imported: no numpy here)."""
_DIAGNOSTIC: Component = {"entity_category": "diagnostic"}
LN_MS = "ln(ms)"
"""The unit of lnRMSSD: the natural log of RMSSD in ms (Home Assistant keeps statistics only
for sensors with a state class, and groups history graphs by unit)."""
ALPHA1_UNIT = "α1"  # noqa: RUF001 - the Greek letter is the quantity's own symbol
"""The unit shown for DFA alpha1 (dimensionless): its own chart in a history graph."""
SCORE_UNIT = "points"
"""The unit of the 0-100 readiness score."""


def strap_components(config: Config, strap: StrapConfig) -> dict[str, Component]:
    """The entities of one strap's device: live values, link, battery, and the ride's."""
    base, name = config.topic_base(config.athlete_of(strap).name), strap.name
    status = topics.status(config.mqtt.base_topic)  # the daemon's, whoever wears the strap
    daemon: Component = {"availability": [{"topic": status}]}
    both = [{"topic": status}, {"topic": topics.availability(base, name)}]
    live: Component = {
        "availability": both,
        "availability_mode": "all",
        "qos": 0,
        "state_topic": topics.state(base, name),
    }
    expire = math.ceil(strap.stall_timeout_s) + LIVE_EXPIRE_MARGIN_S
    measured: Component = {**live, "state_class": "measurement", "expire_after": expire}
    components = {
        "heart_rate": _sensor(
            "Heart rate",
            "hr_bpm",
            measured,
            unit_of_measurement="bpm",
            suggested_display_precision=0,
            icon="mdi:heart-pulse",
        ),
        "rmssd": _sensor(
            "RMSSD",
            "rmssd_ms",
            measured,
            unit_of_measurement="ms",
            suggested_display_precision=1,
            icon="mdi:heart-flash",
        ),
        "ln_rmssd": _sensor(
            "lnRMSSD",
            "ln_rmssd",
            measured,
            unit_of_measurement=LN_MS,
            suggested_display_precision=2,
            icon="mdi:heart-flash",
        ),
        "dfa_alpha1": _sensor(
            "DFA alpha1",
            "dfa_alpha1",
            measured,
            unit_of_measurement=ALPHA1_UNIT,
            suggested_display_precision=2,
            icon="mdi:chart-bell-curve",
        ),
        "zone": _sensor(
            "Heart-rate zone",
            "zone",
            measured,
            unit_of_measurement="zone",
            suggested_display_precision=0,
            icon="mdi:speedometer",
        ),
        "artifact_rate": _sensor(
            "Artifact rate",
            "artifact_rate",
            measured,
            **_DIAGNOSTIC,
            value_template="{{ (value_json.artifact_rate * 100) | round(1)"
            " if value_json.artifact_rate is not none else none }}",
            unit_of_measurement="%",
            suggested_display_precision=1,
            icon="mdi:waveform",
        ),
        "quality": _enum(
            "Signal quality",
            QUALITY_LEVELS,
            {**live, "expire_after": expire},
            "quality",
            **_DIAGNOSTIC,
            icon="mdi:check-decagram",
        ),
        "battery": _sensor(
            "Battery",
            "battery_pct",
            live,
            **_DIAGNOSTIC,
            device_class="battery",
            unit_of_measurement="%",
            state_class="measurement",
        ),
        # The link topic carries the bare state, no JSON.
        "link": _enum(
            "Link",
            LINK_STATES,
            {**daemon, "state_topic": topics.link(base, name)},
            None,
            **_DIAGNOSTIC,
            icon="mdi:bluetooth-connect",
        ),
    }
    if strap.role in RIDE_ROLES:
        components |= _ride_components(base, name, daemon)
    return components


def _ride_components(base: str, name: str, daemon: Component) -> dict[str, Component]:
    alert, ride = topics.alert(base, name), topics.ride(base, name)
    on_ride: Component = {**daemon, "state_topic": ride, "qos": 1}
    session: Component = {**daemon, "state_topic": topics.session(base, name), "qos": 1}
    return {
        # Unknown after a ride that did not cross alpha1 0.75 (docs/thresholds.md).
        "hrvt1_ride": _sensor(
            "HRVT1 of the last ride",
            "hrvt1_bpm",
            session,
            state_class="measurement",
            unit_of_measurement="bpm",
            suggested_display_precision=0,
            icon="mdi:chart-bell-curve-cumulative",
        ),
        "too_hard": {
            "platform": "binary_sensor",
            "name": "Too hard for recovery",
            "device_class": "problem",
            **daemon,
            "qos": 1,
            "state_topic": alert,
            "value_template": "{{ 'ON' if value_json.too_hard else 'OFF' }}",
            "json_attributes_topic": alert,
            "icon": "mdi:heart-off",
        },
        # The alpha1 guard rides along as an attribute: "off" while artifacts keep alpha1
        # from judging (only the heart-rate rule watches), null outside a ride.
        "ride_phase": _enum(
            "Ride phase",
            RIDE_PHASES,
            on_ride,
            "phase",
            icon="mdi:bike",
            json_attributes_topic=ride,
            json_attributes_template=(
                "{{ {'alpha1_guard': value_json.alpha1_guard | default(none)} | tojson }}"
            ),
        ),
        "ride_elapsed": _sensor(
            "Ride elapsed time",
            "elapsed_s",
            on_ride,
            device_class="duration",
            unit_of_measurement="s",
            icon="mdi:timer-outline",
        ),
        "ride": {
            "platform": "switch",
            "name": "Ride",
            **on_ride,
            "icon": "mdi:bike-fast",
            "command_topic": topics.cmd_ride(base),
            "payload_on": topics.ride_command(name, "start"),
            "payload_off": topics.ride_command(name, "stop"),
            "value_template": "{{ 'ON' if value_json.active else 'OFF' }}",
            # Without these the state would be compared with payload_on / payload_off.
            "state_on": "ON",
            "state_off": "OFF",
        },
    }


def athlete_components(config: Config, athlete: AthleteConfig) -> dict[str, Component]:
    """The entities of one athlete's device: readiness, morning, thresholds, and commands."""
    base = config.topic_base(athlete.name)
    daemon: Component = {
        "availability": [{"topic": topics.status(config.mqtt.base_topic)}],
        "qos": 1,
    }
    ready: Component = {**daemon, "state_topic": topics.readiness(base)}
    morning: Component = {**daemon, "state_topic": topics.morning(base)}
    thresholds: Component = {
        **daemon,
        "state_topic": topics.thresholds(base),
        "json_attributes_topic": topics.thresholds(base),
    }
    riders = any(s.role in RIDE_ROLES for s in config.straps_of(athlete.name))
    ride: dict[str, Component] = (
        {
            "hrvt1": _sensor(
                "Personal HRVT1",
                "hrvt1_bpm",
                thresholds,
                state_class="measurement",
                unit_of_measurement="bpm",
                suggested_display_precision=0,
                icon="mdi:chart-bell-curve-cumulative",
            ),
            "ride_ceiling": _sensor(
                "Recovery ride ceiling",
                "ceiling_bpm",
                thresholds,
                state_class="measurement",
                unit_of_measurement="bpm",
                suggested_display_precision=0,
                icon="mdi:arrow-collapse-up",
            ),
        }
        if riders
        else {}
    )
    return ride | {
        "readiness": _sensor(
            "Readiness",
            "score",
            ready,
            state_class="measurement",
            unit_of_measurement=SCORE_UNIT,
            suggested_display_precision=0,
            icon="mdi:gauge",
            json_attributes_topic=topics.readiness(base),
        ),
        "readiness_status": _enum(
            "Readiness status", READINESS_STATUSES, ready, "status", icon="mdi:traffic-light"
        ),
        "recommendation": _enum(
            "Recommendation",
            RECOMMENDATIONS,
            ready,
            "recommendation",
            icon="mdi:run",
            json_attributes_topic=topics.readiness(base),
            json_attributes_template="{{ {'recommendation_text': value_json.recommendation_text,"
            " 'date': value_json.date} | tojson }}",
        ),
        "ln_rmssd_morning": _sensor(
            "lnRMSSD this morning",
            "ln_rmssd",
            ready,
            state_class="measurement",
            unit_of_measurement=LN_MS,
            suggested_display_precision=2,
            icon="mdi:heart-flash",
        ),
        "ln_rmssd_7d": _sensor(
            "lnRMSSD 7-day",
            "ln_rmssd_7d",
            ready,
            state_class="measurement",
            unit_of_measurement=LN_MS,
            suggested_display_precision=2,
            icon="mdi:chart-line",
        ),
        # Unknown with fewer than 5 of 7 mornings (CV) or 3 in either week (trend).
        "cv_7d": _sensor(
            "lnRMSSD 7-day CV",
            "cv_7d_pct",
            ready,
            state_class="measurement",
            unit_of_measurement="%",
            suggested_display_precision=1,
            icon="mdi:chart-bell-curve",
        ),
        "trend_7d": _sensor(
            "lnRMSSD 7-day trend",
            "trend_7d",
            ready,
            state_class="measurement",
            unit_of_measurement=LN_MS,
            suggested_display_precision=2,
            icon="mdi:trending-up",
        ),
        "morning": _enum(
            "Morning measurement",
            MORNING_STATES,
            morning,
            "state",
            icon="mdi:weather-sunset-up",
            json_attributes_topic=topics.morning(base),
        ),
        "start_morning": {
            "platform": "button",
            "name": "Start morning measurement",
            **daemon,
            "command_topic": topics.cmd_morning(base),
            "payload_press": "start",
            "icon": "mdi:play",
        },
        "start_orthostatic": {
            "platform": "button",
            "name": "Start orthostatic test",
            **daemon,
            "command_topic": topics.cmd_morning(base),
            "payload_press": "orthostatic",
            "icon": "mdi:human-handsup",
        },
    }


def _value(key: str) -> str:
    return f"{{{{ value_json.{key} }}}}"


def _sensor(name: str, key: str, common: Component, **options: object) -> Component:
    """A sensor showing ``key`` of the JSON on its state topic (``null`` shows as unknown)."""
    return {"platform": "sensor", "name": name, **common, "value_template": _value(key), **options}


def _enum(
    name: str, options: tuple[str, ...], common: Component, key: str | None, **extra: object
) -> Component:
    """A sensor with one of ``options``; Home Assistant allows no unit or state class here."""
    component: Component = {"platform": "sensor", "name": name, **common}
    if key is not None:
        component["value_template"] = _value(key)
    return component | {"device_class": "enum", "options": list(options), **extra}
