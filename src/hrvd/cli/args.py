"""What the command modules share to build their parsers: the parser class and argument types.

Light on purpose: ``hrvd --help`` imports this module and the registry, nothing else.
"""

from __future__ import annotations

import argparse
import math
from datetime import datetime

from hrvd.errors import EXIT_USAGE

PROG = "hrvd"

Subparsers = argparse._SubParsersAction  # noqa: SLF001 - argparse names no public type for it


class Parser(argparse.ArgumentParser):
    """argparse, but its usage errors are one line and exit code 2, like ours."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """One line on stderr, exit code 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def add_command(
    sub: Subparsers[Parser], name: str, description: str | None = None
) -> argparse.ArgumentParser:
    """The parser of command ``name``, with the one-line summary the registry gives it."""
    from hrvd.cli import COMMANDS  # noqa: PLC0415 - the registry imports this module

    return sub.add_parser(name, help=COMMANDS[name][1], description=description)


def add_athlete(parser: argparse.ArgumentParser) -> None:
    """``--athlete NAME``: which athlete of a household the command is about."""
    parser.add_argument(
        "--athlete", metavar="NAME", help="the athlete, in a config of several (docs/household.md)"
    )


def add_actions(parser: argparse.ArgumentParser) -> Subparsers[Parser]:
    """Sub-commands under ``parser`` (``ride start|stop``); one of them must be given."""
    return parser.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=Parser
    )


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a {what}") from None
    return value


def positive_seconds(text: str) -> float:
    """A number of seconds above 0 (argparse type)."""
    value = _number(text, "number of seconds")
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def seconds(text: str) -> float:
    """A number of seconds, 0 or more (argparse type)."""
    value = _number(text, "number of seconds")
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more)")
    return value


def speed(text: str) -> float:
    """Times real time, 0 or more (argparse type)."""
    value = _number(text, "speed")
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a speed (0 or more)")
    return value


def host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (argparse type)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


HR_MAX_RANGE_BPM = (100, 250)
"""HRmax accepted on the command line, bpm. Tanaka et al. 2001 (JACC 37:153): HRmax =
208 - 0.7 x age, SD about 10 bpm, so 138 at 100 years and above 100 even 3 SD under it;
250 is the top of every heart rate hrvd accepts (the config's bpm range)."""


def hr_max(text: str) -> int:
    """A maximal heart rate in :data:`HR_MAX_RANGE_BPM`, bpm (argparse type)."""
    low, high = HR_MAX_RANGE_BPM
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of bpm") from None
    if not low <= value <= high:
        msg = (
            f"{value} bpm is not a maximal heart rate: expected {low}-{high} bpm (208 - "
            "0.7 x age, Tanaka 2001, is above 130 at any age)"
        )
        raise argparse.ArgumentTypeError(msg)
    return value


def when(text: str) -> datetime:
    """An ISO 8601 time a recording can start at, local when it names no zone."""
    from datetime import UTC, timedelta  # noqa: PLC0415 - argparse types stay light

    from hrvd.coach.baseline import EARLIEST_DAY, LATEST_DAYS_AHEAD  # noqa: PLC0415

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    latest = datetime.now(UTC) + timedelta(days=LATEST_DAYS_AHEAD)
    if not EARLIEST_DAY <= moment.date() <= latest.date():
        msg = (
            f"{text!r} is not a time a recording can start: expected one from "
            f"{EARLIEST_DAY} (no strap recorded earlier) to tomorrow"
        )
        raise argparse.ArgumentTypeError(msg)
    return moment if moment.tzinfo else moment.astimezone()
