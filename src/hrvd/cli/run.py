"""`hrvd run`: the daemon, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import sys
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
    if not sys.stderr.isatty():  # JSON lines, for journald
        _import_structlog_without_rich()
    from hrvd.config import find_config, load_config  # noqa: PLC0415
    from hrvd.daemon.service import run_daemon  # noqa: PLC0415
    from hrvd.logging import configure_logging  # noqa: PLC0415

    configure_logging(level=args.log_level)
    config = load_config(find_config(args.config))
    asyncio.run(run_daemon(config))
    return EXIT_OK


def _import_structlog_without_rich() -> None:
    """Load structlog as if rich were not installed: the daemon's JSON lines need none of it.

    ``import structlog`` always loads ``structlog.dev``, which imports rich (and so
    pygments) for a console's pretty tracebacks whenever rich is installed, and there is
    no setting against it. rich is installed for the other commands' tables; in the
    daemon it would hold 3.3 MB of its resident memory (BENCHMARKS.md, "Footprint on the
    Pi"). A None entry in ``sys.modules`` makes an import raise ImportError (the import
    system's documented rule), which structlog takes as "rich is not installed"; the
    entry goes at once, so rich stays importable, and structlog keeps its plain
    tracebacks. Nothing is done if structlog or rich is already loaded.
    """
    if "structlog" in sys.modules or "rich" in sys.modules:
        return
    sys.modules["rich"] = None  # type: ignore[assignment]  # None: "not installed"
    try:
        import structlog  # noqa: F401, PLC0415
    finally:
        del sys.modules["rich"]
