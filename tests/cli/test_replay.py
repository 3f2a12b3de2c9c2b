"""hrvd replay: a recorded ride through the live pipeline, printed and published."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import aiomqtt
import numpy as np
import pytest
from structlog.testing import capture_logs

from hrvd.cli import main
from hrvd.cli.replay import notifications, run_replay
from hrvd.config import load_config
from hrvd.daemon.loops import LoopCrashedError
from hrvd.errors import HrvdError, UsageError
from hrvd.hrv.synthetic import ride_rr
from hrvd.publish.outbox import Outbox

if TYPE_CHECKING:
    from harness.mosquitto import Broker

EASY, HARD = 0.7, 0.2
RIDE = [  # (s, HR from, HR to, correlation): warm-up, steady, a drift above 114, back down
    (180, 95, 100, EASY),
    (720, 100, 100, EASY),
    (600, 104, 106, EASY),
    (180, 106, 124, 0.5),
    (300, 124, 124, HARD),
    (180, 124, 108, 0.5),
    (540, 106, 105, EASY),
]
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


def _config(tmp_path: Path, broker: Broker) -> Path:
    f = tmp_path / "hrvd.toml"
    f.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n'
        '[[strap]]\nname = "H10 Garage"\nrole = "ride"\n'
        "[athlete]\nhr_max = 190\n"
    )
    return f


async def test_replay_with_a_config_publishes_as_the_daemon_would(ride_file, broker, tmp_path):
    config = await asyncio.to_thread(load_config, _config(tmp_path, broker))
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
    keys = {
        "ts",
        "hr_bpm",
        "rr_ms",
        "rmssd_ms",
        "ln_rmssd",
        "sdnn_ms",
        "dfa_alpha1",
        "artifact_rate",
        "quality",
        "quality_reasons",
        "zone",
        "contact",
        "battery_pct",
    }
    assert set(state) == keys


async def test_replay_refuses_to_publish_beside_a_running_daemon(ride_file, broker, tmp_path):
    config = await asyncio.to_thread(load_config, _config(tmp_path, broker))
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
    config = await asyncio.to_thread(load_config, _config(tmp_path, broker))
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


# A ride with one alert, 25 min of beats: about 1.5 s at this speed.
SHORT_RIDE = [(900, 100, 100, EASY), (300, 106, 124, 0.5), (300, 124, 108, 0.5)]
SHORT_SPEED = 1000.0


async def _persistent(broker: Broker, client_id: str) -> None:
    """Register a persistent session (as Home Assistant has) for the ride's topics."""
    async with aiomqtt.Client(
        "127.0.0.1", broker.port, identifier=client_id, clean_session=False
    ) as client:
        await client.subscribe("hrvd/h10_garage/+", qos=1)


async def _collect(broker: Broker, client_id: str, until: str) -> list[tuple[str, dict]]:
    got: list[tuple[str, dict]] = []
    async with aiomqtt.Client(
        "127.0.0.1", broker.port, identifier=client_id, clean_session=False
    ) as client:
        await client.subscribe("hrvd/h10_garage/+", qos=1)
        async with asyncio.timeout(15):
            async for m in client.messages:
                if str(m.topic).rsplit("/", 1)[-1] in {"alert", "ride", "session"}:
                    got.append((str(m.topic), json.loads(m.payload)))  # type: ignore[arg-type]
                if str(m.topic) == until:
                    break
    return got


def _durable_lines(out: io.StringIO) -> int:
    """The durable messages the replay printed: alerts and ride events (a time first), and
    the summary; not the lines that explain them."""
    lines = out.getvalue().splitlines()
    return sum(
        bool(re.match(r"\s*\d+:\d\d  ", line)) or line.startswith("ride summary: ")
        for line in lines
    )


async def _wait_for_line(out: io.StringIO, text: str) -> None:
    async with asyncio.timeout(15):
        while text not in out.getvalue():  # noqa: ASYNC110 - a StringIO to read
            await asyncio.sleep(0.05)


async def test_a_broker_outage_mid_replay_loses_nothing_the_replay_waits(broker, tmp_path):
    config = await asyncio.to_thread(load_config, _config(tmp_path, broker))
    await _persistent(broker, "ha-replay")
    out = io.StringIO()
    rr = ride_rr(SHORT_RIDE, np.random.default_rng(4))
    playing = asyncio.create_task(
        run_replay(
            rr, config=config, strap=None, speed=SHORT_SPEED, start=START, force=True, out=out
        )
    )
    await _wait_for_line(out, "warmup")
    await asyncio.to_thread(broker.stop)
    # The ride ends while the broker is away: the replay waits, and says for how long.
    await _wait_for_line(out, "waiting up to 60 s for the broker to acknowledge")
    assert not playing.done()
    await asyncio.to_thread(broker.start)
    # Up to the replay's own promise (60 s, printed above), not a stricter one: how fast the
    # link comes back is test_mqtt's reconnect test; this one is about losing nothing.
    await asyncio.wait_for(playing, 75)
    got = await _collect(broker, "ha-replay", until="hrvd/h10_garage/session")
    ids = list(dict.fromkeys(p["id"] for _, p in got))
    assert len(ids) == _durable_lines(out)  # every durable message printed reached it
    alerts = [p["too_hard"] for t, p in got if t.endswith("/alert")]
    assert list(dict.fromkeys(alerts)) == [True, False]
    assert got[-1][1]["alerts"] == 1


