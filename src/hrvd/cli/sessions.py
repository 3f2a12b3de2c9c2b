"""`hrvd sessions [list|show ID]`: the recovery rides kept in the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from hrvd.cli.args import add_athlete, add_command
from hrvd.cli.output import tabular_format, write_json, write_rows
from hrvd.errors import EXIT_OK, UsageError

if TYPE_CHECKING:
    import argparse

    from hrvd.cli.args import Parser, Subparsers
    from hrvd.config import Config
    from hrvd.store import Ride

HEADER = ("STARTED", "STRAP", "MIN", "IN_ZONE_PCT", "TOO_HARD_MIN", "ALERTS", "HRVT1_BPM", "ID")


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    sessions = add_command(sub, "sessions", "The rides the store keeps, newest first, or one.")
    sessions.add_argument("action", nargs="?", choices=("list", "show"), default="list")
    sessions.add_argument("id", nargs="?", metavar="ID", help="with 'show': the ride's id")
    sessions.add_argument("--config", metavar="FILE")
    add_athlete(sessions)  # none: every athlete's rides
    sessions.add_argument("--limit", type=int, default=20, help="rides listed (default 20)")
    sessions.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        help="default: table on a terminal, csv into a pipe",
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    if args.action == "show" and not args.id:
        raise UsageError("'hrvd sessions show' needs a ride id (see 'hrvd sessions')")
    if args.action == "list" and args.id:
        raise UsageError(f"'hrvd sessions list' takes no id ({args.id!r}): 'hrvd sessions show ID'")
    config = load_config(find_config(args.config))
    if args.action == "show":
        show_session(config, args.id, as_json=args.format == "json", out=out)
    else:
        athlete = config.for_command(args.athlete).athlete.name if args.athlete else None
        list_sessions(
            config, limit=args.limit, fmt=tabular_format(args.format, out), out=out, athlete=athlete
        )
    return EXIT_OK


def _rides(config: Config, limit: int, athlete: str | None) -> list[Ride]:
    from hrvd.store import open_store  # noqa: PLC0415

    if not config.store.path.exists():  # the daemon has not run yet: no ride
        return []
    store = open_store(config.store.path, readonly=True)
    try:
        return store.rides(limit, athlete=athlete)
    finally:
        store.close()


def list_sessions(
    config: Config, *, limit: int, fmt: str, out: TextIO, athlete: str | None = None
) -> None:
    """The last rides (of one athlete, or of all), newest first, as a table, CSV or JSON."""
    rides = _rides(config, limit, athlete)
    if fmt == "json":
        write_json(out, [r.summary for r in rides])
        return
    if not rides and fmt == "table":
        out.write("no ride stored yet\n")
        return
    rows = []
    for r in rides:
        s = r.summary
        rows.append(
            (
                r.started,
                r.strap,
                _round(_per60(s.get("duration_s"))),
                _round(s.get("in_zone_pct")),
                _round(_per60(s.get("too_hard_s"))),
                s.get("alerts", 0),
                _round(s.get("hrvt1_bpm")),
                r.id,
            )
        )
    write_rows(out, fmt, HEADER, rows)


def _per60(seconds: object) -> float | None:
    return float(seconds) / 60 if isinstance(seconds, int | float) else None


def _round(value: object) -> int | None:
    return round(value) if isinstance(value, int | float) else None


def show_session(config: Config, ride_id: str, *, as_json: bool, out: TextIO) -> None:
    """One ride's summary.

    Raises:
        UsageError: no ride, or more than one, has that id.
    """
    from hrvd.store import open_store  # noqa: PLC0415

    store = open_store(config.store.path, readonly=True)
    try:
        ride = store.ride(ride_id)
    finally:
        store.close()
    if ride is None:
        raise UsageError(f"no single ride with the id {ride_id!r} (see 'hrvd sessions')")
    if as_json:
        write_json(out, ride.summary)
        return
    out.write(_describe(ride))


def _describe(ride: Ride) -> str:
    s = ride.summary
    lines = [
        f"ride {ride.id}",
        f"  strap            {ride.strap}",
        f"  from             {ride.started} to {ride.ended} ({s.get('end_reason')})",
        f"  duration         {_minutes(s.get('duration_s'))} min",
        f"  in recovery zone {_pct(s.get('in_zone_pct'))} (ceiling {s.get('ceiling_bpm')} bpm)",
        f"  too hard         {_minutes(s.get('too_hard_s'))} min, {s.get('alerts')} alert(s)",
        f"  heart rate       mean {s.get('mean_hr_bpm')} bpm, max {s.get('max_hr_bpm')} bpm",
        f"  RMSSD, alpha1    {s.get('mean_rmssd_ms')} ms, {s.get('mean_dfa_alpha1')}",
        f"  artifacts        {_pct(_times100(s.get('artifact_rate')))}",
        f"  HRVT1            {_hrvt1(s)}",
    ]
    if "ceiling_why" in s:
        lines.insert(5, f"  ceiling          {s.get('ceiling_why')}")
    return "\n".join(lines) + "\n"


def _hrvt1(s: dict[str, object]) -> str:
    """A ride's HRVT1, or why it gave none."""
    if isinstance(s.get("hrvt1_bpm"), int | float):
        return f"{s['hrvt1_bpm']} bpm (alpha1 = 0.75)"
    why = s.get("hrvt1_reason")
    return f"none ({why})" if why else "none"


def _minutes(seconds: object) -> str:
    return f"{float(seconds) / 60:.0f}" if isinstance(seconds, int | float) else "-"


def _times100(value: object) -> float | None:
    return 100 * value if isinstance(value, int | float) else None


def _pct(value: object) -> str:
    return f"{value:.0f} %" if isinstance(value, int | float) else "-"
