"""Time-domain HRV metrics of an RR series (Task Force 1996; Shaffer & Ginsberg 2017).

All take RR intervals in ms. Successive differences are never taken across a gap
(a reconnect), so a window that holds one still gives an honest RMSSD. Only
:func:`time_domain`, of a whole series, loads numpy: the live daemon uses
:func:`from_sums` and never does (BENCHMARKS.md, "Footprint on the Pi").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

NN50_MS = 50.0
"""The successive-difference limit of pNN50, ms."""
MS_PER_MINUTE = 60_000.0


@dataclass(frozen=True, slots=True)
class TimeDomain:
    """Time-domain metrics of one window; None where the window is too short.

    Attributes:
        n_beats: RR intervals in the window.
        mean_rr_ms: mean RR, ms.
        mean_hr_bpm: 60000 / mean RR, bpm (the Kubios convention, not the mean of
            instantaneous rates).
        rmssd_ms: root mean square of successive differences, ms.
        ln_rmssd: natural log of RMSSD in ms.
        sdnn_ms: sample standard deviation (n - 1) of RR, ms.
        pnn50: share of successive differences above 50 ms, percent.
    """

    n_beats: int
    mean_rr_ms: float | None
    mean_hr_bpm: float | None
    rmssd_ms: float | None
    ln_rmssd: float | None
    sdnn_ms: float | None
    pnn50: float | None


def from_sums(  # noqa: PLR0913 - the running sums a rolling window keeps
    *,
    n: int,
    sum_rr: float,
    sum_sq_dev: float,
    n_diff: int,
    sum_diff_sq: float,
    n_nn50: int,
) -> TimeDomain:
    """Build the metrics from sums, shared by the batch and the rolling form.

    Args:
        n: RR intervals.
        sum_rr: their sum, ms.
        sum_sq_dev: sum of squared deviations from their mean, ms².
        n_diff: successive differences (pairs not split by a gap).
        sum_diff_sq: sum of squared successive differences, ms².
        n_nn50: successive differences above 50 ms.
    """
    mean_rr = sum_rr / n if n else None
    # Running sums can round a hair below zero after many removals: clamp.
    rmssd = math.sqrt(max(sum_diff_sq, 0.0) / n_diff) if n_diff else None
    return TimeDomain(
        n_beats=n,
        mean_rr_ms=mean_rr,
        mean_hr_bpm=MS_PER_MINUTE / mean_rr if mean_rr else None,
        rmssd_ms=rmssd,
        ln_rmssd=math.log(rmssd) if rmssd else None,
        sdnn_ms=math.sqrt(max(sum_sq_dev, 0.0) / (n - 1)) if n > 1 else None,
        pnn50=100.0 * n_nn50 / n_diff if n_diff else None,
    )


def time_domain(
    rr_ms: NDArray[np.float64], gap_before: NDArray[np.bool_] | None = None
) -> TimeDomain:
    """Time-domain metrics of a whole series.

    Args:
        rr_ms: RR intervals, ms (normally the corrected series).
        gap_before: optional flags, True where the series broke just before that beat.
    """
    import numpy as np  # noqa: PLC0415 - a whole series; the live path stays without numpy

    rr = np.asarray(rr_ms, dtype=np.float64)
    diffs = np.diff(rr)
    if gap_before is not None and len(diffs):
        diffs = diffs[~np.asarray(gap_before, dtype=bool)[1:]]
    mean = float(rr.mean()) if len(rr) else 0.0
    return from_sums(
        n=len(rr),
        sum_rr=float(rr.sum()),
        sum_sq_dev=float(np.sum((rr - mean) ** 2)),
        n_diff=len(diffs),
        sum_diff_sq=float(np.dot(diffs, diffs)),
        n_nn50=int(np.count_nonzero(np.abs(diffs) > NN50_MS)),
    )
