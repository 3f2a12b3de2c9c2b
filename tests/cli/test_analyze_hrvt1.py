"""`hrvd analyze`: a recording's HRVT1, as a live ride would give it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hrvd.cli import main
from hrvd.cli.analyze import summarise
from hrvd.hrv.synthetic import step_test, steps_rr
from hrvt1_ref import quantise, reference_hrvt1

EXAMPLE = Path(__file__).parents[2] / "examples" / "resting.txt"


def test_a_step_test_file_gives_its_hrvt1_in_json_and_in_the_table(tmp_path, capsys):
    rr = steps_rr(step_test(150.0), 150.0, np.random.default_rng(150))
    f = tmp_path / "steps.txt"
    np.savetxt(f, quantise(rr), fmt="%.3f")
    assert main(["analyze", str(f), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["hrvt1_reason"] == "ok"
    assert result["hrvt1_bpm"] == pytest.approx(reference_hrvt1(rr), abs=5.0)
    assert main(["analyze", str(f)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "HRVT1" in line)
    assert row.split()[1:3] == [f"{result['hrvt1_bpm']:.0f}", "bpm"]


def test_a_recording_at_rest_gives_null(capsys):
    assert main(["analyze", str(EXAMPLE), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["hrvt1_bpm"] is None
    assert result["hrvt1_reason"] != "ok"


def test_a_recording_longer_than_a_ride_gives_no_estimate():
    # 7 hours of a steady 60 bpm: over the 6-hour limit, refused before any replay.
    rr = np.full(7 * 3600, 1000.0)
    result = summarise(rr)
    assert result["hrvt1_bpm"] is None
    assert result["hrvt1_reason"] == "longer_than_a_ride"
