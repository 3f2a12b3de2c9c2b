"""`hrvd export` and `hrvd backup`: the store's data out, in formats hrvd reads back.

* ``export ride ID``: the ride's beats as CSV (``time,rr_ms,gap``), which ``hrvd analyze``
  and ``hrvd replay`` read (they take the ``rr_ms`` column).
* ``export morning DATE``: the morning's raw RR as received, one column ``rr_ms``.
* ``export history``: every morning as CSV that ``hrvd history import`` reads back to the
  same mornings (date, posture, lnRMSSD at full precision, resting HR).
* ``backup FILE``: a consistent copy of the store, also while the daemon writes to it.
"""

from __future__ import annotations

import contextlib
import csv
import os
import sys
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hrvd.cli.args import add_actions, add_athlete, add_command
from hrvd.errors import EXIT_OK, UsageError
from hrvd.store import StoreError, open_store

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from hrvd.cli.args import Parser, Subparsers
    from hrvd.config import Config
    from hrvd.store import Ride, Store, StoredBeat

HISTORY_COLUMNS = (
    "date",
    "posture",
    "ln_rmssd",
    "resting_hr_bpm",
    "artifact_rate",
    "beats",
    "coverage",
    "source",
)
"""What ``hrvd history import`` reads back; ``source`` is for the reader (an import is
always marked imported)."""


@contextlib.contextmanager
def _store(config: Config) -> Iterator[Store]:
    store = open_store(config.store.path, readonly=True)
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def _output(target: str | None, *, force: bool) -> Iterator[TextIO]:
    """stdout, or a file written whole or not at all."""
    if target in {None, "-"}:
        yield sys.stdout
        return
    path = Path(str(target))
    if path.exists() and not force:
        msg = f"{path} exists: choose another name, or add --force to replace it"
        raise UsageError(msg)
    partial: Path | None = None
    try:
        # mkstemp: a new name no one can have planted a symlink at (O_EXCL, mode 0600).
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        partial = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            yield f
        partial.replace(path)
    except OSError as exc:
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None


def ride_beats(config: Config, ride_id: str) -> tuple[Ride, list[StoredBeat]]:
    """One stored ride and its beats (by its id, or a unique start of it).

    Raises:
        UsageError: no such ride, or none of its beats is kept.
    """
    with _store(config) as store:
        ride = store.ride(ride_id)
        if ride is None:
            msg = f"no ride {ride_id!r} (or more than one starts so): see 'hrvd sessions'"
            raise UsageError(msg)
        start = datetime.fromisoformat(ride.started)
        end = datetime.fromisoformat(ride.ended) + timedelta(seconds=1)
        beats = store.beats(ride.strap, _ms(start), _ms(end))
    if not beats:
        msg = (
            f"ride {ride.id} has no beats kept (older than [store] keep_raw_days, or "
            "recorded before hrvd kept beats)"
        )
        raise UsageError(msg)
    return ride, beats


def export_ride(config: Config, ride_id: str, target: str | None, *, force: bool) -> int:
    """Write one ride's beats; return how many."""
    ride, beats = ride_beats(config, ride_id)
    with _output(target, force=force) as out:
        out.write(f"# hrvd ride {ride.id}: strap {ride.strap}, {ride.started} to {ride.ended}\n")
        out.write("# rr_ms: the interval as received; gap 1: beats before it are missing\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("time", "rr_ms", "gap"))
        tz = datetime.fromisoformat(ride.started).tzinfo
        for b in beats:
            when = datetime.fromtimestamp(b.t_ms / 1000, tz).isoformat(timespec="milliseconds")
            writer.writerow((when, repr(b.rr_ms), int(b.gap)))
    return len(beats)


def export_morning(
    config: Config, day_text: str, posture: str | None, target: str | None, *, force: bool
) -> int:
    """Write one morning's raw RR; return how many intervals."""
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise UsageError(f"{day_text!r} is not a date like 2026-11-27") from None
    with _store(config) as store:
        found = store.morning_raw(day, posture, athlete=config.athlete.name)
    if found is None:
        what = f"{day} ({posture})" if posture else str(day)
        msg = (
            f"no morning measurement with its RR kept for {what}: see 'hrvd history' "
            "(imported days and days older than [store] keep_raw_days have none)"
        )
        raise UsageError(msg)
    kept_posture, rr = found
    with _output(target, force=force) as out:
        out.write(f"# hrvd morning {day} ({kept_posture}): RR as received, ms\nrr_ms\n")
        out.writelines(f"{v!r}\n" for v in rr)
    return len(rr)


def export_history(config: Config, target: str | None, *, force: bool) -> int:
    """Write every morning as CSV for ``hrvd history import``; return how many."""
    with _store(config) as store:
        mornings = store.mornings_with_source(config.athlete.name)
    with _output(target, force=force) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HISTORY_COLUMNS)
        for m, source in mornings:
            hr = "" if m.resting_hr_bpm is None else repr(m.resting_hr_bpm)
            q = m.quality
            quality = (
                ("", "", "") if q is None else (repr(q.artifact_rate), q.beats, repr(q.coverage))
            )
            writer.writerow(
                (m.day.isoformat(), m.posture.value, repr(m.ln_rmssd), hr, *quality, source)
            )
    return len(mornings)


