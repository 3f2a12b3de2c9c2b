"""The commented ``hrvd.toml`` that ``hrvd init`` writes: answers in, text out (pure).

The chosen values are set; every other key is there as a commented-out default, taken from
the dataclasses of :mod:`hrvd.config` so that the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hrvd.config import (
    AthleteConfig,
    Config,
    MorningConfig,
    MqttConfig,
    RideConfig,
    StoreConfig,
    StrapConfig,
)
from hrvd.hrv.zones import ZoneModel

COMMENT_COLUMN = 35
"""Where a key's comment starts, as in config/hrvd.example.toml."""


@dataclass(frozen=True, slots=True)
class Answers:
    """Everything the user chose in ``hrvd init`` (heart rates in bpm)."""

    strap_name: str
    strap_address: str
    hr_max: int
    role: str = "both"
    hr_rest: int | None = None
    lthr: int | None = None
    zones: ZoneModel = ZoneModel.HRMAX
    timezone: str = "UTC"
    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password_file: str | None = None
    """As the config says it: a path, or ``$CREDENTIALS_DIRECTORY/mqtt-password``."""
    store_path: Path = StoreConfig().path
    for_service: bool = False
    """Written for the systemd service: only some comments differ."""

    def athlete(self) -> AthleteConfig:
        """The ``[athlete]`` section these answers make."""
        return AthleteConfig(
            hr_max=self.hr_max,
            hr_rest=self.hr_rest,
            lthr=self.lthr,
            zones=self.zones,
            timezone=self.timezone,
        )

    def config(self, source: Path) -> Config:
        """The config that loading the rendered file must give back."""
        password_file = None if self.password_file is None else Path(self.password_file)
        return Config(
            source=source,
            athlete=self.athlete(),
            straps=(StrapConfig(self.strap_name, self.strap_address, self.role),),
            mqtt=MqttConfig(
                host=self.host,
                port=self.port,
                username=self.username,
                password_file=password_file,
            ),
            store=StoreConfig(self.store_path),
        )


def toml_value(value: str | float | Path) -> str:
    """A TOML literal: a number as is, anything else a basic string with escapes."""
    if isinstance(value, int | float):
        return repr(value)
    escaped = []
    for char in str(value):
        if char in {'"', "\\"}:
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def _key(key: str, value: str | float | Path, comment: str, *, on: bool = True) -> str:
    text = f"{'' if on else '# '}{key} = {toml_value(value)}"
    pad = max(COMMENT_COLUMN - 1, len(text) + 1)
    return f"{text:<{pad}} # {comment}"


def _header(table: str, comment: str = "") -> str:
    return f"{table:<{COMMENT_COLUMN - 1}} # {comment}" if comment else table


