"""Drawing with matplotlib (Agg, no display): a ride, the morning history, one morning.

Imported only by ``hrvd plot`` and ``hrvd analyze --plot``; matplotlib is the optional
``plot`` extra. Each function writes one file, PNG or SVG by its suffix, and returns nothing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import matplotlib as mpl

mpl.use("Agg")  # no display on a Pi: before pyplot is imported
mpl.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, searchable SVG
import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
import numpy as np  # noqa: E402 - after the backend is chosen

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import NDArray

    from hrvd.coach.readiness import ReadinessResult
    from hrvd.plot.trace import RideTrace

HR_COLOUR = "#d62728"
ALPHA1_COLOUR = "#1f77b4"
TOO_HARD_COLOUR = "#ff9896"
GUARD_OFF_COLOUR = "#bbbbbb"
STATUS_COLOURS = {"green": "#2ca02c", "amber": "#ff9f0e", "red": "#d62728", "baseline": "#7f7f7f"}
CORRECTED_COLOUR = "#ff7f0e"
ALPHA1_LINE = 0.75
"""The aerobic threshold in alpha1 (Rogers et al. 2021), drawn as a line."""
DPI = 100
SIZE_IN = (10.0, 6.0)


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, dpi=DPI, format=path.suffix.lstrip(".").lower() or "png")
    plt.close(fig)


def _shade(ax: Axes, spans: list[tuple[float, float]], colour: str, label: str) -> None:
    for i, (a, b) in enumerate(spans):
        ax.axvspan(a / 60, b / 60, color=colour, alpha=0.5, lw=0, label=label if i == 0 else None)


def draw_ride(trace: RideTrace, path: Path, title: str) -> None:
    """Heart rate with its ceilings, "too hard" spans and phases; alpha1 with its 0.75 line."""
    fig, (hr_ax, a1_ax) = plt.subplots(2, 1, sharex=True, figsize=SIZE_IN, height_ratios=(3, 2))
    minutes = np.asarray(trace.t_s) / 60
    hr = np.array([math.nan if v is None else v for v in trace.hr_bpm])
    a1 = np.array([math.nan if v is None else v for v in trace.alpha1])
    _shade(hr_ax, trace.too_hard, TOO_HARD_COLOUR, "too hard")
    hr_ax.plot(minutes, hr, color=HR_COLOUR, lw=1, label="heart rate")
    end = float(minutes[-1]) if len(minutes) else 1.0
    warm = min(trace.warmup_end_s / 60, end)
    hr_ax.hlines(
        trace.warmup_ceiling_bpm,
        0,
        warm,
        colors="k",
        linestyles=":",
        label=f"warm-up ceiling {trace.warmup_ceiling_bpm:.0f}",
    )
    hr_ax.hlines(
        trace.ceiling_bpm,
        warm,
        end,
        colors="k",
        linestyles="--",
        label=f"recovery ceiling {trace.ceiling_bpm:.0f}",
    )
    for at, phase in trace.phases:
        for ax in (hr_ax, a1_ax):
            ax.axvline(at / 60, color="#555555", lw=0.6)
        hr_ax.annotate(
            phase,
            (at / 60, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, -10),
            textcoords="offset points",
            fontsize=8,
        )
    hr_ax.set_ylabel("heart rate (bpm)")
    hr_ax.legend(loc="lower right", fontsize=8)
    hr_ax.set_title(title)
    _shade(a1_ax, trace.guard_off, GUARD_OFF_COLOUR, "alpha1 guard off (artifacts)")
    a1_ax.plot(minutes, a1, color=ALPHA1_COLOUR, lw=1, label="DFA alpha1")
    a1_ax.axhline(ALPHA1_LINE, color="k", ls="--", lw=0.8, label=f"alpha1 {ALPHA1_LINE}")
    a1_ax.set_ylabel("DFA alpha1")
    a1_ax.set_xlabel("time (min)")
    a1_ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def draw_history(results: list[ReadinessResult], path: Path) -> None:
    """Daily lnRMSSD coloured by status, its 7-day mean, the normal band and resting HR."""
    fig, (ln_ax, hr_ax) = plt.subplots(2, 1, sharex=True, figsize=SIZE_IN, height_ratios=(3, 1))
    days = [r.day for r in results]
    low = [
        math.nan if r.baseline is None or r.baseline.normal_low is None else r.baseline.normal_low
        for r in results
    ]
    high = [
        math.nan if r.baseline is None or r.baseline.normal_high is None else r.baseline.normal_high
        for r in results
    ]
    ln_ax.fill_between(days, low, high, color="#2ca02c", alpha=0.15, lw=0, label="normal band")
    ln_ax.plot(days, [r.ln_rmssd_7d for r in results], color="k", lw=1.5, label="7-day mean")
    ln_ax.plot(days, [r.ln_rmssd for r in results], color="#999999", lw=0.6)
    for status, colour in STATUS_COLOURS.items():
        pick = [r for r in results if r.status.value == status]
        if pick:
            ln_ax.scatter(
                [r.day for r in pick],
                [r.ln_rmssd for r in pick],
                color=colour,
                s=24,
                zorder=3,
                label=status,
            )
    ln_ax.set_ylabel("lnRMSSD (ln ms)")
    ln_ax.set_title("Morning lnRMSSD")
    ln_ax.legend(loc="lower left", fontsize=8, ncols=3)
    hr_ax.plot(
        days,
        [math.nan if r.resting_hr_bpm is None else r.resting_hr_bpm for r in results],
        color=HR_COLOUR,
        marker=".",
        lw=1,
    )
    hr_ax.set_ylabel("resting HR (bpm)")
    hr_ax.set_xlabel("date")
    fig.autofmt_xdate()
    fig.tight_layout()
    _save(fig, path)


def draw_morning(
    rr_ms: NDArray[np.float64], corrected: NDArray[np.bool_], path: Path, title: str
) -> None:
    """The corrected RR series with the corrected beats marked, and its Poincaré plot."""
    fig, (rr_ax, pc_ax) = plt.subplots(1, 2, figsize=SIZE_IN, width_ratios=(2, 1))
    t_s = np.cumsum(rr_ms) / 1000
    rr_ax.plot(t_s, rr_ms, color=ALPHA1_COLOUR, lw=1, label="RR")
    rr_ax.scatter(
        t_s[corrected],
        rr_ms[corrected],
        color=CORRECTED_COLOUR,
        s=30,
        zorder=3,
        label=f"corrected beats ({int(corrected.sum())})",
    )
    rr_ax.set_xlabel("time (s)")
    rr_ax.set_ylabel("RR interval (ms)")
    rr_ax.set_title(title)
    rr_ax.legend(loc="lower right", fontsize=8)
    pc_ax.scatter(rr_ms[:-1], rr_ms[1:], s=8, color=ALPHA1_COLOUR, alpha=0.6)
    lo, hi = float(rr_ms.min()), float(rr_ms.max())
    pc_ax.plot([lo, hi], [lo, hi], color="k", lw=0.6, ls=":")
    pc_ax.set_xlabel("RR n (ms)")
    pc_ax.set_ylabel("RR n+1 (ms)")
    pc_ax.set_title("Poincaré plot")
    pc_ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    _save(fig, path)
