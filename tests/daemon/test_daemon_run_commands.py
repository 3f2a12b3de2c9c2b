"""`hrvd run` as a subprocess, commanded: a ride over MQTT and `hrvd ride`, morning measurements."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import signal
import sqlite3
from typing import TYPE_CHECKING

import aiomqtt

from harness.daemon import WAIT_S, NotifySocket, daemon, fast_strap
from harness.fake_bluez import FakeBluez, FakeStrap, steady_rr
from hrvd.cli.morning import morning_command
from hrvd.cli.ride import ride_command
from hrvd.config import load_config
from hrvd.publish.messages import MorningMessage, ReadinessMessage
from hrvd.store import Store
from support.daemon_run_kit import first_json, reads_back, run_config, until_online
from support.stored import read_store

if TYPE_CHECKING:
    from pathlib import Path

    from harness.mosquitto import Broker


async def test_a_ride_started_over_mqtt_is_stopped_by_hrvd_ride_and_kept(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, notify: NotifySocket
):
    strap = fast_strap("AA:BB:CC:DD:EE:43")
    await fake_bluez.add_strap(strap)
    config_path = run_config(tmp_path, broker, strap)
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as sub,
        daemon(config_path, notify) as proc,
    ):
        await sub.subscribe("hrvd/h10_garage/ride", qos=1)
        await sub.subscribe("hrvd/status", qos=1)
        await until_online(sub)  # READY does not wait for the broker; "online": commands heard
        await sub.publish("hrvd/cmd/ride", b"start", qos=1)
        async with asyncio.timeout(WAIT_S):
            async for m in sub.messages:
                ride = m.topic.matches("hrvd/h10_garage/ride")
                if ride and json.loads(m.payload)["phase"] == "start":  # type: ignore[arg-type]
                    break
        out = io.StringIO()
        await ride_command(await asyncio.to_thread(load_config, config_path), "stop", None, out)
        assert "ride over" in out.getvalue()
        assert "\nride summary: " in out.getvalue()  # the one formatter's lines
        assert "\nHRVT1 (alpha1 = 0.75): " in out.getvalue()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    rides = await read_store(tmp_path / "store.sqlite3", Store.rides)
    assert len(rides) == 1
    assert rides[0].strap == "H10 Garage"
    assert rides[0].summary["end_reason"] == "command"


async def test_a_morning_measurement_on_command_publishes_its_countdown_and_readiness(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, notify: NotifySocket
):
    # A resting heart of 60 bpm; a 60 s measurement without settling, to keep the test short.
    strap = FakeStrap(
        address="AA:BB:CC:DD:EE:44", notify_interval_s=1.0, rr_ms=steady_rr(1000.0, seed=4)
    )
    await fake_bluez.add_strap(strap)
    config_path = run_config(tmp_path, broker, strap)
    text = config_path.read_text().replace('role = "ride"', 'role = "both"')
    config_path.write_text(text + "[morning]\nstabilise_s = 0\nmeasure_s = 60\n")
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as sub,
        daemon(config_path, notify) as proc,
    ):
        await sub.subscribe("hrvd/#", qos=1)
        async with asyncio.timeout(WAIT_S):
            async for m in sub.messages:
                if m.topic.matches("hrvd/h10_garage/link") and m.payload == b"streaming":
                    break
        out = io.StringIO()
        command = asyncio.create_task(
            morning_command(
                await asyncio.to_thread(load_config, config_path), repeat=False, strap=None, out=out
            )
        )
        progress, readiness = [], None
        async with asyncio.timeout(120):
            async for m in sub.messages:
                if m.topic.matches("hrvd/morning"):
                    progress.append(json.loads(m.payload))  # type: ignore[arg-type]
                if m.topic.matches("hrvd/readiness"):
                    readiness = json.loads(m.payload)  # type: ignore[arg-type]
                    break
        await asyncio.wait_for(command, WAIT_S)
        assert "readiness: baseline" in out.getvalue()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert progress[0]["state"] in {"stabilising", "measuring"}
    assert progress[-1]["state"] == "done"
    assert all(reads_back(MorningMessage, p) for p in progress)
    assert readiness is not None
    assert reads_back(ReadinessMessage, readiness)
    remaining = [p["remaining_s"] for p in progress if p["state"] == "measuring"]
    assert remaining == sorted(remaining, reverse=True)
    assert readiness is not None
    assert readiness["status"] == "baseline"  # a first morning: no baseline yet
    assert readiness["score"] is None
    assert 50 < readiness["resting_hr_bpm"] < 70
    assert len(await read_store(tmp_path / "store.sqlite3", Store.mornings)) == 1


async def test_a_resting_morning_strap_starts_the_measurement_by_itself(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, notify: NotifySocket
):
    strap = FakeStrap(
        address="AA:BB:CC:DD:EE:45", notify_interval_s=1.0, rr_ms=steady_rr(1000.0, seed=5)
    )
    await fake_bluez.add_strap(strap)
    config_path = run_config(tmp_path, broker, strap)
    text = config_path.read_text().replace('role = "ride"', 'role = "morning"')
    config_path.write_text(
        text + '[morning]\nauto_start = true\nwindow = "00:00-23:59"\n'
        "stabilise_s = 0\nmeasure_s = 60\n"
    )
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as sub,
        daemon(config_path, notify) as proc,
    ):
        await sub.subscribe("hrvd/readiness", qos=1)
        async with asyncio.timeout(120):
            message = await anext(aiter(sub.messages))
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    readiness = json.loads(message.payload)  # type: ignore[arg-type]
    assert readiness["status"] == "baseline"
    assert 50 < readiness["resting_hr_bpm"] < 70


async def test_hrvd_morning_without_a_daemon_measures_itself_and_its_readiness_reaches_the_broker(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, notify: NotifySocket, monkeypatch
):
    import hrvd.cli.morning  # noqa: PLC0415

    monkeypatch.setattr(hrvd.cli.morning, "MORNING_DRAIN_S", 0.5)
    strap = FakeStrap(
        address="AA:BB:CC:DD:EE:46", notify_interval_s=1.0, rr_ms=steady_rr(1000.0, seed=6)
    )
    await fake_bluez.add_strap(strap)
    config_path = tmp_path / "hrvd.toml"
    config_path.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n'  # a broker, but no daemon
        f'[[strap]]\nname = "H10"\naddress = "{strap.address}"\nrole = "morning"\n'
        f"[athlete]\nhr_rest = 55\nhr_max = 190\n[morning]\nstabilise_s = 0\nmeasure_s = 60\n"
        f'[store]\npath = "{tmp_path / "store.sqlite3"}"\n'
    )
    out = io.StringIO()
    command = asyncio.create_task(
        morning_command(
            await asyncio.to_thread(load_config, config_path), repeat=False, strap=None, out=out
        )
    )
    # Its progress reaches the broker as the daemon's does; then the broker goes away.
    async with aiomqtt.Client("127.0.0.1", broker.port) as sub:
        await sub.subscribe("hrvd/morning", qos=1)
        async with asyncio.timeout(WAIT_S):
            progress = json.loads((await anext(aiter(sub.messages))).payload)  # type: ignore[arg-type]
    assert progress["state"] == "measuring"
    await asyncio.to_thread(broker.stop)
    await asyncio.wait_for(command, 120)
    shown = out.getvalue()
    assert "no daemon running: connecting to H10 myself" in shown
    assert "measurement done" in shown
    assert "readiness: baseline" in shown
    assert "the daemon sends it when it next starts" in shown
    kept = await read_store(
        tmp_path / "store.sqlite3", lambda s: (len(s.mornings()), s.measurement_count())
    )
    assert kept == (1, 1)  # and the raw RR of every measurement is kept
    # The broker is back; the next daemon start delivers the readiness from the outbox.
    await asyncio.to_thread(broker.start)
    async with daemon(config_path, notify) as proc:
        readiness = await first_json(broker.port, "hrvd/readiness", lambda p: "status" in p)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert readiness["status"] == "baseline"
    with contextlib.closing(sqlite3.connect(tmp_path / "store.sqlite3")) as db:
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    # A broker that lost it (here: wiped) gets it again at the next start, from the store.
    async with aiomqtt.Client("127.0.0.1", broker.port) as wipe:
        await wipe.publish("hrvd/readiness", b"", qos=1, retain=True)
    async with daemon(config_path, notify) as proc:
        again = await first_json(broker.port, "hrvd/readiness", lambda p: "status" in p)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert again["status"] == "baseline"
    assert again["ln_rmssd"] == readiness["ln_rmssd"]
    assert reads_back(ReadinessMessage, readiness)
    assert reads_back(ReadinessMessage, again)
    assert str(again["id"]).startswith(f"readiness:{readiness['date']}:lying:stored:")
