"""`hrvd run` as a subprocess: fake BlueZ on a private bus, a real mosquitto, systemd notify."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import signal
import sqlite3
import time
from typing import TYPE_CHECKING

import aiomqtt
import pytest

from harness.daemon import (
    WAIT_S,
    WATCHDOG_S,
    NotifySocket,
    StrapEntry,
    daemon,
    fast_strap,
    write_config,
)
from harness.fake_bluez import FakeBluez, FakeStrap, steady_rr
from hrvd.cli.morning import morning_command
from hrvd.cli.ride import ride_command
from hrvd.config import load_config
from hrvd.store import Store, open_store
from stored import read_store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from harness.mosquitto import Broker


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    """systemd's notify socket for the daemon under test."""
    sock = NotifySocket(tmp_path / "notify")
    yield sock
    sock.close()


def _config(tmp_path: Path, broker: Broker, strap: FakeStrap) -> Path:
    return write_config(
        tmp_path / "hrvd.toml",
        port=broker.port,
        store=tmp_path / "store.sqlite3",
        straps=[StrapEntry("H10 Garage", strap.address, "ride")],
        tables={"athlete": {"hr_max": 190, "hr_rest": 50}},
    )


async def test_run_streams_to_mqtt_tells_systemd_and_stops_cleanly(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, notify: NotifySocket
):
    strap = fast_strap("AA:BB:CC:DD:EE:40")
    await fake_bluez.add_strap(strap)
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as sub,
        daemon(_config(tmp_path, broker, strap), notify) as proc,
    ):
        await sub.subscribe("hrvd/#", qos=1)
        await notify.until("READY=1")
        states, online = [], []
        async with asyncio.timeout(WAIT_S):
            async for m in sub.messages:
                if m.topic.matches("hrvd/h10_garage/state"):
                    states.append(json.loads(m.payload))  # type: ignore[arg-type]
                if m.topic.matches("hrvd/h10_garage/availability"):
                    online.append(m.payload)
                if len(states) >= 8:
                    break
        # The strap drops: the daemon reconnects, and its watchdog pings must not pause.
        await strap.drop()
        await notify.drain(WATCHDOG_S * 3)
        assert strap.connects >= 2
        assert online[-1] == b"online"
        assert any(s["rr_ms"] for s in states)
        assert states[-1]["hr_bpm"] == pytest.approx(200, abs=3)
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        assert time.monotonic() - stopped_at < 5.0
        async with asyncio.timeout(WAIT_S):
            async for m in sub.messages:
                if m.topic.matches("hrvd/status") and m.payload == b"offline":
                    break
        # A clean stop leaves no strap "streaming" or "online" behind on the broker.
        assert await _retained_text(broker.port, "hrvd/h10_garage/availability") == "offline"
        assert await _retained_text(broker.port, "hrvd/h10_garage/link") == "disconnected"
    await notify.drain(0.2)  # what the daemon said while stopping
    pings = [t for t, m in notify.received if "WATCHDOG=1" in m]
    assert len(pings) >= 3
    assert max(b - a for a, b in itertools.pairwise(pings)) < WATCHDOG_S
    assert any("STATUS=" in m and "streaming" in m for _, m in notify.received)
    assert any("STOPPING=1" in m for _, m in notify.received)
    # Every beat published was kept in the store, written in batches and flushed at SIGTERM.
    kept = await read_store(tmp_path / "store.sqlite3", lambda s: s.beats("H10 Garage", 0, 2**62))
    assert len(kept) >= sum(len(s["rr_ms"]) for s in states)
    published = [rr for s in states for rr in s["rr_ms"]]
    stored = [round(b.rr_ms, 1) for b in kept]
    assert any(stored[i : i + len(published)] == published for i in range(len(stored)))


async def test_ready_comes_while_the_broker_is_down_and_data_flows_once_it_is_up(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, notify: NotifySocket
):
    strap = fast_strap("AA:BB:CC:DD:EE:41")
    await fake_bluez.add_strap(strap)
    broker.stop()
    async with daemon(_config(tmp_path, broker, strap), notify) as proc:
        await notify.until("READY=1")
        broker.start()
        async with aiomqtt.Client("127.0.0.1", broker.port) as sub:
            await sub.subscribe("hrvd/h10_garage/state")
            async with asyncio.timeout(WAIT_S * 2):
                message = await anext(aiter(sub.messages))
        assert json.loads(message.payload)["hr_bpm"] is not None  # type: ignore[arg-type]
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0


