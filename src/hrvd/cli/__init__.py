"""The `hrvd` command line. Errors a user can fix end as one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import json
import math
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hrvd import __version__
from hrvd.cli.analyze import rolling, summarise
from hrvd.errors import EXIT_OK, EXIT_USAGE, HrvdError, InputFileError, UsageError
from hrvd.rrfile import read_rr

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hrvd.rrfile import RrSeries

PROG = "hrvd"
DOCTOR_SCAN_S = 8.0
"""How long `hrvd doctor` looks for the configured straps by default, s."""


class _Parser(argparse.ArgumentParser):
    """argparse, but its usage errors are one line and exit code 2, like ours."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more)")
    return value


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a speed") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a speed (0 or more)")
    return value


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


HR_MAX_RANGE_BPM = (100, 250)
"""HRmax accepted on the command line, bpm. Tanaka et al. 2001 (JACC 37:153): HRmax =
208 - 0.7 x age, SD about 10 bpm, so 138 at 100 years and above 100 even 3 SD under it;
250 is the top of every heart rate hrvd accepts (the config's bpm range)."""


def _hr_max(text: str) -> int:
    low, high = HR_MAX_RANGE_BPM
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of bpm") from None
    if not low <= value <= high:
        msg = (f"{value} bpm is not a maximal heart rate: expected {low}-{high} bpm (208 - "
               "0.7 x age, Tanaka 2001, is above 130 at any age)")  # fmt: skip
        raise argparse.ArgumentTypeError(msg)
    return value


def _when(text: str) -> datetime:
    from datetime import UTC, timedelta  # noqa: PLC0415 - argparse types stay light

    from hrvd.coach.baseline import EARLIEST_DAY, LATEST_DAYS_AHEAD  # noqa: PLC0415

    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    latest = datetime.now(UTC) + timedelta(days=LATEST_DAYS_AHEAD)
    if not EARLIEST_DAY <= when.date() <= latest.date():
        msg = (f"{text!r} is not a time a recording can start: expected one from "
               f"{EARLIEST_DAY} (no strap recorded earlier) to tomorrow")  # fmt: skip
        raise argparse.ArgumentTypeError(msg)
    return when if when.tzinfo else when.astimezone()


