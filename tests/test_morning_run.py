"""MorningRun with a real store: every measurement's raw RR is kept, valid or not."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date

from hrvd.ble.timeline import TimedBeat
from hrvd.config import AthleteConfig, Config, MorningConfig, StoreConfig
from hrvd.morning_run import MorningRun
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


async def test_an_invalid_measurement_is_kept_but_never_counts(tmp_path):
    config = Config(
        athlete=AthleteConfig(hr_rest=55),
        morning=MorningConfig(stabilise_s=0, measure_s=60),
        store=StoreConfig(tmp_path / "s.sqlite3"),
    )
    store = open_store(config.store.path)
    sink, ended = ListSink(), asyncio.Event()
    run = MorningRun(config, day=date(2026, 11, 27), now_s=0.0, repeat=False, sink=sink,
                     store=store, on_end=ended.set)  # fmt: skip
    t = 0.0
    for k in range(120):  # 120 bpm lying in bed: movement, not rest
        t += 0.5
        run.on_beats((TimedBeat(512, 500.0, t, t, gap_before=k == 0),), t)
        if ended.is_set():
            break
    run.tick(t + 1)
    await asyncio.sleep(0.2)  # the store write runs on a worker thread
    try:
        assert ended.is_set()
        assert sink.durable_messages[-1][1]["state"] == "invalid"
        assert store.mornings() == []
        assert store.measurement_count() == 1
    finally:
        store.close()
    with sqlite3.connect(config.store.path) as db:
        valid, raw = db.execute("SELECT valid, raw_rr FROM measurements").fetchone()
    assert valid == 0
    assert raw.startswith("[500.0")