def render_config(answers: Answers) -> str:
    """The text of ``hrvd.toml`` for ``answers``: valid TOML that :mod:`hrvd.config` accepts."""
    a = answers
    mqtt, strap, ride, morning = MqttConfig(), StrapConfig(""), RideConfig(), MorningConfig()
    athlete, store = AthleteConfig(), StoreConfig()
    ceiling = a.athlete().heart_rate_zones().recovery_ceiling_bpm
    floor = Config(athlete=a.athlete()).alpha1().min_hr_bpm
    if a.password_file:
        password = (a.password_file, "read at start; never the password itself here")
    elif a.for_service:
        password = ("$CREDENTIALS_DIRECTORY/mqtt-password", "the service's credential")
    else:
        password = ("/path/to/mqtt-password", "the password's file; or $HRVD_MQTT_PASSWORD")
    if a.for_service:
        store_note = "keep it under /var/lib/hrvd: the service may write nowhere else"
    else:
        store_note = "rides, mornings and the MQTT outbox"
    # fmt: off
    lines = [
        "# hrvd configuration, written by `hrvd init`. Edit it freely, then check it with:",
        "#   hrvd config check --config FILE",
        "# A commented-out key shows its default; config/hrvd.example.toml documents every key.",
        "",
        _header("[mqtt]"),
        _key("host", a.host, "the broker Home Assistant uses"),
        _key("port", a.port, "8883 is usual with TLS"),
        _key("base_topic", mqtt.base_topic, "topics: hrvd/status, hrvd/<strap>/state, ...",
             on=False),
        _key("discovery_prefix", mqtt.discovery_prefix, "Home Assistant's discovery prefix",
             on=False),
        _key("username", a.username or "hrvd", "the broker's user for hrvd",
             on=a.username is not None),
        _key("password_file", *password, on=a.password_file is not None),
        _key("tls_ca_file", "/etc/hrvd/ca.crt", "TLS: the CA of the broker's certificate",
             on=False),
        _key("tls_cert_file", "/etc/hrvd/client.crt", "optional client certificate ...",
             on=False),
        _key("tls_key_file", "/etc/hrvd/client.key", "... and its key (both or neither)",
             on=False),
        _key("client_id", "hrvd-garage", "default: unique per process", on=False),
        "",
        _header("[[strap]]", "one table per strap; find more with `hrvd scan`"),
        _key("name", a.strap_name, "shown in Home Assistant; its slug is used in topics"),
        _key("address", a.strap_address, "omit to connect by name"),
        _key("role", a.role, '"ride" | "morning" | "both"'),
        _key("stall_timeout_s", strap.stall_timeout_s, "silence that counts as a stall (2-120)",
             on=False),
        "",
        _header("[athlete]"),
        _key("hr_max", a.hr_max, 'bpm, measured; needed for zones "hrmax" and "hrr"'),
        _key("hr_rest", a.hr_rest or 50, 'bpm; for zones "hrr", ride auto start, mornings',
             on=a.hr_rest is not None),
        _key("lthr", a.lthr or 168, 'bpm, lactate threshold heart rate; for zones "lthr"',
             on=a.lthr is not None),
        _key("zones", a.zones.value, '"hrmax" | "hrr" | "lthr": zone 1\'s top is the ceiling'),
        _key("timezone", a.timezone, "which day a morning belongs to"),
        _key("language", athlete.language, '"en" | "nl": texts of the recommendation',
             on=False),
        "# ceiling_follows_hrvt1 = false    # true: ceiling = lower of zone 1 top, HRVT1 - margin",
        _key("hrvt1_margin_bpm", athlete.hrvt1_margin_bpm, "below HRVT1: docs/thresholds.md",
             on=False),
        "",
        _header("[ride]", "the recovery-ride coach: docs/recovery-ride.md"),
        _key("ceiling_bpm", round(ceiling), f"default: the top of zone 1, here {ceiling:.0f} bpm",
             on=False),
        _key("sustain_s", ride.sustain_s, 'this long above the ceiling: "too hard" (5-300)',
             on=False),
        _key("hysteresis_bpm", ride.hysteresis_bpm, "... this far below it, as long: off (0-20)",
             on=False),
        _key("warmup_min", ride.warmup_min, "warm-up, ceiling 10 bpm lower (5-30)", on=False),
        _key("target_min", ride.target_min, '"ride complete" event (30-60)', on=False),
        "# auto_start = false               # start a ride when HR >= hr_rest + 20 for 2 min",
        _key("alpha1_limit", ride.alpha1_limit, "DFA alpha1 below this, held 60 s: too hard",
             on=False),
        _key("alpha1_min_hr_bpm", round(floor), "alpha1 counts above it (90, or hr_rest + 20)",
             on=False),
        _key("alpha1_max_artifact_pct", ride.alpha1_max_artifact_pct,
             "... and only with fewer artifacts (0-10)", on=False),
        "",
        _header("[morning]", "the morning measurement: docs/readiness.md"),
        _key("stabilise_s", morning.stabilise_s, "settling before measuring (0-300)", on=False),
        _key("measure_s", morning.measure_s, "the measurement (60-300)", on=False),
        _key("posture", morning.posture, '"lying" | "sitting" | "standing"', on=False),
        "# auto_start = false               # start when you lie still in the window",
        _key("window", morning.window, "local time, for auto_start", on=False),
        "",
        _header("[store]"),
        _key("path", a.store_path, store_note),
        _key("keep_raw_days", store.keep_raw_days, "raw RR of rides and mornings (7-36500)",
             on=False),
        "",
    ]
    # fmt: on
    return "\n".join(lines)
