"""An orthostatic test end to end: a virtual strap that lies and stands, the real parser,
session and pipeline, a real store, the readiness message and ``hrvd history``."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
from rich.console import Console

from hrvd.ble.session import StrapSession
from hrvd.ble.virtual import measurements
from hrvd.cli.history import show_history
from hrvd.cli.replay import wall_clock
from hrvd.coach.baseline import Morning, Posture
from hrvd.coach.orthostatic import OrthoOutcome, OrthoRecord
from hrvd.config import AthleteConfig, Config, MorningConfig, StoreConfig, StrapConfig
from hrvd.daemon.morning import MorningPrinter
from hrvd.daemon.orthostatic import OrthostaticRun
from hrvd.daemon.pipeline import StrapPipeline
from hrvd.hrv.synthetic import orthostatic_rr
from hrvd.hrv.zones import ZoneModel, zones_for
from hrvd.publish.sink import TeeSink
from hrvd.store import open_store
from support.stored import read_store

if TYPE_CHECKING:
    from pathlib import Path

    from hrvd.store import Store

TODAY = date(2026, 12, 4)
STRAP = StrapConfig("Bed strap", role="morning")


class ListSink:
    def __init__(self) -> None:
        self.states: list[tuple[str, dict[str, object]]] = []
        self.durables: list[tuple[str, dict[str, object]]] = []

    def state(self, topic, payload) -> None:
        self.states.append((topic, payload))

    def retained(self, topic, payload) -> None:
        pass

    def durable(self, topic, payload) -> None:
        self.durables.append((topic, payload))


async def seed(store: Store) -> None:
    """Ten ordinary lying mornings and six earlier tests that stood (standing HR about 70)."""
    rng = np.random.default_rng(7)
    days = [TODAY - timedelta(days=k) for k in range(10, 0, -1)]
    mornings = [
        Morning(d, Posture.LYING, float(rng.normal(3.9, 0.1)), float(rng.normal(55.0, 1.0)))
        for d in days
    ]
    await store.add_mornings(mornings, source="imported")
    for k, d in enumerate(days[-6:]):
        record = OrthoRecord(d, OrthoOutcome.STOOD, 55.0, 50.0, 69.0 + k % 3, 14.0, 86.0, 16.0)
        await store.add_orthostatic(record, raw_rr=[], replace=False)


async def play(tmp_path: Path, *, stands: bool) -> tuple[ListSink, str, Config]:
    config = Config(
        straps=(STRAP,),
        athlete=AthleteConfig(hr_rest=55),
        morning=MorningConfig(),
        store=StoreConfig(tmp_path / "hrvd.sqlite3"),
    )
    store = await asyncio.to_thread(open_store, config.store.path)
    await seed(store)
    sink, shown = ListSink(), io.StringIO()
    printer = MorningPrinter(Console(file=shown, width=200), "en")
    tee = TeeSink(sink, printer)
    zones = zones_for(ZoneModel.HRMAX, hr_max=190)
    start = datetime(2026, 12, 4, 6, 30, tzinfo=UTC)
    pipeline = StrapPipeline(
        strap_name=STRAP.name,
        base_topic="hrvd",
        zones=zones,
        rides=None,
        sink=tee,
        to_wall=wall_clock(start),
    )
    now = [0.0]
    session = StrapSession(STRAP, pipeline.on_event, clock=lambda: now[0])
    finished = asyncio.Event()
    run = OrthostaticRun(
        config, day=TODAY, now_s=0.0, repeat=False, sink=tee, store=store, on_end=finished.set
    )
    pipeline.subscribe_beats(run.on_beats)
    # The athlete stands 6 s after the prompt (60 s settling + 120 s measured).
    rr = orthostatic_rr(
        np.random.default_rng(11),
        lying_s=186.0,
        standing_s=150.0,
        supine_hr_bpm=54.0,
        rise_bpm=30.0,
        stands=stands,
    )
    try:
        for t, payload in measurements(rr):
            now[0] = t
            session.feed(payload)
            run.tick(t)
            if finished.is_set():
                break
        async with asyncio.timeout(10):
            await printer.readiness.wait()
    finally:
        store.close()
    return sink, shown.getvalue(), config


async def test_a_test_that_stands_is_kept_compared_published_and_in_the_history(tmp_path):
    sink, shown, config = await play(tmp_path, stands=True)
    phases = [p.get("phase") for topic, p in sink.states if topic == "hrvd/morning"]
    assert phases.index("stand_up") < phases.index("standing")
    assert "Stand up now, calmly, and stay standing still." in shown
    ((_, readiness),) = [m for m in sink.durables if m[0] == "hrvd/readiness"]
    assert readiness["status"] in {"green", "amber", "red"}  # the lying part, scored as ever
    ortho = readiness["orthostatic"]
    assert isinstance(ortho, dict)
    assert ortho["outcome"] == "stood"
    assert 80 < ortho["peak_hr_bpm"] < 90  # 54 + 30
    assert 12 < ortho["hr_rise_bpm"] < 20  # half the rise recovered
    assert ortho["standing_rmssd_ms"] < ortho["supine_rmssd_ms"]
    assert ortho["baseline_tests"] == 6
    assert ortho["status"] == "normal"
    assert "orthostatic test: lying" in shown
    tests, mornings = await read_store(
        config.store.path, lambda s: (s.orthostatic_tests(), s.mornings()), readonly=True
    )
    (kept,) = [r for r in tests if r.day == TODAY]
    assert kept.outcome is OrthoOutcome.STOOD
    assert any(m.day == TODAY for m in mornings)
    out = io.StringIO()
    await asyncio.to_thread(show_history, config, days=1, fmt="json", out=out)
    (row,) = json.loads(out.getvalue())
    assert row["ortho_outcome"] == "stood"
    assert row["standing_hr_bpm"] == ortho["standing_hr_bpm"]
    assert row["hr_rise_bpm"] == ortho["hr_rise_bpm"]


async def test_a_test_that_stays_lying_says_did_not_stand_and_still_scores_the_morning(
    tmp_path,
):
    sink, shown, config = await play(tmp_path, stands=False)
    ((_, readiness),) = [m for m in sink.durables if m[0] == "hrvd/readiness"]
    assert readiness["score"] is not None
    ortho = readiness["orthostatic"]
    assert isinstance(ortho, dict)
    assert ortho["outcome"] == "did_not_stand"
    assert ortho["standing_hr_bpm"] is None
    assert "you did not stand" in shown
    out = io.StringIO()
    await asyncio.to_thread(show_history, config, days=1, fmt="csv", out=out)
    header, line = out.getvalue().splitlines()
    assert "ortho_outcome" in header.split(",")
    assert "did_not_stand" in line.split(",")
