"""`hrvd thresholds`: the personal first threshold (HRVT1) and the ride ceiling it sets."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

from hrvd.cli.args import add_athlete, add_command
from hrvd.cli.output import tabular_format, write_json, write_rows
from hrvd.errors import EXIT_OK, UsageError
from hrvd.store import StoreError, open_store

if TYPE_CHECKING:
    import argparse
    from datetime import date

    from hrvd.cli.args import Parser, Subparsers
    from hrvd.coach.hrvt1 import CeilingPolicy
    from hrvd.config import Config


def _today(config: Config) -> date:
    return datetime.now(ZoneInfo(config.athlete.timezone)).date()


def _policy(config: Config) -> tuple[CeilingPolicy, str | None]:
    """The ceiling policy with the stored estimates, and a note when the store was unread.

    Raises:
        ValueError: no ceiling and no heart rates for zones in the config.
    """
    estimates: list[tuple[date, float]] = []
    note = None
    if not config.store.path.exists():
        note = "no store yet: no ride has given an estimate"
    else:
        try:
            store = open_store(config.store.path, readonly=True)
        except StoreError as exc:
            note = f"estimates not read: {exc}"
        else:
            try:
                estimates = store.hrvt1_estimates(config.athlete.name)
            finally:
                store.close()
    return config.ceiling_policy(estimates), note


def ceiling_lines(config: Config) -> list[str]:
    """Which ride ceiling holds and why, for `hrvd config check` (never raises)."""
    try:
        policy, note = _policy(config)
    except ValueError as exc:
        return [f"ride ceiling: none ({exc})"]
    today = _today(config)
    ceiling = policy.ceiling(today)
    lines = [f"ride ceiling: {ceiling.bpm:.0f} bpm ({ceiling.source}): {ceiling.why}"]
    if not policy.follow:
        lines.append("it does not follow HRVT1 ([athlete] ceiling_follows_hrvt1 = false)")
    if note:
        lines.append(note)
    return lines


CSV_COLUMNS = (
    "hrvt1_bpm",
    "n",
    "dates",
    "ceiling_bpm",
    "ceiling_source",
    "ceiling_why",
    "follows_hrvt1",
    "margin_bpm",
    "note",
)
"""The one CSV row's columns: the JSON's keys, the dates space-separated in one cell and
``follows_hrvt1`` ``true`` or ``false`` as in JSON."""


def show_thresholds(config: Config, *, fmt: str, out: TextIO) -> None:
    """The personal HRVT1 (median of recent estimates, how many, their days) and the ceiling.

    ``fmt`` ``table`` lists them as labelled lines, ``csv`` as one row, ``json`` as an object.

    Raises:
        UsageError: the config has neither a ride ceiling nor heart rates for zones.
    """
    try:
        policy, note = _policy(config)
    except ValueError as exc:
        msg = f"no ride ceiling: {exc} (set [athlete] hr_max or lthr, or [ride] ceiling_bpm)"
        raise UsageError(msg) from None
    today = _today(config)
    payload = policy.payload(today)
    if fmt == "json":
        write_json(out, {**payload, "note": note})
        return
    if fmt == "csv":
        values = {**payload, "note": note}
        dates = values.get("dates")
        if isinstance(dates, list):
            values["dates"] = " ".join(str(d) for d in dates)
        values["follows_hrvt1"] = "true" if values.get("follows_hrvt1") else "false"  # as JSON
        write_rows(out, fmt, CSV_COLUMNS, [[values.get(k) for k in CSV_COLUMNS]])
        return
    personal = policy.personal(today)
    if personal is None:
        hrvt1 = "none: no ride crossed alpha1 0.75 in the last 6 weeks (docs/thresholds.md)"
    else:
        days = ", ".join(d.isoformat() for d in personal.dates)
        hrvt1 = f"{personal.hrvt1_bpm:.0f} bpm, the median of {personal.n} ride(s): {days}"
    follows = (
        f"yes, {policy.margin_bpm:g} bpm below HRVT1 when that is lower"
        if policy.follow
        else "no ([athlete] ceiling_follows_hrvt1 = false)"
    )
    ceiling = f"{payload['ceiling_bpm']} bpm ({payload['ceiling_source']})"
    rows = [
        ("personal HRVT1", hrvt1),
        ("ride ceiling", f"{ceiling}: {payload['ceiling_why']}"),
        ("follows HRVT1", follows),
    ]
    if note:
        rows.append(("note", note))
    write_rows(out, fmt, ("", ""), rows)


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    thresholds = add_command(
        sub,
        "thresholds",
        "The median of the recent HRVT1 estimates (alpha1 = 0.75) kept from "
        "rides, how many it rests on and their days, and which ride ceiling holds and why.",
    )
    thresholds.add_argument("--config", metavar="FILE")
    add_athlete(thresholds)
    thresholds.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        help="default: table on a terminal, csv into a pipe",
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    config = load_config(find_config(args.config)).for_command(args.athlete)
    show_thresholds(config, fmt=tabular_format(args.format, out), out=out)
    return EXIT_OK
