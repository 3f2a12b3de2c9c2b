"""MorningRun with a real store: every measurement's raw RR is kept, valid or not; what a run
and the daemon's start publish keeps its wire format and reads back as its typed message."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from rich.console import Console

from hrvd.ble.session import StrapSession
from hrvd.ble.timeline import TimedBeat
from hrvd.ble.virtual import measurements
from hrvd.cli.replay import wall_clock
from hrvd.coach.baseline import Morning, Posture
from hrvd.coach.orthostatic import OrthoOutcome, OrthoRecord
from hrvd.config import AthleteConfig, Config, MorningConfig, StoreConfig, StrapConfig
from hrvd.daemon.athlete import AthleteDesk
from hrvd.daemon.beats import BeatRecorder
from hrvd.daemon.morning import MorningPrinter, MorningRun, stored_readiness
from hrvd.daemon.orthostatic import OrthostaticRun
from hrvd.daemon.pipeline import StrapPipeline
from hrvd.hrv.synthetic import orthostatic_rr
from hrvd.hrv.zones import ZoneModel, zones_for
from hrvd.publish.messages import ABSENT, MorningMessage, ReadinessMessage, parse
from hrvd.publish.sink import TeeSink
from hrvd.store import open_store


class ListSink:
    def __init__(self) -> None:
        self.durable_messages: list[tuple[str, dict[str, object]]] = []

    def state(self, topic, payload) -> None:
        pass

    def retained(self, topic, payload) -> None:
        pass

    def durable(self, topic, payload) -> None:
        self.durable_messages.append((topic, payload))


async def test_a_run_closed_mid_measurement_ends_its_worker_and_keeps_nothing(tmp_path):
    config = Config(
        morning=MorningConfig(stabilise_s=0, measure_s=60), store=StoreConfig(tmp_path / "s.db")
    )
    store = await asyncio.to_thread(open_store, config.store.path)
    sink, ended = ListSink(), asyncio.Event()
    run = MorningRun(
        config,
        day=date(2026, 12, 5),
        now_s=0.0,
        repeat=False,
        sink=sink,
        store=store,
        on_end=ended.set,
    )
    try:
        run.on_beats((TimedBeat(1024, 1000.0, 1.0, 1.0, gap_before=True),), 1.0)
        await run.settled()
        worker = run._analyst._proc  # noqa: SLF001 - the child process is what this is about
        assert worker is not None
        assert worker.poll() is None
        await run.close()  # the daemon stops
        assert worker.returncode == 0
        run.tick(2.0)  # late ticks are ignored
        await run.settled()
        assert not ended.is_set()
        assert sink.durable_messages == []
        assert await asyncio.to_thread(store.measurement_count) == 0
    finally:
        await asyncio.to_thread(store.close)


async def test_an_invalid_measurement_is_kept_but_never_counts(tmp_path):
    config = Config(
        athlete=AthleteConfig(hr_rest=55),
        morning=MorningConfig(stabilise_s=0, measure_s=60),
        store=StoreConfig(tmp_path / "s.sqlite3"),
    )
    store = await asyncio.to_thread(open_store, config.store.path)
    sink, ended = ListSink(), asyncio.Event()
    run = MorningRun(
        config,
        day=date(2026, 11, 27),
        now_s=0.0,
        repeat=False,
        sink=sink,
        store=store,
        on_end=ended.set,
    )
    t = 0.0
    for k in range(120):  # 120 bpm lying in bed: movement, not rest
        t += 0.5
        run.on_beats((TimedBeat(512, 500.0, t, t, gap_before=k == 0),), t)
        if ended.is_set():
            break
    run.tick(t + 1)
    await run.settled()  # its steps, then the store write, run on threads
    try:
        assert ended.is_set()
        assert sink.durable_messages[-1][1]["state"] == "invalid"
        assert await asyncio.to_thread(store.mornings) == []
        assert await asyncio.to_thread(store.measurement_count) == 1
    finally:
        store.close()
    with sqlite3.connect(config.store.path) as db:
        valid, raw = db.execute("SELECT valid, raw_rr FROM measurements").fetchone()
    assert valid == 0
    assert raw.startswith("[500.0")


def test_the_stored_readiness_is_the_latest_day_in_the_usual_posture_with_a_content_id():
    assert stored_readiness([], "lying", "en") is None
    days = [Morning(date(2026, 11, d), Posture.LYING, 4.0 + d / 100, 50.0) for d in range(1, 21)]
    sitting = Morning(date(2026, 11, 20), Posture.SITTING, 3.5, 55.0)
    message = stored_readiness([*days, sitting], "lying", "en")
    assert message is not None
    assert (message.date, message.posture, message.ln_rmssd) == ("2026-11-20", "lying", 4.2)
    assert message.status != "baseline"  # judged against the 19 days before it
    again = stored_readiness([*days, sitting], "lying", "en")
    assert again is not None
    assert again.id == message.id  # the same readiness: the same id
    repeated = Morning(date(2026, 11, 20), Posture.LYING, 3.9, 52.0)
    other = stored_readiness([*days[:-1], repeated, sitting], "lying", "en")
    assert other is not None
    assert other.id != message.id
    sat = stored_readiness([*days, sitting], "sitting", "en")
    assert sat is not None
    assert sat.posture == "sitting"


def test_the_stored_readiness_carries_that_days_orthostatic_test_only():
    days = [Morning(date(2026, 11, d), Posture.LYING, 4.0 + d / 100, 50.0) for d in range(1, 21)]
    yesterday = OrthoRecord(date(2026, 11, 19), OrthoOutcome.STOOD, 50.0, 60.0, 75.0, 40.0)
    plain = stored_readiness(days, "lying", "en", [yesterday])
    assert plain is not None
    assert plain.orthostatic is ABSENT  # an earlier day's test is not today's
    today = OrthoRecord(date(2026, 11, 20), OrthoOutcome.STOOD, 52.0, 55.0, 80.0, 30.0)
    message = stored_readiness(days, "lying", "en", [yesterday, today])
    assert message is not None
    assert isinstance(message.orthostatic, dict)
    assert message.orthostatic["outcome"] == "stood"
    assert message.orthostatic["supine_hr_bpm"] == 52.0
    assert message.id != plain.id  # other content, another id


# The wire format as sent before the morning run built typed messages: keys in this order.
MORNING_KEYS = ["state", "remaining_s", "reason"]
ORTHO_KEYS = [*MORNING_KEYS, "test", "phase", "prompt", "outcome"]
READINESS_KEYS = [
    "date",
    "score",
    "status",
    "ln_rmssd",
    "ln_rmssd_7d",
    "rmssd_ms",
    "resting_hr_bpm",
    "baseline_ln_rmssd",
    "normal_low",
    "normal_high",
    "recommendation",
    "recommendation_text",
    "posture",
    "cv_7d_pct",
    "cv_7d_prev_pct",
    "ln_rmssd_7d_prev",
    "trend_7d",
    "cv_7d_change_pct",
    "quality",
]
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"
STRAP = StrapConfig("Bed strap", role="morning")
TODAY = date(2026, 12, 4)


class AllSink:
    """Every message, in order: (how it is sent, topic, payload)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, object]]] = []

    def state(self, topic, payload) -> None:
        self.sent.append(("state", topic, payload))

    def retained(self, topic, payload) -> None:
        pass

    def durable(self, topic, payload) -> None:
        self.sent.append(("durable", topic, payload))


