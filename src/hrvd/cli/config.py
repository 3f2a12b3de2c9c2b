"""`hrvd config check`: is the config valid, and what does it mean with defaults filled in."""

from __future__ import annotations

import sys
import tomllib
from typing import TYPE_CHECKING, TextIO

from hrvd.cli.args import PROG, add_actions, add_command
from hrvd.cli.output import write_json
from hrvd.errors import EXIT_OK

if TYPE_CHECKING:
    import argparse

    from hrvd.cli.args import Parser, Subparsers


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    config_cmd = add_command(sub, "config", "Check the config file.")
    check = add_actions(config_cmd).add_parser(
        "check",
        help="validate it and print the effective config",
        description="Validate the config and print it with every default filled in, and "
        "the ride ceiling it sets.",
    )
    check.add_argument("--config", metavar="FILE")
    check.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: TOML with comments (default); json: one object",
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.cli.thresholds import ceiling_lines  # noqa: PLC0415
    from hrvd.config import effective_config, find_config, load_config  # noqa: PLC0415
    from hrvd.publish.mqtt_auth import password_file_warning  # noqa: PLC0415

    path = find_config(args.config)
    config = load_config(path)
    if warning := password_file_warning(config.mqtt):
        sys.stderr.write(f"{PROG}: warning: {warning}\n")
    effective = effective_config(config)
    if config.household:  # each athlete's own ceiling, their name before it
        ceiling = [
            f"{a.name}: {line}"
            for a in config.athletes
            for line in ceiling_lines(config.for_athlete(a.name))
        ]
    else:
        ceiling = ceiling_lines(config)
    if args.format == "json":
        write_json(
            out,
            {
                "path": str(path),
                "valid": True,
                "config": tomllib.loads(effective),
                "ceiling": ceiling,
            },
        )
        return EXIT_OK
    out.write(f"# {path}: valid. The effective config, defaults filled in:\n")
    out.write(effective)
    out.writelines(f"# {line}\n" for line in ceiling)
    return EXIT_OK
