"""`hrvd init`: a first config, from questions or flags."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from hrvd.cli.args import add_command

if TYPE_CHECKING:
    import argparse

    from hrvd.cli.args import Parser, Subparsers


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    from hrvd.setup import init as init_config  # noqa: PLC0415 - its parser only

    init_config.add_arguments(
        add_command(
            sub,
            "init",
            "Scan for straps, ask for your heart rates and the broker, and "
            "write a commented hrvd.toml (every answer can be given as a flag instead).",
        )
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.setup.init import run_init  # noqa: PLC0415

    return run_init(args, out)
