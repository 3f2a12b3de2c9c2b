"""``hrvd init``: a first config from a scan and a few questions, or from flags for scripts.

The flow: refuse at once when the file exists (unless ``--force``); pick the strap
(``--strap``, else a scan); take every other value from its flag, else ask on a terminal,
else fail naming the flag (:mod:`hrvd.setup.init_answers`); render the commented file
(:mod:`hrvd.setup.template`), check that it loads back as exactly the answers, and write
it atomically (:mod:`hrvd.setup.init_files`). This module holds the command's flags and
its run.

A password typed in goes to ``mqtt-password`` (mode 0600) beside the config, never into it
and never on the command line (for the service: the credential systemd hands over, see
:mod:`hrvd.setup.init_files`).
"""

from __future__ import annotations

import argparse
import getpass
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

from hrvd.config import CONFIG_NAME, ROLES
from hrvd.errors import EXIT_OK, UsageError
from hrvd.hrv.zones import ZoneModel
from hrvd.setup.init_answers import DEFAULT_BROKER, gather, scan_for_straps
from hrvd.setup.init_files import (
    PASSWORD_NAME,
    default_output,
    next_steps,
    refuse_to_replace,
    write_files,
)
from hrvd.setup.install_service import DEFAULT_CONFIG
from hrvd.setup.questions import (
    Prompter,
    parse_address,
    parse_broker,
    parse_hr_max,
    parse_hr_rest,
    parse_lthr,
    parse_name,
    parse_timezone,
    parse_username,
)

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

DEFAULT_SCAN_S = 10.0


def _flag(parse: Callable[[str], T]) -> Callable[[str], T]:
    """``parse`` as an argparse type: its reason becomes argparse's one-line error."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options: every answer can be a flag instead."""
    add = parser.add_argument
    add(
        "--strap",
        metavar="ADDRESS",
        type=_flag(parse_address),
        help="the strap's Bluetooth address; skips the scan (see 'hrvd scan')",
    )
    add(
        "--strap-name",
        metavar="NAME",
        type=_flag(parse_name),
        help="its name in Home Assistant and in topics (default: the advertised name)",
    )
    add("--role", choices=ROLES, help="what the strap is for (default: both)")
    add(
        "--hr-max",
        metavar="BPM",
        type=_flag(parse_hr_max),
        help="your measured maximum heart rate (required)",
    )
    add(
        "--hr-rest",
        metavar="BPM",
        type=_flag(parse_hr_rest),
        help="your resting heart rate, on waking (for mornings and ride auto start)",
    )
    add(
        "--lthr",
        metavar="BPM",
        type=_flag(parse_lthr),
        help="your lactate threshold heart rate (for zones 'lthr')",
    )
    add(
        "--zones",
        choices=[m.value for m in ZoneModel],
        help="the zone model; zone 1's top is the ride ceiling (default: hrmax)",
    )
    add(
        "--timezone",
        metavar="ZONE",
        type=_flag(parse_timezone),
        help="e.g. Europe/Brussels (default: this system's)",
    )
    add(
        "--broker",
        metavar="HOST[:PORT]",
        type=_flag(parse_broker),
        help=f"the MQTT broker (default: {DEFAULT_BROKER})",
    )
    add("--username", metavar="NAME", type=_flag(parse_username), help="the broker user")
    add(
        "--password-file",
        metavar="FILE",
        help="a file holding the broker password (asked for, and kept in a mode-0600 "
        f"{PASSWORD_NAME} beside the config, when not given)",
    )
    add(
        "--output",
        metavar="FILE",
        help=f"where to write (default: {DEFAULT_CONFIG} as root, else "
        f"$XDG_CONFIG_HOME/hrvd/{CONFIG_NAME})",
    )
    add("--force", action="store_true", help="replace an existing config file")
    add(
        "-y",
        "--yes",
        "--non-interactive",
        dest="yes",
        action="store_true",
        help="never ask: take flags and defaults, fail naming a missing flag (so does no terminal)",
    )
    add(
        "--timeout",
        metavar="SECONDS",
        type=_seconds,
        default=DEFAULT_SCAN_S,
        help=f"how long to scan (default: {DEFAULT_SCAN_S:g})",
    )
    add(
        "--add-athlete",
        metavar="NAME",
        type=_flag(parse_name),
        help="add an athlete and their strap to the existing config (--output, else the one "
        "hrvd finds), keeping its comments: a household (docs/household.md)",
    )
    add(
        "--first-athlete",
        metavar="NAME",
        type=_flag(parse_name),
        help="with --add-athlete: a name for the athlete already there (default: me)",
    )


