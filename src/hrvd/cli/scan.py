"""`hrvd scan`: the heart-rate straps in reach."""

from __future__ import annotations

import dataclasses
import sys
from typing import TYPE_CHECKING, TextIO

from hrvd.cli.args import add_command, positive_seconds
from hrvd.cli.output import tabular_format, write_json, write_rows
from hrvd.errors import EXIT_OK

if TYPE_CHECKING:
    import argparse

    from hrvd.cli.args import Parser, Subparsers


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    scan = add_command(
        sub,
        "scan",
        "Scan for Bluetooth LE devices that advertise the Heart Rate service. A "
        "strap linked to a watch, phone or training app may not show: unlink it first.",
    )
    scan.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=positive_seconds,
        default=10.0,
        help="how long to scan (default: 10)",
    )
    scan.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        help="default: table on a terminal, csv into a pipe",
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.ble.scan import scan_or_explain  # noqa: PLC0415 - only the BLE commands need bleak

    found = scan_or_explain(args.timeout)
    fmt = tabular_format(args.format, out)
    if not found:  # advice, not data: stdout stays an empty list or table
        sys.stderr.write(
            "no heart-rate strap found: wet the strap's electrodes, put it on, "
            "and make\nsure no watch, phone or app is connected to it\n"
        )
    if fmt == "json":
        write_json(out, [dataclasses.asdict(s) for s in found])
    elif found or fmt == "csv":
        rows = [(s.name or "(no name)", s.address, s.rssi) for s in found]
        write_rows(out, fmt, ("NAME", "ADDRESS", "RSSI_DBM"), rows)
    return EXIT_OK