async def test_kill_9_leaves_offline_through_the_last_will(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, notify: NotifySocket
):
    strap = fast_strap("AA:BB:CC:DD:EE:42")
    await fake_bluez.add_strap(strap)
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as sub,
        daemon(_config(tmp_path, broker, strap), notify) as proc,
    ):
        await sub.subscribe("hrvd/status", qos=1)
        async with asyncio.timeout(WAIT_S):
            async for m in sub.messages:
                if m.payload == b"online":
                    break
        proc.kill()
        await proc.wait()
        async with asyncio.timeout(WAIT_S):
            async for m in sub.messages:
                if m.payload == b"offline":
                    break


async def _retained(port: int, topic: str) -> dict[str, object]:
    """The retained JSON on ``topic``, as a dashboard that subscribes now would see it."""
    async with aiomqtt.Client("127.0.0.1", port) as sub:
        await sub.subscribe(topic, qos=1)
        async with asyncio.timeout(WAIT_S):
            message = await anext(aiter(sub.messages))
    assert message.retain
    return json.loads(message.payload)  # type: ignore[arg-type,no-any-return]


async def _retained_text(port: int, topic: str) -> str:
    """The retained plain value on ``topic``."""
    async with aiomqtt.Client("127.0.0.1", port) as sub:
        await sub.subscribe(topic, qos=1)
        async with asyncio.timeout(WAIT_S):
            message = await anext(aiter(sub.messages))
    assert message.retain
    assert isinstance(message.payload, bytes)
    return message.payload.decode()


async def _first(
    port: int, topic: str, wanted: Callable[[dict[str, object]], bool]
) -> dict[str, object]:
    """The first JSON on ``topic`` (retained or new) that is ``wanted``."""
    async with aiomqtt.Client("127.0.0.1", port) as sub:
        await sub.subscribe(topic, qos=1)
        async with asyncio.timeout(WAIT_S):
            async for m in sub.messages:
                payload: dict[str, object] = json.loads(m.payload)  # type: ignore[arg-type]
                if wanted(payload):
                    return payload
    raise AssertionError  # unreachable: the timeout ends the loop


async def _online(sub: aiomqtt.Client) -> None:
    async with asyncio.timeout(WAIT_S):
        async for m in sub.messages:
            if m.topic.matches("hrvd/status") and m.payload == b"online":
                return


async def test_a_ride_cut_by_kill_9_is_ended_as_interrupted_when_the_daemon_is_back(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, notify: NotifySocket
):
    strap = fast_strap("AA:BB:CC:DD:EE:45")
    await fake_bluez.add_strap(strap)
    config_path = _config(tmp_path, broker, strap)
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as sub,
        daemon(config_path, notify) as proc,
    ):
        await sub.subscribe("hrvd/status", qos=1)
        await _online(sub)
        await sub.publish("hrvd/cmd/ride", b"start", qos=1)
        await sub.subscribe("hrvd/h10_garage/ride", qos=1)
        async with asyncio.timeout(WAIT_S):
            async for m in sub.messages:
                if m.topic.matches("hrvd/h10_garage/ride"):
                    started = json.loads(m.payload)  # type: ignore[arg-type]
                    break
        await asyncio.sleep(0.5)  # the store's write of the ride message, off the loop
        proc.kill()
        await proc.wait()
    assert started["active"] is True
    assert (await _retained(broker.port, "hrvd/h10_garage/ride"))["active"] is True
    # Back after the crash: the retained ride no longer says a ride runs.
    async with daemon(config_path, notify) as proc:
        ride = await _first(broker.port, "hrvd/h10_garage/ride", lambda p: not p["active"])
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert ride["event"] == "ended (interrupted)"
    assert ride["phase"] == "complete"
    assert ride["id"] == f"{started['id']}:interrupted"
    # A clean start after that says nothing more: the ride is over in the store too.
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as sub,
        daemon(config_path, notify) as proc,
    ):
        await sub.subscribe("hrvd/h10_garage/ride", qos=1)
        await sub.subscribe("hrvd/status", qos=1)
        await _online(sub)
        await asyncio.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                async for m in sub.messages:
                    assert not (m.topic.matches("hrvd/h10_garage/ride") and not m.retain), m.payload


