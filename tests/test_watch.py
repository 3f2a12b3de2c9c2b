"""hrvd watch: the live view fed from MQTT, while a replay publishes a ride."""

from __future__ import annotations

import asyncio
import contextlib
import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import pytest
from rich.console import Console

from hrvd.config import load_config
from hrvd.errors import UsageError
from hrvd.hrv.synthetic import ride_rr
from hrvd.replay import run_replay
from hrvd.watch import watch

if TYPE_CHECKING:
    from pathlib import Path

    from fixtures.mosquitto import Broker

RIDE = [(900, 100, 100, 0.7), (300, 106, 124, 0.5), (300, 124, 108, 0.5)]


def _config(tmp_path: Path, broker: Broker) -> Path:
    f = tmp_path / "hrvd.toml"
    f.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n'
        '[[strap]]\nname = "H10 Garage"\nrole = "ride"\n[athlete]\nhr_max = 190\n'
    )
    return f


async def test_watch_shows_what_the_daemon_publishes(broker, tmp_path):
    config = load_config(_config(tmp_path, broker))
    out = io.StringIO()
    watching = asyncio.create_task(watch(config, None, Console(file=out, width=120)))
    await asyncio.sleep(0.5)  # subscribed
    rr = ride_rr(RIDE, np.random.default_rng(2))
    await run_replay(rr, config=config, strap=None, speed=0, force=True,
                     start=datetime(2026, 11, 27, 17, tzinfo=UTC), out=io.StringIO())  # fmt: skip
    await asyncio.sleep(0.5)
    watching.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watching
    shown = out.getvalue()
    assert "warmup: phase" in shown
    assert "ALERT too hard for recovery" in shown
    assert "ride summary" in shown


async def test_watch_refuses_a_strap_that_is_not_configured(broker, tmp_path):
    config = load_config(_config(tmp_path, broker))
    with pytest.raises(UsageError, match="no strap 'nope' in the config"):
        await watch(config, "nope", Console(file=io.StringIO()))
