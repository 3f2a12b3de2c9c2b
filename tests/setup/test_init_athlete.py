"""`hrvd init --add-athlete`: a second athlete in the config, comments kept, history named."""

from __future__ import annotations

import asyncio
import io
from datetime import date
from typing import TYPE_CHECKING

import pytest

from hrvd.cli import build_parser
from hrvd.coach.baseline import Morning, Posture
from hrvd.config import DEFAULT_ATHLETE, load_config
from hrvd.errors import UsageError
from hrvd.setup.init import run_init
from hrvd.store import open_store

if TYPE_CHECKING:
    from pathlib import Path

FIRST = ["--strap", "AA:BB:CC:DD:EE:01", "--hr-max", "185", "--timezone", "Europe/Brussels"]
BEN = [
    "--add-athlete",
    "Ben",
    "--strap",
    "AA:BB:CC:DD:EE:02",
    "--strap-name",
    "H9 Ben",
    "--role",
    "morning",
    "--hr-max",
    "178",
    "--hr-rest",
    "56",
]


@pytest.fixture(autouse=True)
def _private_homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("HRVD_CONFIG", raising=False)


def init(argv: list[str], out: io.StringIO | None = None, **kwargs) -> int:
    args = build_parser().parse_args(["init", *argv])
    return run_init(args, out or io.StringIO(), **kwargs)


def _first_config(tmp_path: Path) -> Path:
    f = tmp_path / "hrvd.toml"
    assert init(["--yes", *FIRST, "--output", str(f)]) == 0
    return f


def test_a_second_athlete_is_added_with_their_strap_and_every_comment_stays(tmp_path):
    f = _first_config(tmp_path)
    before = f.read_text()
    out = io.StringIO()
    assert init(["--yes", *BEN, "--first-athlete", "Anna", "--output", str(f)], out) == 0
    after = f.read_text()
    comments = [line[line.index("#") :] for line in before.splitlines() if "#" in line]
    assert all(c in after for c in comments)
    config = load_config(f)
    assert [a.name for a in config.athletes] == ["Anna", "Ben"]
    assert config.athletes[0].hr_max == 185
    assert (config.athletes[1].hr_max, config.athletes[1].hr_rest) == (178, 56)
    assert config.athletes[1].timezone == "Europe/Brussels"  # the first athlete's, by default
    assert [(s.name, s.athlete, s.role) for s in config.straps] == [
        (config.straps[0].name, "Anna", "both"),
        ("H9 Ben", "Ben", "morning"),
    ]
    assert "Anna, Ben" in out.getvalue()


def test_the_first_athletes_history_follows_the_name_they_are_given(tmp_path):
    f = _first_config(tmp_path)
    store_path = load_config(f).store.path
    with open_store(store_path) as store:
        morning = Morning(date(2026, 11, 1), Posture.LYING, 4.0, 52.0)
        asyncio.run(store.add_mornings([morning], source="measured"))
    out = io.StringIO()
    assert init(["--yes", *BEN, "--first-athlete", "Anna", "--output", str(f)], out) == 0
    assert f"moved 1 stored row(s) of '{DEFAULT_ATHLETE}' to 'Anna'" in out.getvalue()
    with open_store(store_path, readonly=True) as store:
        assert [m.ln_rmssd for m in store.mornings("Anna")] == [4.0]
        assert store.mornings(DEFAULT_ATHLETE) == []


def test_a_running_daemon_keeps_the_config_unchanged_when_history_must_move(tmp_path):
    f = _first_config(tmp_path)
    store_path = load_config(f).store.path
    before = f.read_text()
    with (
        open_store(store_path, exclusive=True),  # as the daemon holds it
        pytest.raises(UsageError, match="stop the daemon") as err,
    ):
        init(["--yes", *BEN, "--first-athlete", "Anna", "--output", str(f)])
    assert err.value.exit_code == 2
    assert f.read_text() == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--add-athlete", "me"], "already has the athlete 'me'"),
        (["--add-athlete", "Ben", "--first-athlete", "ben"], "are one name"),
        (["--add-athlete", "Ben", "--strap-name", "strap"], "has the topic slug"),
    ],
)
def test_a_name_already_taken_is_one_clear_error_and_nothing_changes(tmp_path, extra, message):
    f = _first_config(tmp_path)
    before = f.read_text()
    argv = ["--yes", *BEN[2:], *extra, "--output", str(f)]
    with pytest.raises(UsageError, match=message) as err:
        init(argv)
    assert err.value.exit_code == 2
    assert f.read_text() == before


def test_adding_to_a_missing_config_says_to_write_one_first(tmp_path):
    with pytest.raises(UsageError, match="'hrvd init' writes a first config"):
        init(["--yes", *BEN, "--output", str(tmp_path / "none.toml")])