def _add_daemon_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """The commands that talk to the store or to a running daemon."""
    install = sub.add_parser(
        "install-service",
        help="install the systemd unit, the hrvd user and the D-Bus policy",
        description="Write the systemd unit, the sysusers.d file and the D-Bus policy for "
        "this installation (run as root); --dry-run prints them instead.",
    )
    install.add_argument("--dry-run", action="store_true", help="print, write nothing")
    install.add_argument("--force", action="store_true", help="replace files that differ")
    install.add_argument("--config", metavar="FILE", default="/etc/hrvd/hrvd.toml",
                         help="the config the service will read")  # fmt: skip
    history = sub.add_parser("history", help="morning readiness, day by day")
    history.add_argument("action", nargs="?", choices=("show", "import"), default="show")
    history.add_argument("file", nargs="?", metavar="FILE.csv", help="with 'import'")
    history.add_argument("--config", metavar="FILE")
    history.add_argument("--days", type=int, default=30, help="days shown (default 30)")
    history.add_argument("--format", choices=("table", "json", "csv"), default="table")
    morning = sub.add_parser("morning", help="take this morning's HRV measurement")
    morning.add_argument("--repeat", action="store_true", help="replace today's measurement")
    morning.add_argument("--posture", choices=("lying", "sitting", "standing"),
                         help="default: [morning] posture")  # fmt: skip
    morning.add_argument("--strap", metavar="NAME", help="default: the first morning strap")
    morning.add_argument("--orthostatic", action="store_true",
                         help="lie, then stand when told: the orthostatic test")  # fmt: skip
    morning.add_argument("--config", metavar="FILE")
    watch = sub.add_parser("watch", help="the live view of a running daemon (from MQTT)")
    watch.add_argument("--strap", metavar="NAME", help="default: the first strap")
    watch.add_argument("--config", metavar="FILE")
    config_cmd = sub.add_parser("config", help="check the config file")
    config_cmd.add_argument("action", choices=("check",))
    config_cmd.add_argument("--config", metavar="FILE")
    sessions = sub.add_parser("sessions", help="the recovery rides kept in the store")
    sessions.add_argument("action", nargs="?", choices=("list", "show"), default="list")
    sessions.add_argument("id", nargs="?", metavar="ID", help="with 'show': the ride's id")
    sessions.add_argument("--config", metavar="FILE")
    sessions.add_argument("--limit", type=int, default=20, help="rides listed (default 20)")
    sessions.add_argument("--format", choices=("table", "json"), default="table")
    thresholds = sub.add_parser(
        "thresholds",
        help="your first threshold (HRVT1) from recent rides, and the ride ceiling it sets",
        description="The median of the recent HRVT1 estimates (alpha1 = 0.75) kept from "
        "rides, how many it rests on and their days, and which ride ceiling holds and why.",
    )
    thresholds.add_argument("--config", metavar="FILE")
    thresholds.add_argument("--format", choices=("table", "json"), default="table")
    plot = sub.add_parser("plot", help="draw a ride, the morning history or one morning",
                          description="Draw a picture (PNG, or SVG) to a file and name it. "
                          "Needs the 'plot' extra (matplotlib).")  # fmt: skip
    plot.add_argument("what", choices=("ride", "history", "morning"))
    plot.add_argument("which", nargs="?", metavar="ID|FILE|DATE",
                      help="ride: its id or an RR file; morning: its date, YYYY-MM-DD")  # fmt: skip
    plot.add_argument("--output", "-o", metavar="FILE", help="default: a name here")
    plot.add_argument("--format", choices=("png", "svg"), help="default: png")
    plot.add_argument("--days", type=int, default=60, help="history: days drawn (default 60)")
    plot.add_argument("--config", metavar="FILE")
    ride = sub.add_parser("ride", help="start or stop a recovery ride on the running daemon")
    ride.add_argument("action", choices=("start", "stop"))
    ride.add_argument("--strap", metavar="NAME", help="the strap (default: the first ride strap)")
    ride.add_argument("--config", metavar="FILE")
    dashboard = sub.add_parser(
        "dashboard",
        help="print a Home Assistant dashboard (YAML) for the configured straps",
        description="Print a ready Home Assistant dashboard for the straps of the config, "
        "with the entity ids hrvd's discovery creates; paste it into Settings, Dashboards, "
        "Add dashboard, then the dashboard's menu, Raw configuration editor.",
    )
    dashboard.add_argument("--config", metavar="FILE")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(
        prog=PROG,
        description="Heart-rate variability from a BLE chest strap: live recovery-ride "
        "alerts, morning readiness, MQTT and Home Assistant.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    analyze = sub.add_parser(
        "analyze",
        help="HRV of RR files (artifacts, RMSSD, SDNN, pNN50, DFA alpha1)",
        description="Correct the artifacts of each RR recording and print its HRV, one "
        "result per file. FILE holds one RR interval a line (ms, or s when every value is "
        "below 10), or CSV with a header naming the RR column (Polar Sensor Logger, HRV "
        "Logger, hrvd export), or is a FIT file with HRV data; '-' reads stdin.",
    )
    analyze.add_argument("file", metavar="FILE", nargs="+", help="RR file, or - for stdin")
    analyze.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        help="output format (default: table; with --rolling, JSON lines)",
    )
    analyze.add_argument("--plot", nargs="?", const="", metavar="OUT",
                         help="also draw the RR and its Poincare plot (PNG or SVG, by OUT's "
                         "suffix; default FILE-rr.png); needs the 'plot' extra")  # fmt: skip
    analyze.add_argument(
        "--rolling",
        metavar="SECONDS",
        type=_positive_seconds,
        help="print a time series instead: one row every 5 s over the last SECONDS",
    )
    demo = sub.add_parser(
        "demo",
        help="see it work with no strap and no broker: a virtual recovery ride",
        description="Start an embedded MQTT broker (or use --broker) and play a 45-minute "
        "recovery ride from a virtual strap through the real pipeline, with a live view.",
    )
    demo.add_argument("--speed", type=_speed, default=60.0,
                      help="times real time (default 60: the ride takes 45 s)")  # fmt: skip
    demo.add_argument("--morning", action="store_true",
                      help="a month of history, then a morning measurement to a score")  # fmt: skip
    demo.add_argument("--broker", type=_host_port, metavar="HOST:PORT",
                      help="publish to this broker instead of an embedded one")  # fmt: skip
    run = sub.add_parser(
        "run",
        help="the daemon: straps, HRV, ride alerts and MQTT, until stopped",
        description="Connect the configured straps and publish heart rate, HRV, ride "
        "alerts and readiness to MQTT until SIGTERM or Ctrl-C. Meant to run under systemd "
        "(Type=notify).",
    )
    run.add_argument("--config", metavar="FILE", help="config file (see 'hrvd run --help')")
    run.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                     default="info", help="lowest level logged (default info)")  # fmt: skip
    replay = sub.add_parser(
        "replay",
        help="play a recorded RR file through the live pipeline as one recovery ride",
        description="Push an RR file (any format 'hrvd analyze' reads) through the same "
        "pipeline as a strap and print the ride's phase events, alerts and summary. With "
        "--config it also publishes to MQTT as the daemon would.",
    )
    replay.add_argument("file", metavar="FILE", help="RR file, or - for stdin")
    replay.add_argument("--speed", type=_speed, default=60.0,
                        help="times real time (default 60; 0: as fast as possible)")  # fmt: skip
    replay.add_argument("--config", metavar="FILE",
                        help="publish to this config's broker (never a default one)")  # fmt: skip
    replay.add_argument("--strap", metavar="NAME", help="publish as this strap")
    replay.add_argument("--force", action="store_true",
                        help="publish even while a daemon is online")  # fmt: skip
    replay.add_argument("--hr-max", type=_hr_max, metavar="BPM",
                        help="without --config: zones from this HRmax (default 190)")  # fmt: skip
    replay.add_argument("--start", type=_when, metavar="ISO8601",
                        help="timestamp of the first beat (default: now)")  # fmt: skip
    replay.add_argument("--drain-timeout", type=_seconds, metavar="SECONDS",
                        help="with --config: how long to wait at the end for the broker to "
                        "acknowledge every message (default 60); what it has not is an "
                        "error")  # fmt: skip
    scan = sub.add_parser(
        "scan",
        help="list nearby heart-rate straps (name, address, signal)",
        description="Scan for Bluetooth LE devices that advertise the Heart Rate service. A "
        "strap linked to a watch, phone or training app may not show: unlink it first.",
    )
    scan.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_seconds,
        default=10.0,
        help="how long to scan (default: 10)",
    )
    scan.add_argument("--format", choices=("table", "json"), default="table")
    _add_daemon_commands(sub)
    _add_upkeep_commands(sub)
    return parser


