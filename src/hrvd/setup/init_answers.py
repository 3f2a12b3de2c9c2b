"""``hrvd init``'s answers: the strap (given, or chosen from a scan) and every other value.

Each value comes from its flag, else is asked on a terminal (through
:class:`~hrvd.setup.questions.Prompter`), else the command fails naming the flag; each
answer is checked as it comes, the heart rates against each other.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from hrvd.config import StoreConfig
from hrvd.errors import HrvdError, UsageError
from hrvd.hrv.zones import ZoneModel
from hrvd.setup.init_files import PASSWORD_NAME, SERVICE_PASSWORD_FILE, Choices, user_store
from hrvd.setup.questions import (
    HR_MAX_BPM,
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
from hrvd.setup.template import Answers

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from hrvd.ble.scan import FoundStrap
    from hrvd.setup.questions import Prompter

DEFAULT_BROKER = "localhost:1883"
NO_STRAP = (
    "no heart-rate strap found: wet the strap's electrodes, put it on, and make sure no "
    "watch, phone or app is connected to it"
)
_RESCAN = "s"


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


def require_flags(args: argparse.Namespace) -> None:
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


def heart_rates(
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
        require_flags(args)
    else:
        p.say("hrvd init: a few questions; Enter takes the answer in [brackets], Ctrl-C stops.")
    address, advertised = choose_strap(args.strap, args.timeout, p, scan)
    name = p.answer(
        args.strap_name,
        "--strap-name",
        "A name for this strap",
        parse_name,
        default=strap_default_name(advertised),
    )
    role = p.answer(
        args.role, "--role", "Use it for: ride, morning or both", parse_role, default="both"
    )
    hr_max, hr_rest, lthr = heart_rates(args, p, zones)
    timezone = p.answer(
        args.timezone, "--timezone", "Your time zone", parse_timezone, default=system_timezone()
    )
    host, port = p.answer(
        args.broker,
        "--broker",
        "The MQTT broker, HOST[:PORT]",
        parse_broker,
        default=DEFAULT_BROKER,
    )
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


def strap_default_name(advertised: str | None) -> str:
    """The advertised name when it makes a topic, else ``strap``."""
    try:
        return parse_name(advertised or "")
    except ValueError:
        return "strap"
