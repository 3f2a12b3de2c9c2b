"""`hrvd plot ride|history|morning` and `hrvd analyze --plot`: pictures, to a named file.

matplotlib is the optional ``plot`` extra; it is imported here only when a plot is drawn,
and its absence is one line saying how to install it (exit 2).
"""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

import numpy as np

from hrvd.cli.args import add_actions, add_athlete, add_command
from hrvd.errors import EXIT_OK, UsageError
from hrvd.hrv.artifacts import correct_batch
from hrvd.rrfile import read_rr

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from numpy.typing import NDArray

    from hrvd.cli.args import Parser, Subparsers
    from hrvd.config import Config
    from hrvd.rrfile import RrSeries
    from hrvd.store import Store

T = TypeVar("T")
FORMATS = ("png", "svg")
INSTALL_HINT = "plots need matplotlib, the 'plot' extra: pip install 'hrvd[plot]'"


def _need_matplotlib() -> None:
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(INSTALL_HINT)


def output_path(target: str | None, default_stem: str, fmt: str | None) -> Path:
    """The file to write: ``target``, else ``<default_stem>.<fmt>`` here; PNG by default.

    Raises:
        UsageError: the name's suffix is not .png or .svg, or disagrees with ``fmt``.
    """
    if target is None:
        return Path(f"{default_stem}.{fmt or 'png'}")
    path = Path(target)
    suffix = path.suffix.lstrip(".").lower()
    if not suffix:
        return path.with_suffix(f".{fmt or 'png'}")
    if suffix not in FORMATS or (fmt is not None and fmt != suffix):
        msg = f"{target}: a plot is written as .png or .svg" + (
            f", not .{suffix}" if suffix else ""
        )
        raise UsageError(msg)
    return path


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def plot_ride(
    config: Config | None,
    which: str,
    target: str | None,
    fmt: str | None,
    athlete: str | None = None,
) -> Path:
    """Draw a stored ride (by id) or a recorded RR file as the daemon would have shown it.

    The ceiling and zones are those of ``athlete``, else of whoever rode the stored ride.
    """
    _need_matplotlib()
    from hrvd.cli.replay import DEFAULT_HR_MAX  # noqa: PLC0415
    from hrvd.coach.recovery import RideSettings  # noqa: PLC0415
    from hrvd.hrv.zones import ZoneModel, zones_for  # noqa: PLC0415
    from hrvd.plot.draw import draw_ride  # noqa: PLC0415
    from hrvd.plot.trace import ride_trace  # noqa: PLC0415

    if Path(which).is_file() or config is None:
        series = read_rr(which)
        rr, gaps, name = series.rr_ms, series.gaps, Path(which).stem
        if config is not None:
            config = config.for_command(athlete)
    else:
        rr, gaps, rider = _ride_beats(config, which)
        name = which
        known = any(a.name == rider for a in config.athletes)
        config = config.for_command(athlete or (rider if known else None))
    zones = zones_for(ZoneModel.HRMAX, hr_max=DEFAULT_HR_MAX)  # as `hrvd replay` without one
    settings = RideSettings(zones.recovery_ceiling_bpm)
    if config is not None:
        try:
            settings = config.ride_settings()
            zones = config.athlete.heart_rate_zones()
        except ValueError as exc:  # zones are shown only; the ceiling is what the plot needs
            if settings.ceiling_bpm != config.ride.ceiling_bpm:
                msg = f"no recovery ceiling to draw: set [ride] ceiling_bpm ({exc})"
                raise UsageError(msg) from None
    path = output_path(target, f"ride-{_safe(name)}", fmt)
    draw_ride(ride_trace(rr, settings, zones, gaps), path, f"Ride {name}")
    return path


def _ride_beats(config: Config, ride_id: str) -> tuple[NDArray[np.float64], NDArray[np.bool_], str]:
    """A stored ride's RR (ms), gaps, and who rode it."""
    from hrvd.cli.export import ride_beats  # noqa: PLC0415

    ride, beats = ride_beats(config, ride_id)
    rr = np.array([b.rr_ms for b in beats], dtype=np.float64)
    return rr, np.array([b.gap for b in beats], dtype=np.bool_), ride.athlete


