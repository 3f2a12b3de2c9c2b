"""``hrvd init``: a first config from a scan and a few questions, or from flags for scripts.

The flow: refuse at once when the file exists (unless ``--force``); pick the strap
(``--strap``, else a scan); take every other value from its flag, else ask on a terminal,
else fail naming the flag; render the commented file (:mod:`hrvd.setup.template`), check
that it loads back as exactly the answers, and write it atomically.

A password typed in goes to ``mqtt-password`` (mode 0600) beside the config, never into it
and never on the command line. For the service's ``/etc/hrvd/hrvd.toml`` that file is the
one systemd hands over with ``LoadCredential=`` (see
:mod:`hrvd.setup.install_service`), so the config
names it as ``$CREDENTIALS_DIRECTORY/mqtt-password``, and it is created empty when the
broker takes no password (the unit does not start without it).
"""

from __future__ import annotations

import argparse
import functools
import getpass
import math
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

from hrvd.config import CONFIG_NAME, ROLES, StoreConfig, load_config, parse_config
from hrvd.errors import EXIT_OK, ConfigError, HrvdError, UsageError
from hrvd.files import write_atomically
from hrvd.hrv.zones import ZoneModel
from hrvd.setup.install_service import DEFAULT_CONFIG
from hrvd.setup.questions import (
    HR_MAX_BPM,
    Prompter,
    check_heart_rates,
    parse_address,
    parse_broker,
    parse_hr_max,
    parse_hr_rest,
    parse_lthr,
    parse_name,
    parse_role,
    parse_timezone,
    parse_username,
    system_timezone,
)
from hrvd.setup.template import Answers, render_config

if TYPE_CHECKING:
    from collections.abc import Callable

    from hrvd.ble.scan import FoundStrap

T = TypeVar("T")

PASSWORD_NAME = "mqtt-password"  # noqa: S105 - a file name, not a password
"""The password file beside the config; beside /etc/hrvd/hrvd.toml it is the credential."""
SERVICE_PASSWORD_FILE = "$CREDENTIALS_DIRECTORY/" + PASSWORD_NAME
"""How the service's config names it: ``LoadCredential=mqtt-password:...`` puts it there."""
DEFAULT_BROKER = "localhost:1883"
DEFAULT_SCAN_S = 10.0
NO_STRAP = (
    "no heart-rate strap found: wet the strap's electrodes, put it on, and make sure no "
    "watch, phone or app is connected to it"
)
_RESCAN = "s"


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
    add("--strap", metavar="ADDRESS", type=_flag(parse_address),
        help="the strap's Bluetooth address; skips the scan (see 'hrvd scan')")  # fmt: skip
    add("--strap-name", metavar="NAME", type=_flag(parse_name),
        help="its name in Home Assistant and in topics (default: the advertised name)")  # fmt: skip
    add("--role", choices=ROLES, help="what the strap is for (default: both)")
    add("--hr-max", metavar="BPM", type=_flag(parse_hr_max),
        help="your measured maximum heart rate (required)")  # fmt: skip
    add("--hr-rest", metavar="BPM", type=_flag(parse_hr_rest),
        help="your resting heart rate, on waking (for mornings and ride auto start)")  # fmt: skip
    add("--lthr", metavar="BPM", type=_flag(parse_lthr),
        help="your lactate threshold heart rate (for zones 'lthr')")  # fmt: skip
    add("--zones", choices=[m.value for m in ZoneModel],
        help="the zone model; zone 1's top is the ride ceiling (default: hrmax)")  # fmt: skip
    add("--timezone", metavar="ZONE", type=_flag(parse_timezone),
        help="e.g. Europe/Brussels (default: this system's)")  # fmt: skip
    add("--broker", metavar="HOST[:PORT]", type=_flag(parse_broker),
        help=f"the MQTT broker (default: {DEFAULT_BROKER})")  # fmt: skip
    add("--username", metavar="NAME", type=_flag(parse_username), help="the broker user")
    add("--password-file", metavar="FILE",
        help="a file holding the broker password (asked for, and kept in a mode-0600 "
        f"{PASSWORD_NAME} beside the config, when not given)")  # fmt: skip
    add("--output", metavar="FILE",
        help=f"where to write (default: {DEFAULT_CONFIG} as root, else "
        f"$XDG_CONFIG_HOME/hrvd/{CONFIG_NAME})")  # fmt: skip
    add("--force", action="store_true", help="replace an existing config file")
    add("-y", "--yes", "--non-interactive", dest="yes", action="store_true",
        help="never ask: take flags and defaults, fail naming a missing flag (so does no "
        "terminal)")  # fmt: skip
    add("--timeout", metavar="SECONDS", type=_seconds, default=DEFAULT_SCAN_S,
        help=f"how long to scan (default: {DEFAULT_SCAN_S:g})")  # fmt: skip


