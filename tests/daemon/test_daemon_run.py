"""`hrvd run` as a subprocess: fake BlueZ on a private bus, a real mosquitto, systemd notify."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
import time
from typing import TYPE_CHECKING

import aiomqtt
import pytest

from harness.daemon import WAIT_S, WATCHDOG_S, NotifySocket, daemon, fast_strap
from hrvd.store import Store, open_store
from support.daemon_run_kit import first_json, run_config, until_online
from support.stored import read_store

if TYPE_CHECKING:
    from pathlib import Path

    from harness.fake_bluez import FakeBluez
    from harness.mosquitto import Broker


async def test_run_streams_to_mqtt_tells_systemd_and_stops_cleanly(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, notify: NotifySocket
):
    strap = fast_strap("AA:BB:CC:DD:EE:40")
    await fake_bluez.add_strap(strap)
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as sub,
        daemon(run_config(tmp_path, broker, strap), notify) as proc,
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
    async with daemon(run_config(tmp_path, broker, strap), notify) as proc:
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
        daemon(run_config(tmp_path, broker, strap), notify) as proc,
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


async def test_a_ride_cut_by_kill_9_is_ended_as_interrupted_when_the_daemon_is_back(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, notify: NotifySocket
):
    strap = fast_strap("AA:BB:CC:DD:EE:45")
    await fake_bluez.add_strap(strap)
    config_path = run_config(tmp_path, broker, strap)
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as sub,
        daemon(config_path, notify) as proc,
    ):
        await sub.subscribe("hrvd/status", qos=1)
        await until_online(sub)
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
        ride = await first_json(broker.port, "hrvd/h10_garage/ride", lambda p: not p["active"])
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
        await until_online(sub)
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
    config_path = run_config(tmp_path, broker, strap)
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
        alert = await first_json(broker.port, "hrvd/h10_garage/alert", lambda p: not p["too_hard"])
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert alert["reason"] == "interrupted"
    assert alert["id"] == f"{on['id']}:interrupted"
    assert alert["ceiling_bpm"] == on["ceiling_bpm"]


async def test_hostile_commands_and_floods_leave_the_daemon_streaming_and_answering(
    fake_bluez: FakeBluez, broker: Broker, tmp_path: Path, notify: NotifySocket
):
    strap = fast_strap("AA:BB:CC:DD:EE:47")
    await fake_bluez.add_strap(strap)
    config_path = run_config(tmp_path, broker, strap)
    config_path.write_text(config_path.read_text().replace('role = "ride"', 'role = "both"'))
    huge_name = json.dumps({"action": "start", "strap": "h" * 10_000_000}).encode()
    hostile = [b"[" * 1000, b"9" * 4400, b'{"action": 1}', b"x" * 10_000_000, huge_name]
    async with aiomqtt.Client("127.0.0.1", broker.port) as sub:
        # Retained: the broker hands it to the daemon at every start.
        await sub.publish("hrvd/cmd/ride", b"[" * 1000, qos=1, retain=True)
        await sub.publish("hrvd/cmd/morning", b"start", qos=1, retain=True)
        async with daemon(config_path, notify) as proc:
            await sub.subscribe("hrvd/status", qos=1)
            await until_online(sub)
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
