"""`hrvd analyze`: the HRV of an RR recording, whole or as a rolling time series."""

from __future__ import annotations

import csv
import math
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, TextIO

import numpy as np

from hrvd.cli.args import PROG, add_command, positive_seconds
from hrvd.cli.output import write_json
from hrvd.coach.hrvt1 import estimate_hrvt1, recording_windows
from hrvd.errors import EXIT_OK, EXIT_USAGE, InputFileError, UsageError
from hrvd.hrv.artifacts import correct_batch
from hrvd.hrv.dfa import dfa_alpha1
from hrvd.hrv.metrics import time_domain
from hrvd.hrv.quality import irregular, judge
from hrvd.hrv.rules import BeatClass
from hrvd.hrv.stream import DFA_EVERY_S, HrvStream
from hrvd.rrfile import read_rr

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from numpy.typing import NDArray

    from hrvd.cli.args import Parser, Subparsers
    from hrvd.rrfile import RrSeries

ROLLING_EVERY_S = DFA_EVERY_S
"""One rolling row every 5 s, as often as the live daemon recomputes alpha1."""

Row = dict[str, float | int | bool | str | None]


def summarise(
    rr_ms: NDArray[np.float64], gaps: NDArray[np.bool_] | None = None
) -> dict[str, object]:
    """Correct a whole recording and compute its metrics.

    Returns the keys of ``hrvd analyze --format json``; metrics are computed on the
    corrected series, ``artifacts`` indexes the input. With ``gaps`` (the ``gap`` column of
    an exported ride), each stretch between gaps is corrected on its own, no successive
    difference spans a gap, and alpha1 is that of the longest stretch.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    starts = [0] if gaps is None else [0, *np.flatnonzero(gaps[1:]) + 1]
    ends = [*starts[1:], len(rr)]
    parts, flags, classes, artifacts = [], [], [], []
    for start, end in zip(starts, ends, strict=True):
        correction = correct_batch(rr[start:end])
        parts.append(correction.rr_ms)
        flags.append(np.arange(len(correction.rr_ms)) == 0)
        classes.append(correction.classes)
        artifacts += (correction.artifact_indices + start).tolist()
    corrected = np.concatenate(parts)
    every = np.concatenate(classes)
    counts = np.bincount(every, minlength=len(BeatClass)).tolist()
    metrics = asdict(time_domain(corrected, gap_before=np.concatenate(flags)))
    del metrics["n_beats"]
    alpha1 = dfa_alpha1(max(parts, key=len))
    artifact_rate = float(np.count_nonzero(every)) / max(len(every), 1)
    # Without time stamps a dropout shows as one long interval; the missing time behind
    # a gap flag is not known, so it counts as no time.
    burden = [irregular(rr[a:b]) for a, b in zip(starts, ends, strict=True)]
    quality = judge(
        duration_s=float(np.sum(rr)) / 1000.0,
        artifact_rate=artifact_rate,
        ectopic_burden=float(np.mean(np.concatenate(burden))) if len(rr) else 0.0,
        longest_gap_s=float(np.max(rr, initial=0.0)) / 1000.0,
        alpha1=alpha1,
    )
    return {
        "n_beats": len(rr),
        "duration_s": float(np.sum(rr)) / 1000.0,
        "gaps": len(starts) - 1,
        "artifact_rate": artifact_rate,
        "artifacts": artifacts,
        "artifact_classes": {c.name.lower(): counts[c] for c in BeatClass if c},
        "n_corrected_beats": len(corrected),
        **metrics,
        "dfa_alpha1": alpha1,
        **_hrvt1(rr, gaps),
        "quality": quality.payload(),
        "quality_words": quality.words(),
    }


HRVT1_MAX_S = 6 * 3600.0
"""Recordings longer than a long ride give no HRVT1, s. alpha1 falls as exercise goes on
(Rogers et al. 2021, "durability" of alpha1 over prolonged exercise), so a day's recording
with several efforts mixes fatigue into the line; and the estimate replays the live stream
(~45 us a beat), which would turn a 24-hour `analyze` from a tenth of a second into
seconds. docs/thresholds.md says so."""


def _hrvt1(rr: NDArray[np.float64], gaps: NDArray[np.bool_] | None) -> dict[str, object]:
    """The recording's HRVT1 as a live ride would give it (docs/thresholds.md)."""
    if float(np.sum(rr)) / 1000.0 > HRVT1_MAX_S:
        return {"hrvt1_bpm": None, "hrvt1_reason": "longer_than_a_ride"}
    estimate = estimate_hrvt1(recording_windows(rr, gaps))
    return {"hrvt1_bpm": estimate.hrvt1_bpm, "hrvt1_reason": estimate.reason}


