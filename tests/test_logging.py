import json

import pytest
import structlog

from hrvd.logging import configure_logging


@pytest.fixture(autouse=True)
def _restore_structlog():
    # configure_logging binds sys.stderr, which is capsys's stream here: undo it after.
    yield
    structlog.reset_defaults()


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
