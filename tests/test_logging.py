import json
import logging

import pytest
import structlog

from hrvd.logging import configure_logging

pytestmark = pytest.mark.usefixtures("restore_logging")


def test_json_lines_carry_a_journald_priority_under_systemd(monkeypatch, capsys):
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    configure_logging(json=True)
    log = structlog.get_logger("t")
    log.error("store full", path="/var/lib/hrvd/x")
    log.info("broker connected")
    first, second = capsys.readouterr().err.splitlines()
    assert first.startswith("<3>{")
    assert json.loads(first[3:])["event"] == "store full"
    assert second.startswith("<6>{")


def test_plain_json_off_journald_and_levels_filtered(monkeypatch, capsys):
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    configure_logging(json=True, level="warning")
    log = structlog.get_logger("t")
    log.info("hidden")
    log.warning("shown", x=1)
    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["shown"]


def test_a_librarys_warning_is_an_event_like_ours_and_its_debug_stays_out(monkeypatch, capsys):
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    configure_logging(json=True, level="debug")
    configure_logging(json=True, level="debug")  # twice: still one line per record
    logging.getLogger("aiomqtt").warning("There are %d pending publish calls.", 11)
    logging.getLogger("bleak").debug("chatter")
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("<4>{")
    event = json.loads(line[3:])
    assert event["event"] == "There are 11 pending publish calls."
    assert event["logger"] == "aiomqtt"
    assert event["level"] == "warning"


def test_a_lost_broker_connection_from_paho_is_a_warning_not_an_error(monkeypatch, capsys):
    # A broker restart: hrvd logs "broker connection lost" itself and reconnects.
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    configure_logging(json=True)
    logging.getLogger("mqtt").error("failed to receive on socket: %s", "[Errno 104] reset")
    logging.getLogger("mqtt").error("something else")
    first, second = capsys.readouterr().err.splitlines()
    assert first.startswith("<4>{")
    assert json.loads(first[3:])["level"] == "warning"
    assert second.startswith("<3>{")
    assert json.loads(second[3:])["level"] == "error"
