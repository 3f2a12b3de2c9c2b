"""hrvd replay: a recorded ride through the live pipeline, printed and published."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import numpy as np
import pytest

from hrvd.cli import main
from hrvd.cli.replay import notifications, run_replay
from hrvd.config import load_config
from hrvd.errors import HrvdError, UsageError
from hrvd.hrv.synthetic import ride_rr
from support.discovery_payloads import CONTRACT_KEYS
from support.replay_rides import RIDE, START, replay_config


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
    assert lines[1].split()[:3] == ["ceiling", "114.0", "bpm:"]  # which holds, and why
    assert any(line.startswith("  3:00  warmup") for line in lines)
    assert any("Soreness fading?" in line for line in lines)
    alerts = [line for line in lines if "ALERT" in line]
    minutes = int(alerts[0].split(":")[0])
    assert 26 <= minutes <= 28  # the drift crosses 114 bpm near 26 min, plus 30 s sustained
    assert "(hr_ceiling)" in alerts[0]
    # One alert: later lines only change its reason (alpha1 of the hard block joins in).
    assert all("dfa_alpha1" in line for line in alerts[1:])
    assert sum("alert off" in line for line in lines) == 1
    assert any("alert off (back_in_zone)" in line for line in lines)
    assert lines[-2].startswith("ride summary: 45:01,")
    assert "1 alert(s)" in lines[-2]
    # A recovery ride that drifts over its ceiling does not cross alpha1 0.75 cleanly.
    assert lines[-1].startswith("HRVT1 (alpha1 = 0.75): none from this ride")


def test_replay_at_any_speed_gives_the_same_events(ride_file):
    rr = np.loadtxt(ride_file)[:1500]
    outs = []
    for speed in (0.0, 5000.0):
        out = io.StringIO()
        asyncio.run(
            run_replay(rr, config=None, strap=None, speed=speed, start=START, force=False, out=out)
        )
        outs.append(out.getvalue())
    assert outs[0] == outs[1]


async def test_replay_with_a_config_publishes_as_the_daemon_would(ride_file, broker, tmp_path):
    config = await asyncio.to_thread(load_config, replay_config(tmp_path, broker))
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.subscribe("hrvd/#", qos=1)
        await run_replay(
            np.loadtxt(ride_file),
            config=config,
            strap=None,
            speed=0,
            start=START,
            force=False,
            out=io.StringIO(),
        )
        got: list[tuple[str, bytes]] = []
        async with asyncio.timeout(10):
            async for m in client.messages:
                got.append((str(m.topic), m.payload))  # type: ignore[arg-type]
                if m.topic.matches("hrvd/h10_garage/session"):
                    break
    topics = {t for t, _ in got}
    expected = {
        "hrvd/status",
        "hrvd/h10_garage/state",
        "hrvd/h10_garage/alert",
        "hrvd/h10_garage/ride",
        "hrvd/h10_garage/availability",
    }
    assert expected <= topics
    alerts = [json.loads(p) for t, p in got if t == "hrvd/h10_garage/alert"]
    # One alert, on until the end; while on, only its reason may change (alpha1 of the
    # hard block, about 0.6 by construction, joins the heart rate as evidence).
    assert [a["too_hard"] for a in alerts][-1] is False
    assert all(a["too_hard"] for a in alerts[:-1])
    assert alerts[0]["reason"] == "hr_ceiling"
    assert alerts[0]["ceiling_bpm"] == pytest.approx(114.0)
    session = json.loads(next(p for t, p in got if t == "hrvd/h10_garage/session"))
    assert session["alerts"] == 1
    # The alpha1 guard's state rides on every ride message: "on" or "off" during the ride.
    rides = [json.loads(p) for t, p in got if t == "hrvd/h10_garage/ride"]
    assert {r["alpha1_guard"] for r in rides if r["active"]} <= {"on", "off"}
    assert rides[0]["alpha1_guard"] == "on"
    assert rides[-1]["alpha1_guard"] is None  # the ride is over: no guard
    assert session["started"] == START.isoformat()
    # Replay waits for the broker: no live value is dropped for want of a connection.
    sent = len(list(notifications("x", np.loadtxt(ride_file))))
    assert sum(t == "hrvd/h10_garage/state" for t, _ in got) >= 0.95 * sent
    state = json.loads(next(p for t, p in got if t == "hrvd/h10_garage/state"))
    assert set(state) == CONTRACT_KEYS["state"]  # the keys the topic contract lists


async def test_replay_refuses_to_publish_beside_a_running_daemon(ride_file, broker, tmp_path):
    config = await asyncio.to_thread(load_config, replay_config(tmp_path, broker))
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.publish("hrvd/status", b"online", qos=1, retain=True)
    with pytest.raises(UsageError, match=r"a daemon is running \(hrvd/status is online\)"):
        await run_replay(
            np.loadtxt(ride_file)[:100],
            config=config,
            strap=None,
            speed=0,
            start=START,
            force=False,
            out=io.StringIO(),
        )
    await run_replay(
        np.loadtxt(ride_file)[:100],
        config=config,
        strap=None,
        speed=0,
        start=START,
        force=True,
        out=io.StringIO(),
    )


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
    from hrvd.cli.replay import replay, wall_clock  # noqa: PLC0415
    from hrvd.coach.recovery import GuardEvent, RideSettings  # noqa: PLC0415
    from hrvd.coach.rides import RideManager, RideStarted  # noqa: PLC0415
    from hrvd.daemon.pipeline import StrapPipeline  # noqa: PLC0415
    from hrvd.hrv.zones import ZoneModel, zones_for  # noqa: PLC0415

    sink = _Durable()
    zones = zones_for(ZoneModel.HRMAX, hr_max=190)
    rides = RideManager(RideSettings(zones.recovery_ceiling_bpm), hr_rest=None, auto_start=False)
    start = wall_clock(datetime(2026, 11, 27, tzinfo=UTC))
    pipeline = StrapPipeline(
        strap_name="H10", base_topic="hrvd", zones=zones, rides=rides, sink=sink, to_wall=start
    )
    await replay(pipeline, ride_rr(RIDE, np.random.default_rng(3)), speed=0)
    # A guard that flaps within one second, and a ride that starts in the second the
    # last one started: every message still has an id of its own.
    pipeline._on_ride_events(  # noqa: SLF001
        [RideStarted(0.0, "command")]
        + [GuardEvent(5.1 + i / 10, active=i % 2 == 1, artifact_rate=0.04) for i in range(4)]
    )
    ids = [str(p["id"]) for _, p in sink.messages]
    assert len(ids) > 10
    assert len(set(ids)) == len(ids)


async def test_replay_with_an_unreachable_broker_says_so_in_one_line(
    ride_file, broker, tmp_path, monkeypatch
):
    import hrvd.cli.replay  # noqa: PLC0415

    monkeypatch.setattr(hrvd.cli.replay, "CONNECT_WAIT_S", 0.5)
    config = await asyncio.to_thread(load_config, replay_config(tmp_path, broker))
    broker.stop()
    with pytest.raises(HrvdError, match=r"cannot reach the broker 127.0.0.1:\d+ within 0.5 s"):
        await run_replay(
            np.loadtxt(ride_file)[:100],
            config=config,
            strap=None,
            speed=0,
            start=START,
            force=True,
            out=io.StringIO(),
        )


ROOT = Path(__file__).parents[2]
DATA = Path(__file__).parents[1] / "data"
AT_REST = [  # recordings of people sitting or lying still, and one of easy cycling
    ROOT / "examples" / "resting.txt",
    DATA / "pyhrv" / "SampleNNISeriesShort.txt",
    DATA / "pyhrv" / "SampleNNISeriesLong.txt",
    DATA / "kbroman-detectPVC" / "polar_h10.txt",
    DATA / "rhenanbartels-hrv" / "noisy_rri.txt",
]


@pytest.mark.parametrize("path", AT_REST, ids=lambda p: p.name)
def test_recordings_at_rest_never_alert(path, capsys):
    args = ["replay", str(path), "--speed", "0", "--hr-max", "185", "--start", START.isoformat()]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not [line for line in lines if "ALERT" in line]
    assert "0 alert(s)" in lines[-2]  # the summary; the HRVT1 line follows
    assert lines[-1].startswith("HRVT1 (alpha1 = 0.75): none")  # nothing here crosses 0.75


def test_a_fit_athlete_sitting_on_the_bike_never_alerts(tmp_path, capsys):
    from hrvd.hrv.synthetic import sinus_rr  # noqa: PLC0415

    # 30 minutes at 55 bpm with a strong sinus arrhythmia (alpha1 about 0.2-0.4).
    rr = sinus_rr(55 * 30, np.random.default_rng(55), mean_ms=60000 / 55, rsa_ms=90.0)
    path = tmp_path / "sitting.txt"
    np.savetxt(path, rr, fmt="%.1f")
    args = ["replay", str(path), "--speed", "0", "--hr-max", "185", "--start", START.isoformat()]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not [line for line in lines if "ALERT" in line]
    assert "0 alert(s)" in lines[-2]  # the summary; the HRVT1 line follows


def test_a_real_ride_above_the_warmup_ceiling_alerts_once_on_heart_rate(capsys):
    path = DATA / "rhenanbartels-hrv" / "exercise_rri.txt"  # cycling at 100-107 bpm
    args = ["replay", str(path), "--speed", "0", "--hr-max", "185", "--start", START.isoformat()]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    alerts = [line for line in lines if "ALERT" in line]
    assert len(alerts) == 1  # above the warm-up ceiling of 101 bpm
    assert "(hr_ceiling)" in alerts[0]


class _Watch(_Durable):
    """Keeps the ride messages and counts how often the alpha1 window crosses the limit."""

    def __init__(self) -> None:
        super().__init__()
        self.pipeline: object = None
        self.crossings = 0
        self._clean: bool | None = None

    def state(self, topic, payload) -> None:
        del topic, payload  # read from the pipeline, after each notification
        snap = self.pipeline.hrv.snapshot()  # type: ignore[attr-defined]
        if snap.dfa_alpha1 is not None:
            self.crossings += self._clean is not None and snap.dfa_reliable != self._clean
            self._clean = snap.dfa_reliable


async def test_a_strap_hovering_around_the_artifact_limit_announces_only_lasting_changes():
    from hrvd.cli.demo import demo_ride  # noqa: PLC0415
    from hrvd.cli.replay import replay, wall_clock  # noqa: PLC0415
    from hrvd.coach.alpha1 import GUARD_HOLD_S  # noqa: PLC0415
    from hrvd.coach.recovery import RideSettings  # noqa: PLC0415
    from hrvd.coach.rides import RideManager  # noqa: PLC0415
    from hrvd.daemon.pipeline import StrapPipeline  # noqa: PLC0415
    from hrvd.hrv.synthetic import Injected, inject  # noqa: PLC0415
    from hrvd.hrv.zones import ZoneModel, zones_for  # noqa: PLC0415

    zones = zones_for(ZoneModel.HRMAX, hr_max=190)
    rng = np.random.default_rng(2)
    clean = ride_rr(demo_ride(zones.recovery_ceiling_bpm), rng)
    kinds = (Injected.MISSED, Injected.EXTRA, Injected.ECTOPIC)
    rr = inject(clean, 0.02, rng, kinds).rr_ms  # about 3 % of beats corrected: on the limit
    sink = _Watch()
    rides = RideManager(RideSettings(zones.recovery_ceiling_bpm), 50, auto_start=False)
    pipeline = StrapPipeline(
        strap_name="H10",
        base_topic="hrvd",
        zones=zones,
        rides=rides,
        sink=sink,
        to_wall=wall_clock(START),
    )
    sink.pipeline = pipeline
    await replay(pipeline, rr, speed=0)
    guard = [p for t, p in sink.messages if t.endswith("/ride") and "guard" in str(p["event"])]
    assert sink.crossings >= 20  # announced at once, as before, each was a ride event
    assert 0 < len(guard) <= sink.crossings / 3
    # Each announcement alternates, carries the new state, and follows the last by a hold.
    states = [p["alpha1_guard"] for p in guard]
    assert states == ["off", "on"] * (len(states) // 2) + ["off"] * (len(states) % 2)
    times = [float(str(p["elapsed_s"])) for p in guard]
    assert all(b - a >= GUARD_HOLD_S - 1 for a, b in itertools.pairwise(times))
