"""Time and memory to draw a 3-hour ride with `hrvd plot ride` (issue 19).

Run from the repository root: ``.venv/bin/python bench/plot_ride.py`` (about a minute).
The ride is the vendored real exercise recording played back to back until it lasts 3
hours; each run is a fresh ``hrvd plot ride FILE`` process (the trace through the live
pipeline, then matplotlib), so the figures are what a user waits for. Peak RSS is the
child's maximum resident set size.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

import harness_path  # noqa: F401 - tests/ on sys.path, for harness
from harness.machine import cpu_model

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "tests" / "data" / "rhenanbartels-hrv" / "exercise_rri.txt"
RIDE_S = 3 * 3600
RUNS = 3


def main() -> None:
    """Print a Markdown report."""
    one = np.loadtxt(RECORDING)
    rr = np.tile(one, int(np.ceil(RIDE_S * 1000 / one.sum())))
    rr = rr[np.cumsum(rr) <= RIDE_S * 1000]
    hrvd = ROOT / ".venv" / "bin" / "hrvd"
    times, peaks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "ride.txt"
        np.savetxt(source, rr, fmt="%.1f")
        for fmt in ("png", "svg"):
            for _ in range(RUNS):
                before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                start = time.perf_counter()
                subprocess.run(
                    [
                        str(hrvd),
                        "plot",
                        "ride",
                        str(source),
                        "--format",
                        fmt,
                        "-o",
                        str(Path(tmp) / f"ride.{fmt}"),
                    ],
                    check=True,
                    capture_output=True,
                )
                times.append((fmt, time.perf_counter() - start))
                peaks.append(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
            size = (Path(tmp) / f"ride.{fmt}").stat().st_size
            print(
                f"- {fmt.upper()}: {statistics.median(t for f, t in times if f == fmt):.2f} s "
                f"median of {RUNS}, file {size / 1024:.0f} KiB"
            )
    print(f"- peak RSS of a run: {max(peaks) / 1024:.0f} MiB")
    print(
        f"- ride: {len(rr)} beats, {rr.sum() / 3.6e6:.2f} h; machine: {cpu_model()}, "
        f"{os.cpu_count()} cores; {datetime.now(tz=UTC):%Y-%m-%d}"
    )


if __name__ == "__main__":
    main()
