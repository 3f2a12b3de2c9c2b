"""Shared fixtures: reference values of the vendored recordings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from recordings import DATA


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    """Reference values by pyhrv, neurokit2 and plain numpy (see data/README.md)."""
    loaded: dict[str, Any] = json.loads((DATA / "reference.json").read_text())
    return loaded