def _add_upkeep_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """First run and the years after: init, doctor, export, backup."""
    from hrvd.setup import init as init_config  # noqa: PLC0415 - its parser only

    init_config.add_arguments(
        sub.add_parser(
            "init",
            help="write a first config: your strap, your heart rates and the broker",
            description="Scan for straps, ask for your heart rates and the broker, and "
            "write a commented hrvd.toml (every answer can be given as a flag instead).",
        )
    )
    export = sub.add_parser(
        "export",
        help="a ride's or a morning's RR, or the morning history, as CSV",
        description="Write what the store keeps in formats hrvd reads back: a ride's or a "
        "morning's RR for 'hrvd analyze' and 'hrvd replay', the history for 'hrvd history "
        "import'. To stdout, or to --output FILE.",
    )
    export.add_argument("what", choices=("ride", "morning", "history"))
    export.add_argument("key", nargs="?", metavar="ID|DATE",
                        help="the ride's id ('hrvd sessions'), or the morning's date")  # fmt: skip
    export.add_argument("--posture", choices=("lying", "sitting", "standing"),
                        help="with 'morning': which one, when a day has several")  # fmt: skip
    export.add_argument("--format", choices=("csv", "fit"), default="csv",
                        help="csv (the default); fit: a ride as a FIT activity")  # fmt: skip
    export.add_argument("-o", "--output", metavar="FILE", help="default: stdout")
    export.add_argument("--force", action="store_true", help="replace an existing FILE")
    export.add_argument("--config", metavar="FILE")
    backup = sub.add_parser(
        "backup",
        help="a consistent copy of the store, also while the daemon runs",
        description="Copy the store (rides, mornings, beats, outbox) to FILE, or to a dated "
        "file in a directory. Safe while the daemon writes.",
    )
    backup.add_argument("file", metavar="FILE", help="the copy, or a directory for it")
    backup.add_argument("--force", action="store_true", help="replace an existing FILE")
    backup.add_argument("--config", metavar="FILE")
    doctor = sub.add_parser(
        "doctor",
        help="check Bluetooth, the straps, the broker, the store and the clock",
        description="Check everything hrvd needs, each with a verdict and a fix; "
        "exit code 0 only when every check passes.",
    )
    doctor.add_argument("--config", metavar="FILE", help="config file (found as by 'hrvd run')")
    doctor.add_argument("--format", choices=("table", "json"), default="table")
    doctor.add_argument("--timeout", metavar="SECONDS", type=_positive_seconds,
                        default=DOCTOR_SCAN_S, help="how long to look for straps")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {
        "analyze": _analyze,
        "scan": _scan,
        "replay": _replay,
        "run": _run,
        "demo": _demo,
        "sessions": _sessions,
        "thresholds": _thresholds,
        "ride": _ride,
        "install-service": _install_service,
        "config": _config_check,
        "history": _history,
        "dashboard": _dashboard,
        "morning": _morning,
        "watch": _watch,
        "init": _init,
        "doctor": _doctor,
        "export": _export,
        "backup": _backup,
        "plot": _plot,
    }
    handler = handlers.get(args.command)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handler(args, sys.stdout)
    except HrvdError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`hrvd analyze ... | head`): not an error of ours.
        sys.stderr.close()
        return EXIT_OK


