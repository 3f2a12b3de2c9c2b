"""`hrvd backup`: a consistent copy of the store, also while the daemon writes."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from hrvd.cli.args import add_command
from hrvd.errors import EXIT_OK

if TYPE_CHECKING:
    import argparse

    from hrvd.cli.args import Parser, Subparsers


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    backup = add_command(
        sub,
        "backup",
        "Copy the store (rides, mornings, beats, outbox) to FILE, or to a dated "
        "file in a directory. Safe while the daemon writes.",
    )
    backup.add_argument("file", metavar="FILE", help="the copy, or a directory for it")
    backup.add_argument("--force", action="store_true", help="replace an existing FILE")
    backup.add_argument("--config", metavar="FILE")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.cli.export import backup  # noqa: PLC0415
    from hrvd.config import find_config, load_config  # noqa: PLC0415

    config = load_config(find_config(args.config))
    path = backup(config, args.file, force=args.force)
    out.write(f"backed up {config.store.path} to {path}\n")
    return EXIT_OK
