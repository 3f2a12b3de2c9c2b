from pathlib import Path

import pytest

from hrvd.coach.alpha1 import Alpha1Settings
from hrvd.config import load_config, slug
from hrvd.errors import ConfigError
from hrvd.hrv.zones import ZoneModel

GOOD = """
[mqtt]
host = "broker.lan"
port = 1883
base_topic = "hrvd"
discovery_prefix = "homeassistant"
username = "hrvd"
[[strap]]
name = "H10 Garage"
address = "AA:BB:CC:DD:EE:FF"
role = "both"
[athlete]
hr_max = 190
hr_rest = 48
lthr = 168
zones = "lthr"
timezone = "Europe/Brussels"
[store]
path = "/tmp/x.sqlite3"
"""


def _write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "hrvd.toml"
    f.write_text(text)
    return f


def test_a_valid_file_loads_into_frozen_dataclasses(tmp_path):
    cfg = load_config(_write(tmp_path, GOOD))
    assert cfg.mqtt.host == "broker.lan"
    assert cfg.straps[0].slug == "h10_garage"
    assert cfg.straps[0].stall_timeout_s == 5.0
    assert cfg.athlete.zones is ZoneModel.LTHR
    assert cfg.athlete.heart_rate_zones().recovery_ceiling_bpm == pytest.approx(0.69 * 168)
    with pytest.raises(AttributeError):
        cfg.mqtt.host = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[athlete]\nhr_max = 'fast'\n", "hrvd.toml: athlete.hr_max: 'fast' is not a whole number"),
        ("[athlete]\nhr_max = 400\n", "athlete.hr_max: 400 is not within 25-250 bpm"),
        ("[athlete]\nhr_max = 190\nzones = 'lthr'\n", "zones 'lthr' need a positive lthr"),
        ("[mqtt]\nport = 70000\n", "mqtt.port: 70000 is not within 1-65535"),
        ("[mqtt]\nhots = 'x'\n", "mqtt.hots: is not a known key"),
        ("[[strap]]\nname = 'a'\nrole = 'bike'\n", "strap[0].role: 'bike' is not"),
        ("[[strap]]\nname = 'H 10'\n[[strap]]\nname = 'h_10'\n", "strap[1].name: 'h_10' has"),
        ("[nonsense]\n", "nonsense: is not a known section"),
        ("[athlete]\ntimezone = 'Mars/Olympus'\n", "athlete.timezone: 'Mars/Olympus' is not"),
        ("[morning]\nposture = 'upside down'\n", "morning.posture: 'upside down' is not"),
        ("[morning]\nwindow = '5-10'\n", "morning.window: '5-10' is not a window"),
        ("[[strap]]\nname = 'a'\nstall_timeout_s = 0.5\n", "0.5 is not within 2-120 s"),
        ("[[strap]]\nname = 'a'\nstall_timeout_s = 'x'\n", "'x' is not a number (s)"),
        ("[athlete\n", "is not valid TOML"),
        ("[ride]\nalpha1_limit = 0.3\n", "ride.alpha1_limit: 0.3 is not within 0.5-1"),
        ("[ride]\nalpha1_max_artifact_pct = 20\n", "20 is not within 0-10 %"),
        ("[ride]\nalpha1_min_hr_bpm = 300\n", "ride.alpha1_min_hr_bpm: 300 is not within"),
        ("[mqtt]\nbase_topic = 'hrvd/#'\n", "mqtt.base_topic: 'hrvd/#' is not a topic like"),
        ("[mqtt]\nbase_topic = 'a+b'\n", "mqtt.base_topic: 'a+b' is not a topic like"),
        ("[mqtt]\nbase_topic = ''\n", "mqtt.base_topic: '' is not a topic like"),
        ("[mqtt]\nbase_topic = 'hrvd/'\n", "mqtt.base_topic: 'hrvd/' is not a topic like"),
        ('[mqtt]\nbase_topic = "a\\u0000b"\n', "mqtt.base_topic: 'a\\x00b' is not a topic"),
        ("[mqtt]\nbase_topic = '$SYS'\n", "mqtt.base_topic: '$SYS' starts with $"),
        ("[mqtt]\ndiscovery_prefix = '#'\n", "mqtt.discovery_prefix: '#' is not a topic"),
        ("[mqtt]\ndiscovery_prefix = ''\n", "mqtt.discovery_prefix: '' is not a topic"),
    ],
)
def test_errors_name_file_key_value_and_expectation(tmp_path, text, message):
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text))
    assert message in str(err.value)
    assert err.value.exit_code == 2


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml")


def test_slug_keeps_topics_safe():
    assert slug("Polar H10 #2") == "polar_h10__2"