def _analyze_plot(args: argparse.Namespace, source: str, series: RrSeries) -> None:
    """`--plot`: the file is named on stderr, so stdout stays the analysis."""
    if args.plot is not None:
        from hrvd.cli import plot as plot_cli  # noqa: PLC0415 - matplotlib only when asked

        if args.plot and len(args.file) > 1:
            raise UsageError("--plot OUT names one picture: give one file, or --plot alone")
        path = plot_cli.plot_recording(series, source, args.plot or None)
        plot_cli.report(path, sys.stderr)


def _analyze(args: argparse.Namespace, out: TextIO) -> int:
    if args.rolling is not None:
        if len(args.file) > 1:
            raise UsageError("--rolling takes one file")
        return _analyze_rolling(args, out)
    if args.format == "csv":
        raise UsageError("csv is for --rolling; use --format json for one recording")
    failed = False
    for i, source in enumerate(args.file):
        try:
            series = read_rr(source)
        except InputFileError as exc:  # the other files are still analysed
            sys.stderr.write(f"{PROG}: error: {exc}\n")
            failed = True
            continue
        _note_seconds(series)
        _analyze_plot(args, source, series)
        summary = {"file": source, **summarise(series.rr_ms, series.gaps)}
        if args.format == "json":
            out.write(json.dumps(json_safe(summary), separators=(",", ":"), allow_nan=False))
            out.write("\n")
        else:
            out.write(("\n" if i else "") + _table(source, summary))
    return EXIT_USAGE if failed else EXIT_OK