def backup(config: Config, target: str, *, force: bool) -> Path:
    """Copy the store to ``target`` (a file, or a directory to put a dated file in)."""
    path = Path(target)
    if path.is_dir():
        stamp = datetime.now().astimezone().strftime("%Y%m%d-%H%M%S")
        path /= f"hrvd-{stamp}.sqlite3"
    if path.exists():
        if not force:
            msg = f"{path} exists: choose another name, or add --force to replace it"
            raise UsageError(msg)
        if path.resolve() == config.store.path.resolve():
            msg = f"{path} is the store itself: back it up to another file"
            raise UsageError(msg)
    with _store(config) as store:
        store.backup(path)
    return path


def _ms(when: datetime) -> int:
    return round(when.timestamp() * 1000)


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    export = add_command(
        sub,
        "export",
        "Write what the store keeps in formats hrvd reads back: a ride's or a "
        "morning's RR for 'hrvd analyze' and 'hrvd replay', the history for 'hrvd history "
        "import'. To stdout, or to --output FILE.",
    )
    actions = add_actions(export)
    ride = actions.add_parser("ride", help="a ride's beats (CSV, or FIT)")
    ride.add_argument("key", metavar="ID", help="the ride's id ('hrvd sessions')")
    ride.add_argument(
        "--format",
        choices=("csv", "fit"),
        default="csv",
        help="csv (the default); fit: the ride as a FIT activity",
    )
    morning = actions.add_parser("morning", help="a morning's RR intervals (CSV)")
    morning.add_argument("key", metavar="DATE", help="the morning's date, YYYY-MM-DD")
    morning.add_argument(
        "--posture",
        choices=("lying", "sitting", "standing"),
        help="which one, when a day has several",
    )
    history = actions.add_parser("history", help="the morning history (CSV)")
    for parser in (morning, history):
        add_athlete(parser)
    for parser in (ride, morning, history):
        parser.add_argument("-o", "--output", metavar="FILE", help="default: stdout")
        parser.add_argument("--force", action="store_true", help="replace an existing FILE")
        parser.add_argument("--config", metavar="FILE")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    config = load_config(find_config(args.config))
    if args.action != "ride":  # a ride is found by its id, whoever rode it
        config = config.for_command(args.athlete)
    if args.action == "history":
        n = export_history(config, args.output, force=args.force)
        unit = "morning(s)"
    elif args.action == "ride" and args.format == "fit":
        from hrvd.export_fit import write_ride_fit  # noqa: PLC0415

        n = write_ride_fit(config, args.key, args.output, force=args.force)
        unit = "beat(s) as FIT"
    elif args.action == "ride":
        n = export_ride(config, args.key, args.output, force=args.force)
        unit = "beat(s)"
    else:
        n = export_morning(config, args.key, args.posture, args.output, force=args.force)
        unit = "RR interval(s)"
    if args.output not in {None, "-"}:
        out.write(f"wrote {n} {unit} to {args.output}\n")
    return EXIT_OK