def test_ride_section_and_the_coach_ceiling(tmp_path):
    f = _write(tmp_path, GOOD + "[ride]\nwarmup_min = 20\ntarget_min = 60\nauto_start = true\n")
    cfg = load_config(f)
    assert cfg.ride.auto_start
    settings = cfg.ride_settings()
    assert settings.ceiling_bpm == pytest.approx(0.69 * 168)  # top of zone 1 (LTHR)
    assert (settings.warmup_min, settings.target_min) == (20, 60)
    with pytest.raises(ConfigError, match=r"ride.target_min: 90 is not within 30-60 min"):
        load_config(_write(tmp_path, "[ride]\ntarget_min = 90\n"))
    with pytest.raises(ConfigError, match=r"ride.auto_start: 'yes' is not true or false"):
        load_config(_write(tmp_path, "[ride]\nauto_start = 'yes'\n"))


def test_the_alpha1_rule_is_configurable_and_its_floor_follows_a_high_resting_heart_rate(
    tmp_path,
):
    assert load_config(_write(tmp_path, GOOD)).ride_settings().alpha1 == Alpha1Settings()
    assert Alpha1Settings() == Alpha1Settings(limit=0.75, min_hr_bpm=90.0, max_artifact_rate=0.03)
    high_rest = load_config(_write(tmp_path, GOOD.replace("hr_rest = 48", "hr_rest = 78")))
    assert high_rest.ride_settings().alpha1.min_hr_bpm == 98  # HRrest + 20: clearly pedalling
    own = GOOD + "[ride]\nalpha1_limit = 0.8\nalpha1_min_hr_bpm = 85\nalpha1_max_artifact_pct = 5\n"
    alpha1 = load_config(_write(tmp_path, own)).ride_settings().alpha1
    assert alpha1 == Alpha1Settings(limit=0.8, min_hr_bpm=85.0, max_artifact_rate=0.05)


def test_config_check_prints_the_effective_config_without_the_secret(tmp_path, capsys):
    from hrvd.cli import main  # noqa: PLC0415

    secret = tmp_path / "pw"
    secret.write_text("s3cret-Pa55\n")
    f = _write(
        tmp_path,
        GOOD.replace('username = "hrvd"', f'username = "hrvd"\npassword_file = "{secret}"'),
    )
    assert main(["config", "check", "--config", str(f)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out
    assert "sustain_s = 30.0" in out  # a default, filled in
    assert "# alpha1_min_hr_bpm: 90 (derived)" in out
    assert "# ceiling_bpm: 116 (the top of zone 1)" in out  # 69 % of LTHR 168
    assert f"# password: read from {secret} (not shown)" in out
    assert "s3cret" not in out
    assert main(["config", "check", "--config", str(tmp_path / "nope.toml")]) == 2
    secret.chmod(0o604)
    assert main(["config", "check", "--config", str(f)]) == 0
    err = capsys.readouterr().err
    assert f"warning: the password file {secret} can be read by every user (mode 0604)" in err
    assert "s3cret" not in err


def test_the_example_config_is_valid_and_names_every_key():
    example = Path(__file__).parent.parent / "config" / "hrvd.example.toml"
    cfg = load_config(example)
    assert cfg.straps[0].name == "h10"
    text = example.read_text()
    for key in (
        "host",
        "port",
        "base_topic",
        "discovery_prefix",
        "username",
        "password_file",
        "tls_ca_file",
        "client_id",
        "address",
        "role",
        "hr_max",
        "hr_rest",
        "lthr",
        "zones",
        "timezone",
        "language",
        "ceiling_follows_hrvt1",
        "hrvt1_margin_bpm",
        "ceiling_bpm",
        "sustain_s",
        "hysteresis_bpm",
        "warmup_min",
        "target_min",
        "auto_start",
        "alpha1_limit",
        "alpha1_min_hr_bpm",
        "alpha1_max_artifact_pct",
        "path",
    ):
        assert f"{key} =" in text, key


def test_run_logs_a_warning_for_a_world_readable_password_file(tmp_path):
    from structlog.testing import capture_logs  # noqa: PLC0415

    from hrvd.daemon.service import Daemon  # noqa: PLC0415

    secret = tmp_path / "pw"
    secret.write_text("s3cret-Pa55\n")
    secret.chmod(0o644)
    config = load_config(
        _write(
            tmp_path,
            GOOD.replace('username = "hrvd"', f'username = "hrvd"\npassword_file = "{secret}"'),
        )
    )
    with capture_logs() as logs:
        Daemon(config)
    warned = [e for e in logs if e["event"] == "password file readable by every user"]
    assert warned[0]["log_level"] == "warning"
    assert f"{secret} can be read by every user (mode 0644)" in warned[0]["detail"]
    assert "s3cret" not in repr(logs)
