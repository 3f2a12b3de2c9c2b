"""The `hrvd` command line: a registry of commands, each loaded only when it runs.

As pip's command registry: a name, the module that holds the command, one line of
summary. ``hrvd --help`` reads only this table; ``hrvd CMD ...`` imports CMD's module,
whose ``register(sub)`` adds its parser and whose ``run(args, out)`` runs it. Errors a
user can fix end as one line on stderr and exit 2.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Protocol, TextIO

from hrvd import __version__
from hrvd.cli.args import PROG, Parser
from hrvd.errors import EXIT_OK, EXIT_USAGE, HrvdError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Collection, Sequence

    from hrvd.cli.args import Subparsers

COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("hrvd.cli.analyze", "HRV of RR files (artifacts, RMSSD, SDNN, pNN50, DFA alpha1)"),
    "demo": ("hrvd.cli.demo", "see it work with no strap and no broker: a virtual recovery ride"),
    "run": ("hrvd.cli.run", "the daemon: straps, HRV, ride alerts and MQTT, until stopped"),
    "replay": (
        "hrvd.cli.replay",
        "play a recorded RR file through the live pipeline as one recovery ride",
    ),
    "scan": ("hrvd.cli.scan", "list nearby heart-rate straps (name, address, signal)"),
    "install-service": (
        "hrvd.cli.install_service",
        "install the systemd unit, the hrvd user and the D-Bus policy",
    ),
    "history": ("hrvd.cli.history", "morning readiness, day by day"),
    "morning": ("hrvd.cli.morning", "take this morning's HRV measurement"),
    "watch": ("hrvd.cli.watch", "the live view of a running daemon (from MQTT)"),
    "config": ("hrvd.cli.config", "check the config file"),
    "sessions": ("hrvd.cli.sessions", "the recovery rides kept in the store"),
    "thresholds": (
        "hrvd.cli.thresholds",
        "your first threshold (HRVT1) from recent rides, and the ride ceiling it sets",
    ),
    "plot": ("hrvd.cli.plot", "draw a ride, the morning history or one morning"),
    "ride": ("hrvd.cli.ride", "start or stop a recovery ride on the running daemon"),
    "dashboard": (
        "hrvd.cli.dashboard",
        "print a Home Assistant dashboard (YAML) for the configured straps",
    ),
    "init": ("hrvd.cli.init", "write a first config: your strap, your heart rates and the broker"),
    "export": ("hrvd.cli.export", "a ride's or a morning's RR, or the morning history, as CSV"),
    "backup": ("hrvd.cli.backup", "a consistent copy of the store, also while the daemon runs"),
    "doctor": (
        "hrvd.cli.doctor",
        "check Bluetooth, the straps, the broker, the store and the clock",
    ),
}
"""Command name -> (the module holding it, its one-line summary), in the order of --help."""


class Command(Protocol):
    """What a command module offers (the module itself, duck-typed)."""

    def register(self, sub: Subparsers[Parser]) -> None:
        """Add the command's parser to ``sub``."""

    def run(self, args: argparse.Namespace, out: TextIO) -> int:
        """Run the command; return its exit code."""


def load(name: str) -> Command:
    """The module of command ``name``, imported now."""
    module: Command = importlib.import_module(COMMANDS[name][0])
    return module


def _chosen(argv: Sequence[str]) -> str | None:
    """The command named in ``argv``: its first word not an option (the top takes no values)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(commands: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The parser: every command by its summary, and ``commands`` (default all) with options.

    Only the modules of ``commands`` are imported: ``main`` names the one chosen.
    """
    parser = Parser(
        prog=PROG,
        description="Heart-rate variability from a BLE chest strap: live recovery-ride "
        "alerts, morning readiness, MQTT and Home Assistant.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (_module, summary) in COMMANDS.items():
        if commands is None or name in commands:
            load(name).register(sub)
        else:  # never parsed: were it chosen, its module would have registered it
            sub.add_parser(name, help=summary, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    words = sys.argv[1:] if argv is None else list(argv)
    chosen = _chosen(words)
    parser = build_parser([] if chosen is None else [chosen])
    args = parser.parse_args(words)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return load(args.command).run(args, sys.stdout)
    except HrvdError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`hrvd analyze ... | head`): not an error of ours.
        sys.stderr.close()
        return EXIT_OK
