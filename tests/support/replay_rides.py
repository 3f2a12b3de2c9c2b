"""The recorded ride and the config that hrvd replay's tests (tests/cli/test_replay*.py) share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from harness.mosquitto import Broker

EASY, HARD = 0.7, 0.2
RIDE = [  # (s, HR from, HR to, correlation): warm-up, steady, a drift above 114, back down
    (180, 95, 100, EASY),
    (720, 100, 100, EASY),
    (600, 104, 106, EASY),
    (180, 106, 124, 0.5),
    (300, 124, 124, HARD),
    (180, 124, 108, 0.5),
    (540, 106, 105, EASY),
]
START = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)


def replay_config(tmp_path: Path, broker: Broker) -> Path:
    f = tmp_path / "hrvd.toml"
    f.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n'
        '[[strap]]\nname = "H10 Garage"\nrole = "ride"\n'
        "[athlete]\nhr_max = 190\n"
    )
    return f
