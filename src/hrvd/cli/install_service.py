"""`hrvd install-service`: the systemd unit, the hrvd user and the D-Bus policy."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hrvd.cli.args import add_command

if TYPE_CHECKING:
    import argparse

    from hrvd.cli.args import Parser, Subparsers


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    install = add_command(
        sub,
        "install-service",
        "Write the systemd unit, the sysusers.d file and the D-Bus policy for "
        "this installation (run as root); --dry-run prints them instead.",
    )
    install.add_argument("--dry-run", action="store_true", help="print, write nothing")
    install.add_argument("--force", action="store_true", help="replace files that differ")
    install.add_argument(
        "--config",
        metavar="FILE",
        default="/etc/hrvd/hrvd.toml",
        help="the config the service will read",
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.setup.install_service import run_install_service  # noqa: PLC0415

    return run_install_service(
        out, dry_run=args.dry_run, force=args.force, config_path=Path(args.config).absolute()
    )
