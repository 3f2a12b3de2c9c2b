"""The config's values: frozen dataclasses, built once by :func:`hrvd.config.load_config`.

A household is several athletes in one config: each strap belongs to one of them, and the
ride and morning settings may differ per athlete. A config of one athlete is what hrvd
always had; :meth:`Config.for_athlete` gives every other part of hrvd that one-athlete view
of any athlete, so the coach, the daemon's pipelines and the commands need not know about
the household at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from hrvd.ble.policy import STALL_TIMEOUT_S
from hrvd.coach.alpha1 import (
    ALPHA1_LIMIT,
    ALPHA1_MAX_ARTIFACT_RATE,
    ALPHA1_MIN_HR_BPM,
    Alpha1Settings,
)
from hrvd.coach.recovery import RideSettings
from hrvd.coach.rides import AUTO_START_ABOVE_REST_BPM
from hrvd.errors import UsageError
from hrvd.hrv.zones import ZoneModel, Zones, zones_for

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import date

    from hrvd.coach.hrvt1 import CeilingPolicy

_SLUG_OUTSIDE = re.compile(r"[^a-z0-9_]")
ROLES = ("ride", "morning", "both")
DEFAULT_ATHLETE = "me"
"""The name of the athlete of a config that gives none (one ``[athlete]`` table). Stores
from before the household keep their rows under it (schema 6), so it never changes."""


def slug(name: str) -> str:
    """A strap or athlete name as used in MQTT topics: lowercase, a-z0-9_ kept, else ``_``."""
    return _SLUG_OUTSIDE.sub("_", name.lower())


@dataclass(frozen=True, slots=True)
class RideConfig:
    """The recovery ride (each default's source: :mod:`hrvd.coach.recovery`, ``.alpha1``)."""

    ceiling_bpm: float | None = None
    sustain_s: float = 30.0
    hysteresis_bpm: float = 3.0
    warmup_min: float = 15.0
    target_min: float = 45.0
    auto_start: bool = False
    alpha1_limit: float = ALPHA1_LIMIT
    alpha1_min_hr_bpm: int | None = None
    """None: 90 bpm, or HRrest + 20 bpm when that is higher (see :meth:`Config.alpha1`)."""
    alpha1_max_artifact_pct: float = 100 * ALPHA1_MAX_ARTIFACT_RATE


@dataclass(frozen=True, slots=True)
class MorningConfig:
    """The morning measurement (see docs/readiness.md for each default's source)."""

    stabilise_s: float = 60.0
    measure_s: float = 120.0
    posture: str = "lying"
    auto_start: bool = False
    window: str = "05:00-10:00"


@dataclass(frozen=True, slots=True)
class AthleteConfig:
    """One athlete's heart rates (bpm) and preferences."""

    hr_max: int | None = None
    hr_rest: int | None = None
    lthr: int | None = None
    zones: ZoneModel = ZoneModel.HRMAX
    timezone: str = "UTC"
    language: str = "en"
    ceiling_follows_hrvt1: bool = False
    """The ride ceiling becomes the lower of the formula's and personal HRVT1 - margin."""
    hrvt1_margin_bpm: float = 20.0
    """How far below the personal HRVT1 the ceiling then sits, bpm (the source is beside
    ``HRVT1_MARGIN_BPM`` in coach/hrvt1.py; kept apart so that loading a config needs no
    numpy)."""
    name: str = DEFAULT_ATHLETE
    """The athlete's name: ``--athlete``, the store's rows, and in a household the topics."""
    ride: RideConfig | None = None
    """This athlete's ``[athlete.ride]``, merged over ``[ride]``; None: ``[ride]`` as is."""
    morning: MorningConfig | None = None
    """This athlete's ``[athlete.morning]``, merged over ``[morning]``; None: as is."""

    @property
    def slug(self) -> str:
        """The name as used in topics and Home Assistant ids."""
        return slug(self.name)

    def heart_rate_zones(self) -> Zones:
        """The zone boundaries of the configured model."""
        return zones_for(self.zones, hr_max=self.hr_max, hr_rest=self.hr_rest, lthr=self.lthr)


@dataclass(frozen=True, slots=True)
class StrapConfig:
    """One chest strap, worn by one athlete."""

    name: str
    address: str | None = None
    role: str = "both"
    stall_timeout_s: float = STALL_TIMEOUT_S
    """Silence while connected that counts as a stalled link, s."""
    athlete: str = DEFAULT_ATHLETE
    """The name of the athlete who wears it."""

    @property
    def slug(self) -> str:
        """The name as used in topics."""
        return slug(self.name)


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """The broker and the topics."""

    host: str = "localhost"
    port: int = 1883
    base_topic: str = "hrvd"
    discovery_prefix: str = "homeassistant"
    username: str | None = None
    password_file: Path | None = None
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Where sessions and mornings are kept."""

    path: Path = Path("/var/lib/hrvd/hrvd.sqlite3")
    keep_raw_days: int = 365
    """Days the raw RR of rides and mornings is kept; summaries are kept for good."""


@dataclass(frozen=True, slots=True)
class Config:
    """The whole config.

    ``athlete`` is the first athlete (the only one, outside a household) and ``athletes``
    all of them; give either (the other follows) or both with ``athletes[0] is athlete``.
    ``ride`` and ``morning`` are the shared sections; :meth:`for_athlete` applies an
    athlete's own.
    """

    source: Path | None = None
    athlete: AthleteConfig = field(default_factory=AthleteConfig)
    straps: tuple[StrapConfig, ...] = ()
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    ride: RideConfig = field(default_factory=RideConfig)
    morning: MorningConfig = field(default_factory=MorningConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    athletes: tuple[AthleteConfig, ...] = ()
    household_names: tuple[str, ...] = ()
    """Every athlete's name when this is one athlete's view of a household
    (:meth:`for_athlete`), so that its topics stay that athlete's; else empty."""

    def __post_init__(self) -> None:
        """Fill in ``athletes`` or ``athlete`` from the other."""
        if not self.athletes:
            object.__setattr__(self, "athletes", (self.athlete,))
        elif self.athlete == AthleteConfig():
            object.__setattr__(self, "athlete", self.athletes[0])
        elif self.athlete != self.athletes[0]:
            msg = "Config: athlete is not athletes[0] (replace both, or use for_athlete)"
            raise ValueError(msg)

    @property
    def household(self) -> bool:
        """Several athletes, here or in the household this is a view of.

        Then topics and Home Assistant devices carry the athlete.
        """
        return len(self.athletes) > 1 or len(self.household_names) > 1

    def athlete_named(self, name: str | None) -> AthleteConfig:
        """The athlete of that name (or slug); None: the only one.

        Raises:
            UsageError: no such athlete, or None in a household; the message names those
                there are.
        """
        if name is None and len(self.athletes) == 1:
            return self.athlete
        for a in self.athletes:
            if name is not None and name in {a.name, a.slug}:
                return a
        names = ", ".join(a.name for a in self.athletes)
        if name is None:
            msg = f"this config has several athletes ({names}): name one with --athlete"
        else:
            msg = f"--athlete: no athlete {name!r} in this config (there are: {names})"
        raise UsageError(msg)

    def athlete_of(self, strap: StrapConfig | str) -> AthleteConfig:
        """The athlete who wears a strap (its config, name or slug); the first if unknown."""
        if isinstance(strap, str):
            strap = next((s for s in self.straps if strap in {s.name, s.slug}), StrapConfig(""))
        return next((a for a in self.athletes if a.name == strap.athlete), self.athlete)

    def straps_of(self, athlete: str) -> tuple[StrapConfig, ...]:
        """The straps an athlete wears."""
        return tuple(s for s in self.straps if s.athlete == athlete)

    def topic_base(self, athlete: str | None = None) -> str:
        """The topic prefix of an athlete's topics (docs/household.md).

        Alone, an athlete's topics are the base topic's (``hrvd/<strap>/state``,
        ``hrvd/readiness``), as before households; in a household each athlete has the
        level of its slug below it (``hrvd/<athlete>/<strap>/state``). The daemon's own
        ``<base>/status`` stays at the base topic either way.
        """
        base = self.mqtt.base_topic
        return f"{base}/{self.athlete_named(athlete).slug}" if self.household else base

    def for_athlete(self, name: str | None = None) -> Config:
        """The config as one athlete's daemon would see it.

        That athlete, their straps, and their ride and morning settings; the MQTT and
        store sections are shared, and :meth:`topic_base` stays that athlete's.

        Raises:
            UsageError: see :meth:`athlete_named`.
        """
        a = self.athlete_named(name)
        names = self.household_names or tuple(x.name for x in self.athletes)
        return replace(
            self,
            athlete=a,
            athletes=(a,),
            straps=self.straps_of(a.name),
            ride=a.ride or self.ride,
            morning=a.morning or self.morning,
            household_names=names if len(names) > 1 else (),
        )

    def for_command(self, athlete: str | None, strap: str | None = None) -> Config:
        """The view of the athlete a command is about (:meth:`for_athlete`).

        ``--athlete``, else whoever wears ``--strap``, else the only one.

        Raises:
            UsageError: see :meth:`athlete_named`.
        """
        if athlete is None and strap is not None:
            worn = next((s for s in self.straps if strap in {s.name, s.slug}), None)
            athlete = None if worn is None else worn.athlete
        return self.for_athlete(athlete)

    def ride_settings(self) -> RideSettings:
        """The coach's numbers: the ceiling from [ride], else the top of zone 1.

        They are the first athlete's: use :meth:`for_athlete` first in a household.

        Raises:
            ValueError: neither a ceiling nor the heart rates for zones are configured.
        """
        ceiling = self.ride.ceiling_bpm
        if ceiling is None:
            ceiling = self.athlete.heart_rate_zones().recovery_ceiling_bpm
        r = self.ride
        return RideSettings(
            ceiling, r.sustain_s, r.hysteresis_bpm, r.warmup_min, r.target_min, self.alpha1()
        )

    def alpha1(self) -> Alpha1Settings:
        """The alpha1 rule's numbers: the heart-rate floor from [ride], else derived.

        The default floor is 90 bpm, raised to HRrest + 20 bpm (the auto start's "clearly
        pedalling") for an athlete whose resting heart rate makes 90 bpm no exercise.
        """
        r, rest = self.ride, self.athlete.hr_rest
        if r.alpha1_min_hr_bpm is not None:
            floor = float(r.alpha1_min_hr_bpm)
        elif rest is not None:
            floor = max(ALPHA1_MIN_HR_BPM, rest + AUTO_START_ABOVE_REST_BPM)
        else:
            floor = ALPHA1_MIN_HR_BPM
        return Alpha1Settings(r.alpha1_limit, floor, r.alpha1_max_artifact_pct / 100)

    def ceiling_policy(self, estimates: Iterable[tuple[date, float]] = ()) -> CeilingPolicy:
        """The ride ceiling, and whether it follows the personal HRVT1.

        ``estimates`` are the stored ones, (day, bpm).

        Raises:
            ValueError: neither a ceiling nor the heart rates for zones are configured.
        """
        from hrvd.coach.hrvt1 import CeilingPolicy  # noqa: PLC0415 - numpy only when needed

        bpm = self.ride_settings().ceiling_bpm
        if self.ride.ceiling_bpm is not None:
            source, why = "ride.ceiling_bpm", f"[ride] ceiling_bpm {bpm:.0f} bpm"
        else:
            zones = self.athlete.zones.value
            source, why = "zones", f"the top of zone 1 ({zones} zones) {bpm:.0f} bpm"
        a = self.athlete
        return CeilingPolicy(
            bpm,
            source,
            why,
            follow=a.ceiling_follows_hrvt1,
            margin_bpm=a.hrvt1_margin_bpm,
            estimates=list(estimates),
        )
