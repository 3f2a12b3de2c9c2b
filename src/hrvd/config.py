"""The one TOML config file, loaded into frozen dataclasses and validated once at start.

This is the skeleton the daemon builds on: the sections and keys below are fixed names
that other tools write. Every error names the file, the key, the bad value and what was
expected (:class:`~hrvd.errors.ConfigError`).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hrvd.ble.policy import STALL_TIMEOUT_S
from hrvd.coach.alpha1 import (
    ALPHA1_LIMIT,
    ALPHA1_MAX_ARTIFACT_RATE,
    ALPHA1_MIN_HR_BPM,
    Alpha1Settings,
)
from hrvd.coach.recovery import RideSettings
from hrvd.coach.rides import AUTO_START_ABOVE_REST_BPM
from hrvd.errors import ConfigError
from hrvd.hrv.zones import ZoneModel, Zones, zones_for

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import date

    from hrvd.coach.hrvt1 import CeilingPolicy

_SLUG_OUTSIDE = re.compile(r"[^a-z0-9_]")
ROLES = ("ride", "morning", "both")


def slug(name: str) -> str:
    """A strap name as used in MQTT topics: lowercase, anything outside a-z0-9_ as ``_``."""
    return _SLUG_OUTSIDE.sub("_", name.lower())


@dataclass(frozen=True, slots=True)
class AthleteConfig:
    """The athlete's heart rates (bpm) and preferences."""

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

    def heart_rate_zones(self) -> Zones:
        """The zone boundaries of the configured model."""
        return zones_for(self.zones, hr_max=self.hr_max, hr_rest=self.hr_rest, lthr=self.lthr)


@dataclass(frozen=True, slots=True)
class StrapConfig:
    """One chest strap."""

    name: str
    address: str | None = None
    role: str = "both"
    stall_timeout_s: float = STALL_TIMEOUT_S
    """Silence while connected that counts as a stalled link, s."""

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


MAX_ARTIFACT_PCT = 100 * ALPHA1_MAX_ARTIFACT_RATE


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
    alpha1_max_artifact_pct: float = MAX_ARTIFACT_PCT


