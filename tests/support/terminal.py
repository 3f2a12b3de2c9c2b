"""A terminal's screen for tests: what makes hrvd print a table instead of CSV."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest


class Terminal(io.StringIO):
    """Text written to a terminal: ``isatty()`` is true, as the output helpers ask."""

    def isatty(self) -> bool:
        return True


def on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    """Stdout as a terminal (set in the test: capsys takes stdout back before it runs)."""
    screen = Terminal()
    monkeypatch.setattr("sys.stdout", screen)
    return screen
