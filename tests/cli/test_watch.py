"""hrvd watch: the live view fed from MQTT, while a replay publishes a ride."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiomqtt
import numpy as np
import pytest
from rich.console import Console

from hrvd.cli.live import STALE_AFTER_S, LiveView
from hrvd.cli.replay import run_replay
from hrvd.cli.watch import _show, watch
from hrvd.config import load_config
from hrvd.errors import UsageError
from hrvd.hrv.synthetic import ride_rr
from hrvd.publish.messages import AlertMessage, Payload, StateMessage

if TYPE_CHECKING:
    from pathlib import Path

    from harness.mosquitto import Broker

RIDE = [(900, 100, 100, 0.7), (300, 106, 124, 0.5), (300, 124, 108, 0.5)]


def _config(tmp_path: Path, broker: Broker) -> Path:
    f = tmp_path / "hrvd.toml"
    f.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n'
        '[[strap]]\nname = "H10 Garage"\nrole = "ride"\n[athlete]\nhr_max = 190\n'
    )
    return f


async def test_watch_shows_what_the_daemon_publishes(broker, tmp_path):
    config = await asyncio.to_thread(load_config, _config(tmp_path, broker))
    out = io.StringIO()
    watching = asyncio.create_task(watch(config, None, Console(file=out, width=120)))
    await asyncio.sleep(0.5)  # subscribed
    rr = ride_rr(RIDE, np.random.default_rng(2))
    await run_replay(
        rr,
        config=config,
        strap=None,
        speed=0,
        force=True,
        start=datetime(2026, 11, 27, 17, tzinfo=UTC),
        out=io.StringIO(),
    )
    # The last message to arrive is the daemon's "stopped"; under load it can take a while.
    for _ in range(100):
        if "daemon stopped" in out.getvalue():
            break
        await asyncio.sleep(0.1)
    watching.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watching
    shown = out.getvalue()
    assert "warmup: phase" in shown
    assert "ALERT too hard for recovery" in shown
    # Alert times count from the replayed ride's start, not from when watch opened: the
    # alert falls inside the 25-minute ride, after its 15-minute easy start.
    alert = next(line for line in shown.splitlines() if "ALERT" in line)
    assert 15 <= int(alert.split(":")[0]) < 25
    assert "ride summary" in shown
    # The replay is over: its status and the strap's availability say so, and the watch too.
    lines = shown.splitlines()
    assert "H10 Garage offline (disconnected)" in lines
    assert lines[-1] == "daemon stopped: nothing shown here is live"


async def test_watch_refuses_a_strap_that_is_not_configured(broker, tmp_path):
    config = await asyncio.to_thread(load_config, _config(tmp_path, broker))
    with pytest.raises(UsageError, match="no strap 'nope' in the config"):
        await watch(config, "nope", Console(file=io.StringIO()))


ALERT_LEFT_ON = AlertMessage(
    id="H10 Garage@2026-11-27T17:00:00+00:00:alert:1:on",
    ts="2026-11-27T17:20:30+00:00",
    too_hard=True,
    reason="hr_ceiling",
    since="2026-11-27T17:20:00+00:00",
    hr_bpm=131.0,
    ceiling_bpm=118.0,
    dfa_alpha1=0.7,
)


async def test_watch_shows_what_a_killed_daemon_left_as_the_past(broker, tmp_path):
    # What the broker holds after kill -9 in the middle of an alert: the Last Will said
    # offline, the strap's topics still say streaming, online, too hard.
    config = await asyncio.to_thread(load_config, _config(tmp_path, broker))
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        for topic, payload in [
            ("hrvd/h10_garage/link", b"streaming"),
            ("hrvd/h10_garage/availability", b"online"),
            ("hrvd/h10_garage/alert", json.dumps(ALERT_LEFT_ON.payload()).encode()),
            ("hrvd/status", b"offline"),
        ]:
            await client.publish(topic, payload, qos=1, retain=True)
    out = io.StringIO()
    watching = asyncio.create_task(watch(config, None, Console(file=out, width=120)))
    async with asyncio.timeout(10):
        while "daemon stopped" not in out.getvalue():  # noqa: ASYNC110 - a StringIO to read
            await asyncio.sleep(0.05)
    watching.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watching
    shown = out.getvalue()
    assert "earlier: alert too hard for recovery" in shown
    assert "ALERT" not in shown  # the past is not announced as news (nor rings the bell)


def _view(now: list[float]) -> tuple[LiveView, io.StringIO]:
    out = io.StringIO()
    view = LiveView(
        Console(file=out, width=100),
        "H10",
        datetime(2026, 11, 27, tzinfo=UTC),
        clock=lambda: now[0],
    )
    return view, out


def _state(hr_bpm: float) -> Payload:
    return StateMessage(
        ts="2026-11-27T00:00:10+00:00",
        hr_bpm=hr_bpm,
        rr_ms=[60000 / hr_bpm],
        rmssd_ms=None,
        ln_rmssd=None,
        sdnn_ms=None,
        dfa_alpha1=None,
        artifact_rate=None,
        quality="reject",
        quality_reasons=[],
        zone=2,
        contact=True,
        battery_pct=None,
    ).payload()


def _picture(view: LiveView) -> str:
    out = io.StringIO()
    Console(file=out, width=100).print(view.render())
    return out.getvalue()


def test_live_values_older_than_a_few_seconds_are_marked_stale():
    now = [100.0]
    view, out = _view(now)
    view.retained("hrvd/status", "online")
    view.retained("hrvd/h10/link", "streaming")
    view.retained("hrvd/h10/availability", "online")
    view.state("hrvd/h10/state", _state(131))
    view.durable(
        "hrvd/h10/alert",
        AlertMessage(
            id="H10:alert:1:on",
            ts="2026-11-27T00:00:10+00:00",
            too_hard=True,
            reason="hr_ceiling",
            since="2026-11-27T00:00:05+00:00",
            hr_bpm=131,
            ceiling_bpm=114,
            dfa_alpha1=None,
        ).payload(),
    )
    now[0] += STALE_AFTER_S - 1
    view.tick()
    assert view.live
    assert "TOO HARD" in _picture(view)
    now[0] += 2
    view.tick()
    assert not view.live
    picture = _picture(view)
    assert f"streaming, no live value for {STALE_AFTER_S + 1:.0f} s" in picture
    assert "unknown (not live)" in picture
    assert "TOO HARD" not in picture
    assert "the values shown are stale" in out.getvalue()
    view.state("hrvd/h10/state", _state(120))
    assert view.live
    assert out.getvalue().splitlines()[-1] == "live values again"


def test_a_strap_offline_or_a_stopped_daemon_is_never_shown_live():
    now = [0.0]
    view, _ = _view(now)
    view.state("hrvd/h10/state", _state(131))
    view.retained("hrvd/h10/link", "disconnected")
    view.retained("hrvd/h10/availability", "offline")
    assert not view.live
    assert "hrvd - H10 (disconnected)" in _picture(view)
    view.retained("hrvd/status", "offline")
    assert "hrvd - H10 (daemon stopped)" in _picture(view)


def test_a_malformed_message_is_a_logged_fault_not_a_traceback(capsys):
    now = [0.0]
    view, out = _view(now)
    _show(view, "hrvd/h10/state", b"not json")
    _show(view, "hrvd/h10/alert", b"[1, 2]")
    _show(
        view, "hrvd/h10/alert", json.dumps({**ALERT_LEFT_ON.payload(), "too_hard": "yes"}).encode()
    )
    _show(view, "hrvd/h10/ride", b'{"phase": "steady"}')
    assert view.alert is None
    assert view.phase == "-"
    assert out.getvalue() == ""
    logged = capsys.readouterr()
    text = logged.out + logged.err
    assert "not JSON" in text
    assert "not a JSON object" in text
    assert "alert message: too_hard = 'yes' is not bool" in text
    assert "ride message without 'id'" in text
    _show(view, "hrvd/h10/alert", json.dumps(ALERT_LEFT_ON.payload()).encode())
    assert view.alert == ALERT_LEFT_ON
