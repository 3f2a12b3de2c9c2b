"""MorningRun with a real store: every measurement's raw RR is kept, valid or not."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date

from hrvd.ble.timeline import TimedBeat
from hrvd.config import AthleteConfig, Config, MorningConfig, StoreConfig
from hrvd.daemon.morning import MorningRun
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
    await asyncio.sleep(0.2)  # the store write runs on a worker thread
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
    from hrvd.coach.baseline import Morning, Posture  # noqa: PLC0415
    from hrvd.daemon.morning import stored_readiness  # noqa: PLC0415

    assert stored_readiness([], "lying", "en") is None
    days = [Morning(date(2026, 11, d), Posture.LYING, 4.0 + d / 100, 50.0) for d in range(1, 21)]
    sitting = Morning(date(2026, 11, 20), Posture.SITTING, 3.5, 55.0)
    payload = stored_readiness([*days, sitting], "lying", "en")
    assert payload is not None
    assert (payload["date"], payload["posture"], payload["ln_rmssd"]) == (
        "2026-11-20",
        "lying",
        4.2,
    )
    assert payload["status"] != "baseline"  # judged against the 19 days before it
    again = stored_readiness([*days, sitting], "lying", "en")
    assert again is not None
    assert again["id"] == payload["id"]  # the same readiness: the same id
    repeated = Morning(date(2026, 11, 20), Posture.LYING, 3.9, 52.0)
    other = stored_readiness([*days[:-1], repeated, sitting], "lying", "en")
    assert other is not None
    assert other["id"] != payload["id"]
    assert stored_readiness([*days, sitting], "sitting", "en")["posture"] == "sitting"  # type: ignore[index]