async def measure_then_restart(tmp_path, kind, *, stands=True):
    """A run on a store with seven earlier mornings, then a daemon start that republishes.

    Returns what the run sent, what the start sent, and what the console showed.
    """
    config = Config(
        straps=(STRAP,),
        athlete=AthleteConfig(hr_rest=55, hr_max=190),
        morning=MorningConfig(),
        store=StoreConfig(tmp_path / "s.sqlite3"),
    )
    store = await asyncio.to_thread(open_store, config.store.path)
    rng = np.random.default_rng(7)
    earlier = [
        Morning(TODAY - timedelta(days=k), Posture.LYING, rng.normal(3.9, 0.1), 55.0)
        for k in range(7, 0, -1)
    ]
    await store.add_mornings(earlier, source="imported")
    sink, finished, shown = AllSink(), asyncio.Event(), io.StringIO()
    printer = MorningPrinter(Console(file=shown, width=200), "en")
    pipeline = StrapPipeline(
        strap_name=STRAP.name,
        base_topic="hrvd",
        zones=zones_for(ZoneModel.HRMAX, hr_max=190),
        rides=None,
        sink=AllSink(),  # the strap's own messages: not the run's
        to_wall=wall_clock(datetime(2026, 12, 4, 6, 30, tzinfo=UTC)),
    )
    now = [0.0]
    session = StrapSession(STRAP, pipeline.on_event, clock=lambda: now[0])
    run = kind(
        config,
        day=TODAY,
        now_s=0.0,
        repeat=False,
        sink=TeeSink(sink, printer),
        store=store,
        on_end=finished.set,
    )
    pipeline.subscribe_beats(run.on_beats)
    rng = np.random.default_rng(11)
    rr = orthostatic_rr(
        rng, lying_s=186.0, standing_s=150.0, supine_hr_bpm=54.0, rise_bpm=30.0, stands=stands
    )
    start = AllSink()
    try:
        for t, notification in measurements(rr):
            now[0] = t
            session.feed(notification)
            run.tick(t)
            if finished.is_set():
                break
        await run.settled()
        # The next start, as the daemon's: the desk is built, then republishes.
        to_wall = wall_clock(datetime(2026, 12, 4, 8, tzinfo=UTC))
        desk = AthleteDesk(config, to_wall)
        stored = await asyncio.to_thread(desk.read_start, store)
        desk.build(start, store, BeatRecorder(store, to_wall), stored)  # no beats: not entered
        desk.republish_readiness(stored)
    finally:
        store.close()
    assert printer.result is not None  # what `hrvd morning --format json` writes
    assert printer.result.payload() == sink.sent[-1][2]
    return sink.sent, start.sent, shown.getvalue()


