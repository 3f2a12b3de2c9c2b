"""hrvd demo: a virtual recovery ride through the real pipeline, embedded broker included."""

from __future__ import annotations

import subprocess
import sys


def test_demo_plays_a_ride_to_the_end_and_exits_0():
    run = subprocess.run(
        [sys.executable, "-m", "hrvd.cli", "demo", "--speed", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "mosquitto_sub -h 127.0.0.1 -p" in out
    assert "Soreness fading?" in out
    assert "ALERT too hard for recovery" in out
    assert "alert off (back_in_zone)" in out
    assert "ride summary: 45:0" in out
    # The guard speaks only of a stand-down that lasts: never the old off/back chatter.
    assert sum("alpha1 guard" in line for line in out.splitlines()) <= 2
    assert "Traceback" not in run.stderr


def test_morning_demo_seeds_history_and_plays_a_measurement_to_a_score():
    run = subprocess.run(
        [sys.executable, "-m", "hrvd.cli", "demo", "--morning", "--speed", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "stabilising: 179 s left" in out
    assert "measuring: 30 s left" in out
    assert "measurement done" in out
    readiness = next(line for line in out.splitlines() if line.startswith("readiness:"))
    status = readiness.split()[1].rstrip(",")
    assert status in {"green", "amber", "red"}  # 30 days of history: a real status
    assert "score" in readiness
    assert run.stderr == ""
