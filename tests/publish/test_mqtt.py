"""The MQTT publisher against a real mosquitto."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import textwrap
from typing import TYPE_CHECKING

import aiomqtt
from structlog.testing import capture_logs

from hrvd.config import MqttConfig
from hrvd.publish.mqtt import MqttPublisher
from hrvd.publish.outbox import Outbox
from support.broker_clients import WAIT_S, cfg, subscriber

if TYPE_CHECKING:
    from pathlib import Path

    from harness.mosquitto import Broker


async def test_status_is_online_while_connected_and_offline_after_a_clean_stop(
    broker: Broker, outbox: Outbox
):
    async with subscriber(broker, "hrvd/status") as sub:
        async with MqttPublisher(cfg(broker), outbox) as pub:
            await asyncio.wait_for(pub.connected.wait(), WAIT_S)
            await sub.until(lambda: sub.on("hrvd/status")[-1:] == [b"online"])
        await sub.until(lambda: sub.on("hrvd/status")[-1:] == [b"offline"])
    # Both are retained: a dashboard that connects later sees the last word.
    async with subscriber(broker, "hrvd/status") as late:
        await late.until(lambda: late.messages != [])
    assert late.messages == [("hrvd/status", b"offline", True)]


async def test_the_last_will_says_offline_when_the_daemon_is_killed(broker: Broker, tmp_path):
    script = textwrap.dedent(f"""
        import asyncio, sys
        from pathlib import Path
        from hrvd.config import MqttConfig
        from hrvd.logging import configure_logging
        from hrvd.publish.mqtt import MqttPublisher
        from hrvd.publish.outbox import Outbox

        async def main():
            configure_logging(json=True)
            cfg = MqttConfig(host="127.0.0.1", port={broker.port})
            async with MqttPublisher(cfg, Outbox(Path({str(tmp_path / "o.sqlite3")!r}))) as pub:
                await pub.connected.wait()
                print("ready", flush=True)
                await asyncio.Event().wait()

        asyncio.run(main())
    """)
    async with subscriber(broker, "hrvd/status") as sub:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE, env=dict(os.environ)
        )
        assert proc.stdout is not None
        assert (await asyncio.wait_for(proc.stdout.readline(), WAIT_S)).strip() == b"ready"
        await sub.until(lambda: sub.on("hrvd/status")[-1:] == [b"online"])
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        await sub.until(lambda: sub.on("hrvd/status")[-1:] == [b"offline"])


async def test_durable_messages_survive_a_broker_restart_in_order(broker: Broker, outbox: Outbox):
    topic = "hrvd/h10/alert"
    # A persistent session: the broker queues for it while it is away, as for Home Assistant.
    async with subscriber(broker, topic, client_id="ha-test"):
        pass
    async with MqttPublisher(cfg(broker), outbox) as pub:
        await asyncio.wait_for(pub.connected.wait(), WAIT_S)
        for i in range(5):
            await pub.send_durable(topic, {"id": f"a{i}", "too_hard": i % 2 == 0})
        broker.stop()
        for i in range(5, 15):
            await pub.send_durable(topic, {"id": f"a{i}", "too_hard": i % 2 == 0})
        assert await outbox.count() >= 10
        broker.start()
        async with subscriber(broker, topic, client_id="ha-test") as sub:
            await sub.until(lambda: len({json.loads(p)["id"] for p in sub.on(topic)}) == 15)
            await pub.send_durable(topic, {"id": "a15", "too_hard": False})
            await sub.until(lambda: b'"a15"' in b"".join(sub.on(topic)))
        # The subscriber may see the last message before the publisher has its PUBACK.
        async with asyncio.timeout(WAIT_S):
            while await outbox.count():  # noqa: ASYNC110 - the outbox is a file to ask
                await asyncio.sleep(0.05)
    ids = [json.loads(p)["id"] for p in sub.on(topic)]
    first_seen = list(dict.fromkeys(ids))
    assert first_seen == [f"a{i}" for i in range(16)]


OUTAGE_S = 4.0
"""Long enough for the reconnect wait to reach its cap (0.25 + 0.5 + 1 + 2 s)."""
RETURN_GOAL_S = 5.0
"""Issue 17: broker accepting connections again -> first queued alert at a subscriber."""


async def test_a_queued_alert_arrives_within_seconds_of_the_broker_coming_back(
    broker: Broker, outbox: Outbox
):
    topic = "hrvd/h10/alert"
    async with subscriber(broker, topic, client_id="ha-return"):
        pass
    loop = asyncio.get_running_loop()
    async with MqttPublisher(cfg(broker), outbox) as pub:
        await asyncio.wait_for(pub.connected.wait(), WAIT_S)
        broker.stop()
        await pub.send_durable(topic, {"id": "during-outage", "too_hard": True})
        await asyncio.sleep(OUTAGE_S)
        broker.start()  # returns once mosquitto accepts connections
        back = loop.time()
        async with subscriber(broker, topic, client_id="ha-return") as sub:
            await sub.until(lambda: sub.on(topic) != [])
        latency_s = loop.time() - back
    assert json.loads(sub.on(topic)[0])["id"] == "during-outage"
    assert latency_s <= RETURN_GOAL_S


async def test_messages_written_while_the_broker_was_never_there_go_out_after_a_restart(
    broker: Broker, tmp_path: Path
):
    path = tmp_path / "hrvd.sqlite3"
    broker.stop()
    box = await asyncio.to_thread(Outbox, path)
    async with MqttPublisher(cfg(broker), box) as pub:
        for i in range(3):
            await pub.send_durable("hrvd/readiness", {"id": f"r{i}"})
    box.close()
    # The daemon restarts; the broker is back.
    broker.start()
    box = await asyncio.to_thread(Outbox, path)
    try:
        async with (
            subscriber(broker, "hrvd/readiness") as sub,
            MqttPublisher(cfg(broker), box) as pub,
        ):
            await sub.until(lambda: len(sub.on("hrvd/readiness")) >= 3)
            # A subscriber can hold the last message before the publisher holds its
            # acknowledgement; flush waits for the acknowledgements, as a replay does.
            left = await pub.flush(WAIT_S)
        assert [json.loads(p)["id"] for p in sub.on("hrvd/readiness")][:3] == ["r0", "r1", "r2"]
        assert left == 0
        assert await box.count() == 0
    finally:
        box.close()


async def test_state_messages_are_dropped_while_the_broker_is_away(broker: Broker, outbox):
    broker.stop()
    async with MqttPublisher(cfg(broker), outbox) as pub:
        pub.publish_state("hrvd/h10/state", {"hr_bpm": 120})
        assert await outbox.count() == 0
        broker.start()
        await asyncio.wait_for(pub.connected.wait(), WAIT_S)
        async with subscriber(broker, "hrvd/h10/state") as sub:
            pub.publish_state("hrvd/h10/state", {"hr_bpm": 121})
            await sub.until(lambda: sub.on("hrvd/h10/state") != [])
    assert [json.loads(p) for p in sub.on("hrvd/h10/state")] == [{"hr_bpm": 121}]


async def test_retained_values_come_back_when_home_assistant_restarts(broker, outbox):
    config_topic = "homeassistant/device/hrvd_h10/config"
    async with MqttPublisher(cfg(broker), outbox) as pub:
        pub.set_retained(config_topic, b'{"dev":{}}')
        await asyncio.wait_for(pub.connected.wait(), WAIT_S)
        async with subscriber(broker, config_topic, "homeassistant/status") as sub:
            await sub.until(lambda: sub.on(config_topic) == [b'{"dev":{}}'])
            # Someone wipes the retained config; Home Assistant then comes online.
            await sub.client.publish(config_topic, b"", retain=True, qos=1)
            await sub.client.publish("homeassistant/status", b"online", qos=1)
            await sub.until(lambda: sub.on(config_topic)[-1:] == [b'{"dev":{}}'])


async def test_commands_reach_the_callback(broker, outbox):
    got: list[tuple[str, bytes]] = []
    arrived = asyncio.Event()

    def on_command(topic: str, payload: bytes) -> None:
        got.append((topic, payload))
        arrived.set()

    async with MqttPublisher(
        cfg(broker), outbox, on_command=on_command, command_topics=("hrvd/cmd/#",)
    ) as pub:
        await asyncio.wait_for(pub.connected.wait(), WAIT_S)
        async with subscriber(broker) as sub:
            await sub.client.publish("hrvd/cmd/ride", b"start", qos=1)
            await asyncio.wait_for(arrived.wait(), WAIT_S)
    assert got == [("hrvd/cmd/ride", b"start")]


async def test_a_full_disk_keeps_messages_in_memory_in_order(tmp_path: Path, broker):
    path = tmp_path / "tiny.sqlite3"
    box = await asyncio.to_thread(Outbox, path)
    try:
        # Let SQLite grow no further: the next inserts fail as on a full disk.
        box._db.execute("PRAGMA max_page_count = 1")  # noqa: SLF001
        big = b"x" * 8192  # larger than a page: each row needs pages the file may not add
        with capture_logs() as logs:
            for i in range(3):
                await box.put("hrvd/readiness", f"m{i}".encode() + big)
        assert any(e["event"].startswith("outbox write failed") for e in logs)
        assert await box.count() == 3
        async with subscriber(broker, "hrvd/readiness") as sub, MqttPublisher(cfg(broker), box):
            await sub.until(lambda: len(sub.on("hrvd/readiness")) == 3)
        assert sub.on("hrvd/readiness") == [b"m0" + big, b"m1" + big, b"m2" + big]
    finally:
        box.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_discovery_is_announced_and_a_removed_strap_is_cleared(broker, outbox):
    from hrvd.config import Config, StrapConfig  # noqa: PLC0415
    from hrvd.publish.announce import announce  # noqa: PLC0415
    from hrvd.publish.discovery import config_topic, strap_object  # noqa: PLC0415

    config = Config(mqtt=cfg(broker), straps=(StrapConfig("H10 garage"),))
    kept = config_topic(config, strap_object("H10 garage"))
    removed = config_topic(config, strap_object("Old strap"))
    foreign = "homeassistant/device/other_program/thing/config"
    async with subscriber(broker) as setup:
        await setup.client.publish(removed, b'{"old":true}', qos=1, retain=True)
        await setup.client.publish(foreign, b'{"theirs":true}', qos=1, retain=True)
    async with MqttPublisher(cfg(broker), outbox) as pub:
        announce(pub, config)
        async with subscriber(broker, "homeassistant/device/#") as sub:
            await sub.until(lambda: sub.on(removed)[-1:] == [b""] and sub.on(kept) != [])
    assert json.loads(sub.on(kept)[-1])["device"]["name"] == "hrvd H10 garage"
    assert sub.on(foreign) == [b'{"theirs":true}']


async def test_a_broker_that_only_speaks_mqtt_3_1_1_is_used_with_3_1_1(outbox):
    from harness.mosquitto import free_port  # noqa: PLC0415

    # amqtt, in a process of its own: it leaves the connection of the MQTT 5 CONNECT it
    # never answered open at shutdown, which would otherwise surface in a later test.
    port = free_port()
    script = (
        "import asyncio\nfrom hrvd.publish.embedded import embedded_broker\n"
        "async def main():\n"
        f"    async with embedded_broker({port}):\n"
        "        print('ready', flush=True)\n        await asyncio.Event().wait()\n"
        "asyncio.run(main())\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE, env=dict(os.environ)
    )
    try:
        assert proc.stdout is not None
        assert (await asyncio.wait_for(proc.stdout.readline(), WAIT_S)).strip() == b"ready"
        with capture_logs() as logs:
            async with MqttPublisher(MqttConfig(host="127.0.0.1", port=port), outbox) as pub:
                await asyncio.wait_for(pub.connected.wait(), WAIT_S)
                async with aiomqtt.Client(
                    "127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V311
                ) as client:
                    await client.subscribe("hrvd/readiness", qos=1)
                    await pub.send_durable("hrvd/readiness", {"id": "v311"})
                    async with asyncio.timeout(WAIT_S):
                        message = await anext(aiter(client.messages))
    finally:
        proc.kill()
        await proc.wait()
    assert json.loads(message.payload)["id"] == "v311"  # type: ignore[arg-type]
    connected = [e for e in logs if e["event"] == "broker connected"]
    assert connected[0]["protocol"] == "V311"


async def test_a_flood_of_home_assistant_online_is_answered_once_per_interval(broker, outbox):
    config_topic = "homeassistant/device/hrvd_h10/config"
    async with MqttPublisher(cfg(broker), outbox) as pub:
        pub.set_retained(config_topic, b'{"dev":{}}')
        await asyncio.wait_for(pub.connected.wait(), WAIT_S)
        async with subscriber(broker, config_topic, "hrvd/done") as sub:
            await sub.until(lambda: len(sub.on(config_topic)) == 1)  # the retained one
            for _ in range(1000):
                await sub.client.publish("homeassistant/status", b"online", qos=0)
            await sub.client.publish("hrvd/done", b"", qos=1)
            await sub.until(lambda: sub.on("hrvd/done"))
            await sub.until(lambda: len(sub.on(config_topic)) >= 2)
            await asyncio.sleep(1.0)  # time for more, were more to come
    # One answer now; the other 999 fall in its interval and share one answer at its end.
    assert len(sub.on(config_topic)) == 2


async def test_retained_commands_are_ignored_and_live_ones_heard(broker, outbox):
    got: list[bytes] = []
    arrived = asyncio.Event()

    def on_command(_topic: str, payload: bytes) -> None:
        got.append(payload)
        arrived.set()

    async with subscriber(broker) as sub:
        # A retained start would start a ride at every start of the daemon.
        await sub.client.publish("hrvd/cmd/ride", b"start", qos=1, retain=True)
        async with MqttPublisher(
            cfg(broker), outbox, on_command=on_command, command_topics=("hrvd/cmd/#",)
        ) as pub:
            await asyncio.wait_for(pub.connected.wait(), WAIT_S)
            await sub.client.publish("hrvd/cmd/ride", b"stop", qos=1)
            await asyncio.wait_for(arrived.wait(), WAIT_S)
    assert got == [b"stop"]


async def test_a_command_handler_that_raises_is_logged_and_the_link_stays(broker, outbox):
    got: list[bytes] = []
    arrived = asyncio.Event()

    def on_command(_topic: str, payload: bytes) -> None:
        if payload == b"bug":
            raise RecursionError
        got.append(payload)
        arrived.set()

    with capture_logs() as logs:
        async with MqttPublisher(
            cfg(broker), outbox, on_command=on_command, command_topics=("hrvd/cmd/#",)
        ) as pub:
            await asyncio.wait_for(pub.connected.wait(), WAIT_S)
            async with subscriber(broker) as sub:
                await sub.client.publish("hrvd/cmd/ride", b"bug", qos=1)
                await sub.client.publish("hrvd/cmd/ride", b"stop", qos=1)
                await asyncio.wait_for(arrived.wait(), WAIT_S)
            assert pub.connected.is_set()
            assert pub.handler_failures == 1
    assert got == [b"stop"]
    failed = [e for e in logs if e["event"] == "command handling failed"]
    assert len(failed) == 1
    assert failed[0]["exc_info"] is True
