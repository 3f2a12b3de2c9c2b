"""A household in one daemon: two athletes, two straps on the fake BlueZ, a real mosquitto.

Their mornings run at the same time, their rides too; each athlete's readiness, rides and
mornings must come out on that athlete's topics, in that athlete's rows of the store, and
on that athlete's Home Assistant device, never the other's.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import signal
import sys
from typing import TYPE_CHECKING

import aiomqtt
import pytest

from harness.fake_bluez import FakeBluez, FakeStrap, steady_rr
from hrvd.cli import main
from hrvd.cli.ride import ride_command
from hrvd.config import load_config
from hrvd.store import open_store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from harness.mosquitto import Broker

WAIT_S = 20.0
MORNING_S = 150.0
ANNA_RR_MS, BEN_RR_MS = 1000.0, 750.0  # resting hearts of 60 and 80 bpm


def _config(tmp_path: Path, broker: Broker) -> Path:
    f = tmp_path / "hrvd.toml"
    f.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n'
        '[[athlete]]\nname = "Anna"\nhr_max = 185\nhr_rest = 50\n'
        '[[athlete]]\nname = "Ben"\nlthr = 160\nzones = "lthr"\nhr_rest = 62\nlanguage = "nl"\n'
        "[athlete.ride]\nceiling_bpm = 125\n"
        '[[strap]]\nname = "H10 Anna"\naddress = "AA:BB:CC:DD:EE:80"\nathlete = "Anna"\n'
        '[[strap]]\nname = "H9 Ben"\naddress = "AA:BB:CC:DD:EE:81"\nathlete = "Ben"\n'
        "[morning]\nstabilise_s = 0\nmeasure_s = 60\n"
        f'[store]\npath = "{tmp_path / "store.sqlite3"}"\n'
    )
    return f


@contextlib.asynccontextmanager
async def daemon(config: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hrvd.cli",
        "run",
        "--config",
        str(config),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _until(sub: aiomqtt.Client, wanted: dict[str, object], within_s: float) -> dict:
    """Collect the first message on each topic of ``wanted`` whose payload passes its test."""
    seen: dict[str, object] = {}
    async with asyncio.timeout(within_s):
        async for m in sub.messages:
            topic = str(m.topic)
            test = wanted.get(topic)
            if test is None or topic in seen:
                continue
            assert isinstance(m.payload, bytes)
            text = m.payload.decode()
            value = json.loads(text) if text.startswith("{") else text
            if test(value):  # type: ignore[operator]
                seen[topic] = value
                if len(seen) == len(wanted):
                    return seen
    raise AssertionError  # unreachable: the timeout ends the loop


async def test_two_athletes_in_one_daemon_never_mix_rides_mornings_or_readiness(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anna = FakeStrap(
        address="AA:BB:CC:DD:EE:80", notify_interval_s=1.0, rr_ms=steady_rr(ANNA_RR_MS, seed=80)
    )
    ben = FakeStrap(
        address="AA:BB:CC:DD:EE:81", notify_interval_s=1.0, rr_ms=steady_rr(BEN_RR_MS, seed=81)
    )
    await fake_bluez.add_strap(anna)
    await fake_bluez.add_strap(ben)
    config_path = _config(tmp_path, broker)
    async with aiomqtt.Client("127.0.0.1", broker.port) as sub, daemon(config_path) as proc:
        await sub.subscribe("hrvd/#", qos=1)
        await sub.subscribe("homeassistant/device/hrvd/+/config", qos=1)
        found = await _until(
            sub,
            {
                "hrvd/status": lambda p: p == "online",
                "hrvd/anna/h10_anna/link": lambda p: p == "streaming",
                "hrvd/ben/h9_ben/link": lambda p: p == "streaming",
                "homeassistant/device/hrvd/athlete_anna/config": bool,
                "homeassistant/device/hrvd/athlete_ben/config": bool,
                "homeassistant/device/hrvd/strap_h9_ben/config": bool,
            },
            WAIT_S,
        )

        # Both mornings at once, each started on its athlete's own command topic.
        await sub.publish("hrvd/anna/cmd/morning", b"start", qos=1)
        await sub.publish("hrvd/ben/cmd/morning", b"start", qos=1)
        readiness = await _until(
            sub,
            {
                "hrvd/anna/readiness": lambda p: isinstance(p, dict) and "status" in p,
                "hrvd/ben/readiness": lambda p: isinstance(p, dict) and "status" in p,
            },
            MORNING_S,
        )

        # Both ride; Anna's ride is stopped from the command line, Ben's over MQTT.
        await sub.publish("hrvd/anna/cmd/ride", b"start", qos=1)
        await sub.publish("hrvd/ben/cmd/ride", b"start", qos=1)
        rides = await _until(
            sub,
            {
                "hrvd/anna/h10_anna/ride": lambda p: isinstance(p, dict) and p["active"],
                "hrvd/ben/h9_ben/ride": lambda p: isinstance(p, dict) and p["active"],
            },
            WAIT_S,
        )
        out = io.StringIO()
        config = await asyncio.to_thread(load_config, config_path)
        await ride_command(config.for_athlete("Anna"), "stop", None, out)
        assert "ride over" in out.getvalue()
        await sub.publish("hrvd/ben/cmd/ride", b"stop", qos=1)
        sessions = await _until(
            sub,
            {
                "hrvd/anna/h10_anna/session": lambda p: isinstance(p, dict),
                "hrvd/ben/h9_ben/session": lambda p: isinstance(p, dict),
            },
            WAIT_S,
        )
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0

    _check_messages(found, readiness, rides, sessions)
    await asyncio.to_thread(_check_store, tmp_path)
    # The commands (as from a shell, off this loop): one athlete's history, or a clear word
    # when none is named.
    assert (
        await asyncio.to_thread(main, ["history", "--config", str(config_path), "--athlete", "Ben"])
        == 0
    )
    assert await asyncio.to_thread(main, ["history", "--config", str(config_path)]) == 2
    err = capsys.readouterr().err
    assert "several athletes (Anna, Ben): name one with --athlete" in err


def _check_messages(found: dict, readiness: dict, rides: dict, sessions: dict) -> None:
    # Readiness: each athlete's own heart, each on their own topic.
    assert readiness["hrvd/anna/readiness"]["resting_hr_bpm"] == pytest.approx(60, abs=3)
    assert readiness["hrvd/ben/readiness"]["resting_hr_bpm"] == pytest.approx(80, abs=3)
    # Rides: each ceiling is the athlete's own (Anna: zone 1 of HRmax 185; Ben: his 125).
    assert rides["hrvd/anna/h10_anna/ride"]["ceiling_bpm"] != 125
    assert rides["hrvd/ben/h9_ben/ride"]["ceiling_bpm"] == 125
    assert sessions["hrvd/anna/h10_anna/session"]["strap"] == "H10 Anna"
    assert sessions["hrvd/ben/h9_ben/session"]["strap"] == "H9 Ben"
    # Home Assistant: one device per athlete, reading and commanding that athlete's topics.
    anna_device = found["homeassistant/device/hrvd/athlete_anna/config"]
    assert anna_device["device"]["name"] == "hrvd Anna"
    assert anna_device["components"]["readiness"]["state_topic"] == "hrvd/anna/readiness"
    assert anna_device["components"]["start_morning"]["command_topic"] == "hrvd/anna/cmd/morning"
    ben_strap = found["homeassistant/device/hrvd/strap_h9_ben/config"]
    assert ben_strap["device"]["via_device"] == "hrvd-athlete_ben"
    assert ben_strap["components"]["heart_rate"]["state_topic"] == "hrvd/ben/h9_ben/state"


def _check_store(tmp_path: Path) -> None:  # blocking: called on a thread
    # The store: each athlete's rows, nobody else's.
    store = open_store(tmp_path / "store.sqlite3", readonly=True)
    try:
        assert store.athletes() == ["Anna", "Ben"]
        assert [r.strap for r in store.rides(athlete="Anna")] == ["H10 Anna"]
        assert [r.strap for r in store.rides(athlete="Ben")] == ["H9 Ben"]
        (anna_morning,) = store.mornings("Anna")
        (ben_morning,) = store.mornings("Ben")
    finally:
        store.close()
    assert anna_morning.resting_hr_bpm == pytest.approx(60, abs=3)
    assert ben_morning.resting_hr_bpm == pytest.approx(80, abs=3)
