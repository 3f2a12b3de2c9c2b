"""The `hrvd` command line. Errors a user can fix end as one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import json
import math
import sys
from typing import TYPE_CHECKING, TextIO

from hrvd import __version__
from hrvd.analyze import rolling, summarise
from hrvd.errors import EXIT_OK, EXIT_USAGE, HrvdError, UsageError
from hrvd.rrfile import read_rr

if TYPE_CHECKING:
    from collections.abc import Sequence

PROG = "hrvd"


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
        help="HRV of an RR file (artifacts, RMSSD, SDNN, pNN50, DFA alpha1)",
        description="Correct the artifacts of an RR recording and print its HRV. FILE holds "
        "one RR interval a line (ms, or s when every value is below 10), or CSV with a header "
        "naming the RR column; '-' reads stdin.",
    )
    analyze.add_argument("file", metavar="FILE", help="RR file, or - for stdin")
    analyze.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        help="output format (default: table; with --rolling, JSON lines)",
    )
    analyze.add_argument(
        "--rolling",
        metavar="SECONDS",
        type=_positive_seconds,
        help="print a time series instead: one row every 5 s over the last SECONDS",
    )
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "analyze":
            return _analyze(args, sys.stdout)
        if args.command == "scan":
            return _scan(args, sys.stdout)
    except HrvdError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`hrvd analyze ... | head`): not an error of ours.
        sys.stderr.close()
        return EXIT_OK
    parser.print_help()
    return EXIT_USAGE


def _analyze(args: argparse.Namespace, out: TextIO) -> int:
    series = read_rr(args.file)
    if series.converted_from_seconds:
        sys.stderr.write(f"{PROG}: note: {args.file}: every value is below 10, read as seconds\n")
    if args.rolling is not None:
        if args.format == "table":
            raise UsageError("--rolling prints JSON lines or CSV, not a table")
        rows = rolling(series.rr_ms, args.rolling)
        if args.format == "csv":
            writer: csv.DictWriter[str] | None = None
            for row in rows:
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
                    writer.writeheader()
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
        else:
            for row in rows:
                out.write(json.dumps(row, separators=(",", ":")) + "\n")
        return EXIT_OK
    summary = summarise(series.rr_ms)
    if args.format == "json":
        out.write(json.dumps(summary, separators=(",", ":")) + "\n")
    elif args.format == "csv":
        raise UsageError("csv is for --rolling; use --format json for one recording")
    else:
        out.write(_table(args.file, summary))
    return EXIT_OK


def _scan(args: argparse.Namespace, out: TextIO) -> int:
    from bleak.exc import BleakError  # noqa: PLC0415 - only the BLE commands need bleak

    from hrvd.ble.scan import scan  # noqa: PLC0415

    try:
        found = asyncio.run(scan(args.timeout))
    except BleakError as exc:
        raise HrvdError(f"cannot scan: {exc} (is Bluetooth on? try 'bluetoothctl show')") from None
    except OSError as exc:
        # No system D-Bus, or no permission to use it: BlueZ cannot be asked at all.
        reason = exc.strerror or str(exc)
        raise HrvdError(
            f"cannot reach BlueZ over D-Bus: {reason} (is bluetoothd running?)"
        ) from None
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
    artifacts = f"{len(s['artifacts'])} ({100 * float(s['artifact_rate']):.1f} %)"  # type: ignore[arg-type]
    rows = [
        ("beats", f"{s['n_beats']} over {minutes} min {seconds:02d} s"),
        ("artifacts", artifacts + (f": {kinds}" if kinds else "")),
        ("mean RR", _fmt(s["mean_rr_ms"], " ms")),
        ("mean HR", _fmt(s["mean_hr_bpm"], " bpm")),
        ("RMSSD", _fmt(s["rmssd_ms"], " ms")),
        ("lnRMSSD", _fmt(s["ln_rmssd"], "", 2)),
        ("SDNN", _fmt(s["sdnn_ms"], " ms")),
        ("pNN50", _fmt(s["pnn50"], " %")),
        ("DFA alpha1", _fmt(s["dfa_alpha1"], "", 2)),
    ]
    lines = [f"{source}  (metrics after artifact correction)"]
    lines += [f"  {label:<12}{value}" for label, value in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
