"""The one error hierarchy of hrvd.

::

    HrvdError                      anything hrvd reports to a user (exit code 1 by default)
    ├── UsageError                 the user asked for something impossible (exit code 2)
    │   ├── ConfigError            a config file is missing, unreadable or invalid
    │   └── InputFileError         an RR file cannot be read or holds a bad value
    └── MalformedPayloadError      a strap sent bytes that are not a valid measurement

The CLI turns these into one line on stderr and an exit code; any other exception is
a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class HrvdError(Exception):
    """Base of every error hrvd reports to its user as one line."""

    exit_code: int = EXIT_FAILURE


class UsageError(HrvdError):
    """The command line or an input named on it is wrong: exit code 2."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The config file is missing, unreadable or holds an invalid value.

    Args:
        path: the config file.
        key: the dotted key at fault (``"athlete.hr_max"``), or None for the whole file.
        message: what is wrong and what was expected.
    """

    def __init__(self, path: Path | str, key: str | None, message: str) -> None:
        self.path = Path(path)
        self.key = key
        where = f"{self.path}: {key}" if key else str(self.path)
        super().__init__(f"{where}: {message}")


class InputFileError(UsageError):
    """An RR file cannot be read, or one of its lines is not a valid RR interval.

    Args:
        source: the file name as the user gave it (``"-"`` for stdin).
        line: 1-based line number, or None when the fault is not on one line.
        message: what is wrong.
    """

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source = source
        self.line = line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")


class MalformedPayloadError(HrvdError):
    """A strap sent bytes that do not parse as the characteristic they claim to be."""