def plot_history(config: Config, days: int, target: str | None, fmt: str | None) -> Path:
    """Draw the last ``days`` mornings."""
    _need_matplotlib()
    from hrvd.coach.readiness import assess_all  # noqa: PLC0415
    from hrvd.plot.draw import draw_history  # noqa: PLC0415

    path = output_path(target, "history", fmt)
    results = assess_all(_with_store(config, lambda s: s.mornings(config.athlete.name), []))
    results = results[-days:]
    if not results:
        raise UsageError("no morning measurement yet: nothing to plot (see 'hrvd history')")
    draw_history(results, path)
    return path


def plot_morning(config: Config, day: date, target: str | None, fmt: str | None) -> Path:
    """Draw one morning's RR, its corrected beats and its Poincaré plot."""
    _need_matplotlib()
    path = output_path(target, f"morning-{day.isoformat()}", fmt)
    found = _with_store(config, lambda s: s.morning_raw(day, athlete=config.athlete.name), None)
    if found is None:
        raise UsageError(f"no morning measurement with its RR kept for {day}: see 'hrvd history'")
    posture, rr = found
    _draw_rr(np.asarray(rr, dtype=np.float64), path, f"Morning {day} ({posture})")
    return path


def plot_recording(series: RrSeries, source: str, target: str | None) -> Path:
    """`hrvd analyze FILE --plot`: the recording's RR and its Poincaré plot."""
    _need_matplotlib()
    stem = "stdin" if source == "-" else Path(source).stem
    path = output_path(target, f"{_safe(stem)}-rr", None)
    _draw_rr(series.rr_ms, path, stem)
    return path


def _draw_rr(rr: NDArray[np.float64], path: Path, title: str) -> None:
    from hrvd.plot.draw import draw_morning  # noqa: PLC0415

    c = correct_batch(rr)
    draw_morning(c.rr_ms, c.corrected, path, title)


def _with_store(config: Config, read: Callable[[Store], T], empty: T) -> T:
    from hrvd.store import open_store  # noqa: PLC0415

    if not config.store.path.exists():
        return empty
    store = open_store(config.store.path, readonly=True)
    try:
        return read(store)
    finally:
        store.close()


def report(path: Path, out: TextIO) -> None:
    """Name the file written."""
    out.write(f"wrote {path}\n")


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    plot = add_command(
        sub,
        "plot",
        "Draw a picture (PNG, or SVG) to a file and name it. Needs the 'plot' extra (matplotlib).",
    )
    actions = add_actions(plot)
    ride = actions.add_parser("ride", help="a ride: HR, alpha1, the ceiling and its alerts")
    ride.add_argument("which", metavar="ID|FILE", help="the ride's id, or an RR file")
    history = actions.add_parser("history", help="the morning history")
    history.add_argument("--days", type=int, default=60, help="days drawn (default 60)")
    morning = actions.add_parser("morning", help="one morning's RR")
    morning.add_argument("which", metavar="DATE", help="its date, YYYY-MM-DD")
    for parser in (ride, history, morning):
        parser.add_argument("--output", "-o", metavar="FILE", help="default: a name here")
        parser.add_argument("--format", choices=("png", "svg"), help="default: png")
        parser.add_argument("--config", metavar="FILE")
        add_athlete(parser)  # a stored ride: whoever rode it


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.config import find_config, load_config  # noqa: PLC0415
    from hrvd.logging import configure_logging  # noqa: PLC0415

    configure_logging(level="warning")  # the picture shows the ride's alerts; log only trouble
    if args.action == "ride" and not args.config and Path(args.which).is_file():
        path = plot_ride(None, args.which, args.output, args.format)
    elif args.action == "ride":
        config = load_config(find_config(args.config))
        path = plot_ride(config, args.which, args.output, args.format, args.athlete)
    elif args.action == "history":
        config = load_config(find_config(args.config)).for_command(args.athlete)
        path = plot_history(config, args.days, args.output, args.format)
    else:
        try:
            day = date.fromisoformat(args.which)
        except ValueError:
            raise UsageError(f"{args.which!r} is not a date (YYYY-MM-DD)") from None
        config = load_config(find_config(args.config)).for_command(args.athlete)
        path = plot_morning(config, day, args.output, args.format)
    report(path, out)
    return EXIT_OK