# -- where things go -----------------------------------------------------------------------


def default_output(euid: int | None = None) -> Path:
    """The service's config as root, else the user's (the first two places find_config tries)."""
    if (os.geteuid() if euid is None else euid) == 0:
        return Path(DEFAULT_CONFIG)
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "hrvd" / CONFIG_NAME


def user_store() -> Path:
    """The store of a daemon run by its user: ``$XDG_DATA_HOME/hrvd/hrvd.sqlite3``."""
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "hrvd" / StoreConfig().path.name


# -- the strap -----------------------------------------------------------------------------


def scan_for_straps(timeout_s: float) -> list[FoundStrap]:
    """The straps a scan of ``timeout_s`` seconds finds, strongest first.

    Raises:
        HrvdError: Bluetooth cannot be used (the fix, and ``--strap``, in the message).
    """
    from hrvd.ble.scan import scan_or_explain  # noqa: PLC0415 - bleak only when scanning

    return scan_or_explain(timeout_s, "; or give the strap as --strap ADDRESS")


def _pick(text: str, found: list[FoundStrap]) -> tuple[str, str | None] | None:
    """A number from the list, an address, or ``s`` (None: scan again)."""
    if text.lower() == _RESCAN:
        return None
    if text.isdigit():
        if not 1 <= int(text) <= len(found):
            raise ValueError(f"{text} is not a number from the list (1-{len(found)})")
        strap = found[int(text) - 1]
        return parse_address(strap.address), strap.name
    return parse_address(text), None


def choose_strap(
    given: str | None, timeout_s: float, p: Prompter, scan: Callable[[float], list[FoundStrap]]
) -> tuple[str, str | None]:
    """The strap's address and advertised name: ``--strap``, else from a scan."""
    if given is not None:
        return given, None
    while True:
        p.say(f"scanning for heart-rate straps for {timeout_s:g} s ...")
        found = scan(timeout_s)
        if not p.interactive:
            if not found:
                raise HrvdError(f"{NO_STRAP}; or give the strap as --strap ADDRESS")
            if len(found) > 1:
                seen = ", ".join(f"{s.name or '(no name)'} {s.address}" for s in found)
                raise UsageError(f"{len(found)} straps found ({seen}): choose with --strap ADDRESS")
            p.say(f"found {found[0].name or '(no name)'} {found[0].address}")
            return parse_address(found[0].address), found[0].name
        if found:
            for i, s in enumerate(found, 1):
                p.say(f"  {i}) {s.name or '(no name)':<24} {s.address}  {s.rssi} dBm")
            question = f"Which strap? A number, an address, or '{_RESCAN}' to scan again"
            picked = p.answer(
                None, "--strap", question, functools.partial(_pick, found=found), default="1"
            )
        else:
            p.say(NO_STRAP)
            question = f"Type its address, or '{_RESCAN}' to scan again"
            picked = p.answer(
                None, "--strap", question, functools.partial(_pick, found=[]), default=_RESCAN
            )
        if picked is not None:
            return picked


# -- the answers ---------------------------------------------------------------------------


def _require_flags(args: argparse.Namespace) -> None:
    """Without a terminal, fail before any scan when a needed flag is missing."""
    zones = args.zones or ZoneModel.HRMAX.value
    needed = [("--hr-max", args.hr_max, "your measured maximum heart rate, bpm")]
    if zones == ZoneModel.HRR.value:
        needed.append(("--hr-rest", args.hr_rest, 'zones "hrr" need your resting heart rate'))
    if zones == ZoneModel.LTHR.value:
        needed.append(("--lthr", args.lthr, 'zones "lthr" need your threshold heart rate'))
    for flag, value, what in needed:
        if value is None:
            raise UsageError(f"{flag} is needed with --yes or without a terminal ({what})")