def assert_reads_back_identical(sent):
    """Each payload reads back through its message class as the same bytes, on its topic."""
    for _, topic, payload in sent:
        message = parse(topic, payload)
        assert isinstance(message, MorningMessage | ReadinessMessage)
        assert message.topic("hrvd") == topic
        assert list(message.payload().items()) == list(payload.items())
        assert json.dumps(message.payload()) == json.dumps(payload)


@pytest.mark.parametrize("kind", [MorningRun, OrthostaticRun])
async def test_the_runs_and_the_starts_messages_keep_their_wire_format_and_read_back(
    tmp_path, kind
):
    sent, start, shown = await measure_then_restart(tmp_path, kind)
    assert_reads_back_identical(sent + start)
    keys = ORTHO_KEYS if kind is OrthostaticRun else MORNING_KEYS
    *progress, (how, _, end), (_, topic, readiness) = sent
    assert len(progress) > 100  # once a second and at each notification
    assert {h for h, _, _ in progress} == {"state"}
    assert all(list(p) == keys for _, _, p in progress)
    assert (how, list(end)) == ("durable", [*keys, "id"])
    assert end["state"] == "done"
    assert re.fullmatch(rf"morning:2026-12-04:lying:{STAMP}", str(end["id"]))
    assert topic == "hrvd/readiness"
    ortho = ["orthostatic"] if kind is OrthostaticRun else []
    assert list(readiness) == [*READINESS_KEYS, *ortho, "id"]
    assert re.fullmatch(rf"readiness:2026-12-04:lying:{STAMP}", str(readiness["id"]))
    # The start publishes the same readiness again, the test's values included (the
    # retained message it replaces had them), its id made from its content.
    ((how, _, again),) = start
    assert how == "durable"
    assert list(again) == [*READINESS_KEYS, *ortho, "id"]
    assert re.fullmatch(r"readiness:2026-12-04:lying:stored:[0-9a-f]{12}", str(again["id"]))
    assert f"readiness: {readiness['status']}, score {readiness['score']}, lnRMSSD" in shown
    assert {k: v for k, v in again.items() if k != "id"} == {
        k: v for k, v in readiness.items() if k != "id"
    }


async def test_an_orthostatic_test_that_stays_lying_sends_its_outcome_in_the_same_format(
    tmp_path,
):
    sent, _, shown = await measure_then_restart(tmp_path, OrthostaticRun, stands=False)
    assert_reads_back_identical(sent)
    (end,) = [p for how, t, p in sent if how == "durable" and t == "hrvd/morning"]
    assert (end["outcome"], end["phase"], end["prompt"]) == ("did_not_stand", "done", None)
    (readiness,) = [p for _, t, p in sent if t == "hrvd/readiness"]
    assert MorningMessage.from_payload(end).outcome == "did_not_stand"
    assert ReadinessMessage.from_payload(readiness).orthostatic == readiness["orthostatic"]
    assert "measurement done\northostatic test: you did not stand" in shown
