"""`hrvd analyze` as a user meets it, against neurokit2, and its memory per beat.

Run from the repository root with the dev extras installed::

    python bench/bench_analyze.py            # about 2 minutes
    python bench/bench_analyze.py --quick    # a smoke run, under a minute

1. **Speed**: the 24-hour series of bench_core.py (the real recordings repeated, 2 %
   injected artifacts) written as a file of whole milliseconds, as apps export it. hrvd:
   the whole command ``hrvd analyze FILE --format json`` (argument parsing, reading,
   correction, metrics, JSON out) minus its start-up, timed in-process after one warm-up
   call has done the imports. neurokit2: the same file read with ``numpy.loadtxt``, the
   pipeline of tests/neurokit_ref.py, its result as JSON, equally warmed up. The runs
   alternate (four of hrvd, one of neurokit2, ...), so that both meet the same load. Also
   the same series at a strap's resolution (1/1024 s, decimals in the file).
2. **Memory**: peak RSS of ``hrvd analyze FILE`` as a subprocess on a 24-hour and on a
   14-day file, minus that of a 5-minute file, per beat.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core_common import (
    DAY_S,
    load_neurokit_ref,
    machine,
    md_table,
    read_recordings,
    timed_runs,
)
from core_speed import build_day
from hrvd.cli import main as hrvd_main

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from core_common import NeurokitRef

TARGET_SPEEDUP = 100.0
LONG_DAYS = 14
"""The longest recording the reader accepts is about this long (rrfile.MAX_BEATS)."""


def write_rr(path: Path, rr_ms: NDArray[np.float64], fmt: str) -> Path:
    """One value a line, as an app exports it."""
    np.savetxt(path, rr_ms, fmt=fmt)
    return path


def run_hrvd(path: Path) -> None:
    """The whole `hrvd analyze` command, stdout to a buffer."""
    with contextlib.redirect_stdout(io.StringIO()):
        code = hrvd_main(["analyze", str(path), "--format", "json"])
    if code != 0:
        raise RuntimeError(f"hrvd analyze {path} exited {code}")


def run_neurokit(nk: NeurokitRef, path: Path) -> None:
    """The same file through neurokit2, as a script a user would write."""
    rr = np.loadtxt(path, dtype=np.float64)
    json.dumps(nk.pipeline(rr))


PEAK_PROBE = (
    "import sys\n"
    "from hrvd.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "with open('/proc/self/status') as f:\n"
    "    hwm = next(line for line in f if line.startswith('VmHWM:'))\n"
    "sys.stderr.write(hwm.split()[1] + '\\n')\n"
    "sys.exit(code)\n"
)
"""`hrvd analyze` in a child that reports its own peak RSS (VmHWM, KiB) when done. Not the
rusage of the child: Linux carries the forking parent's peak (neurokit2 loaded) into it."""


def peak_rss_kib(path: Path) -> int:
    """Peak resident memory of `hrvd analyze FILE` as its own process, KiB."""
    cmd = [sys.executable, "-c", PEAK_PROBE, "analyze", str(path), "--format", "json"]
    run = subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True
    )
    return int(run.stderr.split()[-1])


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print a Markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer runs, no 14-day file")
    args = parser.parse_args(argv)
    hrvd_runs, nk_runs = (2, 1) if args.quick else (4, 3)  # hrvd: runs before each nk run
    load_before = os.getloadavg()[0]
    recordings = read_recordings()
    day = build_day(recordings, DAY_S, np.random.default_rng(2024)).rr_ms
    nk = load_neurokit_ref()
    with tempfile.TemporaryDirectory(prefix="hrvd-bench-") as tmp:
        d = Path(tmp)
        small = write_rr(d / "small.txt", recordings["pyhrv/SampleNNISeriesShort.txt"], "%.0f")
        whole = write_rr(d / "day-ms.txt", np.rint(day), "%.0f")
        strap = write_rr(d / "day-strap.txt", np.rint(day * 1.024) * 1000 / 1024, "%.4f")
        run_hrvd(small)  # warm-up: imports, parser, caches
        run_neurokit(nk, small)
        rows, speedups = [], []
        for label, path in (("whole ms", whole), ("1/1024 s", strap)):
            # Interleaved, so that both see the same load of a shared machine.
            h, n = [], []
            for _ in range(nk_runs):
                h += timed_runs(functools.partial(run_hrvd, path), hrvd_runs)
                n += timed_runs(functools.partial(run_neurokit, nk, path), 1)
            h += timed_runs(functools.partial(run_hrvd, path), hrvd_runs)
            speedup = statistics.median(n) / statistics.median(h)
            speedups.append(speedup)
            rows.append(
                [
                    label,
                    f"{len(day)}",
                    f"{min(h) * 1e3:.0f} ms",
                    f"{statistics.median(h) * 1e3:.0f} ms",
                    f"{min(n):.2f} s",
                    f"{statistics.median(n):.2f} s",
                    f"{speedup:.0f}\u00d7",
                ]
            )
        memory = []
        base = peak_rss_kib(small)
        sizes = [("24 h", whole, len(day))]
        if not args.quick:
            rng = np.random.default_rng(14)
            parts = [build_day(recordings, DAY_S, rng).rr_ms for _ in range(LONG_DAYS)]
            long_rr = np.rint(np.concatenate(parts))
            sizes.append(
                (f"{LONG_DAYS} days", write_rr(d / "long.txt", long_rr, "%.0f"), len(long_rr))
            )
        for label, path, beats in sizes:
            peak = peak_rss_kib(path)
            memory.append(
                [
                    label,
                    f"{beats}",
                    f"{base / 1024:.0f} MiB",
                    f"{peak / 1024:.0f} MiB",
                    f"{(peak - base) * 1024 / beats:.0f} B",
                ]
            )
    m = machine()
    print(f"# hrvd analyze benchmark ({'quick' if args.quick else 'full'} run, {m['date_utc']})\n")
    print(
        f"{m['cpu']}, {m['logical_cpus']} logical CPUs, {m['os']}; Python {m['python']}, "
        f"{m['packages']}, hrvd {m['hrvd']}. 1-minute load "
        f"average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after.\n"
    )
    print("## Speed: the whole command minus its start-up, 24-hour file\n")
    print(
        md_table(
            [
                "file holds",
                "beats",
                "hrvd best",
                "hrvd median",
                "neurokit2 best",
                "neurokit2 median",
                "speed-up (median)",
            ],
            rows,
        )
    )
    met = "met" if min(speedups) >= TARGET_SPEEDUP else "**missed**"
    print(f"\nTarget >= {TARGET_SPEEDUP:.0f}\u00d7: {met} ({min(speedups):.0f}\u00d7 at worst).\n")
    print("## Memory: peak RSS of `hrvd analyze` as a process\n")
    print(md_table(["file", "beats", "5-minute file", "this file", "per beat"], memory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