def rolling(
    rr_ms: NDArray[np.float64], window_s: float, gaps: NDArray[np.bool_] | None = None
) -> Iterator[Row]:
    """Replay a recording through the live pipeline; yield one row every 5 s.

    The beats are timed by the running sum of the raw RR intervals, so each row is what
    the daemon would have shown at that moment of the recording. A beat with a gap before
    it starts a new series, as a reconnect does live (the missing beats take no time here).
    """
    stream = HrvStream(window_s=window_s)
    ends = np.cumsum(rr_ms) / 1000.0
    breaks = np.zeros(len(rr_ms), dtype=bool) if gaps is None else gaps
    next_row = ROLLING_EVERY_S
    for rr, t, gap in zip(rr_ms.tolist(), ends.tolist(), breaks.tolist(), strict=True):
        while t >= next_row:
            yield _row(stream, next_row)
            next_row += ROLLING_EVERY_S
        if gap:
            stream.gap()
        stream.push(rr, t)
    stream.flush()
    if len(ends) and not math.isclose(next_row - ROLLING_EVERY_S, ends[-1]):
        yield _row(stream, float(ends[-1]))


def _row(stream: HrvStream, t_s: float) -> Row:
    snap = stream.snapshot()
    return {
        "t_s": round(t_s, 3),
        "n_beats": snap.n_beats,
        "mean_rr_ms": snap.mean_rr_ms,
        "mean_hr_bpm": snap.mean_hr_bpm,
        "rmssd_ms": snap.rmssd_ms,
        "ln_rmssd": snap.ln_rmssd,
        "sdnn_ms": snap.sdnn_ms,
        "pnn50": snap.pnn50,
        "artifact_rate": snap.artifact_rate,
        "dfa_alpha1": snap.dfa_alpha1,
        "dfa_reliable": snap.dfa_reliable,
        "quality": snap.quality.level.value,
        "quality_reasons": ",".join(r.value for r in snap.quality.reasons),
    }


def register(sub: Subparsers[Parser]) -> None:
    """`hrvd analyze FILE...`."""
    analyze = add_command(
        sub,
        "analyze",
        "Correct the artifacts of each RR recording and print its HRV, one "
        "result per file. FILE holds one RR interval a line (ms, or s when every value is "
        "below 10), or CSV with a header naming the RR column (Polar Sensor Logger, HRV "
        "Logger, hrvd export), or is a FIT file with HRV data; '-' reads stdin.",
    )
    analyze.add_argument("file", metavar="FILE", nargs="+", help="RR file, or - for stdin")
    analyze.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        help="output format (default: table; with --rolling, JSON lines)",
    )
    analyze.add_argument(
        "--plot",
        nargs="?",
        const="",
        metavar="OUT",
        help="also draw the RR and its Poincare plot (PNG or SVG, by OUT's "
        "suffix; default FILE-rr.png); needs the 'plot' extra",
    )
    analyze.add_argument(
        "--rolling",
        metavar="SECONDS",
        type=positive_seconds,
        help="print a time series instead: one row every 5 s over the last SECONDS",
    )


