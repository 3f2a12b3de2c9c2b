"""Speed and accuracy benchmark of hrvd's HRV core, side by side with neurokit2.

Run from the repository root::

    python bench/bench_core.py            # full run, several minutes
    python bench/bench_core.py --quick    # smoke run, well under a minute
    python bench/bench_core.py --json results.json

It prints a Markdown report to stdout and measures, in one run:

1. batch speed on a 24-hour RR series (the real recordings of tests/data, repeated, with
   2 % injected artifacts): hrvd's ``correct_batch + time_domain + dfa_alpha1`` against
   neurokit2's Kubios correction + ``hrv_time`` + ``fractal_dfa`` (tests/neurokit_ref.py);
2. streaming cost: per-beat ``HrvStream.push`` (alpha1 recompute excluded) and the alpha1
   recompute alone on a full 2-minute window;
3. accuracy on synthetic sinus rhythm with injected artifacts (1-10 %): detection precision
   and recall and RMSSD error after correction, hrvd against neurokit2, and per artifact
   kind at 3 %;
4. the real recordings: flagged beats, RMSSD and DFA alpha1 raw and after each correction;
5. the streaming corrector against the batch detector on the real recordings.

Imports (neurokit2's included) are done and warmed up before anything is timed.

The parts: core_common.py (recordings, run sizes, targets, helpers), core_speed.py
(1, 2), core_accuracy.py (3-5 and the targets), core_report.py (the Markdown).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core_accuracy import bench_accuracy, bench_real, judge
from core_common import FULL, QUICK, load_neurokit_ref, machine, no_nan, read_recordings
from core_report import Report, render
from core_speed import bench_speed, bench_streaming, build_day

if TYPE_CHECKING:
    from collections.abc import Sequence


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the report."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write raw numbers here")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL

    load_before = os.getloadavg()[0]
    nk = load_neurokit_ref()
    recordings = read_recordings()
    day = build_day(recordings, cfg.day_s, np.random.default_rng(2024))
    log(f"speed: {len(day.rr_ms)} beats")
    speed = bench_speed(day, nk, cfg)
    log("streaming")
    streaming = bench_streaming(day, recordings, cfg)
    log(f"accuracy: {cfg.seeds} seeds")
    trials, by_rate, by_kind = bench_accuracy(nk, cfg)
    log("real recordings")
    real = [bench_real(name, rr, nk) for name, rr in recordings.items()]

    meta = machine() | {
        "quick": cfg.quick,
        "seeds": cfg.seeds,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }
    report = Report(
        meta=meta,
        speed=speed,
        streaming=streaming,
        accuracy_by_rate=by_rate,
        accuracy_by_kind=by_kind,
        real=real,
        targets=judge(speed, streaming, by_rate),
        trials=trials,
    )
    print(render(report))
    if args.json is not None:
        args.json.write_text(
            json.dumps(no_nan(asdict(report)), indent=1, allow_nan=False) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
