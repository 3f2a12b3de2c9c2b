"""``hrvd run`` as a process of its own, on a private bus, and the config it reads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from harness.fake_bluez import FakeStrap
from harness.process import die_with_parent, stop_process

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping, Sequence
    from pathlib import Path
    from types import TracebackType

TomlValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class StrapEntry:
    """One ``[[strap]]`` of the config; None leaves a key out (hrvd's default)."""

    name: str
    address: str | None = None
    role: str | None = None
    stall_timeout_s: float | None = None


def _toml(value: TomlValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    return str(value)


def write_config(
    path: Path,
    *,
    port: int,
    store: Path,
    straps: Sequence[StrapEntry] = (),
    base_topic: str | None = None,
    tables: Mapping[str, Mapping[str, TomlValue]] | None = None,
) -> Path:
    """Write a config for ``hrvd run`` (and ``doctor``): the broker, straps, store, tables.

    Args:
        path: the file to write.
        port: the broker's port on 127.0.0.1.
        store: the SQLite store's path.
        straps: the ``[[strap]]`` entries, in order.
        base_topic: ``[mqtt] base_topic``, if not hrvd's default.
        tables: more tables by name (``athlete``, ``ride``, ``morning``), key by key.

    Returns:
        ``path``.
    """
    mqtt: dict[str, TomlValue] = {"host": "127.0.0.1", "port": port}
    if base_topic is not None:
        mqtt["base_topic"] = base_topic
    lines = ["[mqtt]", *(f"{k} = {_toml(v)}" for k, v in mqtt.items())]
    for strap in straps:
        lines += ["[[strap]]", f"name = {_toml(strap.name)}"]
        keys = {
            "address": strap.address,
            "role": strap.role,
            "stall_timeout_s": strap.stall_timeout_s,
        }
        lines += [f"{k} = {_toml(v)}" for k, v in keys.items() if v is not None]
    for table, values in (tables or {}).items():
        lines += [f"[{table}]", *(f"{k} = {_toml(v)}" for k, v in values.items())]
    lines += ["[store]", f"path = {_toml(str(store))}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class DaemonProcess:
    """``python -m hrvd.cli run --config FILE`` on a private bus; its stderr added to ``log``.

    Never the host's system bus: the address must be a ``unix:path=`` one (a private
    ``dbus-daemon``'s), and the daemon dies with its parent. The systemd variables of the
    environment are dropped, so it does not talk to a service manager that is not its own,
    unless ``env`` names them (a test's stand-in for systemd).
    """

    def __init__(
        self,
        config: Path,
        bus_address: str,
        log: Path,
        *,
        log_level: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not bus_address.startswith("unix:path="):
            raise RuntimeError(f"not a private bus: {bus_address!r}")
        self.config = config
        self.bus_address = bus_address
        self.log = log
        self.log_level = log_level
        self.env = dict(env or {})
        """More environment variables (a test's own NOTIFY_SOCKET, say)."""
        self.proc: asyncio.subprocess.Process | None = None
        self.stop_s: float | None = None
        """SIGTERM to exit, s."""
        self.exit_code: int | None = None

    @property
    def pid(self) -> int:
        """The daemon's pid."""
        if self.proc is None:
            raise RuntimeError("the daemon is not running")
        return self.proc.pid

    @property
    def running(self) -> bool:
        """Started and not yet exited."""
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> None:
        """Start the daemon (it does not wait for the strap or the broker)."""
        env = {k: v for k, v in os.environ.items() if k not in {"NOTIFY_SOCKET", "WATCHDOG_USEC"}}
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address
        env.update(self.env)
        level = ["--log-level", self.log_level] if self.log_level else []
        with self.log.open("ab") as err:  # a restart adds to the log
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hrvd.cli",
                "run",
                "--config",
                str(self.config),
                *level,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=err,
                preexec_fn=die_with_parent,
            )

    async def kill(self) -> None:
        """SIGKILL (``kill -9``) and wait for it to be gone."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def stop(self) -> int | None:
        """SIGTERM and wait; note how long it took and the exit code."""
        started = time.monotonic()
        self.exit_code = await stop_process(self.proc)
        self.stop_s = time.monotonic() - started
        return self.exit_code

    async def __aenter__(self) -> Self:
        """Start it."""
        await self.start()
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        """Stop it if it still runs."""
        if self.running:
            await self.stop()


WATCHDOG_S = 2.0
WAIT_S = 20.0


class NotifySocket:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)  # noqa: FBT003 - socket's own API
        self.received: list[tuple[float, str]] = []

    async def until(self, word: str, within_s: float = WAIT_S) -> None:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(within_s):
            while not any(word in m for _, m in self.received):
                data = await loop.sock_recv(self.sock, 4096)
                self.received.append((time.monotonic(), data.decode()))

    def close(self) -> None:
        self.sock.close()

    async def drain(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await self.until("never-sent", within_s=seconds)


@contextlib.asynccontextmanager
async def daemon(config: Path, notify: NotifySocket) -> AsyncIterator[asyncio.subprocess.Process]:
    """`hrvd run` on the test's private bus, with the test's notify socket as systemd's."""
    env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": str(int(WATCHDOG_S * 1e6))}
    bus = os.environ["DBUS_SYSTEM_BUS_ADDRESS"]  # the private_system_bus fixture's
    log = config.with_name("daemon.log")  # every start of the test's daemon adds to it
    async with DaemonProcess(config, bus, log, env=env) as run:
        assert run.proc is not None
        try:
            yield run.proc
        finally:
            await run.kill()


def fast_strap(address: str) -> FakeStrap:
    """A fast real-time heart (about 200 bpm): many beats in little time, no drift."""
    return FakeStrap(address=address, rr_ms=lambda: 300.0, notify_interval_s=0.25)
