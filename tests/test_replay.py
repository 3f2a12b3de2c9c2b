"""hrvd replay: a recorded ride through the live pipeline, printed and published."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiomqtt
import numpy as np
import pytest

from hrvd.cli import main
from hrvd.config import load_config
from hrvd.errors import HrvdError, UsageError
from hrvd.hrv.synthetic import ride_rr
from hrvd.replay import notifications, run_replay

if TYPE_CHECKING:
    from pathlib import Path

    from fixtures.mosquitto import Broker

EASY, HARD = 0.7, 0.2
RIDE = [  # (s, HR from, HR to, correlation): warm-up, steady, a drift above 114, back down
    (180, 95, 100, EASY), (720, 100, 100, EASY), (600, 104, 106, EASY),
    (180, 106, 124, 0.5), (300, 124, 124, HARD), (180, 124, 108, 0.5), (540, 106, 105, EASY),
]  # fmt: skip
START = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ride_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ride") / "ride.txt"
    np.savetxt(path, ride_rr(RIDE, np.random.default_rng(1)), fmt="%.1f")
    return path


def test_notifications_carry_every_beat_once_a_second_of_beat_time():
    rr = np.array([800.0, 820.0, 790.0, 1500.0, 700.0])
    sent = list(notifications("h10", rr))
    assert [n.at_s for n in sent] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [b.rr_ms for n in sent for b in n.beats] == rr.tolist()
    assert sent[0].beats[0].gap_before
    assert sent[0].beats[0].rr_raw == round(800 * 1.024)


def test_replay_prints_phases_one_alert_and_the_summary(ride_file, capsys):
    assert main(["replay", str(ride_file), "--speed", "0", "--start", START.isoformat()]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["0:00", "start", "started", "(command)"]
    assert any(line.startswith("  3:00  warmup") for line in lines)
    assert any("Soreness fading?" in line for line in lines)
    alerts = [line for line in lines if "ALERT" in line]
    assert len(alerts) == 1
    minutes = int(alerts[0].split(":")[0])
    assert 26 <= minutes <= 28  # the drift crosses 114 bpm near 26 min, plus 30 s sustained
    assert any("alert off (back_in_zone)" in line for line in lines)
    assert lines[-1].startswith("ride: 2701 s")
    assert "1 alert(s)" in lines[-1]


def test_replay_at_any_speed_gives_the_same_events(ride_file):
    rr = np.loadtxt(ride_file)[:1500]
    outs = []
    for speed in (0.0, 5000.0):
        out = io.StringIO()
        asyncio.run(run_replay(rr, config=None, strap=None, speed=speed, start=START,
                               force=False, out=out))  # fmt: skip
        outs.append(out.getvalue())
    assert outs[0] == outs[1]


def _config(tmp_path: Path, broker: Broker) -> Path:
    f = tmp_path / "hrvd.toml"
    f.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n'
        '[[strap]]\nname = "H10 Garage"\nrole = "ride"\n'
        "[athlete]\nhr_max = 190\n"
    )
    return f


async def test_replay_with_a_config_publishes_as_the_daemon_would(ride_file, broker, tmp_path):
    config = load_config(_config(tmp_path, broker))
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.subscribe("hrvd/#", qos=1)
        await run_replay(np.loadtxt(ride_file), config=config, strap=None, speed=0,
                         start=START, force=False, out=io.StringIO())  # fmt: skip
        got: list[tuple[str, bytes]] = []
        async with asyncio.timeout(10):
            async for m in client.messages:
                got.append((str(m.topic), m.payload))  # type: ignore[arg-type]
                if m.topic.matches("hrvd/h10_garage/session"):
                    break
    topics = {t for t, _ in got}
    expected = {"hrvd/status", "hrvd/h10_garage/state", "hrvd/h10_garage/alert",
                "hrvd/h10_garage/ride", "hrvd/h10_garage/availability"}  # fmt: skip
    assert expected <= topics
    alerts = [json.loads(p) for t, p in got if t == "hrvd/h10_garage/alert"]
    assert [a["too_hard"] for a in alerts] == [True, False]
    assert alerts[0]["reason"] == "hr_ceiling"
    assert alerts[0]["ceiling_bpm"] == pytest.approx(114.0)
    session = json.loads(next(p for t, p in got if t == "hrvd/h10_garage/session"))
    assert session["alerts"] == 1
    assert session["started"] == START.isoformat()
    # Replay waits for the broker: no live value is dropped for want of a connection.
    sent = len(list(notifications("x", np.loadtxt(ride_file))))
    assert sum(t == "hrvd/h10_garage/state" for t, _ in got) >= 0.95 * sent
    state = json.loads(next(p for t, p in got if t == "hrvd/h10_garage/state"))
    keys = {"ts", "hr_bpm", "rr_ms", "rmssd_ms", "ln_rmssd", "sdnn_ms", "dfa_alpha1",
            "artifact_rate", "zone", "contact", "battery_pct"}  # fmt: skip
    assert set(state) == keys


async def test_replay_refuses_to_publish_beside_a_running_daemon(ride_file, broker, tmp_path):
    config = load_config(_config(tmp_path, broker))
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.publish("hrvd/status", b"online", qos=1, retain=True)
    with pytest.raises(UsageError, match=r"a daemon is running \(hrvd/status is online\)"):
        await run_replay(np.loadtxt(ride_file)[:100], config=config, strap=None, speed=0,
                         start=START, force=False, out=io.StringIO())  # fmt: skip
    await run_replay(np.loadtxt(ride_file)[:100], config=config, strap=None, speed=0,
                     start=START, force=True, out=io.StringIO())  # fmt: skip


def test_a_recorded_drop_reaches_the_pipeline_as_a_gap():
    rr = np.full(20, 500.0)
    gaps = np.zeros(20, dtype=np.bool_)
    gaps[12] = True
    beats = [b for n in notifications("H10", rr, gaps) for b in n.beats]
    assert [i for i, b in enumerate(beats) if b.gap_before] == [0, 12]


class _Durable:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, object]]] = []

    def state(self, topic, payload) -> None:
        pass

    def retained(self, topic, payload) -> None:
        pass

    def durable(self, topic, payload) -> None:
        self.messages.append((topic, payload))


async def test_every_durable_message_of_a_ride_has_its_own_id():
    from hrvd.coach.recovery import GuardEvent, RideSettings  # noqa: PLC0415
    from hrvd.coach.rides import RideManager, RideStarted  # noqa: PLC0415
    from hrvd.hrv.zones import ZoneModel, zones_for  # noqa: PLC0415
    from hrvd.pipeline import StrapPipeline  # noqa: PLC0415
    from hrvd.replay import replay, wall_clock  # noqa: PLC0415

    sink = _Durable()
    zones = zones_for(ZoneModel.HRMAX, hr_max=190)
    rides = RideManager(RideSettings(zones.recovery_ceiling_bpm), hr_rest=None, auto_start=False)
    start = wall_clock(datetime(2026, 11, 27, tzinfo=UTC))
    pipeline = StrapPipeline(strap_name="H10", base_topic="hrvd", zones=zones, rides=rides,
                             sink=sink, to_wall=start)  # fmt: skip
    await replay(pipeline, ride_rr(RIDE, np.random.default_rng(3)), speed=0)
    # A guard that flaps within one second, and a ride that starts in the second the
    # last one started: every message still has an id of its own.
    pipeline._on_ride_events([RideStarted(0.0, "command")] + [  # noqa: SLF001
        GuardEvent(5.1 + i / 10, active=i % 2 == 1, artifact_rate=0.04) for i in range(4)
    ])  # fmt: skip
    ids = [str(p["id"]) for _, p in sink.messages]
    assert len(ids) > 10
    assert len(set(ids)) == len(ids)


async def test_replay_with_an_unreachable_broker_says_so_in_one_line(
    ride_file, broker, tmp_path, monkeypatch
):
    import hrvd.replay  # noqa: PLC0415

    monkeypatch.setattr(hrvd.replay, "CONNECT_WAIT_S", 0.5)
    config = load_config(_config(tmp_path, broker))
    broker.stop()
    with pytest.raises(HrvdError, match=r"cannot reach the broker 127.0.0.1:\d+ within 0.5 s"):
        await run_replay(np.loadtxt(ride_file)[:100], config=config, strap=None, speed=0,
                         start=START, force=True, out=io.StringIO())  # fmt: skip
