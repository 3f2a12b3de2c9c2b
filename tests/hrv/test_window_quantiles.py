"""The batch corrector's window quantiles: faster (integer keys, chunks), never different.

The oracle is the form they replaced: every full window sorted as floats at once. Every
decision of the corrector is a function of these quantiles, so equal bits here mean equal
classes and corrections; the last test checks that too, on the real recordings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from hrvd.hrv import artifacts
from hrvd.hrv.artifacts import _centred_quantiles, correct_batch
from hrvd.hrv.rules import MEDIAN_WINDOW_BEATS, THRESHOLD_WINDOW_BEATS
from hrvd.hrv.synthetic import inject, sinus_rr
from recordings import RECORDINGS, load_rr

if TYPE_CHECKING:
    from numpy.typing import NDArray


def oracle(x: NDArray[np.float64], window: int, qs: tuple[float, ...]) -> NDArray[np.float64]:
    """Every full window sorted as floats at once; np.quantile at the shrinking ends."""
    n, half = len(x), window // 2
    out = np.empty((len(qs), n))
    lo, hi = (half, n - half) if n >= window else (n, n)
    if hi > lo:
        ordered = np.sort(sliding_window_view(x, window), axis=1)
        for row, q in enumerate(qs):
            rank = q * (window - 1)
            below = int(rank)
            value = ordered[:, below]
            if rank > below:
                value = value + (rank - below) * (ordered[:, below + 1] - value)
            out[row, lo:hi] = value
    for i in (*range(min(lo, n)), *range(max(hi, lo), n)):
        out[:, i] = np.quantile(x[max(0, i - half) : i + half + 1], qs)
    return out


def series_of(rr: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """The three series the corrector takes quantiles of: RR, |dRR| and |mRR|."""
    d = np.abs(np.diff(rr, prepend=rr[0]))
    m = rr - oracle(rr, MEDIAN_WINDOW_BEATS, (0.5,))[0]
    m[m < 0] *= 2
    return {"rr": rr, "abs_drr": d, "abs_mrr": np.abs(m)}


def variants(rr: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """As files hold it (whole ms), as a strap sends it (1/1024 s), and unquantised."""
    rng = np.random.default_rng(7)
    return {
        "ms": rr,
        "strap": np.round(rr * 1.024) * 1000 / 1024,
        "float": rr + rng.random(len(rr)),
        "wide": rr * 64.0,  # beyond int16 once scaled: the int32 keys
    }


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_quantiles_equal_the_full_sort_bit_for_bit_on_every_recording(name, monkeypatch):
    monkeypatch.setattr(artifacts, "WINDOW_CHUNK_ROWS", 997)  # many chunk boundaries
    for kind, rr in variants(load_rr(name)).items():
        for series, x in series_of(rr).items():
            for window, qs in (
                (THRESHOLD_WINDOW_BEATS, (0.25, 0.75)),
                (MEDIAN_WINDOW_BEATS, (0.5,)),
            ):
                expected = oracle(x, window, qs)
                assert np.array_equal(_centred_quantiles(x, window, qs), expected), (kind, series)


@pytest.mark.parametrize("n", [0, 1, 5, 11, 90, 91, 92, 200])
def test_short_series_and_window_edges(n):
    x = np.round(np.random.default_rng(n).random(n) * 100)
    for window, qs in ((91, (0.25, 0.75)), (11, (0.5,))):
        assert np.array_equal(_centred_quantiles(x, window, qs), oracle(x, window, qs))


def test_the_corrector_decides_exactly_as_with_the_full_sort(monkeypatch):
    rr = {name: load_rr(name) for name in RECORDINGS}
    rr["injected"] = inject(
        sinus_rr(3000, np.random.default_rng(5)), 0.08, np.random.default_rng(6)
    ).rr_ms
    fast = {name: correct_batch(x) for name, x in rr.items()}
    monkeypatch.setattr(artifacts, "_centred_quantiles", oracle)
    for name, x in rr.items():
        slow = correct_batch(x)
        assert np.array_equal(fast[name].classes, slow.classes), name
        assert np.array_equal(fast[name].rr_ms, slow.rr_ms), name
