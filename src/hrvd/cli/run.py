"""`hrvd run`: the daemon, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TextIO

from hrvd.cli.args import add_command
from hrvd.errors import EXIT_OK

if TYPE_CHECKING:
    import argparse

    from hrvd.cli.args import Parser, Subparsers


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    run_cmd = add_command(
        sub,
        "run",
        "Connect the configured straps and publish heart rate, HRV, ride "
        "alerts and readiness to MQTT until SIGTERM or Ctrl-C. Meant to run under systemd "
        "(Type=notify).",
    )
    run_cmd.add_argument("--config", metavar="FILE", help="config file (see 'hrvd run --help')")
    run_cmd.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="lowest level logged (default info)",
    )


def run(args: argparse.Namespace, _out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.config import find_config, load_config  # noqa: PLC0415
    from hrvd.daemon.service import run_daemon  # noqa: PLC0415
    from hrvd.logging import configure_logging  # noqa: PLC0415

    configure_logging(level=args.log_level)
    config = load_config(find_config(args.config))
    asyncio.run(run_daemon(config))
    return EXIT_OK
