"""neurokit2 run on the same RR data as hrvd, for side-by-side accuracy and speed.

neurokit2 works on R-peak positions in samples; RR intervals are turned into peaks at
1 MHz (microseconds) so that rounding does not handicap it.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

PEAK_RATE_HZ = 1_000_000
_KINDS = ("ectopic", "missed", "extra", "longshort")


def _nk() -> Any:  # neurokit2 is untyped
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import neurokit2 as nk  # noqa: PLC0415 - heavy import, only where compared

    return nk


def peaks_from_rr(rr_ms: NDArray[np.float64]) -> NDArray[np.int64]:
    """R-peak sample indices at 1 MHz, the first peak at 0."""
    return np.concatenate(([0], np.cumsum(np.rint(rr_ms * 1000.0)).astype(np.int64)))


def _fixpeaks(rr_ms: NDArray[np.float64], *, iterative: bool) -> tuple[Any, NDArray[np.int64]]:
    """neurokit2's Kubios correction on peaks at 1 MHz: (info, corrected peaks)."""
    nk = _nk()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info, fixed = nk.signal_fixpeaks(
            peaks_from_rr(rr_ms), sampling_rate=PEAK_RATE_HZ, method="Kubios", iterative=iterative
        )
    return info, np.asarray(fixed, dtype=np.int64)


def fixpeaks(rr_ms: NDArray[np.float64]) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """neurokit2's Kubios correction: flagged input-beat indices and the corrected RR (ms).

    Detection indices come from a single pass (iterative=False), since the iterative
    result only reports its last pass; the corrected series comes from the default
    iterative run.
    """
    info, _ = _fixpeaks(rr_ms, iterative=False)
    _, fixed = _fixpeaks(rr_ms, iterative=True)
    # neurokit2 index i is peak i, the end of our RR interval i-1.
    flagged = np.unique(np.concatenate([np.asarray(info[k], dtype=np.intp) for k in _KINDS]))
    return flagged - 1, np.diff(fixed.astype(np.float64)) / 1000.0


def pipeline(rr_ms: NDArray[np.float64]) -> dict[str, float]:
    """Correction, time domain and DFA alpha1, as a user of neurokit2 would run them."""
    nk = _nk()
    _, fixed = _fixpeaks(rr_ms, iterative=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        td = nk.hrv_time(fixed, sampling_rate=PEAK_RATE_HZ)
        rr = np.diff(fixed.astype(np.float64)) / 1000.0
        alpha1, _ = nk.fractal_dfa(rr, scale=np.arange(4, 17), overlap=False)
    return {
        "rmssd_ms": float(td["HRV_RMSSD"].iloc[0]),
        "sdnn_ms": float(td["HRV_SDNN"].iloc[0]),
        "dfa_alpha1": float(alpha1),
    }
