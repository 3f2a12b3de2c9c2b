"""The questions of ``hrvd init``: each value's check, and a prompter that re-asks.

Every ``parse_*`` turns text (a flag's or a typed answer) into a value or raises ValueError
with the reason, so that a flag fails as argparse's one line and a typed answer is asked
again with that reason.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hrvd.config import ROLES, slug
from hrvd.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

HR_MAX_BPM = (100, 250)
HR_REST_BPM = (25, 120)
LTHR_BPM = (80, 250)
_ADDRESS = re.compile(r"[0-9A-F]{2}(:[0-9A-F]{2}){5}")


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def parse_address(text: str) -> str:
    """A Bluetooth address, upper case."""
    address = text.strip().upper()
    if not _ADDRESS.fullmatch(address):
        raise ValueError(f"{text.strip()!r} is not a Bluetooth address like AA:BB:CC:DD:EE:FF")
    return address


def parse_name(text: str) -> str:
    """A strap name: some letters or digits, as the topics need."""
    name = text.strip()
    if _has_control(name) or not re.search(r"[a-z0-9]", slug(name)):
        raise ValueError(f"{name!r} is not a name with a letter or digit in it")
    return name


def parse_role(text: str) -> str:
    """``ride``, ``morning`` or ``both``."""
    role = text.strip().lower()
    if role not in ROLES:
        raise ValueError(f'{text.strip()!r} is not "ride", "morning" or "both"')
    return role


def _bpm(text: str, limits: tuple[int, int]) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a whole number of bpm") from None
    low, high = limits
    if not low <= value <= high:
        raise ValueError(f"{value} is not within {low}-{high} bpm")
    return value


def parse_hr_max(text: str) -> int:
    """HRmax, bpm."""
    return _bpm(text, HR_MAX_BPM)


def parse_hr_rest(text: str) -> int:
    """HRrest, bpm."""
    return _bpm(text, HR_REST_BPM)


def parse_lthr(text: str) -> int:
    """LTHR, bpm."""
    return _bpm(text, LTHR_BPM)


def check_heart_rates(hr_max: int, hr_rest: int | None, lthr: int | None) -> None:
    """Raise ValueError unless HRrest < LTHR < HRmax (for those given), bpm."""
    if hr_rest is not None and hr_rest >= hr_max:
        raise ValueError(f"HRrest {hr_rest} must be below HRmax {hr_max}")
    if lthr is not None and lthr >= hr_max:
        raise ValueError(f"LTHR {lthr} must be below HRmax {hr_max}")
    if lthr is not None and hr_rest is not None and lthr <= hr_rest:
        raise ValueError(f"LTHR {lthr} must be above HRrest {hr_rest}")


def parse_timezone(text: str) -> str:
    """An IANA time zone name."""
    zone = text.strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'{zone!r} is not a time zone like "Europe/Brussels"') from None
    return zone


def parse_broker(text: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT`` or ``[IPv6]:PORT``; the port defaults to 1883."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
        ok = rest == "" or rest.startswith(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
        ok = True
    else:  # a bare host, or a bare IPv6 address
        host, port, ok = text, "", True
    if not ok or not host or _has_control(host) or any(c.isspace() for c in host):
        raise ValueError(f"{text!r} is not HOST or HOST:PORT")
    if not port:
        return host, 1883
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{port!r} is not a port number (1-65535)")
    return host, int(port)


def parse_username(text: str) -> str:
    """A broker user name."""
    name = text.strip()
    if not name or _has_control(name) or any(c.isspace() for c in name):
        raise ValueError(f"{name!r} is not a user name (no spaces)")
    return name


def system_timezone() -> str:
    """This system's time zone name ($TZ, /etc/timezone, /etc/localtime), else ``UTC``."""
    candidates = [os.environ.get("TZ", "").removeprefix(":")]
    with contextlib.suppress(OSError, UnicodeDecodeError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    with contextlib.suppress(OSError):
        candidates.append(str(Path("/etc/localtime").readlink()))
    for candidate in candidates:
        name = candidate.rpartition("zoneinfo/")[2]
        try:
            return parse_timezone(name) if name else "UTC"
        except ValueError:
            continue
    return "UTC"


@dataclass
class Prompter:
    """Asks on a terminal, re-asking with the reason; without one, never asks.

    Args:
        out: where hints and reasons go.
        ask: shows a prompt and returns the line typed (``input``); EOFError ends it.
        ask_secret: the same without echo (``getpass.getpass``).
        interactive: whether to ask at all.
    """

    out: TextIO
    ask: Callable[[str], str]
    ask_secret: Callable[[str], str]
    interactive: bool

    def say(self, line: str) -> None:
        """One line for the user."""
        self.out.write(line + "\n")
        self.out.flush()

    def _line(self, flag: str, question: str, default: str | None) -> str:
        try:
            text = self.ask(f"{question} [{default}]: " if default else f"{question}: ")
        except EOFError:
            raise UsageError(f"no answer for {flag} (input ended): give it as {flag}") from None
        return text.strip() or (default or "")

    def answer(
        self,
        given: T | None,
        flag: str,
        question: str,
        parse: Callable[[str], T],
        default: str | None = None,
    ) -> T:
        """``given`` (a flag's value), else the answer to ``question``, else ``default``."""
        if given is not None:
            return given
        if not self.interactive:
            if default is None:
                raise UsageError(f"{flag} is needed: give it, or run hrvd init in a terminal")
            return parse(default)
        while True:
            text = self._line(flag, question, default)
            if not text:
                self.say("  an answer is needed")
                continue
            try:
                return parse(text)
            except ValueError as exc:
                self.say(f"  {exc}; try again")

    def optional(
        self, given: T | None, flag: str, question: str, parse: Callable[[str], T]
    ) -> T | None:
        """Like :meth:`answer`, but an empty answer (or no terminal) gives None."""
        if given is not None or not self.interactive:
            return given
        while True:
            text = self._line(flag, question + " (Enter: skip)", None)
            if not text:
                return None
            try:
                return parse(text)
            except ValueError as exc:
                self.say(f"  {exc}; try again")

    def secret(self, question: str) -> str:
        """A password, not echoed; empty for none."""
        try:
            return self.ask_secret(f"{question} (Enter: none): ")
        except EOFError:
            raise UsageError("no answer for the password: use --password-file FILE") from None