def _heart_rates(
    args: argparse.Namespace, p: Prompter, zones: ZoneModel
) -> tuple[int, int | None, int | None]:
    """HRmax, HRrest, LTHR (bpm): each answer checked against those before it and the flags."""
    try:  # the flags among themselves, before anything is asked
        check_heart_rates(args.hr_max or HR_MAX_BPM[1] + 1, args.hr_rest, args.lthr)
    except ValueError as exc:
        raise UsageError(f"--hr-max, --hr-rest, --lthr: {exc}") from None

    def maximum(text: str) -> int:
        value = parse_hr_max(text)
        check_heart_rates(value, args.hr_rest, args.lthr)
        return value

    hint = "the highest you have seen in a hard effort or a test, not 220 minus age"
    hr_max = p.answer(args.hr_max, "--hr-max", f"Your maximum heart rate, bpm ({hint})", maximum)

    def rest(text: str) -> int:
        value = parse_hr_rest(text)
        check_heart_rates(hr_max, value, args.lthr)
        return value

    rest_q = "Your resting heart rate, bpm (lying still just after waking)"
    if zones is ZoneModel.HRR:
        hr_rest: int | None = p.answer(args.hr_rest, "--hr-rest", rest_q, rest)
    else:
        hr_rest = p.optional(args.hr_rest, "--hr-rest", rest_q, rest)

    def threshold(text: str) -> int:
        value = parse_lthr(text)
        check_heart_rates(hr_max, hr_rest, value)
        return value

    lthr_q = "Your lactate threshold heart rate, bpm, if you know it"
    if zones is ZoneModel.LTHR:
        lthr: int | None = p.answer(args.lthr, "--lthr", lthr_q, threshold)
    else:
        lthr = p.optional(args.lthr, "--lthr", lthr_q, threshold)
    return hr_max, hr_rest, lthr


@dataclass(frozen=True, slots=True)
class Choices:
    """The answers, and the password to keep beside the config (None: nothing to write)."""

    answers: Answers
    password: str | None


def _password(
    args: argparse.Namespace, p: Prompter, username: str | None, output: Path, *, service: bool
) -> tuple[str | None, str | None]:
    """(what the config says in password_file, the password to write beside it)."""
    beside = output.parent.absolute() / PASSWORD_NAME
    named = SERVICE_PASSWORD_FILE if service else str(beside)
    if args.password_file is not None:
        if username is None:
            raise UsageError("--password-file needs --username (the broker's user)")
        source = Path(args.password_file).absolute()
        try:
            text = source.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise UsageError(f"--password-file {args.password_file}: {reason}") from None
        if not service:
            return str(source), None
        # The service reads only the credential: copy the password there.
        return named, None if source == beside else text
    if username is None:
        return None, None
    password = p.secret(f"MQTT password for {username}") if p.interactive else ""
    if service:  # the credential, empty for now, holds the password once it is put there
        return named, password or None
    return (named, password) if password else (None, None)


def gather(
    args: argparse.Namespace,
    p: Prompter,
    output: Path,
    scan: Callable[[float], list[FoundStrap]],
    *,
    service: bool,
) -> Choices:
    """Every answer, from its flag or asked; validated one by one as they come."""
    zones = ZoneModel(args.zones or ZoneModel.HRMAX.value)
    if not p.interactive:
        _require_flags(args)
    else:
        p.say("hrvd init: a few questions; Enter takes the answer in [brackets], Ctrl-C stops.")
    address, advertised = choose_strap(args.strap, args.timeout, p, scan)
    name = p.answer(args.strap_name, "--strap-name", "A name for this strap", parse_name,
                    default=_default_name(advertised))  # fmt: skip
    role = p.answer(args.role, "--role", "Use it for: ride, morning or both", parse_role,
                    default="both")  # fmt: skip
    hr_max, hr_rest, lthr = _heart_rates(args, p, zones)
    timezone = p.answer(args.timezone, "--timezone", "Your time zone", parse_timezone,
                        default=system_timezone())  # fmt: skip
    host, port = p.answer(args.broker, "--broker", "The MQTT broker, HOST[:PORT]", parse_broker,
                          default=DEFAULT_BROKER)  # fmt: skip
    username = p.optional(args.username, "--username", "The broker's user name", parse_username)
    password_file, password = _password(args, p, username, output, service=service)
    answers = Answers(
        strap_name=name,
        strap_address=address,
        role=role,
        hr_max=hr_max,
        hr_rest=hr_rest,
        lthr=lthr,
        zones=zones,
        timezone=timezone,
        host=host,
        port=port,
        username=username,
        password_file=password_file,
        store_path=StoreConfig().path if service else user_store(),
        for_service=service,
    )
    return Choices(answers, password)


def _default_name(advertised: str | None) -> str:
    """The advertised name when it makes a topic, else ``strap``."""
    try:
        return parse_name(advertised or "")
    except ValueError:
        return "strap"


# -- writing -------------------------------------------------------------------------------