async def test_an_alert_left_on_by_a_crash_is_turned_off_at_start(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, notify: NotifySocket
):
    # The store as a daemon killed mid-alert leaves it (the broker holds the same).
    strap = fast_strap("AA:BB:CC:DD:EE:46")
    await fake_bluez.add_strap(strap)
    config_path = _config(tmp_path, broker, strap)
    on = {
        "id": "H10 Garage@2026-11-27T18:00:00+00:00:alert:1:on",
        "ts": "2026-11-27T18:05:00+00:00",
        "too_hard": True,
        "reason": "hr_ceiling",
        "since": "2026-11-27T18:04:50+00:00",
        "hr_bpm": 131.0,
        "ceiling_bpm": 118.0,
        "dfa_alpha1": None,
    }
    store = await asyncio.to_thread(open_store, tmp_path / "store.sqlite3")
    try:
        await store.keep_ride_state("hrvd/h10_garage/alert", on)
    finally:
        store.close()
    async with aiomqtt.Client("127.0.0.1", broker.port) as pub:
        await pub.publish("hrvd/h10_garage/alert", json.dumps(on).encode(), qos=1, retain=True)
    async with daemon(config_path, notify) as proc:
        alert = await _first(broker.port, "hrvd/h10_garage/alert", lambda p: not p["too_hard"])
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert alert["reason"] == "interrupted"
    assert alert["id"] == f"{on['id']}:interrupted"
    assert alert["ceiling_bpm"] == on["ceiling_bpm"]


async def test_a_ride_started_over_mqtt_is_stopped_by_hrvd_ride_and_kept(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, notify: NotifySocket
):
    strap = fast_strap("AA:BB:CC:DD:EE:43")
    await fake_bluez.add_strap(strap)
    config_path = _config(tmp_path, broker, strap)
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as sub,
        daemon(config_path, notify) as proc,
    ):
        await sub.subscribe("hrvd/h10_garage/ride", qos=1)
        await sub.subscribe("hrvd/status", qos=1)
        await _online(sub)  # READY does not wait for the broker; "online": commands heard
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
    config_path = _config(tmp_path, broker, strap)
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
    config_path = _config(tmp_path, broker, strap)
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
        readiness = await _first(broker.port, "hrvd/readiness", lambda p: "status" in p)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert readiness["status"] == "baseline"
    with contextlib.closing(sqlite3.connect(tmp_path / "store.sqlite3")) as db:
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    # A broker that lost it (here: wiped) gets it again at the next start, from the store.
    async with aiomqtt.Client("127.0.0.1", broker.port) as wipe:
        await wipe.publish("hrvd/readiness", b"", qos=1, retain=True)
    async with daemon(config_path, notify) as proc:
        again = await _first(broker.port, "hrvd/readiness", lambda p: "status" in p)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert again["status"] == "baseline"
    assert again["ln_rmssd"] == readiness["ln_rmssd"]


async def test_hostile_commands_and_floods_leave_the_daemon_streaming_and_answering(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, notify: NotifySocket
):
    strap = fast_strap("AA:BB:CC:DD:EE:47")
    await fake_bluez.add_strap(strap)
    config_path = _config(tmp_path, broker, strap)
    config_path.write_text(config_path.read_text().replace('role = "ride"', 'role = "both"'))
    huge_name = json.dumps({"action": "start", "strap": "h" * 10_000_000}).encode()
    hostile = [b"[" * 1000, b"9" * 4400, b'{"action": 1}', b"x" * 10_000_000, huge_name]
    async with aiomqtt.Client("127.0.0.1", broker.port) as sub:
        # Retained: the broker hands it to the daemon at every start.
        await sub.publish("hrvd/cmd/ride", b"[" * 1000, qos=1, retain=True)
        await sub.publish("hrvd/cmd/morning", b"start", qos=1, retain=True)
        async with daemon(config_path, notify) as proc:
            await sub.subscribe("hrvd/status", qos=1)
            await _online(sub)
            for payload in hostile:
                await sub.publish("hrvd/cmd/ride", payload, qos=1)
                await sub.publish("hrvd/cmd/morning", payload, qos=1)
            for k in range(2000):  # as fast as the broker takes them
                await sub.publish("hrvd/cmd/ride", b"stop" if k % 2 else b"start")
                await sub.publish("homeassistant/status", b"online")
            # Still streaming, and still answering commands.
            await sub.subscribe("hrvd/h10_garage/state")
            await sub.subscribe("hrvd/morning")
            await sub.publish("hrvd/cmd/morning", b"start", qos=1)
            seen: set[str] = set()
            async with asyncio.timeout(WAIT_S):
                async for m in sub.messages:
                    seen.add(str(m.topic))
                    if {"hrvd/h10_garage/state", "hrvd/morning"} <= seen:
                        break
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 10) == 0
    log = (tmp_path / "daemon.log").read_text()
    assert "Traceback" not in log
    assert len(log) < 50_000  # 14,000 refused commands, a few lines of log
    assert "h" * 100 not in log
    rides = await read_store(tmp_path / "store.sqlite3", Store.rides)
    assert 1 <= len(rides) <= 3  # 1,000 start/stop pairs: the burst of starts, no more