@dataclass(frozen=True, slots=True)
class MorningConfig:
    """The morning measurement (see docs/readiness.md for each default's source)."""

    stabilise_s: float = 60.0
    measure_s: float = 120.0
    posture: str = "lying"
    auto_start: bool = False
    window: str = "05:00-10:00"


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Where sessions and mornings are kept."""

    path: Path = Path("/var/lib/hrvd/hrvd.sqlite3")
    keep_raw_days: int = 365
    """Days the raw RR of rides and mornings is kept; summaries are kept for good."""


KEEP_RAW_DAYS = StoreConfig().keep_raw_days


@dataclass(frozen=True, slots=True)
class Config:
    """The whole config; sections the daemon issue adds (ride, morning) go here too."""

    source: Path | None = None
    athlete: AthleteConfig = field(default_factory=AthleteConfig)
    straps: tuple[StrapConfig, ...] = ()
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    ride: RideConfig = field(default_factory=RideConfig)
    morning: MorningConfig = field(default_factory=MorningConfig)
    store: StoreConfig = field(default_factory=StoreConfig)

    def ride_settings(self) -> RideSettings:
        """The coach's numbers: the ceiling from [ride], else the top of zone 1.

        Raises:
            ValueError: neither a ceiling nor the heart rates for zones are configured.
        """
        ceiling = self.ride.ceiling_bpm
        if ceiling is None:
            ceiling = self.athlete.heart_rate_zones().recovery_ceiling_bpm
        r = self.ride
        return RideSettings(ceiling, r.sustain_s, r.hysteresis_bpm, r.warmup_min, r.target_min,
                            self.alpha1())  # fmt: skip

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
        return CeilingPolicy(bpm, source, why, follow=a.ceiling_follows_hrvt1,
                             margin_bpm=a.hrvt1_margin_bpm, estimates=list(estimates))  # fmt: skip


class _Section:
    """Typed reads from one TOML table, each failure a ConfigError naming the key."""

    def __init__(self, path: Path, name: str, table: object) -> None:
        if not isinstance(table, dict):
            raise ConfigError(path, name, f"expected a table, got {table!r}")
        self.path, self.name, self.table = path, name, dict(table)

    def _fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.path, f"{self.name}.{key}", message)

    def text(self, key: str, default: str | None, what: str) -> str | None:
        value = self.table.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self._fail(key, f"{value!r} is not {what}")
        return value

    def number(self, key: str, default: int | None, what: str) -> int | None:
        value = self.table.get(key, default)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise self._fail(key, f"{value!r} is not {what}")
        return value

    def seconds(
        self, key: str, default: float, *, low: float, high: float, unit: str = "s"
    ) -> float:
        """A number within [low, high] of ``unit`` (s, min, bpm; "" for none)."""
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, f"{value!r} is not a number" + (f" ({unit})" if unit else ""))
        if not low <= value <= high:
            raise self._fail(key, f"{value} is not within {low:g}-{high:g} {unit}".rstrip())
        return float(value)

    def flag(self, key: str, *, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, f"{value!r} is not true or false")
        return value

    def bpm(self, key: str) -> int | None:
        value = self.number(key, None, "a whole number of beats per minute")
        if value is not None and not 25 <= value <= 250:
            raise self._fail(key, f"{value} is not within 25-250 bpm")
        return value

    def unknown(self, known: set[str]) -> None:
        extra = sorted(set(self.table) - known)
        if extra:
            raise ConfigError(self.path, f"{self.name}.{extra[0]}", "is not a known key")


CONFIG_ENV = "HRVD_CONFIG"
CONFIG_NAME = "hrvd.toml"


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
    known = {"athlete", "strap", "mqtt", "store", "ride", "morning"}
    for key in data:
        if key not in known:
            raise ConfigError(path, key, "is not a known section")
    athlete = _athlete(_Section(path, "athlete", data.get("athlete", {})))
    straps = _straps(path, data.get("strap", []))
    mq = _Section(path, "mqtt", data.get("mqtt", {}))
    mq.unknown({"host", "port", "base_topic", "discovery_prefix", "username", "password_file",
                "tls_ca_file", "tls_cert_file", "tls_key_file", "client_id"})  # fmt: skip
    mqtt = MqttConfig(
        host=mq.text("host", "localhost", "a host name") or "localhost",
        port=mq.number("port", 1883, "a port number") or 0,
        base_topic=_topic(mq, "base_topic", "hrvd"),
        discovery_prefix=_topic(mq, "discovery_prefix", "homeassistant"),
        username=mq.text("username", None, "a user name"),
        password_file=_opt_path(mq.text("password_file", None, "a file path")),
        tls_ca_file=_opt_path(mq.text("tls_ca_file", None, "a file path")),
        tls_cert_file=_opt_path(mq.text("tls_cert_file", None, "a file path")),
        tls_key_file=_opt_path(mq.text("tls_key_file", None, "a file path")),
        client_id=mq.text("client_id", None, "a client id"),
    )
    if not 0 < mqtt.port < 65536:
        raise ConfigError(path, "mqtt.port", f"{mqtt.port} is not within 1-65535")
    if (mqtt.tls_cert_file is None) != (mqtt.tls_key_file is None):
        raise ConfigError(path, "mqtt.tls_cert_file", "needs tls_key_file too (and the reverse)")
    ride = _ride(_Section(path, "ride", data.get("ride", {})))
    morning = _morning(_Section(path, "morning", data.get("morning", {})))
    st = _Section(path, "store", data.get("store", {}))
    st.unknown({"path", "keep_raw_days"})
    default_store = str(StoreConfig().path)
    keep = st.number("keep_raw_days", KEEP_RAW_DAYS, "a number of days") or 0
    if not 7 <= keep <= 36500:  # a week at least: the baseline looks back that far
        raise ConfigError(path, "store.keep_raw_days", f"{keep} is not within 7-36500 days")
    store = StoreConfig(
        Path(st.text("path", default_store, "a file path") or default_store), keep_raw_days=keep
    )
    return Config(
        source=path,
        athlete=athlete,
        straps=straps,
        mqtt=mqtt,
        ride=ride,
        morning=morning,
        store=store,
    )


def _morning(sec: _Section) -> MorningConfig:
    sec.unknown({"stabilise_s", "measure_s", "posture", "auto_start", "window"})
    posture = sec.text("posture", "lying", '"lying", "sitting" or "standing"') or "lying"
    if posture not in {"lying", "sitting", "standing"}:
        raise sec._fail("posture", f'{posture!r} is not "lying", "sitting" or "standing"')  # noqa: SLF001
    window = sec.text("window", "05:00-10:00", 'a window like "05:00-10:00"') or ""
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", window):
        raise sec._fail("window", f'{window!r} is not a window like "05:00-10:00"')  # noqa: SLF001
    return MorningConfig(
        stabilise_s=sec.seconds("stabilise_s", 60.0, low=0.0, high=300.0),
        measure_s=sec.seconds("measure_s", 120.0, low=60.0, high=300.0),
        posture=posture,
        auto_start=sec.flag("auto_start", default=False),
        window=window,
    )


def _ride(sec: _Section) -> RideConfig:
    sec.unknown({"ceiling_bpm", "sustain_s", "hysteresis_bpm", "warmup_min", "target_min",
                 "auto_start", "alpha1_limit", "alpha1_min_hr_bpm",
                 "alpha1_max_artifact_pct"})  # fmt: skip
    target = sec.seconds("target_min", 45.0, low=30.0, high=60.0, unit="min")
    warmup = sec.seconds("warmup_min", 15.0, low=5.0, high=30.0, unit="min")
    if warmup >= target:
        raise sec._fail("warmup_min", f"{warmup:g} is not shorter than target_min {target:g}")  # noqa: SLF001
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


MQTT_TOPIC_MAX_BYTES = 65_535
"""A topic's UTF-8 length limit (MQTT 3.1.1 section 1.5.3, a two-byte length prefix)."""


