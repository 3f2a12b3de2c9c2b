"""Fixtures for the CLI tests: the recorded ride that hrvd replay's tests play."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from hrvd.hrv.synthetic import ride_rr
from support.replay_rides import RIDE

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="module")
def ride_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ride") / "ride.txt"
    np.savetxt(path, ride_rr(RIDE, np.random.default_rng(1)), fmt="%.1f")
    return path
