"""A flood of commands on the daemon: a few log lines, a few rides, the measurement once."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from structlog.testing import capture_logs

from harness.mosquitto import free_port
from hrvd.config import load_config
from hrvd.daemon.service import Daemon
from hrvd.daemon.systemd import Notifier
from hrvd.publish.commands import RIDE_STARTS_BURST
from hrvd.store import open_store

if TYPE_CHECKING:
    from pathlib import Path

    from hrvd.publish.messages import Payload
    from hrvd.store import Ride

WITHIN_S = 10.0


async def test_a_command_flood_logs_a_few_lines_and_stores_a_few_rides(
    tmp_path: Path, monkeypatch
) -> None:
    f = tmp_path / "hrvd.toml"
    f.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n'  # no broker: none is needed
        '[[strap]]\nname = "H10"\naddress = "AA:BB:CC:DD:EE:02"\nrole = "both"\n'
        f'[athlete]\nhr_max = 190\nhr_rest = 50\n[store]\npath = "{tmp_path / "s.sqlite3"}"\n'
    )
    daemon = Daemon(await asyncio.to_thread(load_config, f), Notifier({}))
    built = asyncio.Event()
    end_interrupted = Daemon._end_interrupted  # noqa: SLF001 - called once the sinks are built

    def then_built(self: Daemon, last: dict[str, Payload]) -> None:
        end_interrupted(self, last)
        built.set()

    monkeypatch.setattr(Daemon, "_end_interrupted", then_built)
    running = asyncio.create_task(daemon.run())
    await asyncio.wait_for(built.wait(), WITHIN_S)
    with capture_logs() as logs:
        for k in range(10_000):  # as if 1,000 a second for 10 s, all in one instant
            daemon.commands("hrvd/cmd/ride", b"stop" if k % 2 else b"start")
            daemon.commands("hrvd/cmd/morning", b"start")
            daemon.commands("hrvd/cmd/morning", b"[" * 1000)
            daemon.commands("hrvd/cmd/ride", b'{"action": "start", "strap": "nope"}')
    daemon.stop.set()
    await asyncio.wait_for(running, WITHIN_S)
    assert len(logs) < 30, [e["event"] for e in logs]
    assert sum(e["event"] == "morning measurement" for e in logs) == 1
    refused = [e for e in logs if "refused_since_last_line" in e]
    assert 1 <= len(refused) <= 5
    assert len(await asyncio.to_thread(_rides, tmp_path / "s.sqlite3")) == RIDE_STARTS_BURST


def _rides(path: Path) -> list[Ride]:
    """The stored rides (blocking: the test reads them on a thread)."""
    store = open_store(path)
    try:
        return store.rides()
    finally:
        store.close()
