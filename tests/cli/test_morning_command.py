"""`hrvd morning` against a running daemon: what it prints, as text or as JSON.

The daemon here is a stand-in on a real mosquitto that speaks the topic contract: status
online, and on ``cmd/morning`` a countdown and a readiness. The measurement itself is
tested with the real daemon in tests/daemon/test_daemon_run.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from typing import TYPE_CHECKING

import aiomqtt
import pytest

from hrvd.cli.morning import morning_command
from hrvd.config import load_config

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from harness.mosquitto import Broker

READINESS = {"status": "green", "score": 82, "recommendation_text": "Train as planned."}


@contextlib.asynccontextmanager
async def _stand_in_daemon(port: int, end: dict[str, object]) -> AsyncIterator[None]:
    """Online; answers a morning command with a countdown, then ``end`` on its topic."""
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.publish("hrvd/status", b"online", qos=1, retain=True)
        await client.subscribe("hrvd/cmd/morning", qos=1)

        async def answer() -> None:
            await anext(aiter(client.messages))
            for left in (2, 1):
                state = {"state": "measuring", "remaining_s": left}
                await client.publish("hrvd/morning", json.dumps(state).encode(), qos=1)
            topic = "hrvd/readiness" if "status" in end else "hrvd/morning"
            await client.publish(topic, json.dumps(end).encode(), qos=1)

        task = asyncio.create_task(answer())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _config(tmp_path: Path, port: int) -> Path:
    f = tmp_path / "hrvd.toml"
    f.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[store]\npath = "{tmp_path / "store.sqlite3"}"\n'
    )
    return f


async def _morning(tmp_path: Path, broker: Broker, end: dict[str, object], *, as_json: bool) -> str:
    config = await asyncio.to_thread(load_config, _config(tmp_path, broker.port))
    out = io.StringIO()
    async with _stand_in_daemon(broker.port, end):
        await asyncio.wait_for(
            morning_command(config, repeat=False, strap=None, out=out, as_json=as_json), 20
        )
    return out.getvalue()


async def test_the_readiness_is_printed_as_text(tmp_path, broker):
    out = await _morning(tmp_path, broker, READINESS, as_json=False)
    assert out.splitlines()[0] == "Lie still and breathe normally."
    assert "measuring: 1 s left" in out
    assert out.endswith("\nreadiness: green, score 82\nTrain as planned.\n")


@pytest.mark.parametrize(
    "end",
    [READINESS, {"state": "invalid", "reason": "too_many_artifacts"}],
    ids=["ready", "invalid"],
)
async def test_with_format_json_stdout_is_the_result_alone(tmp_path, broker, capsys, end):
    out = await _morning(tmp_path, broker, end, as_json=True)
    assert json.loads(out) == end  # one object, as the daemon published it
    err = capsys.readouterr().err
    assert "Lie still and breathe normally." in err
    assert "measuring: 1 s left" in err
