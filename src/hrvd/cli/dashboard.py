"""`hrvd dashboard`: a Home Assistant dashboard (YAML) for the configured straps."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from hrvd.cli.args import add_command
from hrvd.errors import EXIT_OK

if TYPE_CHECKING:
    import argparse

    from hrvd.cli.args import Parser, Subparsers


def register(sub: Subparsers[Parser]) -> None:
    """Add the command's parser to ``sub``."""
    dashboard = add_command(
        sub,
        "dashboard",
        "Print a ready Home Assistant dashboard for the straps of the config, "
        "with the entity ids hrvd's discovery creates; paste it into Settings, Dashboards, "
        "Add dashboard, then the dashboard's menu, Raw configuration editor.",
    )
    dashboard.add_argument("--config", metavar="FILE")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    from hrvd.config import find_config, load_config  # noqa: PLC0415
    from hrvd.publish.dashboard import dashboard, to_yaml  # noqa: PLC0415

    out.write(to_yaml(dashboard(load_config(find_config(args.config)))))
    return EXIT_OK