def _analyze_rolling(args: argparse.Namespace, out: TextIO) -> int:
    if args.format == "table":
        raise UsageError("--rolling prints JSON lines or CSV, not a table")
    series = read_rr(args.file[0])
    _note_seconds(series)
    rows = rolling(series.rr_ms, args.rolling, series.gaps)
    if args.format == "csv":
        writer: csv.DictWriter[str] | None = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
                writer.writeheader()
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    else:
        for row in rows:
            out.write(json.dumps(json_safe(row), separators=(",", ":"), allow_nan=False) + "\n")
    return EXIT_OK


def _note_seconds(series: RrSeries) -> None:
    if series.converted_from_seconds:
        note = f"{PROG}: note: {series.source}: every value is below 10, read as seconds\n"
        sys.stderr.write(note)


def json_safe(value: object) -> object:
    """``value`` with every NaN or infinite float as None: JSON has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def _watch(args: argparse.Namespace, out: TextIO) -> int:
    from rich.console import Console  # noqa: PLC0415

    from hrvd.cli.watch import watch  # noqa: PLC0415
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    config = load_config(find_config(args.config))
    asyncio.run(watch(config, args.strap, Console(file=out)))
    return EXIT_OK


def _morning(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.cli.rides import morning_command  # noqa: PLC0415
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    if args.orthostatic and args.posture not in {None, "lying"}:
        raise UsageError("--orthostatic lies first, then stands: leave out --posture")
    config = load_config(find_config(args.config))
    asyncio.run(morning_command(config, repeat=args.repeat, strap=args.strap, out=out,
                                posture=args.posture, orthostatic=args.orthostatic))  # fmt: skip
    return EXIT_OK


def _history(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.cli.history import import_history, show_history  # noqa: PLC0415
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    config = load_config(find_config(args.config))
    if args.action == "import":
        if not args.file:
            raise UsageError("'hrvd history import' needs the CSV file to import")
        import_history(config, args.file, out)
    else:
        show_history(config, days=args.days, fmt=args.format, out=out)
    return EXIT_OK


def _plot(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.cli import plot as plot_cli  # noqa: PLC0415
    from hrvd.config import find_config, load_config  # noqa: PLC0415
    from hrvd.logging import configure_logging  # noqa: PLC0415

    configure_logging(level="warning")  # the picture shows the ride's alerts; log only trouble

    if args.what != "history" and not args.which:
        need = "ride's id or an RR file" if args.what == "ride" else "date"
        raise UsageError(f"'hrvd plot {args.what}' needs the {need}")
    if args.what == "ride" and not args.config and Path(args.which).is_file():
        path = plot_cli.plot_ride(None, args.which, args.output, args.format)
    elif args.what == "ride":
        config = load_config(find_config(args.config))
        path = plot_cli.plot_ride(config, args.which, args.output, args.format)
    elif args.what == "history":
        config = load_config(find_config(args.config))
        path = plot_cli.plot_history(config, args.days, args.output, args.format)
    else:
        try:
            day = date.fromisoformat(args.which)
        except ValueError:
            raise UsageError(f"{args.which!r} is not a date (YYYY-MM-DD)") from None
        config = load_config(find_config(args.config))
        path = plot_cli.plot_morning(config, day, args.output, args.format)
    plot_cli.report(path, out)
    return EXIT_OK


def _dashboard(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.config import find_config, load_config  # noqa: PLC0415
    from hrvd.publish.dashboard import dashboard, to_yaml  # noqa: PLC0415

    out.write(to_yaml(dashboard(load_config(find_config(args.config)))))
    return EXIT_OK


def _config_check(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.cli.thresholds import ceiling_lines  # noqa: PLC0415
    from hrvd.config import effective_config, find_config, load_config  # noqa: PLC0415
    from hrvd.publish.mqtt_auth import password_file_warning  # noqa: PLC0415

    path = find_config(args.config)
    config = load_config(path)
    if warning := password_file_warning(config.mqtt):
        sys.stderr.write(f"{PROG}: warning: {warning}\n")
    out.write(f"# {path}: valid. The effective config, defaults filled in:\n")
    out.write(effective_config(config))
    out.writelines(f"# {line}\n" for line in ceiling_lines(config))
    return EXIT_OK


def _init(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.setup.init import run_init  # noqa: PLC0415

    return run_init(args, out)


def _doctor(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.setup.doctor import run_doctor  # noqa: PLC0415

    return run_doctor(args, out)


def _export(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.cli import export as export_cli  # noqa: PLC0415
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    config = load_config(find_config(args.config))
    if args.format == "fit" and args.what != "ride":
        raise UsageError("--format fit is for a ride; a morning or the history is CSV")
    if args.what == "history":
        if args.key:
            raise UsageError("'hrvd export history' takes no id or date")
        n = export_cli.export_history(config, args.output, force=args.force)
        unit = "morning(s)"
    elif not args.key:
        needed = "ride's id" if args.what == "ride" else "date (YYYY-MM-DD)"
        raise UsageError(f"'hrvd export {args.what}' needs the {needed}")
    elif args.what == "ride" and args.format == "fit":
        from hrvd.export_fit import write_ride_fit  # noqa: PLC0415

        n = write_ride_fit(config, args.key, args.output, force=args.force)
        unit = "beat(s) as FIT"
    elif args.what == "ride":
        n = export_cli.export_ride(config, args.key, args.output, force=args.force)
        unit = "beat(s)"
    else:
        n = export_cli.export_morning(config, args.key, args.posture, args.output,
                                      force=args.force)  # fmt: skip
        unit = "RR interval(s)"
    if args.output not in {None, "-"}:
        out.write(f"wrote {n} {unit} to {args.output}\n")
    return EXIT_OK


def _backup(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.cli.export import backup  # noqa: PLC0415
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    config = load_config(find_config(args.config))
    path = backup(config, args.file, force=args.force)
    out.write(f"backed up {config.store.path} to {path}\n")
    return EXIT_OK


def _install_service(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.setup.install_service import run_install_service  # noqa: PLC0415

    return run_install_service(
        out, dry_run=args.dry_run, force=args.force, config_path=Path(args.config).absolute()
    )


def _sessions(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.cli.rides import list_sessions, show_session  # noqa: PLC0415
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    config = load_config(find_config(args.config))
    as_json = args.format == "json"
    if args.action == "show":
        if not args.id:
            raise UsageError("'hrvd sessions show' needs a ride id (see 'hrvd sessions')")
        show_session(config, args.id, as_json=as_json, out=out)
    else:
        list_sessions(config, limit=args.limit, as_json=as_json, out=out)
    return EXIT_OK


def _thresholds(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.cli.thresholds import show_thresholds  # noqa: PLC0415
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    config = load_config(find_config(args.config))
    show_thresholds(config, as_json=args.format == "json", out=out)
    return EXIT_OK


def _ride(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.cli.rides import ride_command  # noqa: PLC0415
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    config = load_config(find_config(args.config))
    asyncio.run(ride_command(config, args.action, args.strap, out))
    return EXIT_OK


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from rich.console import Console  # noqa: PLC0415 - only the live commands draw

    from hrvd.cli.demo import run_demo, run_morning_demo  # noqa: PLC0415
    from hrvd.logging import configure_logging  # noqa: PLC0415

    configure_logging(level="warning")  # the live view speaks; the log only for trouble
    play = run_morning_demo if args.morning else run_demo
    asyncio.run(play(speed=args.speed, broker=args.broker, console=Console(file=out)))
    return EXIT_OK


def _run(args: argparse.Namespace, _out: TextIO) -> int:
    from hrvd.config import find_config, load_config  # noqa: PLC0415 - keeps 'analyze' light
    from hrvd.daemon.service import run_daemon  # noqa: PLC0415
    from hrvd.logging import configure_logging  # noqa: PLC0415

    configure_logging(level=args.log_level)
    config = load_config(find_config(args.config))
    asyncio.run(run_daemon(config))
    return EXIT_OK


def _replay(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.cli.replay import (  # noqa: PLC0415
        DEFAULT_HR_MAX,
        DRAIN_TIMEOUT_S,
        default_start,
        run_replay,
    )
    from hrvd.config import load_config  # noqa: PLC0415 - keeps 'hrvd analyze' light

    series = read_rr(args.file)
    config = load_config(Path(args.config)) if args.config else None
    run = run_replay(
        series.rr_ms,
        config=config,
        strap=args.strap,
        speed=args.speed,
        start=args.start or default_start(),
        force=args.force,
        hr_max=DEFAULT_HR_MAX if args.hr_max is None else args.hr_max,
        out=out,
        gaps=series.gaps,
        drain_timeout_s=DRAIN_TIMEOUT_S if args.drain_timeout is None else args.drain_timeout,
    )
    asyncio.run(run)
    return EXIT_OK


def _scan(args: argparse.Namespace, out: TextIO) -> int:
    from hrvd.ble.scan import scan_or_explain  # noqa: PLC0415 - only the BLE commands need bleak

    found = scan_or_explain(args.timeout)
    if args.format == "json":
        out.write(json.dumps([dataclasses.asdict(s) for s in found], separators=(",", ":")))
        out.write("\n")
    elif not found:
        out.write("no heart-rate strap found: wet the strap's electrodes, put it on, and make\n"
                  "sure no watch, phone or app is connected to it\n")  # fmt: skip
    else:
        out.write(f"{'NAME':<24}{'ADDRESS':<20}RSSI\n")
        out.writelines(f"{s.name or '(no name)':<24}{s.address:<20}{s.rssi} dBm\n" for s in found)
    return EXIT_OK


def _fmt(value: object, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "n/a (too few beats)"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def _table(source: str, s: dict[str, object]) -> str:
    duration = float(s["duration_s"])  # type: ignore[arg-type]
    minutes, seconds = divmod(round(duration), 60)
    classes = s["artifact_classes"]
    assert isinstance(classes, dict)  # noqa: S101 - built by summarise
    kinds = ", ".join(f"{name} {n}" for name, n in classes.items() if n)
    hrvt1 = f"none ({s['hrvt1_reason']}; see docs/thresholds.md)"
    if s["hrvt1_bpm"] is not None:
        hrvt1 = f"{s['hrvt1_bpm']:.0f} bpm (alpha1 = 0.75)"
    artifacts = f"{len(s['artifacts'])} ({100 * float(s['artifact_rate']):.1f} %)"  # type: ignore[arg-type]
    rows = [
        (
            "beats",
            f"{s['n_beats']} over {minutes} min {seconds:02d} s"
            + (f", {s['gaps']} gaps (each stretch corrected alone)" if s["gaps"] else ""),
        ),
        ("artifacts", artifacts + (f": {kinds}" if kinds else "")),
        ("mean RR", _fmt(s["mean_rr_ms"], " ms")),
        ("mean HR", _fmt(s["mean_hr_bpm"], " bpm")),
        ("RMSSD", _fmt(s["rmssd_ms"], " ms")),
        ("lnRMSSD", _fmt(s["ln_rmssd"], "", 2)),
        ("SDNN", _fmt(s["sdnn_ms"], " ms")),
        ("pNN50", _fmt(s["pnn50"], " %")),
        ("DFA alpha1", _fmt(s["dfa_alpha1"], "", 2)),
        ("HRVT1", hrvt1),
        ("quality", str(s["quality_words"])),
    ]
    lines = [f"{source}  (metrics after artifact correction)"]
    lines += [f"  {label:<12}{value}" for label, value in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