def _refuse_to_replace(output: Path, *, force: bool) -> None:
    if output.is_dir():
        raise UsageError(f"{output} is a directory: give the file as --output FILE")
    if (output.exists() or output.is_symlink()) and not force:
        raise UsageError(f"{output} already exists: use --force to replace it, "
                         "or --output FILE to write elsewhere")  # fmt: skip
    existing = output.absolute().parent
    while not existing.exists():
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {output}: permission denied "
                         "(run it with sudo, or give --output FILE)")  # fmt: skip


def checked_text(answers: Answers, output: Path) -> str:
    """The rendered config, after checking that it loads back as exactly ``answers``.

    Raises:
        RuntimeError: it does not: a bug in the renderer, never the user's fault.
    """
    text = render_config(answers)
    try:
        loaded = parse_config(tomllib.loads(text), output)
    except (tomllib.TOMLDecodeError, ConfigError) as exc:
        raise RuntimeError(f"bug: hrvd init rendered a config that does not load: {exc}") from exc
    if loaded != answers.config(output):
        raise RuntimeError(f"bug: hrvd init rendered {loaded} for {answers}")
    return text


def write_files(
    choices: Choices, output: Path, *, service: bool, force: bool
) -> list[tuple[Path, str]]:
    """Write the password file (if any) and the config; return each path and what it is."""
    text = checked_text(choices.answers, output)
    if (output.exists() or output.is_symlink()) and not force:
        _refuse_to_replace(output, force=force)  # appeared while we asked
    # /etc/hrvd must stay readable by the service's user; ~/.config/hrvd is private.
    dir_mode = 0o755 if service else 0o700
    written: list[tuple[Path, str]] = []
    beside = output.parent / PASSWORD_NAME
    if choices.password is not None and not force and _holds_other(beside, choices.password):
        raise UsageError(f"{beside} already holds a password: use --force to replace it")
    if choices.password is not None:
        write_atomically(beside, choices.password + "\n", mode=0o600, dir_mode=dir_mode)
        written.append((beside, "the broker password, mode 0600"))
    elif service and not beside.exists():
        write_atomically(beside, "", mode=0o600, dir_mode=dir_mode)
        written.append((beside, "empty: the service's credential, for a password later"))
    write_atomically(output, text, mode=0o644, dir_mode=dir_mode)
    written.append((output, "the config"))
    if load_config(output) != choices.answers.config(output):
        raise RuntimeError(f"bug: {output} does not read back as written")
    return written


def _holds_other(path: Path, password: str) -> bool:
    """Whether ``path`` holds something other than ``password`` (unreadable counts)."""
    try:
        return path.read_text(encoding="utf-8").rstrip("\n") not in {"", password}
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError):
        return True


def _hrvd_command() -> str:
    beside = Path(sys.executable).absolute().with_name("hrvd")
    return str(beside) if beside.is_file() else "hrvd"


def next_steps(output: Path, *, service: bool, password_to_add: bool = False) -> list[str]:
    """What to run after ``hrvd init``, in order."""
    hrvd, config = _hrvd_command(), output.absolute()
    steps = []
    if password_to_add:
        credential = config.parent / PASSWORD_NAME
        steps.append(f"sudoedit {credential}   # the broker password, if it needs one")
    steps.append(f"{hrvd} doctor --config {config}   # Bluetooth, the strap, the broker")
    if service:
        steps.append(f"sudo {hrvd} install-service   # then the commands it prints")
    else:
        steps.append(f"{hrvd} run --config {config}   # the daemon; Ctrl-C stops it")
    return steps


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
    output = Path(args.output) if args.output else default_output()
    if service is None:
        service = output.absolute() == Path(DEFAULT_CONFIG)
    _refuse_to_replace(output, force=args.force)
    interactive = not args.yes and (ask is not None or sys.stdin.isatty())
    p = Prompter(out, ask or input, ask_secret or getpass.getpass, interactive=interactive)
    choices = gather(args, p, output, scan_for_straps, service=service)
    written = write_files(choices, output, service=service, force=args.force)
    out.writelines(f"wrote {path.absolute()} ({what})\n" for path, what in written)
    a = choices.answers
    ceiling = a.athlete().heart_rate_zones().recovery_ceiling_bpm
    p.say(f'strap "{a.strap_name}" {a.strap_address} for {a.role}; recovery rides below '
          f"{ceiling:.0f} bpm (zone 1, {a.zones.value}); broker {a.host}:{a.port}")  # fmt: skip
    p.say("next steps:")
    to_add = service and a.username is not None and choices.password is None
    steps = next_steps(output, service=service, password_to_add=to_add)
    out.writelines(f"  {step}\n" for step in steps)
    return EXIT_OK
