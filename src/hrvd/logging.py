"""Logs are events: structlog key-value pairs, JSON when not on a terminal (journald)."""

from __future__ import annotations

import logging
import os
import sys

import structlog

_SYSLOG_PRIORITY = {"critical": 2, "error": 3, "warning": 4, "info": 6, "debug": 7}
"""syslog priorities of the levels, for journald's <N> line prefixes."""


class JournalJSONRenderer:
    """JSON lines with a ``<N>`` priority prefix for journald.

    systemd turns the prefix into the journal's priority (SyslogLevelPrefix=, on by
    default), so that ``journalctl -p err`` finds hrvd's errors.
    """

    def __init__(self) -> None:
        self._json = structlog.processors.JSONRenderer()

    def __call__(self, logger: object, method: str, event: structlog.typing.EventDict) -> str:
        """Render one event."""
        priority = _SYSLOG_PRIORITY.get(str(event.get("level", "info")), 6)
        rendered = self._json(logger, method, event)
        text = rendered.decode() if isinstance(rendered, bytes) else str(rendered)
        return f"<{priority}>{text}"


RECOVERED_BY_HRVD = (("mqtt", "failed to receive on socket"),)
"""(logger, message start) of library errors that hrvd itself reports and recovers from:
paho's lost broker connection is hrvd's "broker connection lost" warning, and a reconnect."""


class _LibraryHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The libraries' records, rendered as hrvd's events; one however often it is set up."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write to the stderr of now (a test may have swapped it since)."""
        self.stream = sys.stderr
        if record.levelno > logging.WARNING and any(
            record.name == name and record.getMessage().startswith(start)
            for name, start in RECOVERED_BY_HRVD
        ):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        super().emit(record)


def configure_logging(*, json: bool | None = None, level: str = "info") -> None:
    """Configure structlog once, at start.

    Args:
        json: JSON lines (for journald) or readable text; default: JSON unless stderr is
            a terminal.
        level: the lowest level written ("debug", "info", "warning", "error").
    """
    as_json = not sys.stderr.isatty() if json is None else json
    renderer: structlog.typing.Processor
    if not as_json:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    elif os.environ.get("JOURNAL_STREAM"):  # stderr goes to journald
        renderer = JournalJSONRenderer()
    else:
        renderer = structlog.processors.JSONRenderer()
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            timestamper,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # The libraries (bleak, aiomqtt, ...) log through the standard library: their warnings
    # become events of the same form, with the library's name, instead of bare text lines
    # in the journal. Their debug chatter stays out even with --log-level debug.
    handler = _LibraryHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                timestamper,
            ],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _LibraryHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(logging.WARNING, logging.getLevelNamesMapping()[level.upper()]))
