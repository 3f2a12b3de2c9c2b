"""hrvd replay when the broker fails: outages, a broker away at the end, a dead link; bad flags."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
from typing import TYPE_CHECKING

import aiomqtt
import numpy as np
import pytest
from structlog.testing import capture_logs

from hrvd.cli import main
from hrvd.cli.replay import run_replay
from hrvd.config import load_config
from hrvd.daemon.loops import LoopCrashedError
from hrvd.errors import HrvdError
from hrvd.hrv.synthetic import ride_rr
from hrvd.publish.outbox import Outbox
from support.replay_rides import EASY, START, replay_config

if TYPE_CHECKING:
    from harness.mosquitto import Broker


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
    config = await asyncio.to_thread(load_config, replay_config(tmp_path, broker))
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
    config = await asyncio.to_thread(load_config, replay_config(tmp_path, broker))
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
    config = await asyncio.to_thread(load_config, replay_config(tmp_path, broker))
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
        str(replay_config(tmp_path, broker)),
        "--force",
        "--speed",
        "0",
        "--drain-timeout",
        "3600",
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.endswith("hrvd: error: the replay's mqtt loop crashed: see its traceback above\n")