async def test_a_broker_away_at_the_end_of_a_replay_is_an_error_with_the_count(broker, tmp_path):
    config = await asyncio.to_thread(load_config, _config(tmp_path, broker))
    await _persistent(broker, "ha-lost")
    out = io.StringIO()
    rr = ride_rr(SHORT_RIDE, np.random.default_rng(4))
    playing = asyncio.create_task(
        run_replay(
            rr,
            config=config,
            strap=None,
            speed=SHORT_SPEED,
            start=START,
            force=True,
            out=out,
            drain_timeout_s=0.5,
        )
    )
    await _wait_for_line(out, "warmup")
    await asyncio.to_thread(broker.stop)
    with pytest.raises(HrvdError, match=r"^\d+ durable message\(s\) .* not delivered") as err:
        await asyncio.wait_for(playing, 15)
    assert err.value.exit_code == 1
    assert "within 0.5 s" in str(err.value)
    assert "\n" not in str(err.value)
    await asyncio.to_thread(broker.start)
    got = await _collect_some(broker, "ha-lost")
    delivered = len({p["id"] for _, p in got})
    lost = int(str(err.value).split()[0])
    assert delivered + lost == _durable_lines(out)  # the count is exact
    assert lost >= 3  # at least the alert's on and off, and the summary


async def _collect_some(broker: Broker, client_id: str) -> list[tuple[str, dict]]:
    """What the persistent session got: its queue, then a quiet half second."""
    got: list[tuple[str, dict]] = []
    with contextlib.suppress(TimeoutError):
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, identifier=client_id, clean_session=False
        ) as client:
            await client.subscribe("hrvd/h10_garage/+", qos=1)
            while True:
                async with asyncio.timeout(0.5):
                    m = await anext(aiter(client.messages))
                if str(m.topic).rsplit("/", 1)[-1] in {"alert", "ride", "session"}:
                    got.append((str(m.topic), json.loads(m.payload)))  # type: ignore[arg-type]
    return got


def test_the_drain_timeout_must_be_a_number_of_seconds(ride_file, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["replay", str(ride_file), "--drain-timeout", "soon"])
    assert exit_.value.code == 2
    assert "'soon' is not a number of seconds" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--hr-max", "0"], "0 bpm is not a maximal heart rate: expected 100-250 bpm"),
        (["--hr-max", "100000"], "100000 bpm is not a maximal heart rate: expected 100-250"),
        (["--hr-max", "fast"], "'fast' is not a whole number of bpm"),
        (["--start", "9999-12-31"], "'9999-12-31' is not a time a recording can start"),
        (["--start", "0001-01-01T00:00"], "expected one from 1980-01-01"),
        (["--start", "1970-01-01"], "(no strap recorded earlier) to tomorrow"),
    ],
)
def test_absurd_hr_max_and_start_are_one_line_errors(ride_file, capsys, flags, message):
    with pytest.raises(SystemExit) as done:
        main(["replay", str(ride_file), "--speed", "0", *flags])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


class _LinkBugError(RuntimeError):
    """A bug in the MQTT link task: not a broker error the link would retry."""


async def _ack_raises(*_args: object, **_kwargs: object) -> None:
    raise _LinkBugError


async def test_a_replay_whose_mqtt_link_dies_ends_at_once_with_one_line(
    broker, tmp_path, monkeypatch
):
    # The link dies at the first acknowledgement (the ride's start): before this, the
    # replay played on and only said "not delivered" after its drain timeout.
    monkeypatch.setattr(Outbox, "ack", _ack_raises)
    config = await asyncio.to_thread(load_config, _config(tmp_path, broker))
    out = io.StringIO()
    rr = ride_rr(SHORT_RIDE, np.random.default_rng(4))
    with capture_logs() as logs, pytest.raises(LoopCrashedError) as err:
        await asyncio.wait_for(
            run_replay(
                rr,
                config=config,
                strap=None,
                speed=SHORT_SPEED / 10,
                start=START,
                force=True,
                out=out,
                drain_timeout_s=3600,
            ),
            30,
        )
    assert str(err.value) == "the replay's mqtt loop crashed: see its traceback above"
    assert err.value.exit_code == 1
    crashed = [e for e in logs if e["event"] == "loop crashed; the replay stops"]
    assert [e["loop"] for e in crashed] == ["mqtt"]  # once, with its traceback
    assert crashed[0]["exc_info"] is True
    assert "ride:" not in out.getvalue()  # ended mid-ride, not after it
    assert "waiting up to" not in out.getvalue()


def test_hrvd_replay_with_a_dead_link_exits_1_with_one_line(
    ride_file, broker, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(Outbox, "ack", _ack_raises)
    args = [
        "replay",
        str(ride_file),
        "--config",
        str(_config(tmp_path, broker)),
        "--force",
        "--speed",
        "0",
        "--drain-timeout",
        "3600",
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.endswith("hrvd: error: the replay's mqtt loop crashed: see its traceback above\n")
