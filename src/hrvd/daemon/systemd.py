"""sd_notify(3) and the systemd watchdog, without libsystemd.

systemd hands a ``Type=notify`` service the address of a datagram socket in
``$NOTIFY_SOCKET``; one datagram of newline-separated ``KEY=value`` lines is one message.
Outside systemd the variable is unset and every method here does nothing, so the daemon
calls them unconditionally.

The watchdog pings come from a task on the event loop, never from a thread: a loop that
hangs stops pinging, and after ``WatchdogSec=`` systemd kills and (``Restart=on-failure``)
restarts the service.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import TYPE_CHECKING, Self

import structlog

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import TracebackType

log = structlog.get_logger("hrvd.systemd")


def notify_address(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The AF_UNIX address in ``$NOTIFY_SOCKET``, or None when unset or of another kind.

    A leading ``@`` names a socket in the abstract namespace (a NUL byte on the wire).
    ``vsock:`` addresses (systemd in a VM) are not supported and count as unset.
    """
    value = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if value.startswith("/"):
        return os.fsencode(value)
    if value.startswith("@") and len(value) > 1:
        return b"\0" + os.fsencode(value[1:])
    return None


def watchdog_interval_s(environ: Mapping[str, str] | None = None) -> float | None:
    """The watchdog interval systemd expects pings within (``WatchdogSec=``), s.

    Like sd_watchdog_enabled(3): None when ``$WATCHDOG_USEC`` is unset or not a positive
    whole number, or when ``$WATCHDOG_PID`` is set to another process than this one.
    """
    env = os.environ if environ is None else environ
    pid = env.get("WATCHDOG_PID")
    if pid is not None and pid != str(os.getpid()):
        return None
    usec = env.get("WATCHDOG_USEC", "")
    if not (usec.isascii() and usec.isdigit()) or int(usec) == 0:
        return None
    return int(usec) / 1_000_000


class Notifier:
    """Messages to the service manager; a no-op when not started by systemd.

    Use it as a context manager (it owns one socket), or call :meth:`close`.

    Args:
        environ: where to read ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID``;
            default ``os.environ``, read once here.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._address = notify_address(environ)
        self._watchdog_s = watchdog_interval_s(environ)
        self._sock: socket.socket | None = None
        self._failed = False

    @property
    def enabled(self) -> bool:
        """Whether there is a service manager to notify."""
        return self._address is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """The watchdog interval, s; None when systemd watches no process or another one."""
        return self._watchdog_s if self.enabled else None

    def notify(self, *assignments: str) -> bool:
        """Send ``KEY=value`` assignments as one message; whether it was sent.

        Never blocks and never raises: a full or vanished socket loses the message (logged
        once), as a missed ping must not take the daemon down.
        """
        if self._address is None:
            return False
        try:
            if self._sock is None:
                # Non-blocking: a full queue drops the message rather than stall the loop.
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK)
            self._sock.sendto("\n".join(assignments).encode(), self._address)
        except OSError as exc:
            if not self._failed:
                log.warning("sd_notify_failed", error=str(exc))
                self._failed = True
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """READY=1: config loaded, store open, tasks running (not waiting for strap or broker)."""
        return self.notify("READY=1", *([] if status is None else [_status(status)]))

    def status(self, text: str) -> bool:
        """STATUS=: one line for ``systemctl status`` (newlines become spaces)."""
        return self.notify(_status(text))

    def stopping(self) -> bool:
        """STOPPING=1: shutdown has begun."""
        return self.notify("STOPPING=1")

    def watchdog(self) -> bool:
        """WATCHDOG=1: one keep-alive ping."""
        return self.notify("WATCHDOG=1")

    async def watchdog_loop(self, healthy: Callable[[], bool] | None = None) -> None:
        """Ping at half the watchdog interval, from the event loop, until cancelled.

        Returns at once when systemd set no watchdog for this process. While the loop is
        blocked, or ``healthy()`` says False, no ping goes out, so systemd restarts the
        daemon after one interval.

        Args:
            healthy: optional extra check before each ping (e.g. fresh ``last_tick`` stamps
                of the daemon's tasks). Never make it wait for a strap or the broker.
        """
        interval_s = self.watchdog_interval_s
        if interval_s is None:
            return
        while True:
            if healthy is None or healthy():
                self.watchdog()
            await asyncio.sleep(interval_s / 2)

    def close(self) -> None:
        """Close the socket; a later message opens a new one."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Self:
        """The notifier itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the socket."""
        self.close()


def _status(text: str) -> str:
    return "STATUS=" + " ".join(text.splitlines())
