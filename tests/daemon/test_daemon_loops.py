"""A fault in any daemon loop is logged with its traceback and ends the daemon, loudly."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs

from harness.mosquitto import free_port
from hrvd.ble.events import Notification
from hrvd.ble.session import StrapSession
from hrvd.ble.timeline import TimedBeat
from hrvd.config import load_config
from hrvd.daemon import service as daemon_module
from hrvd.daemon.loops import LoopCrashedError, Loops
from hrvd.daemon.pipeline import StrapPipeline
from hrvd.daemon.service import Daemon
from hrvd.daemon.systemd import Notifier
from hrvd.publish.messages import RideMessage
from hrvd.publish.mqtt import MqttPublisher
from hrvd.publish.outbox import Outbox
from hrvd.store import Store

if TYPE_CHECKING:
    from pathlib import Path

WITHIN_S = 10.0


class InjectedError(RuntimeError):
    """The fault a test puts into a loop: a bug, not a reported error."""


def _raise(*_args: object, **_kwargs: object) -> None:
    raise InjectedError


def _daemon(tmp_path: Path, environ: dict[str, str] | None = None) -> Daemon:
    f = tmp_path / "hrvd.toml"
    f.write_text(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n'  # no broker: none is needed
        '[[strap]]\nname = "H10"\naddress = "AA:BB:CC:DD:EE:01"\nrole = "ride"\n'
        f'[athlete]\nhr_max = 190\nhr_rest = 50\n[store]\npath = "{tmp_path / "s.sqlite3"}"\n'
    )
    return Daemon(load_config(f), Notifier(environ or {}))


def _tick_fast(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(daemon_module, "TICK_S", 0.05)
    mp.setattr(StrapPipeline, "tick", _raise)  # a coach bug in the ride time-outs


FAULTS = {
    "tick": _tick_fast,
    "prune": lambda mp: mp.setattr(daemon_module, "read_clock", _raise),
    "status": lambda mp: mp.setattr(Notifier, "status", _raise),
    "watchdog": lambda mp: mp.setattr(Notifier, "watchdog", _raise),
    "mqtt": lambda mp: mp.setattr(MqttPublisher, "_new_client", _raise),
    "outbox writer": lambda mp: mp.setattr(Outbox, "put", _raise_async),
    "store writer": lambda mp: mp.setattr(Store, "keep_ride_state", _raise_async),
    "beat writer": lambda mp: mp.setattr(Store, "write_beats", _raise),
}
"""Each loop of the daemon, and a fault put into what it calls."""


async def _raise_async(*_args: object, **_kwargs: object) -> None:
    raise InjectedError


def _work_for_the_writers(daemon: Daemon) -> None:
    """A ride message for the outbox and store writers, a batch of beats for the beat writer."""
    assert daemon._sink is not None  # noqa: SLF001 - the daemon's own sink, built by run()
    ride = RideMessage(
        id="r1",
        active=True,
        phase="start",
        elapsed_s=0.0,
        event="started (manual)",
        alpha1_guard=None,
    )
    daemon._sink.durable("hrvd/h10/ride", ride.payload())  # noqa: SLF001
    beats = tuple(TimedBeat(800, 781.25, k * 0.78, k * 0.78, gap_before=k == 0) for k in range(500))
    daemon.pipelines["h10"].on_event(Notification("H10", 400.0, 77, contact=True, beats=beats))


async def _run_and_write(daemon: Daemon, built: asyncio.Event) -> None:
    """Run the daemon; once its sinks are built, give its writers work."""
    running = asyncio.create_task(daemon.run())
    waiting = asyncio.create_task(built.wait())
    await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if not running.done():
        _work_for_the_writers(daemon)
    await running


@pytest.mark.parametrize("loop", FAULTS)
async def test_a_loop_that_raises_is_logged_and_ends_the_daemon(
    loop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = asyncio.Event()
    end_interrupted = Daemon._end_interrupted  # noqa: SLF001 - called once the sinks are built

    def then_built(self: Daemon, store: Store) -> None:
        end_interrupted(self, store)
        built.set()

    monkeypatch.setattr(Daemon, "_end_interrupted", then_built)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(str(tmp_path / "notify"))
        environ = {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "200000"}
        daemon = await asyncio.to_thread(_daemon, tmp_path, environ)
        FAULTS[loop](monkeypatch)
        with capture_logs() as logs, pytest.raises(LoopCrashedError, match=loop):
            await asyncio.wait_for(_run_and_write(daemon, built), WITHIN_S)
    crashed = [e for e in logs if e["event"] == "loop crashed; the daemon stops"]
    assert [e["loop"] for e in crashed] == [loop]
    assert crashed[0]["exc_info"] is True  # the traceback goes to the log
    assert not daemon.loops.healthy()  # the watchdog pings no more
    assert any(e["event"] == "stopping" for e in logs)  # rides ended, outbox flushed


async def test_a_strap_session_that_raises_restarts_itself_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashes = asyncio.Semaphore(0)

    async def crash(_self: StrapSession) -> None:
        crashes.release()
        raise InjectedError

    monkeypatch.setattr(StrapSession, "run", crash)
    monkeypatch.setattr("hrvd.ble.session.backoff_s", lambda *_: 0.01)
    daemon = await asyncio.to_thread(_daemon, tmp_path)
    with capture_logs() as logs:
        task = asyncio.create_task(daemon.run())
        async with asyncio.timeout(WITHIN_S):
            for _ in range(4):
                await crashes.acquire()
        assert daemon.loops.healthy()  # the straps loop lives on; its sessions restart
        daemon.stop.set()
        await asyncio.wait_for(task, WITHIN_S)
    restarts = [e for e in logs if e["event"] == "session crashed; restarting"]
    assert [e["attempt"] for e in restarts[:3]] == [0, 1, 2]
    assert all(e["exc_info"] is True for e in restarts)


async def test_stopping_cancels_every_loop_and_reports_nothing() -> None:
    ended: list[str] = []
    loops = Loops()

    async def forever(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append(name)

    async def returns() -> None:
        return  # the watchdog's loop when systemd watches nothing

    async with loops.running({"a": forever("a"), "b": forever("b"), "c": returns()}) as running:
        assert await running.until(asyncio.sleep(0.05, "done")) == "done"
    assert sorted(ended) == ["a", "b"]
    assert loops.healthy()


async def test_a_loop_that_raises_ends_its_owners_work_at_once() -> None:
    work_ended = asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            work_ended.set()

    async def link() -> None:
        await asyncio.sleep(0)
        raise InjectedError

    loops = Loops("replay")
    with capture_logs() as logs, pytest.raises(LoopCrashedError) as err:
        async with loops.running({"mqtt": link()}) as running:
            await asyncio.wait_for(running.until(work()), WITHIN_S)
    assert str(err.value) == "the replay's mqtt loop crashed: see its traceback above"
    assert isinstance(err.value.__cause__, BaseExceptionGroup)
    assert work_ended.is_set()
    crashed = [e for e in logs if e["event"] == "loop crashed; the replay stops"]
    assert [e["loop"] for e in crashed] == ["mqtt"]  # logged once, with its traceback
    assert crashed[0]["exc_info"] is True


async def test_a_loop_that_fails_while_stopping_is_reported_on_leaving() -> None:
    async def fails_when_cancelled() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise InjectedError from None

    async def writer() -> None:
        await asyncio.sleep(3600)

    async def start_two_and_stop(loops: Loops) -> None:
        async with loops.running({}) as running:
            running.start("writer", fails_when_cancelled())
            running.start("other", writer())
            await running.until(asyncio.sleep(0))

    loops = Loops("demo")
    with capture_logs(), pytest.raises(LoopCrashedError, match="the demo's writer loop crashed"):
        await start_two_and_stop(loops)
    assert not loops.healthy()