def run_init(
    args: argparse.Namespace,
    out: TextIO,
    *,
    ask: Callable[[str], str] | None = None,
    ask_secret: Callable[[str], str] | None = None,
    service: bool | None = None,
) -> int:
    """``hrvd init``: ask (or take flags), write the config, say what to do next.

    Args:
        args: the parsed flags (see :func:`add_arguments`).
        out: where messages go.
        ask: reads one answer; default ``input``, and then only when stdin is a terminal.
        ask_secret: reads the password; default ``getpass.getpass``.
        service: write for the systemd service (credential, /var/lib/hrvd); default:
            whether the file is the service's /etc/hrvd/hrvd.toml.

    Raises:
        UsageError: a flag is missing or wrong, or the file exists without ``--force``.
        HrvdError: Bluetooth cannot scan, or the scan found no strap.
    """
    if args.add_athlete is not None:
        return _add_athlete(args, out, ask=ask)
    if args.first_athlete is not None:
        raise UsageError("--first-athlete goes with --add-athlete")
    output = Path(args.output) if args.output else default_output()
    if service is None:
        service = output.absolute() == Path(DEFAULT_CONFIG)
    refuse_to_replace(output, force=args.force)
    interactive = not args.yes and (ask is not None or sys.stdin.isatty())
    p = Prompter(out, ask or input, ask_secret or getpass.getpass, interactive=interactive)
    choices = gather(args, p, output, scan_for_straps, service=service)
    written = write_files(choices, output, service=service, force=args.force)
    out.writelines(f"wrote {path.absolute()} ({what})\n" for path, what in written)
    a = choices.answers
    ceiling = a.athlete().heart_rate_zones().recovery_ceiling_bpm
    p.say(
        f'strap "{a.strap_name}" {a.strap_address} for {a.role}; recovery rides below '
        f"{ceiling:.0f} bpm (zone 1, {a.zones.value}); broker {a.host}:{a.port}"
    )
    p.say("next steps:")
    to_add = service and a.username is not None and choices.password is None
    steps = next_steps(output, service=service, password_to_add=to_add)
    out.writelines(f"  {step}\n" for step in steps)
    return EXIT_OK


def _add_athlete(args: argparse.Namespace, out: TextIO, *, ask: Callable[[str], str] | None) -> int:
    """``hrvd init --add-athlete NAME`` (:mod:`hrvd.setup.init_athlete`)."""
    from hrvd.config import find_config  # noqa: PLC0415
    from hrvd.setup.init_athlete import add_athlete_to  # noqa: PLC0415 - tomlkit when used

    if args.force:
        raise UsageError("--force does not go with --add-athlete: the config is edited, kept")
    output = Path(args.output) if args.output else find_config(None)
    interactive = not args.yes and (ask is not None or sys.stdin.isatty())
    p = Prompter(out, ask or input, getpass.getpass, interactive=interactive)
    _config, done = add_athlete_to(args, p, output, scan_for_straps)
    out.writelines(f"{line}\n" for line in done)
    p.say(
        "next: restart the daemon; in a household every athlete's topics are "
        "<base>/<athlete>/... (docs/household.md)"
    )
    return EXIT_OK