def _topic(sec: _Section, key: str, default: str) -> str:
    """A topic prefix the daemon publishes under: levels joined by ``/``, no wildcards.

    MQTT 3.1.1 section 4.7: ``+`` and ``#`` are wildcards, valid only in subscriptions, and
    NUL is never allowed; a topic starting with ``$`` is the broker's own (``$SYS``). An
    empty level (``a//b``, a leading or trailing ``/``) is legal but never what was meant.
    """
    expected = 'a topic like "hrvd" or "home/hrvd" (no "+", "#", NUL or empty level)'
    value = sec.text(key, default, expected)
    if value is None or any(c in value for c in "+#\0") or "" in value.split("/"):
        raise sec._fail(key, f"{value!r} is not {expected}")  # noqa: SLF001
    if value.startswith("$"):
        raise sec._fail(key, f"{value!r} starts with $, kept for the broker's own topics")  # noqa: SLF001
    if len(value.encode()) > MQTT_TOPIC_MAX_BYTES:
        raise sec._fail(key, f"is {len(value.encode())} bytes long, over MQTT's 65535")  # noqa: SLF001
    return value


def _opt_path(value: str | None) -> Path | None:
    return None if value is None else Path(value)


def _athlete(sec: _Section) -> AthleteConfig:
    sec.unknown({"hr_max", "hr_rest", "lthr", "zones", "timezone", "language",
                 "ceiling_follows_hrvt1", "hrvt1_margin_bpm"})  # fmt: skip
    zones = sec.text("zones", "hrmax", '"hrmax", "hrr" or "lthr"')
    if zones not in {m.value for m in ZoneModel}:
        raise ConfigError(sec.path, "athlete.zones", f'{zones!r} is not "hrmax", "hrr" or "lthr"')
    language = sec.text("language", "en", '"en" or "nl"') or "en"
    if language not in {"en", "nl"}:
        raise ConfigError(sec.path, "athlete.language", f'{language!r} is not "en" or "nl"')
    athlete = AthleteConfig(
        hr_max=sec.bpm("hr_max"),
        hr_rest=sec.bpm("hr_rest"),
        lthr=sec.bpm("lthr"),
        zones=ZoneModel(zones),
        timezone=sec.text("timezone", "UTC", "a time zone name") or "UTC",
        language=language,
        ceiling_follows_hrvt1=sec.flag("ceiling_follows_hrvt1", default=False),
        hrvt1_margin_bpm=sec.seconds("hrvt1_margin_bpm", 20.0, low=0.0, high=60.0, unit="bpm"),
    )
    try:
        ZoneInfo(athlete.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise sec._fail("timezone", f"{athlete.timezone!r} is not a time zone like "  # noqa: SLF001
                        '"Europe/Brussels"') from None  # fmt: skip
    if athlete.hr_max is None and athlete.lthr is None:
        return athlete  # no zones yet: commands that need them say so when they run
    try:
        athlete.heart_rate_zones()
    except ValueError as exc:
        raise ConfigError(sec.path, "athlete.zones", str(exc)) from None
    return athlete


def _straps(path: Path, tables: object) -> tuple[StrapConfig, ...]:
    if not isinstance(tables, list):
        raise ConfigError(path, "strap", "expected [[strap]] tables")
    straps: list[StrapConfig] = []
    seen: dict[str, str] = {}
    for i, table in enumerate(tables):
        sec = _Section(path, f"strap[{i}]", table)
        sec.unknown({"name", "address", "role", "stall_timeout_s"})
        name = sec.text("name", "", "a name")
        if not name:
            raise ConfigError(path, f"strap[{i}].name", "is missing (every strap needs a name)")
        role = sec.text("role", "both", '"ride", "morning" or "both"') or "both"
        if role not in ROLES:
            raise ConfigError(
                path, f"strap[{i}].role", f'{role!r} is not "ride", "morning" or "both"'
            )
        stall = sec.seconds("stall_timeout_s", STALL_TIMEOUT_S, low=2.0, high=120.0)
        strap = StrapConfig(name, sec.text("address", None, "a BLE address"), role, stall)
        if strap.slug in seen:
            clash = f"{name!r} has the topic slug {strap.slug!r} of {seen[strap.slug]!r}"
            raise ConfigError(path, f"strap[{i}].name", clash)
        seen[strap.slug] = name
        straps.append(strap)
    return tuple(straps)


def effective_config(config: Config) -> str:
    """The config as TOML with every default filled in.

    The password itself never appears: a comment says where it comes from.
    """
    lines: list[str] = []

    def section(name: str, values: dict[str, object], *, array: bool = False) -> None:
        lines.append(f"[[{name}]]" if array else f"[{name}]")
        lines.extend(f"{k} = {_toml(v)}" for k, v in values.items() if v is not None)
        lines.append("")

    section("mqtt", asdict(config.mqtt))
    if config.mqtt.password_file:
        lines.insert(-1, f"# password: read from {config.mqtt.password_file} (not shown)")
    elif os.environ.get("HRVD_MQTT_PASSWORD"):
        lines.insert(-1, "# password: from $HRVD_MQTT_PASSWORD (not shown)")
    for strap in config.straps:
        section("strap", asdict(strap), array=True)
    section("athlete", asdict(config.athlete))
    section("ride", asdict(config.ride))
    lines[-1:-1] = _derived_ride(config)
    section("morning", asdict(config.morning))
    section("store", asdict(config.store))
    return "\n".join(lines)


def _derived_ride(config: Config) -> list[str]:
    """Comments giving the ride defaults that come from the athlete, as they are now."""
    out = []
    if config.ride.ceiling_bpm is None:
        try:
            ceiling = config.athlete.heart_rate_zones().recovery_ceiling_bpm
        except ValueError:
            out.append("# ceiling_bpm: none yet (needs [athlete] hr_max or lthr)")
        else:
            out.append(f"# ceiling_bpm: {ceiling:.0f} (the top of zone 1)")
    if config.ride.alpha1_min_hr_bpm is None:
        out.append(f"# alpha1_min_hr_bpm: {config.alpha1().min_hr_bpm:.0f} (derived)")
    return out


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
