"""``hrvd init --add-athlete NAME``: one more athlete, and their strap, in an existing config.

The file is edited, not rewritten: :func:`hrvd.config_edit.add_athlete` keeps its comments
and layout. A config of one unnamed athlete becomes a household whose first athlete gets a
name (``--first-athlete``, asked, default ``me``); when that name is not ``me`` their
stored history is moved to it (docs/household.md), which needs the daemon stopped.
"""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING

from hrvd.config import DEFAULT_ATHLETE, parse_config, slug
from hrvd.config_edit import add_athlete
from hrvd.errors import ConfigError, UsageError
from hrvd.files import write_atomically
from hrvd.hrv.zones import ZoneModel
from hrvd.setup.init_answers import choose_strap, heart_rates, require_flags, strap_default_name
from hrvd.setup.questions import parse_name, parse_role, parse_timezone

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from pathlib import Path

    from hrvd.ble.scan import FoundStrap
    from hrvd.config import Config
    from hrvd.setup.questions import Prompter


def add_athlete_to(
    args: argparse.Namespace,
    p: Prompter,
    output: Path,
    scan: Callable[[float], list[FoundStrap]],
) -> tuple[Config, list[str]]:
    """Ask for the new athlete and their strap, write the config; return it and what was done.

    Raises:
        UsageError: the file is missing or invalid, the name is taken, a flag is missing
            or wrong, or the daemon holds the store whose rows must follow a new name.
        HrvdError: Bluetooth cannot scan, or the scan found no strap.
    """
    text, existing = _read(output)
    name: str = args.add_athlete  # parsed by parse_name
    taken = {a.slug: a.name for a in existing.athletes}
    if slug(name) in taken:
        raise UsageError(f"--add-athlete: {output} already has the athlete {taken[slug(name)]!r}")
    first = _first_name(args, p, existing, name, output)
    if not p.interactive:
        require_flags(args)
    address, advertised = choose_strap(args.strap, args.timeout, p, scan)
    strap = p.answer(
        args.strap_name,
        "--strap-name",
        f"A name for {name}'s strap",
        parse_name,
        default=strap_default_name(advertised),
    )
    role = p.answer(
        args.role, "--role", "Use it for: ride, morning or both", parse_role, default="both"
    )
    zones = ZoneModel(args.zones or ZoneModel.HRMAX.value)
    hr_max, hr_rest, lthr = heart_rates(args, p, zones)
    timezone = p.answer(
        args.timezone,
        "--timezone",
        f"{name}'s time zone",
        parse_timezone,
        default=existing.athlete.timezone,
    )
    athlete = {
        "name": name,
        "hr_max": hr_max,
        "hr_rest": hr_rest,
        "lthr": lthr,
        "zones": zones.value,
        "timezone": timezone,
    }
    new_text = add_athlete(
        text, athlete, first_name=first, straps=[{"name": strap, "address": address, "role": role}]
    )
    try:
        config = parse_config(tomllib.loads(new_text), output)
    except ConfigError as exc:  # a strap name taken, say: the user's to change
        raise UsageError(str(exc)) from None
    done = []
    if first != existing.athlete.name:
        done.extend(_rename_history(existing, first))
    write_atomically(output, new_text, mode=output.stat().st_mode & 0o777, dir_mode=0o755)
    names = ", ".join(a.name for a in config.athletes)
    done.append(f"wrote {output.absolute()} (athletes: {names})")
    return config, done


def _read(output: Path) -> tuple[str, Config]:
    """The config's text, and what it says."""
    try:
        text = output.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{output} does not exist: 'hrvd init' writes a first config") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {output}: {exc}") from None
    try:
        return text, parse_config(tomllib.loads(text), output)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(output, None, f"is not valid TOML: {exc}") from None


def _first_name(
    args: argparse.Namespace, p: Prompter, existing: Config, name: str, output: Path
) -> str:
    """The first athlete's name: theirs, or (one unnamed athlete) given or asked."""
    first = existing.athlete.name
    if existing.household or first != DEFAULT_ATHLETE:
        if args.first_athlete is not None:
            raise UsageError(f"--first-athlete: the athletes of {output} are named already")
        return first
    given: str | None = args.first_athlete
    first = p.answer(
        given,
        "--first-athlete",
        "A name for the athlete already in the config",
        parse_name,
        default=DEFAULT_ATHLETE,
    )
    if slug(first) == slug(name):
        raise UsageError(f"--first-athlete {first!r} and --add-athlete {name!r} are one name")
    return first


def _rename_history(existing: Config, first: str) -> list[str]:
    """Move the stored rows of the unnamed athlete to ``first``."""
    from hrvd.store import StoreError, StoreNeedsHandsError, open_store  # noqa: PLC0415

    path = existing.store.path
    if not path.exists():
        return []
    try:
        with open_store(path, exclusive=True) as store:
            moved = store.rename_athlete(DEFAULT_ATHLETE, first)
    except StoreNeedsHandsError as exc:
        msg = (
            f"the store {path} is in use ({exc}): stop the daemon, then add the athlete "
            "again, so that the first athlete's history follows their name"
        )
        raise UsageError(msg) from None
    except StoreError as exc:
        raise UsageError(f"{exc}: the config was not changed") from None
    return [f"moved {moved} stored row(s) of {DEFAULT_ATHLETE!r} to {first!r} in {path}"]