def _analyze_plot(args: argparse.Namespace, source: str, series: RrSeries) -> None:
    """`--plot`: the file is named on stderr, so stdout stays the analysis."""
    if args.plot is not None:
        from hrvd.cli import plot as plot_cli  # noqa: PLC0415 - matplotlib only when asked

        if args.plot and len(args.file) > 1:
            raise UsageError("--plot OUT names one picture: give one file, or --plot alone")
        path = plot_cli.plot_recording(series, source, args.plot or None)
        plot_cli.report(path, sys.stderr)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the command; return its exit code."""
    if args.rolling is not None:
        if len(args.file) > 1:
            raise UsageError("--rolling takes one file")
        return _rolling(args, out)
    if args.format == "csv":
        raise UsageError("csv is for --rolling; use --format json for one recording")
    failed = False
    for i, source in enumerate(args.file):
        try:
            series = read_rr(source)
        except InputFileError as exc:  # the other files are still analysed
            sys.stderr.write(f"{PROG}: error: {exc}\n")
            failed = True
            continue
        _note_seconds(series)
        _analyze_plot(args, source, series)
        summary = {"file": source, **summarise(series.rr_ms, series.gaps)}
        if args.format == "json":
            write_json(out, summary)
        else:
            out.write(("\n" if i else "") + _table(source, summary))
    return EXIT_USAGE if failed else EXIT_OK


def _rolling(args: argparse.Namespace, out: TextIO) -> int:
    if args.format == "table":
        raise UsageError("--rolling prints JSON lines or CSV, not a table")
    series = read_rr(args.file[0])
    _note_seconds(series)
    rows = rolling(series.rr_ms, args.rolling, series.gaps)
    if args.format == "csv":
        writer: csv.DictWriter[str] | None = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
                writer.writeheader()
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    else:
        for row in rows:
            write_json(out, row)
    return EXIT_OK


def _note_seconds(series: RrSeries) -> None:
    if series.converted_from_seconds:
        note = f"{PROG}: note: {series.source}: every value is below 10, read as seconds\n"
        sys.stderr.write(note)


def _fmt(value: object, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "n/a (too few beats)"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def _table(source: str, s: dict[str, object]) -> str:
    duration = float(s["duration_s"])  # type: ignore[arg-type]
    minutes, seconds = divmod(round(duration), 60)
    classes = s["artifact_classes"]
    assert isinstance(classes, dict)  # noqa: S101 - built by summarise
    kinds = ", ".join(f"{name} {n}" for name, n in classes.items() if n)
    hrvt1 = f"none ({s['hrvt1_reason']}; see docs/thresholds.md)"
    if s["hrvt1_bpm"] is not None:
        hrvt1 = f"{s['hrvt1_bpm']:.0f} bpm (alpha1 = 0.75)"
    artifacts = f"{len(s['artifacts'])} ({100 * float(s['artifact_rate']):.1f} %)"  # type: ignore[arg-type]
    rows = [
        (
            "beats",
            f"{s['n_beats']} over {minutes} min {seconds:02d} s"
            + (f", {s['gaps']} gaps (each stretch corrected alone)" if s["gaps"] else ""),
        ),
        ("artifacts", artifacts + (f": {kinds}" if kinds else "")),
        ("mean RR", _fmt(s["mean_rr_ms"], " ms")),
        ("mean HR", _fmt(s["mean_hr_bpm"], " bpm")),
        ("RMSSD", _fmt(s["rmssd_ms"], " ms")),
        ("lnRMSSD", _fmt(s["ln_rmssd"], "", 2)),
        ("SDNN", _fmt(s["sdnn_ms"], " ms")),
        ("pNN50", _fmt(s["pnn50"], " %")),
        ("DFA alpha1", _fmt(s["dfa_alpha1"], "", 2)),
        ("HRVT1", hrvt1),
        ("quality", str(s["quality_words"])),
    ]
    lines = [f"{source}  (metrics after artifact correction)"]
    lines += [f"  {label:<12}{value}" for label, value in rows]
    return "\n".join(lines) + "\n"
