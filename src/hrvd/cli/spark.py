"""Sparklines for the terminal: a series as one line of block characters. Pure."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"
MISSING = " "


def sparkline(
    values: Sequence[float | None], lo: float | None = None, hi: float | None = None
) -> str:
    """One block a value, scaled from ``lo`` to ``hi`` (default: the values' own range).

    A missing value (None or NaN) is a space; a value outside the range is clipped.
    """
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return MISSING * len(values)
    lo = min(known) if lo is None else lo
    hi = max(known) if hi is None else hi
    span = hi - lo
    out = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(MISSING)
            continue
        share = 0.5 if span <= 0 else min(max((v - lo) / span, 0.0), 1.0)
        out.append(BLOCKS[min(int(share * len(BLOCKS)), len(BLOCKS) - 1)])
    return "".join(out)


def band_marks(
    values: Sequence[float], lows: Sequence[float | None], highs: Sequence[float | None]
) -> str:
    """Under a sparkline: ``v`` below the normal band, ``^`` above, ``-`` within, space unknown."""
    marks = []
    for v, low, high in zip(values, lows, highs, strict=True):
        if low is None or high is None:
            marks.append(MISSING)
        elif v < low:
            marks.append("v")
        elif v > high:
            marks.append("^")
        else:
            marks.append("-")
    return "".join(marks)
