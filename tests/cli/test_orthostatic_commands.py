"""How an orthostatic test is asked for: the CLI flag, the MQTT command, the HA button."""

import json

from hrvd.cli import main
from hrvd.config import Config
from hrvd.publish.commands import MorningCommand, Rejected, parse_morning_command
from hrvd.publish.discovery import config_topic, discovery_messages


def test_the_test_lies_first_so_another_posture_is_a_usage_error(tmp_path, capsys):
    config = tmp_path / "hrvd.toml"
    config.write_text("")
    code = main(["morning", "--orthostatic", "--posture", "sitting", "--config", str(config)])
    assert code == 2
    err = capsys.readouterr().err
    assert "--orthostatic lies first, then stands" in err
    assert "Traceback" not in err


def test_the_morning_command_asks_for_the_test_by_word_or_by_json():
    assert parse_morning_command(b"orthostatic") == MorningCommand(orthostatic=True)
    both = parse_morning_command(b'{"orthostatic": true, "repeat": true}')
    assert both == MorningCommand(repeat=True, orthostatic=True)
    assert parse_morning_command(b"start") == MorningCommand()
    # Not a yes or no, or not an object: refused, not taken for a plain morning.
    assert isinstance(parse_morning_command(b'{"orthostatic": "yes"}'), Rejected)
    assert isinstance(parse_morning_command(b"[true]"), Rejected)


def test_home_assistant_gets_a_button_that_starts_the_test():
    config = Config()
    topic = config_topic(config, "athlete")
    (athlete,) = [m for m in discovery_messages(config, "1.0") if m.topic == topic]
    button = json.loads(athlete.payload)["components"]["start_orthostatic"]
    assert button["platform"] == "button"
    assert button["command_topic"] == "hrvd/cmd/morning"
    assert button["payload_press"] == "orthostatic"
