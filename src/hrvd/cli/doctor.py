"""`hrvd doctor`: Bluetooth, the straps, the broker, the store and the clock, each judged."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from hrvd.cli.args import add_command, positive_seconds

if TYPE_CHECKING:
    import argparse

    from hrvd.cli.args import Parser, Subparsers

DOCTOR_SCAN_S = 8.0
"""How long `hrvd doctor` looks for the configured straps by default, s."""


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    doctor = add_command(
        sub,
        "doctor",
        "Check everything hrvd needs, each with a verdict and a fix; "
        "exit code 0 only when every check passes.",
    )
    doctor.add_argument("--config", metavar="FILE", help="config file (found as by 'hrvd run')")
    doctor.add_argument("--format", choices=("table", "json"), default="table")
    doctor.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=positive_seconds,
        default=DOCTOR_SCAN_S,
        help="how long to look for straps",
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.setup.doctor import run_doctor  # noqa: PLC0415

    return run_doctor(args, out)
